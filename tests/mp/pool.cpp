// fl::pool: map, imap, imap_unordered, starmap and submit across worker processes; chunks,
// exceptions, crashes and their recovery, initializer, close / join / terminate.
#include "../support.hpp"

#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>
#include <range/v3/algorithm/sort.hpp>
#include <range/v3/range/conversion.hpp>
#include <range/v3/view/iota.hpp>
#include <range/v3/view/take.hpp>
#include <range/v3/view/transform.hpp>

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace fl = forkline;
namespace rv = ranges::views;

namespace {

auto square = [](long x) { return x * x; };
auto pid_of = [](int) { return static_cast<int>(::getpid()); };

std::vector<long> iota_vector(long n) { return rv::iota(0L, n) | ranges::to<std::vector>(); }

struct point {
    int x;
    std::string label;
    bool operator==(const point&) const = default;
};

/// Set by the pool's initializer, in the workers only.
int worker_setting = 0;

}  // namespace

TEST_CASE("map returns fn of every element in order", "[mp][pool]") {
    fl::pool pool(2);
    CHECK(pool.size() == 2);
    auto in = iota_vector(1000);
    STATIC_REQUIRE(std::is_same_v<decltype(pool.map(square, in)), std::vector<long>>);
    auto expected = in | rv::transform(square) | ranges::to<std::vector>();
    for (std::size_t chunk : {0, 1, 3, 64, 999, 5000}) CHECK(pool.map(square, in, chunk) == expected);
    CHECK(pool.map(square, std::vector<long>{}).empty());

    int factor = 3;  // captured by value: its bytes travel with the task
    CHECK(pool.map([factor](long x) { return x * factor; }, std::vector<long>{1, 2}) == std::vector<long>{3, 6});
}

TEST_CASE("map carries strings and structs both ways", "[mp][pool]") {
    fl::pool pool(2);
    std::vector<std::string> words{"a", "bb", std::string(300'000, 'c'), ""};  // one word streams through its ring
    auto labelled = pool.map([](const std::string& w) { return point{static_cast<int>(w.size()), w + "!"}; }, words);
    REQUIRE(labelled.size() == 4);
    CHECK(labelled[1] == point{2, "bb!"});
    CHECK(labelled[2].x == 300'000);
    CHECK(labelled[2].label.size() == 300'001);
    CHECK(labelled[3] == point{0, "!"});
}

TEST_CASE("map reads ranges without a size, and rvalue ranges", "[mp][pool]") {
    fl::pool pool(2);
    auto unsized = rv::iota(0L, 500L) | rv::transform([](long x) { return x + 1; });
    auto out = pool.map(square, unsized);
    CHECK(out.size() == 500);
    CHECK(out.back() == 500L * 500L);
    CHECK(pool.map(square, iota_vector(10), 4) == std::vector<long>{0, 1, 4, 9, 16, 25, 36, 49, 64, 81});
}

TEST_CASE("workers persist between calls: repeated maps fork no process", "[mp][pool]") {
    fl::pool pool(2);
    std::set<int> pids;
    for (int call = 0; call < 200; ++call)
        for (int pid : pool.map(pid_of, std::vector<int>(8), 1)) pids.insert(pid);
    CHECK(pids.size() <= 2);
    CHECK(pids.count(static_cast<int>(::getpid())) == 0);
}

TEST_CASE("chunksize decides how many items one worker takes at once", "[mp][pool]") {
    fl::pool pool(2);
    auto whole = pool.map(pid_of, std::vector<int>(100), 100);
    CHECK(std::set<int>(whole.begin(), whole.end()).size() == 1);
    auto tens = pool.map(pid_of, std::vector<int>(100), 10);
    for (std::size_t i = 0; i < tens.size(); ++i) CHECK(tens[i] == tens[i / 10 * 10]);
}

TEST_CASE("imap is lazy, ordered, and may read an endless range", "[mp][pool]") {
    fl::pool pool(2);
    std::vector<long> firsts;
    for (long r : pool.imap(square, rv::iota(0L)) | rv::take(20)) firsts.push_back(r);
    CHECK(firsts == (rv::iota(0L, 20L) | rv::transform(square) | ranges::to<std::vector>()));
    // The range above was dropped with tasks in flight; the pool serves the next call.
    CHECK(pool.map(square, iota_vector(3)) == std::vector<long>{0, 1, 4});

    long sum = 0, count = 0;
    for (long r : pool.imap(square, iota_vector(2000), 7)) {
        CHECK(r == count * count);
        sum += r, ++count;
    }
    CHECK(count == 2000);
}

TEST_CASE("imap_unordered gives every result once, in the order they finish", "[mp][pool]") {
    fl::pool pool(2);
    auto slow_first = [](long x) {
        if (x == 0) ::usleep(100'000);
        return x;
    };
    std::vector<long> out;
    for (long r : pool.imap_unordered(slow_first, iota_vector(200))) out.push_back(r);
    CHECK(out.front() != 0);  // the slow item finished after others
    ranges::sort(out);
    CHECK(out == iota_vector(200));
}

TEST_CASE("starmap spreads each tuple over fn's parameters", "[mp][pool]") {
    fl::pool pool(2);
    std::vector<std::tuple<int, std::string, double>> in{{2, "ab", 0.5}, {3, "c", 1.0}};
    auto out = pool.starmap([](int n, const std::string& s, double w) { return n * static_cast<double>(s.size()) + w; }, in);
    CHECK(out == std::vector<double>{4.5, 4.0});
    CHECK(pool.starmap([](int a, int b) { return a - b; }, std::vector{std::pair{5, 3}}) == std::vector<int>{2});
}

TEST_CASE("submit returns a future; get rethrows what the task threw", "[mp][pool]") {
    fl::pool pool(2);
    auto sum = pool.submit([](int a, int b) { return a + b; }, 2, 3);
    auto size = pool.submit([](std::string s) { return s.size(); }, std::string("four"));
    auto nothing = pool.submit([] {});
    auto boom = pool.submit([](int x) -> int { throw std::invalid_argument("no " + std::to_string(x)); }, 7);
    STATIC_REQUIRE(std::is_same_v<decltype(sum), fl::future<int>>);
    CHECK(sum.get() == 5);
    CHECK_FALSE(sum.valid());
    CHECK(size.get() == 4);
    nothing.get();
    try {
        boom.get();
        FAIL("no exception");
    } catch (const fl::task_error& e) {
        CHECK(e.type() == "std::invalid_argument");
        CHECK(e.message() == "no 7");
        CHECK(e.where() == "pool.submit item 0");
    }
}

TEST_CASE("a future waits with a timeout and says when it is ready", "[mp][pool]") {
    fl::pool pool(1);
    auto slow = pool.submit([] {
        ::usleep(300'000);
        return 1;
    });
    CHECK(slow.wait_for(std::chrono::milliseconds(30)) == std::future_status::timeout);
    CHECK_FALSE(slow.ready());
    CHECK(slow.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    CHECK(slow.ready());
    CHECK(slow.get() == 1);
    CHECK_THROWS_AS(slow.get(), std::future_error);
}

TEST_CASE("map throws the first failing element's error and the pool goes on", "[mp][pool]") {
    fl::pool pool(2);
    auto picky = [](long x) {
        if (x == 42 || x == 700) throw std::out_of_range("item " + std::to_string(x));
        return x;
    };
    for (std::size_t chunk : {1, 10}) {
        try {
            pool.map(picky, iota_vector(1000), chunk);
            FAIL("no exception");
        } catch (const fl::task_error& e) {
            CHECK(e.where() == "pool.map item 42");
            CHECK(e.type() == "std::out_of_range");
            CHECK(std::string(e.what()) == "forkline: pool.map item 42 threw std::out_of_range: item 42");
        }
    }
    CHECK(pool.map(square, iota_vector(5)) == std::vector<long>{0, 1, 4, 9, 16});
}

TEST_CASE("imap throws where the failed element would be, then reads on", "[mp][pool]") {
    fl::pool pool(2);
    auto odd_fails = [](long x) {
        if (x == 3) throw std::runtime_error("three");
        return x;
    };
    auto results = pool.imap(odd_fails, iota_vector(6));
    std::vector<long> seen;
    auto it = results.begin();
    for (; it != results.end();) {
        try {
            seen.push_back(*it);
            ++it;
        } catch (const fl::task_error& e) {
            CHECK(e.message() == "three");
            seen.push_back(-1);
            ++it;
        }
    }
    // ++ past 2 reached item 3 and threw; the next ++ moved on to 4.
    CHECK(seen == std::vector<long>{0, 1, 2, -1, 4, 5});
}

TEST_CASE("a worker that dies fails its task; the pool replaces it and goes on", "[mp][pool]") {
    fl::pool pool(2);
    auto deadly = [](long x) {
        if (x == 13) ::raise(SIGKILL);
        return x;
    };
    try {
        pool.map(deadly, iota_vector(100), 5);
        FAIL("no exception");
    } catch (const fl::process_crashed& e) {
        CHECK(e.where() == "pool.map items 10 to 14");
        CHECK(e.signal() == SIGKILL);
        CHECK(e.pid() > 0);
        CHECK(std::string(e.what()) == "forkline: pool.map items 10 to 14 (worker process " + std::to_string(e.pid()) +
                                           ") was killed by signal 9 (SIGKILL)");
        CHECK(dynamic_cast<const fl::stage_crashed*>(&e) == nullptr);
    }
    auto crash = pool.submit([] { std::_Exit(3); });
    auto fine = pool.submit([] { return 8; });
    try {
        crash.get();
        FAIL("no exception");
    } catch (const fl::process_crashed& e) {
        CHECK(e.exit_code() == 3);
        CHECK(e.signal() == 0);
    }
    CHECK(fine.get() == 8);
    // Still two workers, and neither is the dead one.
    auto pids = pool.map(pid_of, std::vector<int>(50), 1);
    CHECK(std::set<int>(pids.begin(), pids.end()).size() <= 2);
    auto in = iota_vector(100);
    CHECK(pool.map(square, in) == (in | rv::transform(square) | ranges::to<std::vector>()));
}

/// Counters in memory the pool's workers share with the test: made before the pool, so that
/// every worker (the replacements too) has them mapped at the same address.
template <std::size_t N>
struct shared_counters {
    std::atomic<int>* at = static_cast<std::atomic<int>*>(
        ::mmap(nullptr, N * sizeof(std::atomic<int>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    shared_counters() {
        REQUIRE(at != MAP_FAILED);
        for (std::size_t i = 0; i < N; ++i) new (at + i) std::atomic<int>(0);
    }
    ~shared_counters() { ::munmap(at, N * sizeof(std::atomic<int>)); }
    shared_counters(const shared_counters&) = delete;
    shared_counters& operator=(const shared_counters&) = delete;
};

/// x, except that the first run on item `at` kills its worker.
struct dies_once_at {
    long at;
    std::atomic<int>* runs;
    long operator()(long x) const {
        if (x == at && runs->fetch_add(1) == 0) ::raise(SIGKILL);
        return x;
    }
};

TEST_CASE("with retries, a task whose worker dies runs again, and map's result is whole", "[mp][pool]") {
    shared_counters<1> runs;  // of the chunk that holds item 37
    fl::pool pool(2);
    pool.retry(2);
    auto flaky = [r = runs.at](long x) {
        if (x == 37 && r->fetch_add(1) == 0) ::raise(SIGKILL);
        return x * x;
    };
    auto in = iota_vector(1000);
    CHECK(pool.map(flaky, in, 10) == (in | rv::transform(square) | ranges::to<std::vector>()));
    CHECK(runs.at->load() == 2);
    CHECK(pool.retried() == 1);
    auto pids = pool.map(pid_of, std::vector<int>(50), 1);
    CHECK(std::set<int>(pids.begin(), pids.end()).size() <= 2);
}

TEST_CASE("a task that loses its worker on every run fails after its retries, saying how many runs", "[mp][pool]") {
    shared_counters<1> runs;
    fl::pool pool(2);
    auto poison = [r = runs.at](long x) {
        if (x == 5) {
            r->fetch_add(1);
            std::_Exit(3);
        }
        return x;
    };
    try {
        pool.map(poison, iota_vector(20), 1, fl::retries(3));
        FAIL("no exception");
    } catch (const fl::process_crashed& e) {
        CHECK(e.where() == "pool.map item 5 lost its worker on each of its 4 runs; the last");
        CHECK(e.exit_code() == 3);
        CHECK(std::string(e.what()) == "forkline: pool.map item 5 lost its worker on each of its 4 runs; the last "
                                       "(worker process " + std::to_string(e.pid()) + ") exited with code 3 before it finished");
    }
    CHECK(runs.at->load() == 4);
    CHECK(pool.retried() == 3);
    CHECK(pool.map(square, iota_vector(10)) == std::vector<long>{0, 1, 4, 9, 16, 25, 36, 49, 64, 81});
}

TEST_CASE("a call's retries overrule the pool's; submit, starmap and imap retry; a throw is not retried", "[mp][pool]") {
    shared_counters<6> runs;
    fl::pool pool(2);
    pool.retry(5);
    auto once = [](std::atomic<int>* r) {  // true on the first run only
        return r->fetch_add(1) == 0;
    };
    // fl::retries(0): as without retries, the first death fails the task.
    try {
        pool.map(dies_once_at{3, runs.at}, iota_vector(10), 1, fl::retries(0));
        FAIL("no exception");
    } catch (const fl::process_crashed& e) {
        CHECK(e.where() == "pool.map item 3");
        CHECK(e.signal() == SIGKILL);
    }
    CHECK(runs.at[0].load() == 1);
    CHECK(pool.retried() == 0);

    auto f = pool.submit(fl::retries(1), [r = runs.at + 1, once](long a, long b) {
        if (once(r)) ::raise(SIGKILL);
        return a + b;
    }, 2L, 3L);
    CHECK(f.get() == 5);
    CHECK(runs.at[1].load() == 2);

    auto product = [r = runs.at + 2, once](long a, long b) {
        if (a == 4 && once(r)) ::raise(SIGKILL);
        return a * b;
    };
    std::vector<std::pair<long, long>> pairs;
    for (long i = 0; i < 8; ++i) pairs.emplace_back(i, 10);
    CHECK(pool.starmap(product, pairs, fl::retries(1)) == std::vector<long>{0, 10, 20, 30, 40, 50, 60, 70});

    std::vector<long> seen;
    for (long x : pool.imap(dies_once_at{6, runs.at + 3}, iota_vector(12))) seen.push_back(x);
    CHECK(seen == iota_vector(12));  // the pool's 5 retries

    std::vector<long> unordered;
    for (long x : pool.imap_unordered(dies_once_at{9, runs.at + 4}, iota_vector(12), fl::retries(2)))
        unordered.push_back(x);
    ranges::sort(unordered);
    CHECK(unordered == iota_vector(12));
    for (int k = 1; k <= 4; ++k) CHECK(runs.at[k].load() == 2);
    CHECK(pool.retried() == 4);

    auto throws = [r = runs.at + 5](long x) {
        if (x == 2) {
            r->fetch_add(1);
            throw std::runtime_error("bad item");
        }
        return x;
    };
    CHECK_THROWS_WITH(pool.map(throws, iota_vector(5), 1), Catch::Contains("bad item"));
    CHECK(runs.at[5].load() == 1);
    CHECK(pool.retried() == 4);
}

TEST_CASE("the initializer runs in each worker before its tasks", "[mp][pool]") {
    fl::pool pool(2, [] { worker_setting = 41; });
    CHECK(pool.map([](int x) { return worker_setting + x; }, std::vector<int>{1, 1}) == std::vector<int>{42, 42});
    CHECK(worker_setting == 0);  // the caller's copy is untouched
}

TEST_CASE("an initializer that throws breaks the pool with its message", "[mp][pool]") {
    fl::pool pool(2, [] { throw std::runtime_error("no database"); });
    try {
        pool.map(square, iota_vector(10));
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()).find("the initializer failed in a worker: std::runtime_error: no database") !=
              std::string::npos);
    }
    CHECK_THROWS_AS(pool.submit(square, 1L), std::runtime_error);
}

TEST_CASE("an initializer's message arrives whole, however long", "[mp][pool]") {
    std::string message;
    for (int k = 0; message.size() < 100'000; ++k) message += std::to_string(k) + ' ';
    fl::pool pool(2, [&message] { throw std::runtime_error(message); });
    try {
        pool.map(square, iota_vector(10));
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "forkline::pool: the initializer failed in a worker: std::runtime_error: " + message);
    }
}

TEST_CASE("a task's long exception message arrives whole", "[mp][pool]") {
    fl::pool pool(1);
    auto f = pool.submit([](long n) {
        std::string message;
        for (long k = 0; static_cast<long>(message.size()) < n; ++k) message += std::to_string(k) + ' ';
        throw std::runtime_error(message);
        return 0L;
    }, 3'000'000L);
    std::string expected;
    for (long k = 0; expected.size() < 3'000'000; ++k) expected += std::to_string(k) + ' ';
    try {
        f.get();
        FAIL("no exception");
    } catch (const fl::task_error& e) {
        CHECK(e.message() == expected);
    }
}

TEST_CASE("workers die at once with a caller killed by SIGKILL, whichever thread made the pool", "[mp][pool]") {
    // The caller is a child of the test that makes its pool on a second thread (where the
    // parent-death signal cannot be used); the task sleeps in its own code.
    fl::test::orphans adopted;
    REQUIRE(adopted.adopting());
    auto* sleeper = static_cast<std::atomic<int>*>(
        ::mmap(nullptr, sizeof(std::atomic<int>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    new (sleeper) std::atomic<int>(0);
    pid_t caller = fl::test::fork_child([sleeper] {
        std::thread t([sleeper] {
            fl::pool pool(2);
            auto f = pool.submit([sleeper] {
                sleeper->store(::getpid());
                for (;;) ::pause();
            });
            f.wait();
        });
        t.join();
        return 0;
    });
    REQUIRE(fl::test::eventually([&] { return sleeper->load() != 0; }));
    ::kill(caller, SIGKILL);
    CHECK(fl::test::wait_child(caller) == 128 + SIGKILL);
    CHECK(adopted.reap(2));  // both workers, the sleeping one and the idle one
    CHECK(adopted.ended[sleeper->load()] == 128 + SIGKILL);
    adopted.clean_up(sleeper->load());
    ::munmap(sleeper, sizeof(std::atomic<int>));
}

TEST_CASE("close, join and terminate", "[mp][pool]") {
    {
        fl::pool pool(2);
        auto f = pool.submit(square, 9L);
        CHECK_THROWS_AS(pool.join(), std::logic_error);  // still open
        pool.close();
        CHECK_THROWS_AS(pool.submit(square, 1L), std::logic_error);
        CHECK_THROWS_AS(pool.map(square, iota_vector(2)), std::logic_error);
        pool.join();
        CHECK(f.ready());
        CHECK(f.get() == 81);
    }
    CHECK(fl::test::no_children_left());
    {
        fl::pool pool(1);
        auto endless = pool.submit([] {
            for (;;) ::pause();
        });
        auto waiting = pool.submit(square, 2L);
        pool.terminate();
        CHECK_THROWS_AS(endless.get(), std::runtime_error);
        CHECK_THROWS_WITH(waiting.get(), Catch::Contains("terminated before the task finished"));
    }
    CHECK(fl::test::no_children_left());
}

TEST_CASE("the destructor waits for every task given", "[mp][pool]") {
    fl::future<long> f;
    {
        fl::pool pool(2);
        f = pool.submit([](long x) {
            ::usleep(50'000);
            return x + 1;
        }, 1L);
    }
    CHECK(fl::test::no_children_left());
    CHECK(f.ready());
    CHECK(f.get() == 2);
}

TEST_CASE("a task cannot use the pool that runs it", "[mp][pool]") {
    fl::pool pool(1);
    fl::pool* self = &pool;
    auto f = pool.submit([self] { return self->map(square, std::vector<long>{1}).size(); });
    CHECK_THROWS_WITH(f.get(), Catch::Contains("std::logic_error") && Catch::Contains("a task of its own uses it"));
}

TEST_CASE("several threads may share one pool", "[mp][pool]") {
    fl::pool pool(2);
    std::vector<long> sums(4);
    std::vector<std::thread> threads;
    for (long t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            long s = 0;
            for (int k = 0; k < 20; ++k) s += pool.submit([](long a, long b) { return a * b; }, t, 10L).get();
            for (long r : pool.map(square, iota_vector(100))) s += r;
            sums[static_cast<std::size_t>(t)] = s;
        });
    for (auto& th : threads) th.join();
    for (long t = 0; t < 4; ++t) CHECK(sums[static_cast<std::size_t>(t)] == 200 * t + 328350);
}
