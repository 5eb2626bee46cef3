// The process-shared primitives across real processes: locks (robust ones included), semaphores,
// events, conditions, barriers and shared values, under stress and with timeouts.
#include "../support.hpp"

#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>

namespace fl = forkline;
using namespace std::chrono_literals;

namespace {

/// Runs fn(i) in n processes and waits for all; true when every one exited with 0.
template <class Fn>
bool in_processes(int n, Fn fn) {
    std::vector<fl::process> ps;
    for (int i = 0; i < n; ++i) ps.emplace_back(fn, i);
    for (auto& p : ps) p.start();
    bool ok = true;
    for (auto& p : ps) {
        p.join();
        ok = ok && p.exit_code() == 0;
    }
    return ok;
}

}  // namespace

TEST_CASE("a lock keeps 8 processes x 100k increments exact", "[mp][lock]") {
    fl::lock lk;
    fl::raw_value<long> count(0);
    CHECK(in_processes(8, [&](int) {
        for (int k = 0; k < 100'000; ++k) {
            std::scoped_lock g(lk);
            ++*count;
        }
    }));
    CHECK(*count == 800'000);
}

TEST_CASE("a value's lock guards read-modify-write; load and store take it", "[mp][value]") {
    fl::value<long> v(5);
    CHECK(v.load() == 5);
    v.store(0);
    CHECK(in_processes(4, [&](int) {
        for (int k = 0; k < 10'000; ++k) {
            std::scoped_lock g(v.get_lock());
            *v += 1;
        }
    }));
    CHECK(v.load() == 40'000);

    fl::array<int> a(4, 7);
    CHECK(a.size() == 4);
    CHECK(in_processes(4, [&](int i) { a.store(static_cast<std::size_t>(i), i * 10 + a.load(static_cast<std::size_t>(i))); }));
    CHECK(std::vector<int>(a.begin(), a.end()) == std::vector<int>{7, 17, 27, 37});
    CHECK_THROWS_AS(a.at(4), std::out_of_range);
}

TEST_CASE("an rlock may be taken again by its holder; a lock may not", "[mp][lock]") {
    fl::rlock r;
    r.lock();
    CHECK(r.try_lock());
    r.unlock();
    r.unlock();
    fl::lock l;
    l.lock();
    CHECK_THROWS_AS(l.lock(), std::system_error);
    l.unlock();
    if (!forkline::test::thread_sanitized) CHECK_THROWS_AS(l.unlock(), std::system_error);  // not held
}

TEST_CASE("a lock whose holder was killed goes to the next locker, who learns it", "[mp][lock]") {
    for (bool recursive : {false, true}) {
        fl::lock plain;
        fl::rlock again;
        fl::mutex& lk = recursive ? static_cast<fl::mutex&>(again) : plain;
        fl::event holding;
        fl::process holder([&] {
            lk.lock();
            holding.set();
            for (;;) ::pause();
        });
        holder.start();
        REQUIRE(holding.wait_for(30s));
        CHECK_FALSE(lk.try_lock_for(20ms));  // held by a live process
        holder.kill();
        holder.join();
        CHECK(lk.try_lock_for(30s));
        CHECK(lk.owner_died());
        lk.unlock();
        lk.lock();  // consistent again: an ordinary lock from now on
        CHECK_FALSE(lk.owner_died());
        lk.unlock();
    }
}

TEST_CASE("timeouts are honoured", "[mp][lock][semaphore][event][condition]") {
    fl::lock lk;
    fl::semaphore none(0);
    fl::event never;
    fl::condition cv;
    fl::event holding, done;
    fl::process holder([&] {
        std::scoped_lock g(lk);
        holding.set();
        done.wait();
    });
    holder.start();
    REQUIRE(holding.wait_for(30s));
    auto took = [](auto fn) {
        auto t0 = std::chrono::steady_clock::now();
        bool got = fn();
        return std::pair{got, std::chrono::steady_clock::now() - t0};
    };
    auto [l, lt] = took([&] { return lk.try_lock_for(60ms); });
    auto [s, st] = took([&] { return none.acquire(60ms); });
    auto [e, et] = took([&] { return never.wait_for(60ms); });
    auto [c, ct] = took([&] {
        std::unique_lock g(cv);
        return cv.wait_for(60ms, [] { return false; });
    });
    done.set();
    holder.join();
    for (auto [got, t] : {std::pair{l, lt}, std::pair{s, st}, std::pair{e, et}, std::pair{c, ct}}) {
        CHECK_FALSE(got);
        CHECK(t >= 60ms);
        CHECK(t < 30s);
    }
}

TEST_CASE("a semaphore lets at most n in at once", "[mp][semaphore]") {
    fl::semaphore slots(2);
    fl::raw_value<std::atomic<int>> inside(0), most(0);
    CHECK(in_processes(6, [&](int) {
        for (int k = 0; k < 20; ++k) {
            std::scoped_lock g(slots);
            int now = ++*inside;
            int m = most->load();
            while (now > m && !most->compare_exchange_weak(m, now)) {
            }
            ::usleep(200);
            --*inside;
        }
    }));
    CHECK(*most <= 2);
    CHECK(*most >= 1);
    CHECK(slots.value() == 2);
}

TEST_CASE("a bounded semaphore refuses a release too many", "[mp][semaphore]") {
    fl::bounded_semaphore b(2);
    b.acquire();
    b.release();
    CHECK_THROWS_AS(b.release(), std::logic_error);
    CHECK(b.value() == 2);
    fl::semaphore s(0);
    s.release(3);  // a plain semaphore counts on
    CHECK(s.value() == 3);
    CHECK(s.try_acquire());
}

TEST_CASE("an event wakes every waiter", "[mp][event]") {
    fl::event go;
    fl::raw_value<std::atomic<int>> woke(0);
    std::vector<fl::process> ps;
    for (int i = 0; i < 3; ++i) ps.emplace_back([&] {
        go.wait();
        ++*woke;
    });
    for (auto& p : ps) p.start();
    CHECK_FALSE(go.is_set());
    go.set();
    for (auto& p : ps) p.join();
    CHECK(*woke == 3);
    go.clear();
    CHECK_FALSE(go.is_set());
}

TEST_CASE("a condition passes the turn back and forth 100k times", "[mp][condition]") {
    fl::condition cv;
    fl::raw_value<long> turn(0);  // even: the parent's turn, odd: the child's
    constexpr long rounds = 100'000;
    fl::process child([&] {
        for (long k = 0; k < rounds; ++k) {
            std::unique_lock g(cv);
            cv.wait([&] { return *turn % 2 == 1; });
            ++*turn;
            cv.notify();
        }
    });
    child.start();
    for (long k = 0; k < rounds; ++k) {
        std::unique_lock g(cv);
        cv.wait([&] { return *turn % 2 == 0; });
        ++*turn;
        cv.notify();
    }
    child.join();
    CHECK(child.exit_code() == 0);
    CHECK(*turn == 2 * rounds);
}

TEST_CASE("a barrier holds every round until all arrive, and runs its action once a round", "[mp][barrier]") {
    constexpr int parties = 4, rounds = 500;
    fl::raw_value<long> actions(0);
    fl::raw_array<long> arrived(rounds, 0), index_sum(rounds, 0);
    fl::lock lk;
    fl::barrier b(parties, [&] { ++*actions; });
    CHECK(in_processes(parties, [&](int) {
        for (int r = 0; r < rounds; ++r) {
            {
                std::scoped_lock g(lk);
                ++arrived[static_cast<std::size_t>(r)];
            }
            std::uint32_t idx = b.wait();
            std::scoped_lock g(lk);
            // Everyone of this round arrived before anyone left it.
            if (arrived[static_cast<std::size_t>(r)] != parties) std::exit(3);
            index_sum[static_cast<std::size_t>(r)] += idx;
        }
    }));
    CHECK(*actions == rounds);
    for (long s : index_sum) CHECK(s == 0 + 1 + 2 + 3);
}

TEST_CASE("a barrier breaks on a timeout and on abort, and reset mends it", "[mp][barrier]") {
    fl::barrier b(2);
    CHECK_THROWS_AS(b.wait(30ms), fl::broken_barrier);
    CHECK(b.broken());
    CHECK_THROWS_AS(b.wait(), fl::broken_barrier);
    b.reset();
    CHECK_FALSE(b.broken());
    fl::process other([&] { b.wait(); });
    other.start();
    CHECK(b.wait(30s) <= 1);
    other.join();
    CHECK(other.exit_code() == 0);

    fl::process waiter([&] {
        try {
            b.wait();
        } catch (const fl::broken_barrier&) {
            std::exit(7);
        }
    });
    waiter.start();
    while (b.n_waiting() == 0) ::usleep(1000);
    b.abort();
    waiter.join();
    CHECK(waiter.exit_code() == 7);
    CHECK_THROWS_AS(fl::barrier(0), std::invalid_argument);
}
