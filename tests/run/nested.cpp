// Runs inside runs: a stage, a sink or a pool task that runs a pipeline of its own. Each run keeps
// its own record of the stage it is running, so results are right and errors name the stage of
// the run they happened in.
#include "../support.hpp"

#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

namespace fl = forkline;
using namespace forkline::test;
using Catch::Matchers::Message;

namespace {

/// One process per stage, whatever the core count: the outer and inner stages are told apart.
const fl::options apart{.fuse = false};

/// The sum of 0..n-1, by a pipeline of its own.
long inner_sum(long n) { return fl::run(fl::iota(0L, n) | fl::named("inner", fl::map([](long i) { return i; })) |
                                            fl::reduce(0L, std::plus<>{}), apart); }

/// A pipeline of six elements, longer than the outer ones, that fails in its last stage.
long inner_failing(long n) {
    auto id = [](long i) { return i; };
    return fl::run(fl::iota(0L, n) | fl::map(id) | fl::map(id) | fl::map(id) | fl::named("inner", fl::map([](long i) {
                       if (i == 3) throw std::runtime_error("inner refuses 3");
                       return i;
                   })) |
                       fl::reduce(0L, std::plus<>{}),
                   apart);
}

/// Where the tests learn the pid of a process of the run; shared with the children it forks.
struct shared_pids {
    std::atomic<int>* at = static_cast<std::atomic<int>*>(
        ::mmap(nullptr, 2 * sizeof(std::atomic<int>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    shared_pids() {
        new (&at[0]) std::atomic<int>(0);
        new (&at[1]) std::atomic<int>(0);
    }
    ~shared_pids() { ::munmap(at, 2 * sizeof(std::atomic<int>)); }
};

}  // namespace

TEST_CASE("a stage that runs a pipeline of its own gives the right results", "[run][nested]") {
    auto out = fl::run(fl::iota(0L, 6L) | fl::named("outer", fl::map(inner_sum)) | fl::to_vector(), apart);
    CHECK(out == std::vector<long>{0, 0, 1, 3, 6, 10});
    CHECK(no_children_left());
}

TEST_CASE("the failure of a nested run is blamed on the outer stage that ran it", "[run][nested]") {
    auto p = fl::iota(0L, 10L) | fl::named("outer", fl::map(inner_failing)) | fl::map([](long i) { return i; }) |
             fl::to_vector();
    try {
        fl::run(p, apart);
        FAIL("no exception");
    } catch (const fl::stage_error& e) {
        CHECK(e.stage() == "outer");
        CHECK(e.message() == "forkline: stage 'inner' failed: inner refuses 3");
    }
    CHECK(no_children_left());
}

TEST_CASE("an outer stage that fails after a nested run succeeded is named", "[run][nested]") {
    auto p = fl::iota(0L, 10L) | fl::named("outer", fl::map([](long i) {
                 long s = inner_sum(i);
                 if (i == 4) throw std::runtime_error("outer refuses " + std::to_string(s));
                 return s;
             })) |
             fl::map([](long i) { return i; }) | fl::map([](long i) { return i; }) | fl::count();
    CHECK_THROWS_MATCHES(fl::run(p, apart), fl::stage_error, Message("forkline: stage 'outer' failed: outer refuses 6"));
    CHECK(no_children_left());
}

TEST_CASE("an outer stage killed while its nested run goes on is named, and the nested run's workers die",
          "[run][nested]") {
    shared_pids pids;
    std::atomic<int>* at = pids.at;
    std::thread killer([at] {
        while (at[1].load() == 0) std::this_thread::yield();
        ::kill(at[0].load(), SIGKILL);
    });
    auto p = fl::iota(0L, 10L) | fl::named("outer", fl::map([at](long i) {
                 at[0].store(::getpid());
                 // The nested run's stage says where it is and sleeps: its caller is killed meanwhile.
                 return fl::run(fl::iota(0L, 1L << 40) | fl::named("inner", fl::map([at](long k) {
                                    if (k == 0) at[1].store(::getpid());
                                    if (k == 1000) ::pause();
                                    return k;
                                })) |
                                    fl::count(),
                                apart) +
                        i;
             })) |
             fl::count();
    try {
        fl::run(p, apart);
        FAIL("no exception");
    } catch (const fl::stage_crashed& e) {
        CHECK(e.stage() == "outer");
        CHECK(e.signal() == SIGKILL);
        CHECK(e.pid() == at[0].load());
    }
    killer.join();
    CHECK(no_children_left());
    CHECK(eventually([at] { return ended(at[1].load()); }));
}

TEST_CASE("a sink that runs a nested run and then fails is named", "[run][nested]") {
    auto p = fl::iota(0L, 5L) | fl::map([](long i) { return i; }) | fl::named("sink", fl::for_each([](long i) {
                 long s = inner_sum(i + 2);
                 if (i == 3) throw std::invalid_argument("sink refuses " + std::to_string(s));
             }));
    CHECK_THROWS_MATCHES(fl::run(p, apart), fl::stage_error, Message("forkline: stage 'sink' failed: sink refuses 10"));
    CHECK(no_children_left());
}

TEST_CASE("a sink whose nested run fails is named, not the nested stage", "[run][nested]") {
    auto p = fl::iota(0L, 5L) | fl::named("sink", fl::reduce(0L, [](long acc, long i) { return acc + inner_failing(i); }));
    try {
        fl::run(p, apart);
        FAIL("no exception");
    } catch (const fl::stage_error& e) {
        CHECK(e.stage() == "sink");
        CHECK(e.message() == "forkline: stage 'inner' failed: inner refuses 3");
    }
    CHECK(no_children_left());
}

TEST_CASE("a stream read inside a stage, and a pipeline run by a pool task", "[run][nested]") {
    auto p = fl::iota(1L, 5L) | fl::named("outer", fl::map([](long n) {
                 long s = 0;
                 for (long v : fl::stream(fl::iota(0L, n) | fl::map([](long i) { return i * 2; }))) s += v;
                 return s;
             })) |
             fl::to_vector();
    CHECK(fl::run(p, apart) == std::vector<long>{0, 2, 6, 12});
    {
        fl::pool pool(2);
        CHECK(pool.map(inner_sum, std::vector<long>{3, 4, 5}) == std::vector<long>{3, 6, 10});
        auto f = pool.submit(inner_failing, 10L);
        CHECK_THROWS_WITH(f.get(), Catch::Contains("forkline::stage_error") &&
                                       Catch::Contains("forkline: stage 'inner' failed: inner refuses 3"));
    }
    CHECK(no_children_left());
}
