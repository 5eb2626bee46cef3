// fl::shared_memory and fl::manager: create, attach, close, unlink and their errors; dict, list,
// value and queue across forked processes and from a separately started program (posix_spawn);
// atomic updates; a full segment, and one object filling it; a holder killed with the lock; a
// damaged heap; the forkline-shm tool.
#include "../support.hpp"

#include <forkline/forkline.hpp>
#include <forkline/mp/detail/segment.hpp>

#include "../../src/mp/heap.hpp"  // seal_of, to forge a sealed record

#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

extern char** environ;

namespace fl = forkline;
using namespace std::chrono_literals;

namespace {

/// A segment name of this test run, removed (if it exists) at the end of the scope.
struct scratch_name {
    std::string name;
    explicit scratch_name(const char* what) : name("test-" + std::to_string(::getpid()) + "-" + what) {
        fl::shared_memory::remove(name);
    }
    ~scratch_name() { fl::shared_memory::remove(name); }
    bool exists() const {
        struct stat st;
        return ::stat(fl::shared_memory::path_of(name).c_str(), &st) == 0;
    }
};

template <class Fn>
std::errc error_of(Fn&& fn) {
    try {
        fn();
    } catch (const std::system_error& e) {
        return static_cast<std::errc>(e.code().value());
    }
    return std::errc{};
}

}  // namespace

TEST_CASE("shared_memory: create, attach, share, close, unlink", "[mp][shared_memory]") {
    scratch_name n("shm");
    {
        fl::shared_memory a(n.name, 10000);
        CHECK(a.size() == 10000);
        CHECK(a.name() == n.name);
        CHECK(a.path() == "/dev/shm/forkline." + n.name);
        CHECK(a.data()[9999] == std::byte{0});  // zero-filled
        struct stat st;
        REQUIRE(::stat(a.path().c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0600);

        std::memcpy(a.data(), "hello", 6);
        fl::shared_memory b(n.name);  // attach: the same bytes
        CHECK(b.size() == 10000);
        CHECK(std::strcmp(reinterpret_cast<const char*>(b.data()), "hello") == 0);
        pid_t child = fl::test::fork_child([&] {
            fl::shared_memory c(n.name);
            std::memcpy(c.data() + 100, "from child", 11);
            return 0;
        });
        CHECK(fl::test::wait_child(child) == 0);
        CHECK(std::strcmp(reinterpret_cast<const char*>(a.data() + 100), "from child") == 0);

        b.close();
        CHECK(b.data() == nullptr);
        CHECK(a.data() != nullptr);
    }
    CHECK(n.exists());  // a segment lasts until unlinked, as a file
    fl::shared_memory again(n.name);
    again.unlink();
    CHECK_FALSE(n.exists());
    CHECK(again.data()[0] == std::byte{'h'});  // still mapped here
    CHECK(error_of([&] { again.unlink(); }) == std::errc::no_such_file_or_directory);
}

TEST_CASE("shared_memory: clear errors for names that exist, names that don't and bad names", "[mp][shared_memory]") {
    scratch_name n("shm-errors");
    CHECK(error_of([&] { fl::shared_memory(n.name); }) == std::errc::no_such_file_or_directory);
    fl::shared_memory a(n.name, 64);
    CHECK(error_of([&] { fl::shared_memory(n.name, 64); }) == std::errc::file_exists);
    try {
        fl::shared_memory(n.name, 64);
    } catch (const std::system_error& e) {
        CHECK_THAT(e.what(), Catch::Contains("'" + n.name + "'") && Catch::Contains("exists already"));
    }
    CHECK_THROWS_AS(fl::shared_memory("", 64), std::invalid_argument);
    CHECK_THROWS_AS(fl::shared_memory("a/b", 64), std::invalid_argument);
    CHECK_THROWS_AS(fl::shared_memory(n.name + "-zero", 0), std::invalid_argument);
    CHECK(fl::shared_memory::remove(n.name));
    CHECK_FALSE(fl::shared_memory::remove(n.name));
}

TEST_CASE("manager: dict, list, value and queue, seen by a second attachment", "[mp][manager]") {
    scratch_name n("objects");
    fl::manager m(n.name, 1 << 20);
    CHECK(m.name() == n.name);
    auto d = m.dict<std::string, long>("totals");
    d.set("east", 5);
    d.set("west", 7);
    d.set("east", 6);
    auto l = m.list<std::string>("log");
    l.push_back("one");
    l.push_back("two");
    auto v = m.value<double>("rate", 1.5);
    auto q = m.queue<std::vector<int>>("batches");
    q.put({1, 2, 3});

    fl::manager peer(n.name);
    auto d2 = peer.dict<std::string, long>("totals");
    CHECK(d2.size() == 2);
    CHECK(d2.get("east") == 6);
    CHECK_FALSE(d2.get("north"));
    CHECK(d2.contains("west"));
    CHECK(d2.erase("west"));
    CHECK_FALSE(d.erase("west"));
    CHECK(d.items() == std::vector<std::pair<std::string, long>>{{"east", 6}});
    CHECK(d2.update("east", [](long& x) { x *= 10; }) == 60);
    CHECK(d.update("south", [](long& x) { x += 1; }, 100) == 101);

    auto l2 = peer.list<std::string>("log");
    CHECK(l2.to_vector() == std::vector<std::string>{"one", "two"});
    l2.set(0, "uno");
    CHECK(l.at(0) == "uno");
    CHECK_THROWS_AS(l.at(2), std::out_of_range);
    CHECK_THROWS_AS(l.set(2, "x"), std::out_of_range);
    CHECK(l2.pop_back() == "two");
    CHECK(l.size() == 1);

    auto v2 = peer.value<double>("rate", 99.0);  // exists: the initial value is not used
    CHECK(v2.load() == 1.5);
    v2.store(2.5);
    CHECK(v.load() == 2.5);
    CHECK(v.update([](double& x) { x *= 2; }) == 5.0);

    auto q2 = peer.queue<std::vector<int>>("batches");
    CHECK(q2.get() == std::vector<int>{1, 2, 3});
    CHECK_FALSE(q2.try_get());
    auto before = std::chrono::steady_clock::now();
    CHECK_FALSE(q2.get(20ms));
    CHECK(std::chrono::steady_clock::now() - before >= 20ms);
    q.close();
    CHECK(q2.closed());
    CHECK_FALSE(q2.get());
    CHECK_THROWS_AS(q2.put({4}), fl::queue_closed);

    std::size_t free = m.free_bytes();
    d.set(std::string(1000, 'k'), 1);
    CHECK(m.free_bytes() < free - 1000);
    CHECK(d.erase(std::string(1000, 'k')));
    CHECK(m.free_bytes() == free);

    auto small = m.queue<int>("small", 2);
    CHECK(small.try_put(1));
    CHECK(small.put(2, 10ms));
    CHECK_FALSE(small.try_put(3));
    before = std::chrono::steady_clock::now();
    CHECK_FALSE(small.put(3, 20ms));
    CHECK(std::chrono::steady_clock::now() - before >= 20ms);
    CHECK(small.size_approx() == 2);
}

TEST_CASE("manager: clear errors for names, kinds, types and a full segment", "[mp][manager]") {
    scratch_name n("errors");
    CHECK(error_of([&] { fl::manager m(n.name); }) == std::errc::no_such_file_or_directory);
    CHECK_THROWS_AS(fl::manager(n.name, 100), std::invalid_argument);
    fl::manager m(n.name, 64 << 10);
    CHECK(error_of([&] { fl::manager again(n.name, 64 << 10); }) == std::errc::file_exists);

    m.dict<std::string, long>("totals");
    CHECK_THROWS_WITH(m.list<long>("totals"), Catch::Contains("'totals'") && Catch::Contains("not the list"));
    CHECK_THROWS_AS((m.dict<std::string, int>("totals")), std::invalid_argument);

    auto big = m.list<std::string>("big");
    std::size_t pushed = 0;
    try {
        for (;; ++pushed) big.push_back(std::string(1000, 'x'));
    } catch (const fl::segment_full& e) {
        CHECK_THAT(e.what(), Catch::Contains("list 'big'") && Catch::Contains("out of space"));
    }
    CHECK(pushed > 10);
    CHECK(big.size() == pushed);  // the failed push left the list as it was
    auto totals = m.dict<std::string, long>("totals");
    CHECK_FALSE(totals.get(std::string(100, 'x')));  // a full segment can still be read...
    CHECK_FALSE(totals.erase(std::string(100, 'x')));
    CHECK_THROWS_AS(totals.set(std::string(5000, 'y'), 1), fl::segment_full);
    CHECK(totals.size() == 0);
    big.clear();  // ...and emptied
    big.push_back("room again");
    CHECK(big.size() == 1);

    {
        scratch_name plain("not-a-manager");
        fl::shared_memory shm(plain.name, 8192);
        CHECK_THROWS_WITH(fl::manager(plain.name), Catch::Contains("not a forkline manager"));
    }
    m.unlink();
    CHECK_FALSE(n.exists());
    CHECK(m.dict<std::string, long>("totals").size() == 0);  // still usable here
}

TEST_CASE("manager: one object can fill most of its segment, and gives the room back as it empties",
          "[mp][manager]") {
    // What the Boost.Interprocess heap of earlier releases held in a fresh segment of 1 MiB.
    constexpr std::size_t mib = 1 << 20;
    constexpr long queue_items = 30431, dict_keys = 10915, list_items = 5920;
    {
        scratch_name n("fill-queue");
        fl::manager m(n.name, mib);
        auto q = m.queue<long>("q");
        const std::size_t empty = m.free_bytes();
        long put = 0;
        try {
            for (;; ++put) q.put(put);
        } catch (const fl::segment_full&) {
        }
        CHECK(put >= queue_items);
        for (long i = 0; i < put / 2; ++i) REQUIRE(q.try_get() == i);
        CHECK(m.free_bytes() > empty / 3);  // half drained: the room of what was taken is back
        for (long i = put / 2; i < put; ++i) REQUIRE(q.try_get() == i);
        CHECK(m.free_bytes() == empty);
    }
    {
        scratch_name n("fill-dict");
        fl::manager m(n.name, mib);
        auto d = m.dict<long, long>("d");
        const std::size_t empty = m.free_bytes();
        long set = 0;
        try {
            for (;; ++set) d.set(set, -set);
        } catch (const fl::segment_full&) {
        }
        CHECK(set >= dict_keys);
        CHECK(d.size() == static_cast<std::size_t>(set));  // the failed set left the dict as it was
        CHECK(d.get(set - 1) == 1 - set);
        for (long k = 0; k < set; ++k) REQUIRE(d.erase(k));
        CHECK(m.free_bytes() == empty);
    }
    {
        scratch_name n("fill-list");
        fl::manager m(n.name, mib);
        auto l = m.list<std::string>("l");
        const std::size_t empty = m.free_bytes();
        long pushed = 0;
        try {
            for (;; ++pushed) l.push_back(std::string(100, static_cast<char>('a' + pushed % 26)));
        } catch (const fl::segment_full&) {
        }
        CHECK(pushed >= list_items);
        CHECK(l.at(static_cast<std::size_t>(pushed - 1)) == std::string(100, static_cast<char>('a' + (pushed - 1) % 26)));
        for (long i = 0; i < pushed; ++i) l.pop_back();
        CHECK(m.free_bytes() == empty);
    }
}

TEST_CASE("manager: a shorter value, dict value or list item is stored even when the segment is full",
          "[mp][manager]") {
    scratch_name n("shrink-full");
    fl::manager m(n.name, 256 << 10);
    const std::string long_one(2000, 'x'), short_one(20, 'y');
    auto v = m.value<std::string>("v", long_one);
    auto d = m.dict<int, std::string>("d");
    d.set(1, long_one);
    auto l = m.list<std::string>("l");
    l.push_back(long_one);
    // The ballast's items become blobs one at a time, each in one new block, smaller and smaller
    // until not even a short one fits.
    auto ballast = m.list<std::string>("ballast");
    constexpr std::size_t places = 1000;
    for (std::size_t i = 0; i < places; ++i) ballast.push_back("");
    std::size_t next = 0;
    for (std::size_t length : {4000, 1000, 200, 40, 10}) {
        try {
            for (; next < places; ++next) ballast.set(next, std::string(length, 'b'));
        } catch (const fl::segment_full&) {
        }
    }
    REQUIRE(next < places);
    CHECK_THROWS_AS(ballast.set(next, short_one), fl::segment_full);  // full, even for a short item
    const std::size_t full = m.free_bytes();
    CHECK_NOTHROW(v.store(short_one));
    CHECK_NOTHROW(d.set(1, short_one));
    CHECK_NOTHROW(l.set(0, short_one));
    CHECK(v.load() == short_one);
    CHECK(d.get(1) == short_one);
    CHECK(l.at(0) == short_one);
    CHECK(m.free_bytes() > full + 3 * 1900);  // and the room they no longer need is free
}

TEST_CASE("manager: 4 processes updating one dict lose no update", "[mp][manager]") {
    scratch_name n("counts");
    fl::manager m(n.name, 1 << 20);
    auto hits = m.dict<std::string, long>("hits");
    std::vector<fl::process> workers;
    for (int w = 0; w < 4; ++w)
        workers.emplace_back([&] {
            for (int i = 0; i < 2000; ++i) hits.update(i % 2 ? "odd" : "even", [](long& x) { ++x; });
        });
    for (auto& p : workers) p.start();
    for (auto& p : workers) p.join();
    CHECK(hits.get("odd") == 4000);
    CHECK(hits.get("even") == 4000);
}

TEST_CASE("manager: a second program attaches by name (posix_spawn)", "[mp][manager]") {
    scratch_name n("peer");
    fl::manager m(n.name, 1 << 20);
    auto in = m.dict<std::string, long>("in");
    in.set("a", 40);
    in.set("b", 2);
    auto jobs = m.queue<int>("jobs", 16);

    std::string path = FORKLINE_MANAGER_PEER;
    std::vector<char*> argv{path.data(), n.name.data(), nullptr};
    pid_t pid;
    REQUIRE(::posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv.data(), environ) == 0);
    long got = 0, sum = 0;
    int status = -1;
    for (;;) {  // the peer puts 1000 through a queue of 16 and closes it; if it fails, stop
        if (auto j = jobs.get(100ms)) {
            ++got;
            sum += *j;
        } else if (jobs.closed() || fl::test::exited(pid, status)) {
            break;
        }
    }
    if (status < 0) status = fl::test::wait_child(pid);
    CHECK(status == 0);
    CHECK(got == 1000);
    CHECK(sum == 1000L * 1001 / 2);
    CHECK(m.value<long>("sum").load() == 42);
    CHECK(m.list<std::string>("log").to_vector() == std::vector<std::string>{"peer"});
}

TEST_CASE("manager: a process killed holding the lock does not wedge the others", "[mp][manager]") {
    scratch_name n("robust");
    fl::manager m(n.name, 1 << 20);
    auto d = m.dict<std::string, long>("d");
    fl::event inside;
    fl::process holder([&] {
        d.update("k", [&](long& x) {
            x = 1;
            inside.set();
            for (;;) ::pause();  // holds the segment's lock until killed
        });
    });
    holder.start();
    REQUIRE(inside.wait_for(10s));
    holder.kill();
    holder.join();
    d.set("k", 2);  // the next locker gets the lock; fn had changed nothing, so all is well
    CHECK(d.get("k") == 2);
}

TEST_CASE("manager: an object used inside an update function is a clear error, not a deadlock", "[mp][manager]") {
    scratch_name n("nested");
    fl::manager m(n.name, 1 << 16);
    auto d = m.dict<std::string, long>("d");
    auto other = m.value<long>("other", 5);
    CHECK_THROWS_WITH(d.update("k", [&](long& x) { x = other.load(); }), Catch::Contains("inside an update function"));
    CHECK_FALSE(d.contains("k"));
    CHECK(d.update("k", [v = other.load()](long& x) { x = v; }) == 5);
}

// ---- a damaged heap: the bytes after the header overwritten (by a user, in /dev/shm), then used

namespace {

constexpr std::size_t header_bytes = fl::detail::manager_header_bytes;
/// Short items and a long one, which may be kept in other ways.
const std::vector<std::string> log_lines{"one", "two", "three, the longest line of the log"};

/// Makes a segment holding one object of each kind, with items; no process maps it afterwards.
void fill_objects(const std::string& name) {
    fl::manager m(name, 64 << 10);
    auto totals = m.dict<std::string, long>("totals");
    totals.set("east", 5);
    totals.set("west", 7);
    totals.set("north", 11);
    auto log = m.list<std::string>("log");
    for (const auto& line : log_lines) log.push_back(line);
    m.value<double>("rate", 1.5);
    auto jobs = m.queue<long>("jobs");
    for (long j : {1, 2, 3}) jobs.put(j);
}

/// What a program using a segment came to: the exit code of the child that used it (or 128 +
/// the signal that ended it).
enum use_outcome : int { read_back = 0, corrupt_named = 1, decode_failed = 2, read_wrong = 3, other_error = 4 };

const char* outcome_name(int code) {
    switch (code) {
        case read_back: return "read back what was stored";
        case corrupt_named: return "segment_corrupt naming the segment";
        case decode_failed: return "decode_error";
        case read_wrong: return "read back something else, with no error";
        case other_error: return "another exception";
        case 128 + SIGALRM: return "hung (SIGALRM)";
        default: return code > 128 ? ::strsignal(code - 128) : "exit code out of range";
    }
}

/// Attaches to the segment fill_objects made, calls `after_attach`, then reads every object and
/// changes each.
int use_objects(const std::string& name, const std::function<void()>& after_attach) {
    try {
        fl::manager m(name);
        after_attach();
        auto totals = m.dict<std::string, long>("totals");
        auto log = m.list<std::string>("log");
        auto rate = m.value<double>("rate");
        auto jobs = m.queue<long>("jobs");
        auto items = totals.items();
        std::sort(items.begin(), items.end());
        bool right = items == std::vector<std::pair<std::string, long>>{{"east", 5}, {"north", 11}, {"west", 7}} &&
                     totals.get("west") == 7 && totals.size() == 3 &&
                     log.to_vector() == log_lines && log.at(2) == log_lines[2] &&
                     rate.load() == 1.5 && jobs.size_approx() == 3 && !jobs.closed();
        right &= totals.update("east", [](long& x) { ++x; }) == 6;
        totals.set("south", 13);
        right &= totals.erase("north");
        log.push_back("four");
        log.set(0, "uno");
        right &= log.pop_back() == "four" && log.size() == 3;
        right &= rate.update([](double& x) { x *= 2; }) == 3.0;
        jobs.put(4);
        for (long j : {1, 2, 3, 4}) right &= jobs.try_get() == j;
        right &= !jobs.try_get() && m.free_bytes() < m.size();
        return right ? read_back : read_wrong;
    } catch (const fl::segment_corrupt& e) {
        return std::string(e.what()).find("'" + name + "'") != std::string::npos ? corrupt_named : other_error;
    } catch (const fl::decode_error&) {
        return decode_failed;
    } catch (...) {
        return other_error;
    }
}

enum class when { at_rest, attached };

/// Puts the segment back as `pristine`, then runs use_objects in a child process that damages
/// the heap (the bytes after the header) with `damage`, before it attaches or after. A crash
/// then ends only the child, and a hang its alarm.
template <class Damage>
int use_damaged(const std::string& name, const std::vector<std::byte>& pristine, when w, Damage damage) {
    {
        REQUIRE(::truncate(fl::shared_memory::path_of(name).c_str(), static_cast<off_t>(pristine.size())) == 0);
        fl::shared_memory raw(name);
        std::memcpy(raw.data(), pristine.data(), pristine.size());
    }
    pid_t child = fl::test::fork_child([&] {
        ::alarm(60);
        fl::shared_memory raw(name);
        std::span<std::byte> heap(raw.data() + header_bytes, raw.size() - header_bytes);
        if (w == when::at_rest) damage(heap);
        return use_objects(name, [&] {
            if (w == when::attached) damage(heap);
        });
    });
    return fl::test::wait_child(child);
}

/// The segment's bytes, as fill_objects left them.
std::vector<std::byte> pristine_objects(const std::string& name) {
    fill_objects(name);
    fl::shared_memory raw(name);
    std::vector<std::byte> image(raw.data(), raw.data() + raw.size());
    REQUIRE(use_damaged(name, image, when::at_rest, [](std::span<std::byte>) {}) == read_back);
    return image;
}

/// Where `text` first is in the bytes, or npos.
std::size_t find_in(const std::vector<std::byte>& bytes, std::string_view text) {
    return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()).find(text);
}

}  // namespace

TEST_CASE("manager: a heap overwritten with random bytes or zeros, or cut short, is reported corrupt",
          "[mp][manager][damage]") {
    scratch_name n("damage-whole");
    auto pristine = pristine_objects(n.name);
    for (std::uint64_t seed : {1, 2, 3, 4}) {
        int code = use_damaged(n.name, pristine, when::at_rest, [&](std::span<std::byte> heap) {
            std::mt19937_64 random(seed);
            for (auto& b : heap) b = static_cast<std::byte>(random());
        });
        INFO("seed " << seed << ": " << outcome_name(code));
        CHECK(code == corrupt_named);
    }
    int zeros = use_damaged(n.name, pristine, when::at_rest,
                           [](std::span<std::byte> heap) { std::fill(heap.begin(), heap.end(), std::byte{0}); });
    {
        INFO("zeros: " << outcome_name(zeros));
        CHECK(zeros == corrupt_named);
    }
    // Cut short: the heap's own bounds say it goes on past the end of the file.
    int cut = use_damaged(n.name, pristine, when::at_rest, [&](std::span<std::byte>) {
        ::truncate(fl::shared_memory::path_of(n.name).c_str(), static_cast<off_t>(pristine.size() / 2));
    });
    INFO("cut to half its size: " << outcome_name(cut));
    CHECK(cut == corrupt_named);
}

TEST_CASE("manager: garbage over the allocator's bookkeeping or an object's entry is reported corrupt",
          "[mp][manager][damage]") {
    scratch_name n("damage-parts");
    auto pristine = pristine_objects(n.name);
    auto garbage = [](std::span<std::byte> bytes) {
        std::mt19937_64 random(7);
        for (auto& b : bytes) b = static_cast<std::byte>(random());
    };
    for (when w : {when::at_rest, when::attached}) {
        // The allocator keeps its state at the start of the heap.
        const char* moment = w == when::at_rest ? "at rest" : "attached";
        {
            int code = use_damaged(n.name, pristine, w, [&](std::span<std::byte> heap) { garbage(heap.first(256)); });
            INFO("the heap's first 256 bytes, " << moment << ": " << outcome_name(code));
            CHECK(code == corrupt_named);
        }
        // An object's name, and the 48 bytes before it: its entry in the segment's directory.
        for (std::string_view object : {"totals", "log", "rate", "jobs"}) {
            std::size_t at = find_in(pristine, object);
            REQUIRE(at != std::string_view::npos);
            REQUIRE(at >= header_bytes + 48);
            at -= header_bytes;
            int code = use_damaged(n.name, pristine, w, [&](std::span<std::byte> heap) {
                garbage(heap.subspan(at - 48, 48 + object.size()));
            });
            INFO("around '" << object << "', " << moment << ": " << outcome_name(code));
            CHECK(code == corrupt_named);
        }
    }
}

TEST_CASE("manager: a free-list bin that starts inside its list is reported corrupt", "[mp][manager][damage]") {
    scratch_name n("damage-bin");
    fl::manager m(n.name, 64 << 10);
    auto d = m.dict<int, std::string>("d");
    constexpr int keys = 30;
    for (int k = 0; k < keys; ++k) d.set(k, "");  // the table at its final size first
    for (int k = 0; k < keys; ++k) d.set(k, std::string(200, 'v'));
    for (int k = 0; k < keys; k += 4) d.erase(k);  // free blocks of one size, apart from each other
    // The allocator's state opens the heap: six words, then the heads of its 64 bins; a free
    // block's links (next, prev) follow its 16-byte header. Each bin of two or more blocks is
    // made to start at its second one, which is free and of the bin, but not the list's head.
    int damaged_bins = 0;
    {
        fl::shared_memory raw(n.name);
        std::byte* bins = raw.data() + header_bytes + 6 * 8;
        for (int k = 0; k < 64; ++k) {
            std::uint64_t head, next;
            std::memcpy(&head, bins + 8 * k, 8);
            if (head == 0) continue;
            REQUIRE(head + 24 <= raw.size());
            std::memcpy(&next, raw.data() + head + 16, 8);
            if (next == 0) continue;
            std::memcpy(bins + 8 * k, &next, 8);
            ++damaged_bins;
        }
    }
    REQUIRE(damaged_bins > 0);
    // Key 2's value sits between two values in use: freeing it puts it at the head of its bin.
    CHECK_THROWS_WITH(d.erase(2), Catch::Contains("'" + n.name + "'") && Catch::Contains("damaged"));
    CHECK_THROWS_AS(d.size(), fl::segment_corrupt);
}

TEST_CASE("manager: a count its slots cannot hold is reported corrupt, even under a valid seal",
          "[mp][manager][damage]") {
    // An object's record as manager.cpp lays it out: twelve words, then their seal.
    constexpr std::size_t record_words = 12, dict_count = 6, list_count = 10;
    for (std::size_t count_word : {dict_count, list_count}) {
        scratch_name n("forged-count");
        fl::manager m(n.name, 64 << 10);
        auto d = m.dict<long, long>("d");
        d.set(1, 1);
        auto l = m.list<long>("l");
        l.push_back(1);
        const std::uint64_t kind = count_word == dict_count ? 1 : 2;
        int forged = 0;
        {
            fl::shared_memory raw(n.name);
            for (std::size_t at = header_bytes; at + 8 * (record_words + 1) <= raw.size(); at += 16) {
                std::uint64_t w[record_words + 1];
                std::memcpy(w, raw.data() + at, sizeof w);
                auto seal = [&] {
                    return fl::detail::seal_of(at, {w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9], w[10], w[11]});
                };
                if ((w[0] & 0xffffffff) != kind || w[record_words] != seal()) continue;
                w[count_word] = 1000;
                w[record_words] = seal();
                std::memcpy(raw.data() + at, w, sizeof w);
                ++forged;
            }
        }
        REQUIRE(forged == 1);
        INFO((count_word == dict_count ? "dict" : "list"));
        if (count_word == dict_count)
            CHECK_THROWS_AS(d.size(), fl::segment_corrupt);
        else
            CHECK_THROWS_AS(l.size(), fl::segment_corrupt);
    }
}

TEST_CASE("manager: any one word of the heap changed is reported corrupt, whether at rest or attached",
          "[mp][manager][damage]") {
    scratch_name n("damage-words");
    auto pristine = pristine_objects(n.name);
    // Every 8-byte word that holds something (the rest is never-used space), with bit 4 flipped:
    // an offset moved by 16 bytes lands on a plausible place, which is the hardest to tell.
    std::vector<std::size_t> words;
    for (std::size_t at = header_bytes; at + 8 <= pristine.size(); at += 8) {
        std::uint64_t w;
        std::memcpy(&w, pristine.data() + at, 8);
        if (w != 0) words.push_back(at - header_bytes);
    }
    CHECK(words.size() > 100);
    std::map<std::string, int> at_rest, attached;  // outcome -> how many words came to it
    std::string wrong;                             // the first words that came to a wrong outcome
    int wrong_words = 0;
    for (std::size_t at : words) {
        auto flip = [at](std::span<std::byte> heap) { heap[at] ^= std::byte{0x10}; };
        int rest = use_damaged(n.name, pristine, when::at_rest, flip);
        int live = use_damaged(n.name, pristine, when::attached, flip);
        ++at_rest[outcome_name(rest)];
        ++attached[outcome_name(live)];
        // Damage to bookkeeping nobody has read since attaching may not matter yet: reading back
        // what was stored is right then too.
        if (rest != corrupt_named || (live != corrupt_named && live != read_back)) {
            if (++wrong_words <= 10)
                wrong += "\n  heap byte " + std::to_string(at) + ": " + outcome_name(rest) + " at rest, " +
                         outcome_name(live) + " attached";
        }
    }
    std::string summary = std::to_string(words.size()) + " words; at rest:";
    for (const auto& [outcome, count] : at_rest) summary += " " + std::to_string(count) + " " + outcome + ";";
    summary += " attached:";
    for (const auto& [outcome, count] : attached) summary += " " + std::to_string(count) + " " + outcome + ";";
    INFO(summary);
    INFO(wrong_words << " words came to a wrong outcome" << wrong);
    CHECK(wrong_words == 0);
    CHECK(attached[outcome_name(corrupt_named)] > 0);
}

namespace {

/// Runs tools/forkline-shm with these arguments; its exit status and what it printed.
std::pair<int, std::string> shm_tool(std::vector<std::string> args) {
    std::string path = FORKLINE_SHM_TOOL;
    args.insert(args.begin(), path);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    ::posix_spawn_file_actions_addclose(&actions, fds[0]);
    pid_t pid;
    int rc = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    REQUIRE(rc == 0);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    return {fl::test::wait_child(pid), out};
}

}  // namespace

TEST_CASE("forkline-shm lists segments with who maps them and removes the stale ones", "[mp][manager][tool]") {
    scratch_name used("tool-used"), stale("tool-stale");
    fl::manager m(used.name, 1 << 16);
    { fl::shared_memory s(stale.name, 4096); }  // made and dropped: nobody maps it now

    auto [status, out] = shm_tool({"list"});
    CHECK(status == 0);
    auto line_of = [&](const std::string& name) {
        auto at = out.find(name + " ");
        return at == std::string::npos ? std::string() : out.substr(at, out.find('\n', at) - at);
    };
    CHECK_THAT(line_of(used.name), Catch::Contains("manager") && Catch::Contains(std::to_string(::getpid())));
    CHECK_THAT(line_of(stale.name), Catch::Contains("shared_memory") && Catch::EndsWith("stale"));

    // Limited to this test's names: other stale segments of this user are not ours to remove.
    std::tie(status, out) = shm_tool({"remove", "--stale", "test-" + std::to_string(::getpid()) + "-tool"});
    CHECK(status == 0);
    CHECK_THAT(out, Catch::Contains("removed " + stale.name));
    CHECK_FALSE(stale.exists());
    CHECK(used.exists());

    std::tie(status, out) = shm_tool({"remove", stale.name});
    CHECK(status == 1);
    std::tie(status, out) = shm_tool({"remove", used.name});
    CHECK(status == 0);
    CHECK_FALSE(used.exists());
    CHECK(m.dict<int, int>("still").size() == 0);  // the mapping stays usable
}
