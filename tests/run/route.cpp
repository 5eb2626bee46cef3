// The routers and collectors on their own, over an edge of this test's making: an in-memory
// queue that models channel_sender and channel_receiver, shared by two threads. That they run
// over it unchanged is what lets an edge of another kind (MPI, replay) plug in.
#include <forkline/run/detail/channel.hpp>
#include <forkline/run/detail/route/from_any_replica.hpp>
#include <forkline/run/detail/route/from_in_order.hpp>
#include <forkline/run/detail/route/from_numbered.hpp>
#include <forkline/run/detail/route/from_one.hpp>
#include <forkline/run/detail/route/to_free_replica.hpp>
#include <forkline/run/detail/route/to_keyed_replica.hpp>
#include <forkline/run/detail/route/to_next.hpp>
#include <forkline/run/detail/route/to_one.hpp>
#include <forkline/run/detail/route/to_tagged.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace forkline;
using namespace forkline::detail;

namespace {

/// The shared part of an in-memory edge: a bounded queue, and the waiters of the two sides'
/// routers (the wiring's fans), which each side wakes when it makes progress.
template <class T>
struct memory_edge {
    std::mutex m;
    std::deque<T> items;
    std::size_t capacity;
    bool closed = false;
    int flushes = 0;
    ipc::waiter* readable;  // the receiver's router sleeps here
    ipc::waiter* writable;  // the sender's router sleeps here
};

template <class T>
class memory_sender {
public:
    explicit memory_sender(memory_edge<T>& e) : e_(&e) {}
    memory_sender(const memory_sender&) = delete;
    void push(const T& t) {
        std::lock_guard l(e_->m);
        if (e_->items.size() >= e_->capacity) throw std::logic_error("pushed into a full edge");
        e_->items.push_back(t);
        e_->readable->notify();
    }
    bool has_room() {
        std::lock_guard l(e_->m);
        return e_->items.size() < e_->capacity;
    }
    void nudge() noexcept {}
    void flush() {
        std::lock_guard l(e_->m);
        ++e_->flushes;
    }
    void close() {
        std::lock_guard l(e_->m);
        e_->closed = true;
        e_->readable->notify();
    }
    double fill() {
        std::lock_guard l(e_->m);
        return static_cast<double>(e_->items.size()) / static_cast<double>(e_->capacity);
    }

private:
    memory_edge<T>* e_;
};

template <class T>
class memory_receiver {
public:
    explicit memory_receiver(memory_edge<T>& e) : e_(&e) {}
    memory_receiver(const memory_receiver&) = delete;
    /// This model never waits on its own: a test reads only what is there, or what a collector
    /// waited for on its fan.
    template <class F>
    bool next(F&& f) {
        std::unique_lock l(e_->m);
        if (e_->items.empty()) {
            if (e_->closed) return false;
            throw std::logic_error("read an empty edge that is still open");
        }
        T v = std::move(e_->items.front());
        e_->items.pop_front();
        e_->writable->notify();
        l.unlock();
        f(std::move(v));
        return true;
    }
    template <class F>
    void drain(F&& f) {
        while (next(f)) {
        }
    }
    bool has_item() {
        std::lock_guard l(e_->m);
        return !e_->items.empty();
    }
    bool finished() {
        std::lock_guard l(e_->m);
        return e_->closed && e_->items.empty();
    }
    void release() noexcept {}
    double fill() {
        std::lock_guard l(e_->m);
        return static_cast<double>(e_->items.size()) / static_cast<double>(e_->capacity);
    }

private:
    memory_edge<T>* e_;
};

static_assert(channel_sender<memory_sender<int>, int>);
static_assert(channel_receiver<memory_receiver<int>, int>);
static_assert(!channel_sender<memory_receiver<int>, int>);

/// k edges of `capacity` items between a router's side and a collector's side, with their fans.
template <class T>
struct edges {
    ipc::waiter readable, writable;
    ipc::wait_policy policy{.spin = 16};
    std::deque<memory_edge<T>> all;
    edges(std::size_t k, std::size_t capacity) {
        for (std::size_t i = 0; i < k; ++i) {
            auto& e = all.emplace_back();
            e.capacity = capacity;
            e.readable = &readable;
            e.writable = &writable;
        }
    }
    end_set<memory_sender<T>> senders() {
        end_set<memory_sender<T>> s(writable, policy);
        for (auto& e : all) s.add(e);
        return s;
    }
    end_set<memory_receiver<T>> receivers() {
        end_set<memory_receiver<T>> s(readable, policy);
        for (auto& e : all) s.add(e);
        return s;
    }
    std::vector<T> items(std::size_t k) {
        std::lock_guard l(all[k].m);
        return {all[k].items.begin(), all[k].items.end()};
    }
    std::size_t size(std::size_t k) {
        std::lock_guard l(all[k].m);
        return all[k].items.size();
    }
};

}  // namespace

static_assert(router<to_one<memory_sender<int>>, int>);
static_assert(router<to_free_replica<int, memory_sender<int>, false>, int>);
static_assert(collector<from_any_replica<memory_receiver<int>>, int>);
static_assert(collector<from_in_order<int, memory_receiver<sequenced<int>>>, int>);

TEST_CASE("to_one sends every item into its edge, and close ends it") {
    edges<int> e(1, 100);
    to_one<memory_sender<int>> r(std::in_place, e.all[0]);
    for (int i = 0; i < 10; ++i) r.push(i);
    r.flush();
    r.close();
    CHECK(e.items(0) == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    CHECK(e.all[0].flushes == 1);
    CHECK(e.all[0].closed);
}

TEST_CASE("to_free_replica feeds a replica a few items in a row, then the next one with room") {
    edges<int> e(3, 1000);
    to_free_replica<int, memory_sender<int>, false> r(e.senders());
    for (int i = 0; i < 96; ++i) r.push(i);
    // 16 in a row to each, in turn, while all have room.
    for (std::size_t k = 0; k < 3; ++k) {
        auto got = e.items(k);
        REQUIRE(got.size() == 32);
        CHECK(got[0] == static_cast<int>(16 * ((k + 2) % 3)));  // the first chunk goes to the replica after 0
    }
    r.close();
    for (auto& x : e.all) CHECK(x.closed);
}

TEST_CASE("to_free_replica skips a full replica and never overfills one") {
    edges<int> e(2, 1000);
    e.all[1].capacity = 3;
    to_free_replica<int, memory_sender<int>, false> r(e.senders());
    for (int i = 0; i < 200; ++i) r.push(i);  // memory_sender throws on a push into a full edge
    CHECK(e.items(1).size() == 3);
    CHECK(e.items(0).size() == 197);
}

TEST_CASE("to_free_replica, numbered, tags each item with its input's number, and adaptive feeds only the first") {
    edges<sequenced<std::string>> e(2, 1000);
    std::atomic<std::uint32_t> active{1};
    to_free_replica<std::string, memory_sender<sequenced<std::string>>, true> r(e.senders(), &active);
    for (int i = 0; i < 40; ++i) r.push(std::to_string(i));
    REQUIRE(e.items(1).empty());
    auto got = e.items(0);
    REQUIRE(got.size() == 40);
    for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].tag == i << 1);
        CHECK(*got[i].value == std::to_string(i));
    }
    active = 2;
    for (int i = 40; i < 80; ++i) r.push(std::to_string(i));
    CHECK(!e.items(1).empty());
}

TEST_CASE("to_free_replica sleeps when no replica has room, and goes on when a receiver frees some") {
    edges<int> e(2, 4);
    to_free_replica<int, memory_sender<int>, false> r(e.senders());
    auto rs = e.receivers();
    std::vector<int> taken;
    std::thread reader([&] {
        // Takes items only once the router must have filled both edges and gone to sleep.
        while (!(e.size(0) == 4 && e.size(1) == 4)) std::this_thread::yield();
        for (int k = 0; k < 3; ++k) rs[0].next([&](int x) { taken.push_back(x); });
    });
    auto done = std::async(std::launch::async, [&] {
        for (int i = 0; i < 11; ++i) r.push(i);
    });
    REQUIRE(done.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
    done.get();
    reader.join();
    CHECK(taken.size() == 3);
    CHECK(e.items(0).size() + e.items(1).size() == 8);
    CHECK(e.all[0].flushes + e.all[1].flushes >= 2);  // it handed on what it held before sleeping
}

TEST_CASE("to_keyed_replica sends each item to the replica its key picks") {
    edges<int> e(3, 1000);
    struct by_value {
        std::size_t route(int x, std::size_t n) const { return static_cast<std::size_t>(x) % n; }
    } key;
    to_keyed_replica<memory_sender<int>, by_value> r(e.senders(), key);
    for (int i = 0; i < 30; ++i) r.push(i);
    for (std::size_t k = 0; k < 3; ++k)
        for (int x : e.items(k)) CHECK(static_cast<std::size_t>(x) % 3 == k);
    CHECK(e.items(0).size() == 10);
}

TEST_CASE("to_tagged marks the last item of each input, and an input that made nothing") {
    edges<sequenced<int>> e(1, 100);
    to_tagged<int, memory_sender<sequenced<int>>> r(nullptr, std::in_place, e.all[0]);
    r.begin_item(5);
    r.push(50);
    r.push(51);
    r.end_item();
    r.begin_item(6);
    r.end_item();
    auto got = e.items(0);
    REQUIRE(got.size() == 3);
    CHECK((got[0].tag == (5u << 1) && *got[0].value == 50));
    CHECK((got[1].tag == (5u << 1 | 1) && *got[1].value == 51));
    CHECK((got[2].tag == (6u << 1 | 1) && !got[2].value));
}

TEST_CASE("to_next hands batches to the next element and finishes it on close") {
    struct recorder {
        std::vector<std::size_t>* batches;
        bool* finished;
        void take(std::vector<int>& items) { batches->push_back(items.size()); }
        void finish() { *finished = true; }
    };
    std::vector<std::size_t> batches;
    bool finished = false;
    to_next<int, recorder> r(recorder{&batches, &finished});
    for (int i = 0; i < 150; ++i) r.push(i);
    CHECK(batches == std::vector<std::size_t>{64, 64});
    r.flush();
    CHECK(batches.back() == 22);
    r.close();
    CHECK(finished);
    STATIC_REQUIRE(is_to_next<to_next<int, recorder>>);
}

TEST_CASE("from_any_replica takes every item of every replica once") {
    edges<int> e(3, 1000);
    for (int i = 0; i < 300; ++i) e.all[static_cast<std::size_t>(i) % 3].items.push_back(i);
    for (auto& x : e.all) x.closed = true;
    from_any_replica<memory_receiver<int>> c(e.receivers());
    std::multiset<int> got;
    no_hooks none;
    c.drain([&](int&& x) { got.insert(x); }, none);
    REQUIRE(got.size() == 300);
    CHECK(*got.begin() == 0);
    CHECK(*got.rbegin() == 299);
    CHECK(got.count(150) == 1);
}

TEST_CASE("from_any_replica waits for a replica that is slow to send") {
    edges<int> e(2, 1000);
    from_any_replica<memory_receiver<int>> c(e.receivers());
    auto ss = e.senders();
    e.all[0].closed = true;
    std::thread late([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ss[1].push(7);
        ss[1].close();
    });
    std::vector<int> got;
    CHECK(c.next([&](int x) { got.push_back(x); }));
    CHECK(!c.next([&](int x) { got.push_back(x); }));
    late.join();
    CHECK(got == std::vector<int>{7});
}

TEST_CASE("from_in_order puts the replicas' numbered items back in input order") {
    edges<sequenced<int>> e(2, 1000);
    // Inputs 0..5: even ones in replica 0, odd in replica 1; input 2 made two items, 3 none.
    auto put = [&](std::size_t k, std::uint64_t seq, bool last, std::optional<int> v) {
        e.all[k].items.push_back(sequenced<int>{seq << 1 | (last ? 1u : 0u), v});
    };
    put(0, 0, true, 0);
    put(1, 1, true, 10);
    put(0, 2, false, 20);
    put(0, 2, true, 21);
    put(1, 3, true, std::nullopt);
    put(0, 4, true, 40);
    put(1, 5, true, 50);
    for (auto& x : e.all) x.closed = true;
    from_in_order<int, memory_receiver<sequenced<int>>> c(e.receivers());
    std::vector<int> got;
    no_hooks none;
    c.drain([&](int&& x) { got.push_back(x); }, none);
    CHECK(got == std::vector<int>{0, 10, 20, 21, 40, 50});
}

TEST_CASE("from_in_order says which item was lost when the replicas end without it") {
    edges<sequenced<int>> e(2, 1000);
    e.all[0].items.push_back(sequenced<int>{0 << 1 | 1, 0});
    e.all[1].items.push_back(sequenced<int>{2 << 1 | 1, 2});  // input 1 never comes
    for (auto& x : e.all) x.closed = true;
    from_in_order<int, memory_receiver<sequenced<int>>> c(e.receivers());
    CHECK(c.next([](int) {}));
    CHECK_THROWS_WITH(c.next([](int) {}), "forkline: an ordered farm lost item 1");
}

TEST_CASE("from_numbered tells the replica's router each input's number around its item") {
    edges<sequenced<int>> e(1, 100);
    e.all[0].items.push_back(sequenced<int>{7 << 1, 70});
    e.all[0].items.push_back(sequenced<int>{8 << 1, 80});
    e.all[0].closed = true;
    from_numbered<int, memory_receiver<sequenced<int>>> c(std::in_place, e.all[0]);
    struct hooks {
        std::vector<std::string> log;
        void begin_item(std::uint64_t seq) { log.push_back("begin " + std::to_string(seq)); }
        void end_item() { log.push_back("end"); }
    } h;
    c.drain([&](int&& x) { h.log.push_back(std::to_string(x)); }, h);
    CHECK(h.log == std::vector<std::string>{"begin 7", "70", "end", "begin 8", "80", "end"});
    // A sink's collector has no router to tell: the numbers are dropped, the items kept.
    e.all[0].items.push_back(sequenced<int>{9 << 1, 90});
    from_numbered<int, memory_receiver<sequenced<int>>> d(std::in_place, e.all[0]);
    no_hooks none;
    std::vector<int> got;
    d.drain([&](int&& x) { got.push_back(x); }, none);
    CHECK(got == std::vector<int>{90});
}
