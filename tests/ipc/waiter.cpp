// The waiter on its own: the futex calls, what notify() does for each kind of sleeper, how a wait
// ends (ready, aborted, on_wake), and wake-ups between two processes.
#include "../support.hpp"

#include <forkline/ipc/region.hpp>
#include <forkline/ipc/waiter.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <new>

using namespace forkline;
using namespace forkline::test;

namespace {

/// A waiter and the words around it in an anonymous shared region, as a ring lays them out.
struct shared_waiter {
    ipc::shared_region region{4096};
    ipc::waiter* w = new (region.data()) ipc::waiter;
    std::atomic<std::uint32_t>* flag = new (region.data() + 64) std::atomic<std::uint32_t>(0);
    std::atomic<std::uint32_t>* abort = new (region.data() + 128) std::atomic<std::uint32_t>(0);
};

/// Waits for a child that should end soon; a child still running after a minute has hung: it is
/// killed and the test fails. Returns its exit code (or 128 + signal).
int finish(pid_t pid) {
    int code = -1;
    if (eventually([&] { return exited(pid, code); }, 60)) return code;
    ::kill(pid, SIGKILL);
    wait_child(pid);
    FAIL("the child hung");
    return -1;
}

/// Counts its calls; throws ipc::aborted at the `limit`th.
struct wake_counter {
    int calls = 0, limit = 0;
    static void call(void* self) {
        auto* c = static_cast<wake_counter*>(self);
        if (++c->calls == c->limit) throw ipc::aborted{};
    }
};

void count_call(void* n) { ++*static_cast<int*>(n); }

}  // namespace

TEST_CASE("futex_wait returns at once when the word changed and times out when it did not", "[ipc][waiter]") {
    std::atomic<std::uint32_t> word{5};
    CHECK(ipc::futex_wait(word, 4, 60'000));  // not 4: no sleep at all, so no timeout
    CHECK_FALSE(ipc::futex_wait(word, 5, 1));
    ipc::futex_wake(word, 1);  // nobody sleeps: harmless
    CHECK(word.load() == 5);
}

TEST_CASE("notify wakes only the sleepers its urgency calls for", "[ipc][waiter]") {
    using w = ipc::waiter;
    struct expectation {
        std::uint32_t sleeping;
        bool urgent;
        bool woken;  // seq bumped and the sleeper marked awake; else nothing changes
    };
    // Nobody asleep, or a hungry side (spinning, not asleep): nothing to wake. A deep sleeper
    // wakes on any notify, a light one only on an urgent one.
    const expectation table[] = {{w::awake, true, false}, {w::hungry, true, false}, {w::deep, false, true},
                                 {w::deep, true, true},   {w::light, false, false}, {w::light, true, true}};
    for (const auto& e : table) {
        INFO("sleeping " << e.sleeping << ", urgent " << e.urgent);
        w waiter;
        waiter.sleeping.store(e.sleeping);
        waiter.notify(e.urgent);
        CHECK(waiter.seq.load() == (e.woken ? 1u : 0u));
        CHECK(waiter.sleeping.load() == (e.woken ? w::awake : e.sleeping));
    }
}

TEST_CASE("wake_all wakes whatever sleeps", "[ipc][waiter]") {
    ipc::waiter w;
    w.sleeping.store(ipc::waiter::light);
    w.wake_all();
    CHECK(w.seq.load() == 1);
    CHECK(w.sleeping.load() == ipc::waiter::awake);
}

TEST_CASE("a wait whose condition holds returns while spinning, before anything else", "[ipc][waiter]") {
    ipc::waiter w;
    std::atomic<std::uint32_t> abort{1};  // aborted, but the condition wins while spinning
    int before_sleep = 0, on_wake = 0;
    ipc::wait_policy policy{.abort = &abort, .spin = 16, .before_sleep = count_call, .before_sleep_arg = &before_sleep,
                            .on_wake = count_call, .on_wake_arg = &on_wake};
    int polls = 0;
    w.wait([&] { return ++polls == 3; }, policy);
    CHECK(polls == 3);
    CHECK(before_sleep == 0);
    CHECK(on_wake == 0);
    CHECK(w.sleeping.load() == ipc::waiter::awake);
}

TEST_CASE("a wait on an aborted run throws aborted before it sleeps", "[ipc][waiter]") {
    ipc::waiter w;
    std::atomic<std::uint32_t> abort{1};
    int before_sleep = 0;
    ipc::wait_policy policy{.abort = &abort, .spin = 0, .before_sleep = count_call, .before_sleep_arg = &before_sleep};
    CHECK_THROWS_AS(w.wait([] { return false; }, policy), ipc::aborted);
    CHECK(before_sleep == 0);
    CHECK_THROWS_AS(ipc::check_abort(policy), ipc::aborted);
    abort.store(0);
    CHECK_NOTHROW(ipc::check_abort(policy));
    CHECK_NOTHROW(ipc::check_abort(ipc::wait_policy{}));  // no abort flag at all
}

TEST_CASE("a deep sleeper calls on_wake after each sleep, and on_wake may end the wait", "[ipc][waiter]") {
    ipc::waiter w;
    int before_sleep = 0;
    wake_counter wakes{.limit = 3};
    ipc::wait_policy policy{.spin = 0, .sleep_ms = 1, .before_sleep = count_call, .before_sleep_arg = &before_sleep,
                            .on_wake = wake_counter::call, .on_wake_arg = &wakes};
    CHECK_THROWS_AS(w.wait([] { return false; }, policy), ipc::aborted);
    CHECK(wakes.calls == 3);
    CHECK(before_sleep == 1);  // once, however many times it slept
}

TEST_CASE("notify from another process wakes a deep sleeper that has no timeout", "[ipc][waiter]") {
    shared_waiter s;
    pid_t child = fork_child([&] {
        // Without a timeout the sleep ends only by a wake-up: a lost one hangs, and finish() fails.
        ipc::wait_policy policy{.spin = 0, .sleep_ms = -1};
        s.w->wait([&] { return s.flag->load(std::memory_order_acquire) == 1; }, policy);
        return 0;
    });
    // Sets the flag once the child sleeps deeply, so the wake-up has to cross to it.
    bool slept = eventually([&] { return s.w->sleeping.load() == ipc::waiter::deep; }, 60);
    CHECK(slept);
    s.flag->store(1, std::memory_order_release);
    s.w->notify(false);
    CHECK(finish(child) == 0);
    CHECK(no_children_left());
}

TEST_CASE("wake_all with the abort flag set ends a sleeper in another process with aborted", "[ipc][waiter]") {
    shared_waiter s;
    pid_t child = fork_child([&] {
        ipc::wait_policy policy{.abort = s.abort, .spin = 0, .sleep_ms = -1};
        try {
            s.w->wait([] { return false; }, policy);
        } catch (const ipc::aborted&) {
            return 7;
        }
        return 1;
    });
    bool slept = eventually([&] { return s.w->sleeping.load() == ipc::waiter::deep; }, 60);
    CHECK(slept);
    s.abort->store(1);
    s.w->wake_all();
    CHECK(finish(child) == 7);
    CHECK(no_children_left());
}
