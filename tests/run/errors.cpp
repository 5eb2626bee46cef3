// A run that goes wrong: exceptions in each position, a stage that aborts, exits or is killed,
// Ctrl-C on the caller. Each ends promptly with the right error and leaves nothing behind.
#include "../support.hpp"

#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>

namespace fl = forkline;
using namespace forkline::test;

namespace {

/// Checks that the run left no process and no shared memory behind.
struct leaves_nothing {
    std::set<std::string> shm_before = shm_entries();
    ~leaves_nothing() {
        CHECK(no_children_left());
        // What appeared meanwhile, but for the segments other test programs on this machine made
        // (named after their own pid): a run creates nothing in /dev/shm.
        std::set<std::string> appeared;
        std::string mine = "-" + std::to_string(::getpid()) + "-";
        for (const auto& e : shm_entries())
            if (!shm_before.count(e) && (e.find("test-") == std::string::npos || e.find(mine) != std::string::npos) &&
                e.find("bench-") == std::string::npos)
                appeared.insert(e);
        CHECK(appeared.empty());
    }
};

/// Where a stage can leave its pid for the test; shared with the children forked by the run.
struct pid_box {
    std::atomic<int>* pid = static_cast<std::atomic<int>*>(
        ::mmap(nullptr, sizeof(std::atomic<int>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    pid_box() { new (pid) std::atomic<int>(0); }
    ~pid_box() { ::munmap(pid, sizeof *pid); }
};

/// These tests name the stage that failed: one process per stage, whatever the core count.
const fl::options apart{.fuse = false};

auto throw_at(long bad) {
    return [bad](long i) {
        if (i == bad) throw std::runtime_error("bad item " + std::to_string(i));
        return i;
    };
}

}  // namespace

TEST_CASE("an exception in the source ends the run as stage_error naming it", "[run][errors]") {
    leaves_nothing guard;
    auto source = fl::generate([i = 0]() mutable -> std::optional<int> {
        if (i == 1000) throw std::runtime_error("source ran dry");
        return i++;
    });
    try {
        fl::run(source | fl::map([](int i) { return i + 1; }) | fl::count());
        FAIL("no exception");
    } catch (const fl::stage_error& e) {
        CHECK(e.stage() == "generate");
        CHECK(e.message() == "source ran dry");
        CHECK(std::string(e.what()) == "forkline: stage 'generate' failed: source ran dry");
    }
}

TEST_CASE("an exception in a middle stage ends the run as stage_error naming it", "[run][errors]") {
    leaves_nothing guard;
    auto p = fl::iota(0L, 10'000'000L) | fl::map([](long i) { return i; }) |
             fl::named("checker", fl::map(throw_at(5000))) | fl::map([](long i) { return i * 2; }) |
             fl::reduce(0L, std::plus<>{});
    try {
        fl::run(p, apart);
        FAIL("no exception");
    } catch (const fl::stage_error& e) {
        CHECK(e.stage() == "checker");
        CHECK(e.message() == "bad item 5000");
    }
}

TEST_CASE("an exception in the sink ends the run as stage_error naming it", "[run][errors]") {
    leaves_nothing guard;
    auto p = fl::iota(0L, 100'000'000L) | fl::map([](long i) { return std::to_string(i); }) |
             fl::for_each([](const std::string& s) {
                 if (s == "777") throw std::invalid_argument("sink refuses 777");
             });
    CHECK_THROWS_MATCHES(fl::run(p), fl::stage_error,
                         Catch::Matchers::Message("forkline: stage 'for_each' failed: sink refuses 777"));
}

TEST_CASE("an exception in a stream's stage surfaces from the iteration", "[run][errors]") {
    leaves_nothing guard;
    long seen = 0;
    auto read_all = [&] {
        for (long v : fl::stream(fl::iota(0L, 1'000'000L) | fl::map(throw_at(300'000)))) seen += v >= 0;
    };
    CHECK_THROWS_AS(read_all(), fl::stage_error);
    CHECK(seen <= 300'000);
}

TEST_CASE("a stage that calls abort() is reported as crashed by SIGABRT", "[run][errors]") {
    leaves_nothing guard;
    auto p = fl::iota(0, 1'000'000) | fl::map([](int i) {
                 if (i == 4321) std::abort();
                 return i;
             }) |
             fl::count();
    try {
        fl::run(p, apart);
        FAIL("no exception");
    } catch (const fl::stage_crashed& e) {
        CHECK(e.stage() == "map");
        CHECK(e.signal() == SIGABRT);
        CHECK(std::string(e.what()).find("SIGABRT") != std::string::npos);
    }
}

TEST_CASE("a stage that exits with a code is reported as crashed with that code", "[run][errors]") {
    leaves_nothing guard;
    auto p = fl::iota(0, 1'000'000) | fl::filter([](int i) {
                 if (i == 99) ::_exit(3);
                 return true;
             }) |
             fl::to_vector();
    try {
        fl::run(p, apart);
        FAIL("no exception");
    } catch (const fl::stage_crashed& e) {
        CHECK(e.stage() == "filter");
        CHECK(e.signal() == 0);
        CHECK(e.exit_code() == 3);
    }
}

TEST_CASE("a stage's crash is caught as process_crashed and as stage_crashed", "[run][errors]") {
    leaves_nothing guard;
    STATIC_REQUIRE(std::is_base_of_v<fl::process_crashed, fl::stage_crashed>);
    auto p = fl::iota(0, 1'000) | fl::named("doomed", fl::map([](int i) {
                 if (i == 7) ::_exit(5);
                 return i;
             })) |
             fl::count();
    bool as_process = false, as_stage = false;
    try {
        fl::run(p, apart);
        FAIL("no exception");
    } catch (const fl::process_crashed& e) {
        as_process = true;
        CHECK(e.where() == "stage 'doomed'");
        CHECK(e.signal() == 0);
        CHECK(e.exit_code() == 5);
        CHECK(std::string(e.what()) ==
              "forkline: stage 'doomed' (process " + std::to_string(e.pid()) + ") exited with code 5 before it finished");
        try {
            throw;
        } catch (const fl::stage_crashed& s) {
            as_stage = true;
            CHECK(s.stage() == "doomed");
            CHECK(s.pid() == e.pid());
        }
    }
    CHECK(as_process);
    CHECK(as_stage);
}

TEST_CASE("a stage killed from outside with SIGKILL is reported as crashed", "[run][errors]") {
    leaves_nothing guard;
    pid_box box;
    std::atomic<int>* pid = box.pid;
    // The stage publishes its pid and keeps working; another thread of the test kills it.
    std::thread killer([pid] {
        while (pid->load() == 0) std::this_thread::yield();
        ::kill(pid->load(), SIGKILL);
    });
    auto p = fl::iota(0L, 1L << 62) | fl::named("victim", fl::map([pid](long i) {
                 if (i == 0) pid->store(::getpid());
                 return i;
             })) |
             fl::count();
    try {
        fl::run(p, apart);
        FAIL("no exception");
    } catch (const fl::stage_crashed& e) {
        CHECK(e.stage() == "victim");
        CHECK(e.signal() == SIGKILL);
        CHECK(e.pid() == pid->load());
    }
    killer.join();
}

TEST_CASE("a stage stuck in its own code is killed when the run stops", "[run][errors]") {
    leaves_nothing guard;
    pid_box box;
    std::atomic<int>* stuck = box.pid;
    // The source fails once the next stage is stuck for good; tiny rings publish every item.
    auto source = fl::generate([stuck, i = 0]() mutable -> std::optional<int> {
        if (i == 0) return i++;
        while (stuck->load() == 0) std::this_thread::yield();
        throw std::runtime_error("early failure");
    });
    auto p = source | fl::map([stuck](int i) {
                 stuck->store(1);
                 ::pause();  // never returns on its own
                 return i;
             }) |
             fl::count();
    CHECK_THROWS_MATCHES(fl::run(p, fl::options{.ring_bytes = 16, .fuse = false}), fl::stage_error,
                         Catch::Matchers::Message("forkline: stage 'generate' failed: early failure"));
}

TEST_CASE("a stuck stage is never fused into the caller, so it is killed when the run stops", "[run][errors]") {
    leaves_nothing guard;
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_box box;
    std::atomic<int>* stuck = box.pid;
    // The source fails once the stage is stuck for good, reading a pipe nobody writes to.
    auto source = fl::generate([stuck, i = 0]() mutable -> std::optional<int> {
        if (i == 0) return i++;
        while (stuck->load() == 0) std::this_thread::yield();
        throw std::runtime_error("early failure");
    });
    auto p = source | fl::farm(1, fl::map([](int i) { return i; })) | fl::named("stuck", fl::map([stuck, fd = fds[0]](int i) {
                 stuck->store(1);
                 char c;
                 return ::read(fd, &c, 1) < 0 ? i : -i;
             })) |
             fl::count();
    // On two cores four processes are one too many, and the only neighbours that could fuse are
    // the stuck stage and the sink: they stay apart.
    const fl::options two{.ring_bytes = 16, .cpus = 2};
    auto plan = fl::plan(p, two);
    CHECK(plan.groups()[plan.caller_group()].stages == std::vector<std::size_t>{3});
    // The run goes in a child of the test, so that a stage stuck in the caller fails the test
    // instead of hanging it.
    pid_t caller = fork_child([&] {
        try {
            fl::run(p, two);
        } catch (const fl::stage_error& e) {
            return e.stage() == "generate" && e.message() == "early failure" ? 0 : 2;
        }
        return 1;
    });
    int code = -1;
    bool ended = eventually([&] { return exited(caller, code); });
    if (!ended) {
        ::kill(caller, SIGKILL);
        wait_child(caller);
    }
    CHECK(ended);
    CHECK(code == 0);
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("the whole message of a long exception arrives, from a worker and from the sink", "[run][errors]") {
    leaves_nothing guard;
    for (std::size_t length : {4095, 4096, 10'000, 1 << 20}) {
        std::string message;
        for (std::size_t k = 0; message.size() < length; ++k) message += std::to_string(k) + ' ';
        message.resize(length);
        auto thrower = [&message](int i) {
            if (i == 7) throw std::runtime_error(message);
            return i;
        };
        try {
            fl::run(fl::iota(0, 100) | fl::named("long", fl::map(thrower)) | fl::count(), apart);
            FAIL("no exception");
        } catch (const fl::stage_error& e) {
            CHECK(e.stage() == "long");
            CHECK(e.message().size() == length);
            CHECK(e.message() == message);
        }
        try {
            fl::run(fl::iota(0, 100) | fl::for_each([&](int i) { thrower(i); }), apart);
            FAIL("no exception");
        } catch (const fl::stage_error& e) {
            CHECK(e.stage() == "for_each");
            CHECK(e.message() == message);
        }
    }
}

TEST_CASE("the first failure wins when several stages fail", "[run][errors]") {
    leaves_nothing guard;
    auto p = fl::iota(0, 10) | fl::named("first", fl::map(throw_at(3))) | fl::named("second", fl::map(throw_at(0))) |
             fl::count();
    // Either can fail first; whichever did is the one reported, and only once.
    try {
        fl::run(p, apart);
        FAIL("no exception");
    } catch (const fl::stage_error& e) {
        CHECK((e.stage() == "first" || e.stage() == "second"));
    }
}

TEST_CASE("SIGINT on the caller stops every process of the run", "[run][errors]") {
    // The caller is a child of the test, so the test can send it SIGINT and then collect the
    // orphaned workers (PR_SET_CHILD_SUBREAPER makes them ours) to prove they died.
    leaves_nothing guard;
    orphans adopted;
    REQUIRE(adopted.adopting());
    pid_box box;
    std::atomic<int>* started = box.pid;
    pid_t caller = fork_child([started] {
        ::signal(SIGINT, SIG_DFL);
        auto p = fl::iota(0L, 1L << 62) | fl::map([started](long i) {
                     if (i == 0) started->store(1);
                     return i;
                 }) |
                 fl::count();
        fl::run(p, apart);
        return 0;
    });
    while (started->load() == 0) std::this_thread::yield();
    ::kill(caller, SIGINT);
    CHECK(wait_child(caller) == 128 + SIGINT);
    // Every orphan (source and map) dies with its caller; reap them all.
    CHECK(adopted.reap(2));
    adopted.clean_up(0);
}

TEST_CASE("workers die at once with a caller killed by SIGKILL, whichever thread started the run", "[run][errors]") {
    // The caller is a child of the test and runs the pipeline from a second thread, where the
    // parent-death signal cannot be used; its stage sleeps in its own code, where it never
    // checks on its parent.
    leaves_nothing guard;
    orphans adopted;
    REQUIRE(adopted.adopting());
    pid_box box;
    std::atomic<int>* sleeper = box.pid;
    pid_t caller = fork_child([sleeper] {
        std::thread t([sleeper] {
            // An endless source, so that it is still there (waiting for room) when the caller dies.
            fl::run(fl::iota(0, 1 << 30) | fl::map([sleeper](int i) {
                        if (i == 0) {
                            sleeper->store(::getpid());
                            for (;;) ::pause();
                        }
                        return i;
                    }) |
                        fl::count(),
                    apart);
        });
        t.join();
        return 0;
    });
    REQUIRE(eventually([&] { return sleeper->load() != 0; }));
    ::kill(caller, SIGKILL);
    CHECK(wait_child(caller) == 128 + SIGKILL);
    // The source and the sleeping stage are orphans now, ours to reap.
    CHECK(adopted.reap(2));
    CHECK(adopted.ended[sleeper->load()] == 128 + SIGKILL);
    adopted.clean_up(sleeper->load());
}
