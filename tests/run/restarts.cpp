// options::restarts: a stage process that dies is replaced, and the output is what a run without
// the death gives (nothing lost, nothing twice, order kept); an item that kills its stage again
// and again is set aside or fails the run by name; a death that cannot be repaired ends the run
// as before; random SIGKILLs during a run change nothing.
#include "../support.hpp"

#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fl = forkline;
using namespace forkline::test;

namespace {

/// Counters the run's processes share with the test (a fork keeps the mapping).
struct shared_count {
    std::atomic<int>* at = static_cast<std::atomic<int>*>(
        ::mmap(nullptr, sizeof(std::atomic<int>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    shared_count() { new (at) std::atomic<int>(0); }
    ~shared_count() { ::munmap(at, sizeof(std::atomic<int>)); }
    shared_count(const shared_count&) = delete;
    shared_count& operator=(const shared_count&) = delete;
};

/// Kills its own process with `sig` the first `times` times it meets item `at`.
struct dies_at {
    long at;
    std::atomic<int>* met;
    int times = 1;
    int sig = SIGKILL;
    void operator()(long x) const {
        if (x == at && met->fetch_add(1) < times) ::raise(sig);
    }
};

std::vector<long> times_three(long n) {
    std::vector<long> v(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = 3 * i;
    return v;
}

/// The signal a test's raise() shows as: AddressSanitizer turns a SIGSEGV into an exit code.
bool is_signal(int seen, int sig) { return seen == sig || (address_sanitized && sig == SIGSEGV); }

}  // namespace

TEST_CASE("a map process killed once is replaced, and the output is whole and in order", "[run][restarts]") {
    shared_count met;
    fl::run_report report;
    dies_at die{123'457, met.at};
    auto p = fl::iota(0L, 300'000L) | fl::map([die](long x) {
                 die(x);
                 return 3 * x;
             }) |
             fl::to_vector();
    auto out = fl::run(p, fl::options{.fuse = false, .report = &report, .restarts = 2});
    CHECK(out == times_three(300'000));
    CHECK(met.at->load() == 2);  // the item was done again by the replacement
    REQUIRE(report.restarts.size() == 1);
    CHECK(report.restarts[0].stage == "map");
    CHECK(report.restarts[0].signal == SIGKILL);
    CHECK(report.restarts[0].pid > 0);
    // It had read past the last position it handed back, by at most a batch and the item itself.
    CHECK(report.restarts[0].items_replayed <= 32768 / 16 + 1);
    CHECK(report.restarts[0].seconds_lost > 0);
    CHECK(report.set_aside.empty());
    CHECK(no_children_left());
}

TEST_CASE("items that travel as encoded records come out whole after a replacement", "[run][restarts]") {
    shared_count met;
    fl::run_report report;
    dies_at die{40'001, met.at, 1, SIGSEGV};
    auto p = fl::iota(0L, 100'000L) | fl::map([](long x) { return std::to_string(x); }) |
             fl::map([die](const std::string& s) {
                 die(std::stol(s));
                 return s + "!";
             }) |
             fl::to_vector();
    auto out = fl::run(p, fl::options{.ring_bytes = 8192, .fuse = false, .report = &report, .restarts = 1});
    REQUIRE(out.size() == 100'000);
    bool same = true;
    for (long i = 0; i < 100'000; ++i) same = same && out[static_cast<std::size_t>(i)] == std::to_string(i) + "!";
    CHECK(same);
    REQUIRE(report.restarts.size() == 1);
    CHECK(is_signal(report.restarts[0].signal, SIGSEGV));
}

/// 2000 outputs for each item x (x * 2000 + k); the first time it is on item 77's output `dies_at`
/// (none for -1), it kills its process.
auto two_thousand_each(std::atomic<int>* met, long dies_at) {
    return fl::flat_map([met, dies_at](long x) {
        std::vector<long> v;
        for (long k = 0; k < 2000; ++k) {
            if (x == 77 && k == dies_at && met->fetch_add(1) == 0) ::raise(SIGKILL);
            v.push_back(x * 2000 + k);
        }
        return v;
    });
}

TEST_CASE("a flat_map that dies halfway through an item's outputs does not send them twice", "[run][restarts]") {
    // 2000 outputs an item, a ring of 512: the dead process had published part of item 77's.
    shared_count met;
    fl::run_report report;
    const fl::options o{.ring_bytes = 4096, .fuse = false, .report = &report, .restarts = 1};
    std::vector<long> out;
    SECTION("the flat_map dies") {
        out = fl::run(fl::iota(0L, 200L) | two_thousand_each(met.at, 1500) | fl::to_vector(), o);
    }
    SECTION("the flat_map dies while a slow stage after it leaves its ring full") {
        // Its replacement makes again more output than the ring holds before it reaches what
        // the dead one had published: none of that may land in the ring over unread items.
        auto slow = fl::map([](long y) {
            if (y % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
            return y;
        });
        out = fl::run(fl::iota(0L, 200L) | two_thousand_each(met.at, 1900) | slow | fl::to_vector(), o);
    }
    SECTION("the stage after it dies while its input holds part of an item's outputs") {
        auto dies = fl::map([m = met.at](long y) {
            if (y == 77 * 2000 + 1500 && m->fetch_add(1) == 0) ::raise(SIGKILL);
            return y;
        });
        out = fl::run(fl::iota(0L, 200L) | two_thousand_each(met.at, -1) | dies | fl::to_vector(), o);
    }
    std::vector<long> want(400'000);
    for (long i = 0; i < 400'000; ++i) want[static_cast<std::size_t>(i)] = i;
    CHECK(out == want);
    CHECK(report.restarts.size() == 1);
}

TEST_CASE("a farm's replica is replaced; an ordered farm keeps its order", "[run][restarts]") {
    shared_count met;
    fl::run_report report;
    dies_at die{5'001, met.at};
    auto stage = fl::map([die](long x) {
                     die(x);
                     return x;
                 }) |
                 fl::filter([](long x) { return x % 3 != 0; }) |
                 fl::flat_map([](long x) { return std::vector<long>{x, -x}; });
    std::vector<long> want;
    for (long x = 0; x < 60'000; ++x)
        if (x % 3 != 0) want.insert(want.end(), {x, -x});
    SECTION("ordered") {
        auto out = fl::run(fl::iota(0L, 60'000L) | fl::farm(2, stage) | fl::to_vector(),
                           fl::options{.report = &report, .restarts = 1});
        CHECK(out == want);
    }
    SECTION("unordered") {
        auto out = fl::run(fl::iota(0L, 60'000L) | fl::farm(2, stage, fl::unordered) | fl::to_vector(),
                           fl::options{.report = &report, .restarts = 1});
        std::sort(out.begin(), out.end());
        std::sort(want.begin(), want.end());
        CHECK(out == want);
    }
    REQUIRE(report.restarts.size() == 1);
    CHECK(report.restarts[0].stage.rfind("map | filter | flat_map[", 0) == 0);
    CHECK(met.at->load() == 2);
}

TEST_CASE("describe() says which processes a crash ends the run in", "[run][restarts]") {
    // A generator may give other items when called again: its process cannot start over.
    auto p = fl::generate([n = 0]() mutable { return n < 10 ? std::optional<int>(n++) : std::nullopt; }) |
             fl::map([](int x) { return x; }) | fl::map([n = 0](int x) mutable { return x + n++; }) | fl::to_vector();
    auto text = fl::plan(p, fl::options{.fuse = false, .restarts = 3}).describe();
    CHECK(text.find("restarts: up to 3 per process; replaced after a crash: map#1; resumed from a checkpoint: map#2; "
                    "a crash ends the run: generate") != std::string::npos);
    CHECK(fl::plan(p, fl::options{.fuse = false}).describe().find("restarts") == std::string::npos);
}

TEST_CASE("fl::restart gives one element its own count of restarts", "[run][restarts]") {
    shared_count met;
    dies_at die{40'000, met.at, 2};
    auto dying = fl::map([die](long x) {
        die(x);
        return 3 * x;
    });
    auto plain = fl::map([](long x) { return x; });
    SECTION("on in a run without restarts") {
        auto p = fl::iota(0L, 100'000L) | plain | fl::restart(2, dying) | fl::to_vector();
        CHECK(fl::plan(p, fl::options{.fuse = false}).describe().find(
                  "restarts: up to 2 per process; replaced after a crash: map#2; a crash ends the run: iota, map#1") !=
              std::string::npos);
        fl::run_report report;
        CHECK(fl::run(p, fl::options{.fuse = false, .report = &report}) == times_three(100'000));
        CHECK(report.restarts.size() == 2);
        CHECK(met.at->load() == 3);
    }
    SECTION("each element its own count, in a farm too") {
        // map#2 hands items to the farm's replicas (it writes several rings): not replaceable.
        auto p = fl::iota(0L, 100'000L) | fl::restart(7, plain) | plain | fl::farm(2, fl::restart(2, dying)) |
                 fl::to_vector();
        auto text = fl::plan(p, fl::options{.fuse = false, .restarts = 1}).describe();
        CHECK(text.find("restarts: per element; replaced after a crash: iota (up to 1), map#1 (up to 7), map#3 (up to "
                        "2); a crash ends the run: map#2") != std::string::npos);
        CHECK(fl::run(p, fl::options{.fuse = false, .restarts = 1}) == times_three(100'000));
    }
    SECTION("off for one element in a run with restarts: its crash ends the run") {
        auto p = fl::iota(0L, 100'000L) | fl::restart(0, dying) | fl::to_vector();
        CHECK(fl::plan(p, fl::options{.fuse = false, .restarts = 5}).describe().find("replaced after a crash: iota; a crash ends the run: map") !=
              std::string::npos);
        CHECK_THROWS_AS(fl::run(p, fl::options{.fuse = false, .restarts = 5}), fl::stage_crashed);
    }
    SECTION("fewer restarts than deaths: the last death ends the run") {
        auto p = fl::iota(0L, 100'000L) | fl::restart(1, dying) | fl::to_vector();
        CHECK_THROWS_AS(fl::run(p, fl::options{.fuse = false}), fl::stage_crashed);
    }
    CHECK(no_children_left());
}

/// The running sums of 0, 1, ..., n - 1.
std::vector<long> running_sums(long n) {
    std::vector<long> v;
    long sum = 0;
    for (long i = 0; i < n; ++i) v.push_back(sum += i);
    return v;
}

TEST_CASE("a process that keeps state goes on from its last checkpoint after a death", "[run][restarts][checkpoint]") {
    // A running sum in a mutable lambda: a fresh process would start it again from 0. Item 500
    // comes before the first checkpoint (a fresh fork then starts from the beginning), the
    // others after several.
    for (long at : {500L, 70'123L, 199'999L}) {
        shared_count met;
        dies_at die{at, met.at};
        fl::run_report report;
        auto p = fl::iota(0L, 200'000L) | fl::map([die, sum = 0L](long x) mutable {
                     die(x);
                     return sum += x;
                 }) |
                 fl::to_vector();
        auto out = fl::run(p, fl::options{.fuse = false, .report = &report, .restarts = 2, .checkpoint_items = 4000});
        INFO("killed at item " << at);
        CHECK(out == running_sums(200'000));
        CHECK(met.at->load() == 2);
        REQUIRE(report.restarts.size() == 1);
        CHECK(report.restarts[0].stage == "map");
        CHECK(report.restarts[0].signal == SIGKILL);
        // It read again what came after its checkpoint: about a checkpoint's worth.
        if (at > 4000) CHECK(report.restarts[0].items_replayed <= 2 * 4000);
    }
    CHECK(no_children_left());
}

TEST_CASE("a partition_by replica that reduces is resumed from its checkpoint", "[run][restarts][checkpoint]") {
    using sums = std::map<long, long>;
    sums want;
    for (long i = 0; i < 300'000; ++i) want[i % 10] += i;
    for (bool fuse : {false, true}) {
        shared_count met;
        dies_at die{150'001, met.at, 2};  // twice: the copy that took over dies too, after its own checkpoint
        fl::run_report report;
        auto p = fl::iota(0L, 300'000L) | fl::map([](long x) { return x; }) |
                 fl::partition_by(3, [](long x) { return x % 10; },
                                  fl::reduce(sums{}, [die](sums& s, long x) {
                                      die(x);
                                      s[x % 10] += x;
                                  })) |
                 fl::reduce(sums{}, [](sums all, const sums& part) {
                     for (auto& [k, v] : part) all[k] += v;
                     return all;
                 });
        fl::options o{.fuse = fuse, .report = &report, .restarts = 3, .checkpoint_ms = 5};
        CHECK(fl::plan(p, o).describe().find("resumed from a checkpoint: reduce#1") != std::string::npos);
        INFO("fused " << fuse);
        CHECK(fl::run(p, o) == want);
        CHECK(met.at->load() == 3);
        CHECK(report.restarts.size() == 2);
    }
    CHECK(no_children_left());
}

TEST_CASE("a checkpoint that is gone with its process ends the run", "[run][restarts][checkpoint]") {
    // A stateful stage that crashes on one item every time: each copy that takes over dies on it
    // again, until the restarts are used up (before it counts as poison).
    auto p = fl::iota(0L, 100'000L) | fl::map([n = 0L](long x) mutable {
                 if (x == 50'000) ::raise(SIGKILL);
                 return x + n++;
             }) |
             fl::to_vector();
    fl::run_report report;
    try {
        fl::run(p, fl::options{.fuse = false, .report = &report, .restarts = 3, .checkpoint_items = 1000, .poison_after = 100});
        FAIL("the run went on");
    } catch (const fl::stage_crashed& e) {
        CHECK(e.stage() == "map");
        CHECK(e.signal() == SIGKILL);
    }
    CHECK(report.restarts.size() == 3);
    CHECK(no_children_left());
}

TEST_CASE("a checkpointed process's copies leave with the run", "[run][restarts][checkpoint]") {
    // An error elsewhere ends the run while a copy waits: none is left behind.
    auto p = fl::iota(0L, 100'000L) | fl::map([n = 0L](long x) mutable { return x + n++; }) |
             fl::map([](long x) {
                 if (x == 150'000) throw std::runtime_error("enough");
                 return x;
             }) |
             fl::to_vector();
    CHECK_THROWS_AS(fl::run(p, fl::options{.fuse = false, .restarts = 3, .checkpoint_items = 1000}), fl::stage_error);
    CHECK(no_children_left());
    CHECK(children_named("fl:checkpoint").empty());
}

TEST_CASE("a source that can make its items again starts over after a death", "[run][restarts][source]") {
    // The stage that dies is fused to the source, so the source's process is the one that dies.
    shared_count met;
    fl::run_report report;
    const fl::options o{.fuse = true, .report = &report, .restarts = 2};
    SECTION("iota, with a stage that keeps state fused to it") {
        dies_at die{123'456, met.at};
        auto p = fl::iota(0L, 200'000L) | fl::map([die, sum = 0L](long x) mutable {
                     die(x);
                     return sum += x;
                 }) |
                 fl::to_vector();
        CHECK(fl::plan(p, o).describe().find("replaced after a crash: iota, map") != std::string::npos);
        CHECK(fl::run(p, o) == running_sums(200'000));
    }
    SECTION("read_lines of a file") {
        std::string text;
        for (long i = 0; i < 200'000; ++i) text += std::to_string(i) + "\n";
        temp_file f(text);
        dies_at die{150'000, met.at};
        auto p = fl::read_lines(f.path) | fl::map([die](const std::string& l) {
                     long x = std::stol(l);
                     die(x);
                     return 3 * x;
                 }) |
                 fl::to_vector();
        CHECK(fl::plan(p, o).describe().find("replaced after a crash: read_lines, map") != std::string::npos);
        CHECK(fl::run(p, o) == times_three(200'000));
    }
    SECTION("from over a vector") {
        std::vector<long> in(200'000);
        for (long i = 0; i < 200'000; ++i) in[static_cast<std::size_t>(i)] = i;
        dies_at die{199'999, met.at};
        auto p = fl::from(in) | fl::map([die](long x) {
                     die(x);
                     return 3 * x;
                 }) |
                 fl::to_vector();
        CHECK(fl::run(p, o) == times_three(200'000));
    }
    CHECK(met.at->load() == 2);
    REQUIRE(report.restarts.size() == 1);
    CHECK(report.restarts[0].signal == SIGKILL);
    CHECK(report.restarts[0].items_replayed > 0);  // what it had published, made again
    CHECK(no_children_left());
}

TEST_CASE("a source that cannot make its items again ends the run when it dies", "[run][restarts][source]") {
    // A generator may give other items when it is called again (it may read a stream or a clock).
    auto p = fl::generate([n = 0L]() mutable -> std::optional<long> {
                 if (n == 1000) return std::nullopt;
                 return n++;
             }) |
             fl::to_vector();
    CHECK(fl::plan(p, fl::options{.restarts = 2}).describe().find("a crash ends the run: generate") != std::string::npos);
}

TEST_CASE("without restarts the first death ends the run", "[run][restarts]") {
    shared_count met;
    dies_at die{10, met.at};
    auto p = fl::iota(0L, 1000L) | fl::map([die](long x) {
                 die(x);
                 return x;
             }) |
             fl::to_vector();
    CHECK_THROWS_AS(fl::run(p, fl::options{.fuse = false}), fl::stage_crashed);
}

TEST_CASE("an item that crashes its stage every time is set aside, or fails the run naming it", "[run][restarts]") {
    constexpr long n = 1'000'000, bad = 654'321;
    auto p = fl::iota(0L, n) | fl::map([](long x) {
                 if (x == bad) ::raise(SIGSEGV);
                 return x;
             }) |
             fl::to_vector();
    SECTION("skip") {
        fl::run_report report;
        auto out = fl::run(p, fl::options{.fuse = false, .report = &report, .restarts = 5,
                                          .poison = fl::poison_policy::skip});
        REQUIRE(out.size() == n - 1);
        bool same = true;
        for (long i = 0; i < n - 1; ++i) same = same && out[static_cast<std::size_t>(i)] == (i < bad ? i : i + 1);
        CHECK(same);
        REQUIRE(report.set_aside.size() == 1);
        CHECK(report.set_aside[0].stage == "map");
        CHECK(report.set_aside[0].position == static_cast<std::uint64_t>(bad));
        CHECK(is_signal(report.set_aside[0].signal, SIGSEGV));
        CHECK(report.restarts.size() >= 2);
    }
    SECTION("fail") {
        try {
            fl::run(p, fl::options{.fuse = false, .restarts = 5});
            FAIL("the run went on");
        } catch (const fl::stage_crashed& e) {
            CHECK(e.stage() == "map");
            CHECK(e.item() == static_cast<std::uint64_t>(bad));
            CHECK(std::string(e.what()).find("on item 654321 of its input, the 2nd time in a row on that item") !=
                  std::string::npos);
        }
    }
    CHECK(no_children_left());
}

TEST_CASE("an item that crashes a process that keeps state every time is set aside, or fails the run naming it",
          "[run][restarts][checkpoint]") {
    // A running sum in a mutable lambda, checkpointed every 10000 items: its copy takes over,
    // notes each item it is on, dies on the same one again, and the next copy stops in front of
    // it. Without the item the sums after it are smaller.
    constexpr long n = 1'000'000, bad = 654'321;
    auto sums_without = [](long count, long skip) {
        std::vector<long> v;
        long sum = 0;
        for (long i = 0; i < count; ++i)
            if (i != skip) v.push_back(sum += i);
        return v;
    };
    auto running = [](long x) {
        return [x, sum = 0L](long y) mutable {
            if (y == x) ::raise(SIGSEGV);
            return sum += y;
        };
    };
    auto p = fl::iota(0L, n) | fl::map(running(bad)) | fl::to_vector();
    fl::options o{.fuse = false, .restarts = 5, .checkpoint_items = 10'000};
    SECTION("skip") {
        fl::run_report report;
        o.report = &report;
        o.poison = fl::poison_policy::skip;
        CHECK(fl::plan(p, o).describe().find("resumed from a checkpoint: map") != std::string::npos);
        auto out = fl::run(p, o);
        CHECK(out == sums_without(n, bad));
        REQUIRE(report.set_aside.size() == 1);
        CHECK(report.set_aside[0].stage == "map");
        CHECK(report.set_aside[0].position == static_cast<std::uint64_t>(bad));
        CHECK(is_signal(report.set_aside[0].signal, SIGSEGV));
        CHECK(report.restarts.size() == 3);  // the first death, then poison_after (2) on the item
    }
    SECTION("fail") {
        try {
            fl::run(p, o);
            FAIL("the run went on");
        } catch (const fl::stage_crashed& e) {
            CHECK(e.stage() == "map");
            CHECK(e.item() == static_cast<std::uint64_t>(bad));
        }
    }
    SECTION("skip, in a partition_by replica that reads encoded records") {
        // Odd numbers go to replica 1: the bad one is item (bad - 1) / 2 of its input.
        fl::run_report report;
        o.report = &report;
        o.poison = fl::poison_policy::skip;
        auto q = fl::iota(0L, n) | fl::map([](long x) { return std::to_string(x); }) |
                 fl::partition_by(2, [](const std::string& s) { return (s.back() - '0') % 2; },
                                  fl::map([f = running(bad)](const std::string& s) mutable { return f(std::stol(s)); })) |
                 fl::to_vector();
        auto out = fl::run(q, o);
        std::sort(out.begin(), out.end());
        std::vector<long> want;
        long even = 0, odd = 0;
        for (long i = 0; i < n; ++i)
            if (i != bad) want.push_back(i % 2 ? odd += i : even += i);
        std::sort(want.begin(), want.end());
        CHECK(out == want);
        REQUIRE(report.set_aside.size() == 1);
        CHECK(report.set_aside[0].position == static_cast<std::uint64_t>((bad - 1) / 2));
    }
    CHECK(no_children_left());
}

/// Kills one of the test's children whose names start with one of `names`, picked at random,
/// every 2 to 10 ms until it is destroyed (or `stop` is called, which says how many it killed).
class random_killer {
public:
    random_killer(std::vector<std::string> names, unsigned seed)
        : names_(std::move(names)), thread_([this, seed] {
              std::mt19937 r(seed);
              while (!done_.load()) {
                  std::this_thread::sleep_for(std::chrono::milliseconds(2 + r() % 8));
                  std::vector<pid_t> pids;
                  for (const auto& n : names_) {
                      auto some = children_named(n);
                      pids.insert(pids.end(), some.begin(), some.end());
                  }
                  if (!pids.empty() && ::kill(pids[r() % pids.size()], SIGKILL) == 0) ++killed_;
              }
          }) {}
    random_killer(const random_killer&) = delete;
    random_killer& operator=(const random_killer&) = delete;
    ~random_killer() { stop(); }

    int stop() {
        done_ = true;
        if (thread_.joinable()) thread_.join();
        return killed_;
    }

private:
    std::vector<std::string> names_;
    std::atomic<bool> done_{false};
    int killed_ = 0;
    std::thread thread_;
};

TEST_CASE("random SIGKILLs of the replaceable processes change nothing in the output", "[run][restarts][chaos]") {
    // from(lines) | trim | spread | parallel(parse) | square: the processes of trim and of
    // parse's replicas are the replaceable ones (spread writes to several rings, square reads
    // from several), and they are killed every few milliseconds while the run goes, for farms
    // ordered and not, fused and not: each once, then again while 30 s last.
    std::vector<std::string> lines;
    for (long i = 0; i < 1'000'000; ++i) lines.push_back(" " + std::to_string(i));
    auto trim = fl::named("trim", fl::map([](const std::string& s) { return s.substr(1); }));
    auto spread = fl::named("spread", fl::map([](std::string s) { return s; }));
    auto parse = fl::named("parse", fl::map([](const std::string& s) { return std::stol(s); }));
    auto square = fl::named("square", fl::map([](long x) { return x * x % 1'000'003; }));
    std::vector<long> want;
    for (long i = 0; i < 1'000'000; ++i) want.push_back(i * i % 1'000'003);
    auto sorted_want = want;
    std::sort(sorted_want.begin(), sorted_want.end());

    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int runs = 0, kills = 0;
    std::mt19937 rng(7);
    for (int round = 0; round < 3; ++round)
        for (bool ordered : {true, false})
            for (bool fuse : {false, true}) {
                if (round > 0 && std::chrono::steady_clock::now() > until) break;  // each kind once, at least
                fl::run_report report;
                random_killer killer({"fl:parse[", "fl:trim"}, rng());
                // A replacement killed again before it finished the item it resumed on counts
                // that item as poison; kills this frequent hit a replacement that has not yet been
                // scheduled now and then, so they are not taken for poison here.
                fl::options o{.fuse = fuse, .report = &report, .restarts = 100000, .poison_after = 100000};
                auto out = ordered ? fl::run(fl::from(lines) | trim | spread | fl::parallel(parse) | square |
                                                 fl::to_vector(),
                                             o)
                                   : fl::run(fl::from(lines) | trim | spread | fl::parallel(parse, fl::unordered) |
                                                 square | fl::to_vector(),
                                             o);
                const int killed = killer.stop();
                if (!ordered) std::sort(out.begin(), out.end());
                const auto& expected = ordered ? want : sorted_want;
                auto diff = std::mismatch(out.begin(), out.end(), expected.begin(), expected.end());
                INFO("ordered " << ordered << ", fused " << fuse << ", " << killed << " kills, "
                                << report.restarts.size() << " restarts; " << out.size() << " items, first difference at "
                                << (diff.first - out.begin()));
                CHECK(out.size() == expected.size());
                CHECK(diff.first == out.end());
                CHECK(report.restarts.size() <= static_cast<std::size_t>(killed));  // some had finished
                kills += killed;
                ++runs;
            }
    CHECK(runs >= 4);
    CHECK(kills > 0);
    CHECK(no_children_left());
}

TEST_CASE("random SIGKILLs of a source and of checkpointed replicas change nothing in the output",
          "[run][restarts][chaos][checkpoint]") {
    // from(lines) | trim | spread | partition_by(2, key, running sum) | to_vector: from, trim and
    // the partition's replicas (which keep a running sum per key, checkpointed every 10 ms) are
    // the replaceable processes, killed every few milliseconds while the run goes, fused and not.
    // Fewer under AddressSanitizer, which makes each run several times slower.
    const long n = address_sanitized ? 200'000 : 1'000'000;
    std::vector<std::string> lines;
    for (long i = 0; i < n; ++i) lines.push_back(" " + std::to_string(i));
    auto trim = fl::named("trim", fl::map([](const std::string& s) { return std::stol(s.substr(1)); }));
    auto spread = fl::named("spread", fl::map([](long x) { return x; }));
    auto running = fl::named("sum", fl::map([sums = std::vector<long>(8, 0)](long x) mutable {
                                 return std::pair{x % 8, sums[static_cast<std::size_t>(x % 8)] += x};
                             }));
    auto p = fl::from(lines) | trim | spread | fl::partition_by(2, [](long x) { return x % 8; }, running) | fl::to_vector();
    std::vector<std::pair<long, long>> want;
    std::vector<long> sums(8, 0);
    for (long i = 0; i < n; ++i) want.emplace_back(i % 8, sums[static_cast<std::size_t>(i % 8)] += i);
    std::sort(want.begin(), want.end());

    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(address_sanitized ? 5 : 20);
    int runs = 0, kills = 0;
    std::mt19937 rng(11);
    for (int round = 0; round < 3; ++round)
        for (bool fuse : {false, true}) {
            if (round > 0 && std::chrono::steady_clock::now() > until) break;  // each kind once, at least
            fl::run_report report;
            fl::options o{.fuse = fuse, .report = &report, .restarts = 100000, .checkpoint_ms = 10,
                          .poison_after = 100000};
            // The processes a crash does not end the run in, by the names ps shows.
            auto plan = fl::plan(p, o);
            std::vector<std::string> names;
            for (std::size_t g = 0; g < plan.groups().size(); ++g)
                if (plan.groups()[g].replaceable)
                    names.push_back(("fl:" + plan.label(g, plan.groups()[g].stages.front())).substr(0, 15));
            REQUIRE(!names.empty());
            random_killer killer(names, rng());
            auto out = fl::run(p, o);
            const int killed = killer.stop();
            std::sort(out.begin(), out.end());
            auto diff = std::mismatch(out.begin(), out.end(), want.begin(), want.end());
            INFO("fused " << fuse << ", " << killed << " kills, " << report.restarts.size() << " restarts; "
                          << out.size() << " items, first difference at " << (diff.first - out.begin()));
            CHECK(out.size() == want.size());
            CHECK(diff.first == out.end());
            CHECK(report.restarts.size() <= static_cast<std::size_t>(killed));
            kills += killed;
            ++runs;
        }
    CHECK(runs >= 2);
    CHECK(kills > 0);
    CHECK(no_children_left());
}

TEST_CASE("replicas that options::adaptive feeds or leaves asleep are replaced alike", "[run][restarts][chaos]") {
    // iota | parallel(work) | to_vector with adaptive sizing from the spare cores: the replicas are
    // replaceable whether the dispatcher feeds them or not, and are killed every few milliseconds, from before the
    // warm-up ends to the end of the run; ordered and not.
    const long n = address_sanitized ? 100'000 : 300'000;
    auto mix = [](long x) {
        unsigned long h = static_cast<unsigned long>(x);
        for (int k = 0; k < 500; ++k) h = h * 6364136223846793005UL + 1442695040888963407UL;
        return std::pair{x, h};
    };
    auto work = fl::named("work", fl::map(mix));
    std::vector<std::pair<long, unsigned long>> want;
    for (long x = 0; x < n; ++x) want.push_back(mix(x));
    for (bool ordered : {true, false}) {
        fl::run_report report;
        fl::options o{.report = &report, .parallel = fl::spare_cores, .adaptive = true, .restarts = 100000,
                      .poison_after = 100000};
        random_killer killer({"fl:work["}, ordered ? 3u : 4u);
        auto out = ordered ? fl::run(fl::iota(0L, n) | fl::parallel(work) | fl::to_vector(), o)
                           : fl::run(fl::iota(0L, n) | fl::parallel(work, fl::unordered) | fl::to_vector(), o);
        const int killed = killer.stop();
        if (!ordered) std::sort(out.begin(), out.end());
        INFO("ordered " << ordered << ", " << killed << " kills, " << report.restarts.size() << " restarts");
        CHECK(out == want);
        CHECK(killed > 0);
        CHECK(report.restarts.size() <= static_cast<std::size_t>(killed));
        CHECK(!report.adapted.empty());
    }
    CHECK(no_children_left());
}
