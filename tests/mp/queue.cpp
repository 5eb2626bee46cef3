// fl::queue and fl::joinable_queue across processes: order, many producers and consumers (each
// item exactly once), bounds and timeouts, close, large items, task_done / join, processes killed
// inside put or get; fl::pipe.
#include "../support.hpp"

#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace fl = forkline;
using namespace std::chrono_literals;

namespace {
struct order {
    int id;
    std::string customer;
    std::vector<double> amounts;
    bool operator==(const order&) const = default;
};

/// True once p sleeps (state S in /proc), within 10 s.
bool asleep_soon(const fl::process& p) {
    char path[32];
    std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(p.pid()));
    for (auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until;) {
        std::string stat;
        std::getline(std::ifstream(path), stat);
        auto name_end = stat.rfind(')');  // "pid (name) S ...": the name may hold anything
        if (name_end != std::string::npos && name_end + 2 < stat.size() && stat[name_end + 2] == 'S') return true;
        std::this_thread::sleep_for(1ms);
    }
    return false;
}

/// Starts a process that runs `body` and returns it once it sleeps: the bodies here sleep only
/// when a put waits for room or a get for the rest of a large item, so the process is inside one.
template <class Body>
fl::process start_until_asleep(Body body) {
    fl::event started;
    fl::process p([&started, body] {
        started.set();
        body();
    });
    p.start();
    REQUIRE(started.wait_for(10s));
    REQUIRE(asleep_soon(p));
    return p;
}

/// A large item whose every byte depends on its place and on `seed`, so that any part of another
/// item (or of a killed producer's partial one) in it shows.
std::string large_item(std::size_t n, char seed) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i % 61);
    return s;
}
}  // namespace

TEST_CASE("one producer, one consumer: every item, in order, strings and structs", "[mp][queue]") {
    fl::queue<order> q(64);
    fl::process producer([&] {
        for (int i = 0; i < 10'000; ++i) q.put(order{i, "c" + std::to_string(i % 7), std::vector<double>(i % 5, 1.5)});
        q.close();
    });
    producer.start();
    int expected = 0;
    while (auto o = q.get()) {
        CHECK(o->id == expected);
        CHECK(o->customer == "c" + std::to_string(expected % 7));
        CHECK(o->amounts.size() == static_cast<std::size_t>(expected % 5));
        ++expected;
    }
    CHECK(expected == 10'000);
    producer.join();
    CHECK(producer.exit_code() == 0);
}

TEST_CASE("4 producers and 4 consumers: every item received exactly once", "[mp][queue]") {
    constexpr int producers = 4, consumers = 4, each = 25'000;
    fl::queue<long> q(1000);
    fl::raw_array<std::atomic<int>> seen(producers * each);
    fl::raw_value<std::atomic<long>> got(0);
    std::vector<fl::process> ps;
    for (int p = 0; p < producers; ++p)
        ps.emplace_back([&, p] {
            for (long k = 0; k < each; ++k) q.put(p * each + k);
        });
    for (int c = 0; c < consumers; ++c)
        ps.emplace_back([&] {
            while (auto v = q.get()) {
                ++seen[static_cast<std::size_t>(*v)];
                ++*got;
            }
        });
    for (auto& p : ps) p.start();
    for (int p = 0; p < producers; ++p) ps[static_cast<std::size_t>(p)].join();
    q.close();  // the consumers drain what is left, then stop
    for (auto& p : ps) {
        p.join();
        CHECK(p.exit_code() == 0);
    }
    CHECK(*got == producers * each);
    int wrong = 0;
    for (auto& s : seen) wrong += s != 1;
    CHECK(wrong == 0);
}

TEST_CASE("a full queue refuses or waits, an empty one waits, within their timeouts", "[mp][queue]") {
    fl::queue<int> q(2);
    CHECK(q.try_put(1));
    CHECK(q.try_put(2));
    CHECK_FALSE(q.try_put(3));
    CHECK(q.size_approx() == 2);
    auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(q.put(3, 50ms));
    CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
    CHECK(q.get() == 1);
    CHECK(q.put(3, 50ms));
    CHECK(q.get() == 2);
    CHECK(q.try_get() == 3);
    CHECK_FALSE(q.try_get());
    t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(q.get(50ms));
    CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
    CHECK(q.empty());

    // A put waiting for room goes on when another process makes some.
    CHECK(q.try_put(10));
    CHECK(q.try_put(11));
    fl::process taker([&] {
        ::usleep(20'000);
        std::exit(q.get() == 10 ? 0 : 1);
    });
    taker.start();
    CHECK(q.put(12, 30s));
    taker.join();
    CHECK(taker.exit_code() == 0);
}

TEST_CASE("close: puts throw, gets drain what is left and then get nothing", "[mp][queue]") {
    fl::queue<std::string> q;
    q.put("a");
    q.put("b");
    fl::process waiter([&] {
        fl::queue<std::string>& qq = q;
        std::exit(qq.get() == "a" && qq.get() == "b" && !qq.get() ? 0 : 1);
    });
    waiter.start();
    ::usleep(20'000);
    q.close();
    waiter.join();
    CHECK(waiter.exit_code() == 0);
    CHECK(q.closed());
    CHECK_THROWS_AS(q.put("c"), fl::queue_closed);
    CHECK_FALSE(q.get());
}

TEST_CASE("items larger than the ring stream through it", "[mp][queue]") {
    fl::queue<std::string> q(0, 64 << 10);
    std::string big(1 << 20, 'x');
    big[12345] = 'y';
    fl::process producer([&] {
        for (int i = 0; i < 3; ++i) q.put(big);
        q.put("small");
    });
    producer.start();
    for (int i = 0; i < 3; ++i) CHECK(q.get() == big);
    CHECK(q.get() == "small");
    producer.join();
}

TEST_CASE("a joinable queue's join waits for every task_done", "[mp][queue]") {
    fl::joinable_queue<int> q;
    fl::raw_value<std::atomic<int>> handled(0);
    fl::process worker([&] {
        while (auto v = q.get()) {
            ::usleep(1000);
            ++*handled;
            q.task_done();
        }
    });
    worker.start();
    for (int i = 0; i < 50; ++i) q.put(i);
    q.join();
    CHECK(*handled == 50);
    CHECK(q.join(0ms));
    q.close();
    worker.join();
    CHECK_THROWS_AS(q.task_done(), std::logic_error);
}

TEST_CASE("a duplex pipe: each end sends to the other, close ends both directions", "[mp][pipe]") {
    auto [parent, child] = fl::pipe<std::string>();
    fl::process p([&, c = child] {
        auto me = c;  // copies of an end are the same end
        while (auto m = me.recv()) me.send(*m + "!");
        me.close();
    });
    p.start();
    for (int i = 0; i < 1000; ++i) {
        parent.send("ping " + std::to_string(i));
        CHECK(parent.recv() == "ping " + std::to_string(i) + "!");
    }
    CHECK_FALSE(parent.poll());
    CHECK_FALSE(parent.recv(10ms));
    parent.close();  // the child's recv ends, it closes its end too
    p.join();
    CHECK(p.exit_code() == 0);
    CHECK(parent.poll());
    CHECK_FALSE(parent.recv());
    CHECK_THROWS_AS(parent.send("late"), fl::queue_closed);
}

TEST_CASE("a one-way pipe: the first end only receives, the second only sends", "[mp][pipe]") {
    auto [reader, writer] = fl::pipe<int>(false);
    CHECK(reader.readable());
    CHECK_FALSE(reader.writable());
    CHECK(writer.writable());
    CHECK_FALSE(writer.readable());
    CHECK_THROWS_AS(reader.send(1), std::logic_error);
    CHECK_THROWS_AS(writer.recv(), std::logic_error);
    fl::process p([w = writer]() mutable {
        for (int i = 1; i <= 100000; ++i) w.send(i);
        w.close();
    });
    p.start();
    long sum = 0, n = 0;
    while (auto v = reader.recv()) {
        sum += *v;
        ++n;
    }
    p.join();
    CHECK(n == 100000);
    CHECK(sum == 100000L * 100001 / 2);
}

TEST_CASE("a producer killed while it holds the producers' lock does not wedge the queue", "[mp][queue]") {
    fl::queue<int> q(1);
    q.put(1);  // full: the next put waits for room, holding the producers' lock
    fl::event about_to_put;
    fl::process stuck([&] {
        about_to_put.set();
        q.put(2);
    });
    stuck.start();
    REQUIRE(about_to_put.wait_for(10s));
    std::this_thread::sleep_for(50ms);  // inside put by now
    CHECK_FALSE(q.put(3, 10ms));
    stuck.kill();  // not reaped yet: a zombie holds the lock, and only we could reap it
    CHECK(q.get() == 1);
    CHECK(q.put(3, 5s));  // takes the dead producer's lock over
    CHECK(q.get() == 3);
    CHECK_FALSE(q.try_get());
    stuck.join();
    CHECK(stuck.exit_code() == -SIGKILL);
}

TEST_CASE("a producer killed while streaming a large item: a getter drops the partial item", "[mp][queue]") {
    fl::queue<std::string> q(0, 64 << 10);
    const std::string partial = large_item(1 << 20, 'a'), big = large_item(1 << 20, 'A');
    // No getter yet: it fills the ring with the item's first part and waits for room.
    fl::process stuck = start_until_asleep([&] { q.put(partial); });
    stuck.kill();
    stuck.join();
    CHECK(stuck.exit_code() == -SIGKILL);

    // No producer is left to take the lock over: the getter must see for itself that the rest
    // will never come, and get nothing (not a truncated item).
    fl::process getter([&] { std::exit(q.get(10ms) ? 1 : 0); });
    getter.start();
    REQUIRE(getter.join(20s));
    CHECK(getter.exit_code() == 0);
    CHECK(q.size_approx() == 0);

    fl::process producer([&] {
        q.put("after");
        q.put(big);
        q.put("last");
    });
    producer.start();
    CHECK(q.get(20s) == "after");
    CHECK(q.get(20s) == big);
    CHECK(q.get(20s) == "last");
    CHECK_FALSE(q.try_get());
    CHECK(q.size_approx() == 0);
    REQUIRE(producer.join(20s));
    CHECK(producer.exit_code() == 0);
}

TEST_CASE("a producer killed in the middle of a large item a getter is taking: the getter drops it and gets "
          "what the next producer put, and join() does not wait for it",
          "[mp][queue]") {
    fl::joinable_queue<std::string> q(0, 64 << 10);
    // What the killed producer leaves unwritten of its item fits in the ring, and the next
    // producer fills the ring: a getter that took its bytes for the rest would get a whole item.
    const std::string partial = large_item(80 << 10, 'a'), big = large_item(200'000, 'A');
    constexpr int smalls = 10'000;  // more than the ring holds
    fl::process stuck = start_until_asleep([&] { q.put(partial); });
    ::kill(stuck.pid(), SIGSTOP);  // frozen with the ring full of its item's first part
    fl::process getter = start_until_asleep([&] {  // it takes what is in the ring and waits for the rest
        for (int k = 0; k < smalls; ++k) {
            if (q.get() != "item " + std::to_string(k)) std::exit(1);
            q.task_done();
        }
        if (q.get() != big) std::exit(2);
        q.task_done();
        if (q.get() != "last") std::exit(3);
        q.task_done();
        std::exit(q.try_get() ? 4 : 0);
    });
    ::kill(getter.pid(), SIGSTOP);
    stuck.kill();  // not reaped: a zombie holds the producers' lock
    // It takes the lock over and fills the ring behind the partial item.
    fl::process producer = start_until_asleep([&] {
        for (int k = 0; k < smalls; ++k) q.put("item " + std::to_string(k));
        q.put(big);
        q.put("last");
    });
    ::kill(getter.pid(), SIGCONT);  // the getter finds bytes after the partial item at once
    REQUIRE(getter.join(20s));
    CHECK(getter.exit_code() == 0);
    REQUIRE(producer.join(20s));
    CHECK(producer.exit_code() == 0);
    CHECK(q.join(10s));  // the killed producer's put never completed: nobody will task_done it
    CHECK(q.size_approx() == 0);
    stuck.join();
    CHECK(stuck.exit_code() == -SIGKILL);
}

TEST_CASE("a getter killed while taking a large item does not wedge the producer streaming it", "[mp][queue]") {
    fl::joinable_queue<std::string> q(0, 64 << 10);
    const std::string lost = large_item(1 << 20, 'a');
    fl::process producer = start_until_asleep([&] {
        q.put(lost);
        q.put("after");
    });
    ::kill(producer.pid(), SIGSTOP);  // frozen with the ring full of its item's first part
    fl::process getter = start_until_asleep([&] { q.get(); });  // waits for the rest
    getter.kill();  // not reaped: a zombie holds the consumers' lock
    ::kill(producer.pid(), SIGCONT);
    // The item went with its getter: the next getter drops the rest as it comes, then goes on.
    CHECK(q.get(20s) == "after");
    q.task_done();
    REQUIRE(producer.join(20s));
    CHECK(producer.exit_code() == 0);
    CHECK_FALSE(q.try_get());
    CHECK(q.size_approx() == 0);
    CHECK(q.join(10s));  // nobody will task_done the lost item
    getter.join();
    CHECK(getter.exit_code() == -SIGKILL);
}
