// Spawning and reaping on their own: what a worker is (a child running the body, named, pinned,
// with default SIGINT), how reap reports its end, that it dies with its parent, that a watcher
// outlives it, and that a fork does not write buffered output twice.
#include "../support.hpp"

#include <forkline/ipc/region.hpp>
#include <forkline/ipc/spawn.hpp>
#include <forkline/ipc/waiter.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <new>
#include <string>

using namespace forkline;
using namespace forkline::test;

namespace {

/// What a worker reports about itself, in memory its parent reads.
struct report {
    std::atomic<int> pid{0}, parent{0};
    std::atomic<int> go{0};  ///< the parent lets a waiting worker end
    int arg = 0;
    bool parent_checked = false;
    char title[16] = {};
    cpu_set_t cpus;
};

struct shared_report {
    ipc::shared_region region{4096};
    report* r = new (region.data()) report;
};

void tell(void* p) {
    auto* r = static_cast<report*>(p);
    r->arg = 17;
    ::prctl(PR_GET_NAME, r->title);
    ::sched_getaffinity(0, sizeof r->cpus, &r->cpus);
    try {
        ipc::check_parent();
        r->parent_checked = true;
    } catch (const ipc::aborted&) {
    }
    r->parent.store(::getppid());
    r->pid.store(::getpid());
}

/// Says who it is, then waits for `go` (a minute at most, so a broken test cannot leave it behind).
void tell_and_wait(void* p) {
    auto* r = static_cast<report*>(p);
    r->pid.store(::getpid());
    eventually([r] { return r->go.load() != 0; }, 60);
}

/// A watcher's body: says who it is, takes a SIGINT (which it ignores), and waits for its parent
/// to be gone (a minute at most), then says it saw that.
/// A watcher's body: shrugs off the signals that end programs, then sleeps (for two minutes at
/// most) until its lifeline's SIGUSR1 says the parent is gone: arg = 1 when it did.
void watch_parent(void* p) {
    auto* r = static_cast<report*>(p);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::raise(sig);
    sigset_t usr1, others;
    ::sigemptyset(&usr1);
    ::sigaddset(&usr1, SIGUSR1);
    ::sigprocmask(SIG_BLOCK, &usr1, &others);  // a signal before ppoll waits for it
    r->pid.store(::getpid());
    bool woken = false;
    timespec limit{120, 0};
    while (!ipc::parent_gone())
        if (!(woken = ::ppoll(nullptr, 0, &limit, &others) < 0 && errno == EINTR)) break;
    if (woken && ipc::parent_gone()) r->arg = 1;
}

void raise_sigint(void*) { ::raise(SIGINT); }
void die_by_sigkill(void*) { ::raise(SIGKILL); }
void exit_with_3(void*) { ::_exit(3); }
void nothing(void*) {}

/// Reaps a worker that should end soon; one still running after a minute has hung: it is killed
/// and the test fails.
ipc::exit_status finish(pid_t pid) {
    ipc::exit_status s;
    if (eventually([&] { return ipc::reap(pid, false, s); }, 60)) return s;
    ::kill(pid, SIGKILL);
    ipc::reap(pid, true, s);
    FAIL("the worker hung");
    return s;
}

}  // namespace

TEST_CASE("a worker runs its body in a child of the caller and exits cleanly", "[ipc][spawn]") {
    shared_report s;
    pid_t pid = ipc::fork_worker("fl-test-worker", -1, tell, s.r);
    REQUIRE(pid > 0);
    ipc::exit_status st = finish(pid);
    CHECK(st.clean());
    CHECK(st.signal == 0);
    CHECK(st.code == 0);
    CHECK(st.peak_rss_kib > 0);
    CHECK(s.r->pid.load() == pid);
    CHECK(s.r->parent.load() == ::getpid());
    CHECK(s.r->arg == 17);
    CHECK(std::string(s.r->title) == "fl-test-worker");
    CHECK(s.r->parent_checked);  // its parent lives: check_parent lets it go on
    CHECK(no_children_left());
}

TEST_CASE("check_parent does nothing outside a worker", "[ipc][spawn]") {
    CHECK_NOTHROW(ipc::check_parent());
}

TEST_CASE("a worker is pinned to the core it is given, or keeps the caller's cores", "[ipc][spawn]") {
    cpu_set_t mine;
    REQUIRE(::sched_getaffinity(0, sizeof mine, &mine) == 0);
    int core = 0;
    while (!CPU_ISSET(core, &mine)) ++core;
    {
        shared_report s;
        CHECK(finish(ipc::fork_worker("fl-test-pinned", core, tell, s.r)).clean());
        CHECK(CPU_COUNT(&s.r->cpus) == 1);
        CHECK(CPU_ISSET(core, &s.r->cpus));
    }
    {
        shared_report s;
        CHECK(finish(ipc::fork_worker("fl-test-free", -1, tell, s.r)).clean());
        CHECK(CPU_EQUAL(&s.r->cpus, &mine));
    }
    CHECK(no_children_left());
}

TEST_CASE("reap reports the signal that killed a worker or the code it exited with", "[ipc][spawn]") {
    ipc::exit_status killed = finish(ipc::fork_worker("fl-test-killed", -1, die_by_sigkill, nullptr));
    CHECK_FALSE(killed.clean());
    CHECK(killed.signal == SIGKILL);
    CHECK(killed.code == -1);
    ipc::exit_status exited = finish(ipc::fork_worker("fl-test-exit", -1, exit_with_3, nullptr));
    CHECK_FALSE(exited.clean());
    CHECK(exited.signal == 0);
    CHECK(exited.code == 3);
    CHECK(no_children_left());
}

TEST_CASE("reap without blocking says false while the worker runs", "[ipc][spawn]") {
    shared_report s;
    pid_t pid = ipc::fork_worker("fl-test-waits", -1, tell_and_wait, s.r);
    ipc::exit_status st;
    CHECK_FALSE(ipc::reap(pid, false, st));
    s.r->go.store(1);
    CHECK(finish(pid).clean());
    CHECK(no_children_left());
}

TEST_CASE("a worker takes SIGINT's default action whatever the caller's handler", "[ipc][spawn]") {
    struct sigaction ignore {}, old {};
    ignore.sa_handler = SIG_IGN;
    REQUIRE(::sigaction(SIGINT, &ignore, &old) == 0);
    pid_t pid = ipc::fork_worker("fl-test-sigint", -1, raise_sigint, nullptr);
    ::sigaction(SIGINT, &old, nullptr);
    ipc::exit_status st = finish(pid);
    CHECK(st.signal == SIGINT);
    CHECK(no_children_left());
}

TEST_CASE("a worker is killed as soon as the process that forked it is", "[ipc][spawn]") {
    orphans adopted;
    REQUIRE(adopted.adopting());
    shared_report s;
    // The worker's parent is a child of the test, so that the test can kill it; the test adopts
    // the worker then and sees how it ended.
    pid_t parent = fork_child([&] {
        ipc::fork_worker("fl-test-orphan", -1, tell_and_wait, s.r);
        ::pause();
        return 0;
    });
    bool started = eventually([&] { return s.r->pid.load() != 0; }, 60);
    CHECK(started);
    ::kill(parent, SIGKILL);
    bool both_ended = adopted.reap(started ? 2 : 1, 60);
    CHECK(both_ended);
    CHECK(adopted.ended[parent] == 128 + SIGKILL);
    if (started) CHECK(adopted.ended[s.r->pid.load()] == 128 + SIGKILL);
    s.r->go.store(1);
    adopted.clean_up(s.r->pid.load());
    CHECK(no_children_left());
}

TEST_CASE("a watcher outlives the process that forked it, is woken when it is gone, and ignores the signals that end programs", "[ipc][spawn]") {
    orphans adopted;
    REQUIRE(adopted.adopting());
    shared_report s;
    pid_t parent = fork_child([&] {
        ipc::fork_watcher("fl-test-watch", watch_parent, s.r);
        ::pause();
        return 0;
    });
    bool started = eventually([&] { return s.r->pid.load() != 0; }, 60);
    REQUIRE(started);
    CHECK_FALSE(ipc::parent_gone());  // not in a child forkline forked
    ::kill(parent, SIGKILL);
    bool both_ended = adopted.reap(2, 60);
    CHECK(both_ended);
    CHECK(adopted.ended[parent] == 128 + SIGKILL);
    CHECK(adopted.ended[s.r->pid.load()] == 0);  // it ended on its own, after its parent
    CHECK(s.r->arg == 1);
    adopted.clean_up(s.r->pid.load());
    CHECK(no_children_left());
}

TEST_CASE("a fork writes output buffered before it only once", "[ipc][spawn]") {
    temp_file out("");
    std::cout.flush();  // so that the child starts with empty buffers
    std::fflush(nullptr);
    // In a child of the test, since it sends stdout to a file and leaves text in its buffers.
    pid_t child = fork_child([&] {
        int fd = ::open(out.path.c_str(), O_WRONLY | O_TRUNC);
        if (fd < 0 || ::dup2(fd, 1) < 0) return 1;
        ::close(fd);
        std::setvbuf(stdout, nullptr, _IOFBF, 1 << 16);
        std::printf("C");
        std::cout << "++";
        pid_t pid = ipc::fork_worker("fl-test-flush", -1, nothing, nullptr);
        ipc::exit_status st;
        if (!eventually([&] { return ipc::reap(pid, false, st); }, 60)) return 2;
        std::fflush(nullptr);
        return st.clean() ? 0 : 3;
    });
    int code = -1;
    if (!eventually([&] { return exited(child, code); }, 90)) {
        ::kill(child, SIGKILL);
        wait_child(child);
    }
    CHECK(code == 0);
    std::ifstream in(out.path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text == "C++");
    CHECK(no_children_left());
}
