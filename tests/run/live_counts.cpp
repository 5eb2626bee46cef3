// The counts a run keeps as it goes (run/detail/live_counts.hpp): items and bytes per stage across
// rings, farms and fused processes, time busy and waiting, and the bottleneck sentence, from a
// real run and from made-up numbers.
#include "../plan/pretended.hpp"

#include <forkline/forkline.hpp>
#include <forkline/run/detail/live_counts.hpp>

#include <catch2/catch.hpp>

#include <time.h>

#include <functional>
#include <string>

namespace fl = forkline;

namespace {

const fl::stage_report& stage(const fl::run_report& r, const std::string& name) {
    for (const auto& s : r.stages)
        if (s.name == name) return s;
    FAIL("no stage named " << name << " in the report");
    throw;
}

/// Burns `us` microseconds of this thread's CPU time (not wall time: the same on a busy machine).
void burn(long us) {
    auto cpu = [] {
        timespec t{};
        ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        return t.tv_sec * 1'000'000L + t.tv_nsec / 1000;
    };
    for (long end = cpu() + us; cpu() < end;) {
    }
}

}  // namespace

TEST_CASE("every stage counts the items it took and passed on, across rings", "[run][counts]") {
    const long n = 100'000;
    fl::run_report r;
    auto kept = fl::run(fl::iota(0L, n) | fl::named("double", fl::map([](long i) { return 2 * i; })) |
                            fl::named("thirds", fl::filter([](long i) { return i % 3 == 0; })) | fl::to_vector(),
                        fl::options{.fuse = false, .report = &r});
    REQUIRE(r.stages.size() == 4);
    const auto &source = r.stages[0], &dbl = stage(r, "double"), &thirds = stage(r, "thirds"), &sink = r.stages[3];
    CHECK(source.items_in == 0);
    CHECK(source.items_out == std::uint64_t(n));
    CHECK(dbl.items_in == std::uint64_t(n));
    CHECK(dbl.items_out == std::uint64_t(n));
    CHECK(thirds.items_in == std::uint64_t(n));
    CHECK(thirds.items_out == kept.size());
    CHECK(sink.items_in == kept.size());
    CHECK(sink.items_out == 0);
    // 8-byte items in fixed slots.
    CHECK(dbl.bytes_in == 8 * std::uint64_t(n));
    CHECK(thirds.bytes_out == 8 * kept.size());
    for (const auto& s : r.stages) {
        CHECK(s.processes == 1);
        CHECK(s.busy_seconds >= 0);
        CHECK(s.input_wait_seconds >= 0);
        CHECK(s.output_wait_seconds >= 0);
        CHECK(s.busy_seconds + s.input_wait_seconds + s.output_wait_seconds <= r.seconds + 0.01);
    }
    CHECK(source.input_wait_seconds == 0);  // it has no input to wait for
}

TEST_CASE("items that travel encoded are counted as records, with their bytes", "[run][counts]") {
    const long n = 20'000;
    fl::run_report r;
    auto out = fl::run(fl::iota(0L, n) | fl::named("text", fl::map([](long i) { return std::to_string(i); })) |
                           fl::to_vector(),
                       fl::options{.fuse = false, .report = &r});
    REQUIRE(out.size() == std::size_t(n));
    const auto& text = stage(r, "text");
    CHECK(text.items_out == std::uint64_t(n));
    CHECK(r.stages.back().items_in == std::uint64_t(n));
    // A header of 8 bytes and the digits, padded to 8, at least 16 bytes a record.
    CHECK(text.bytes_out >= 16 * std::uint64_t(n));
    CHECK(r.stages.back().bytes_in == text.bytes_out);
}

TEST_CASE("stages fused into one process count what they hand each other", "[run][counts]") {
    const long n = 50'000;
    fl::run_report r;
    long sum = fl::run(fl::iota(0L, n) | fl::named("inc", fl::map([](long i) { return i + 1; })) |
                           fl::named("odd", fl::filter([](long i) { return i % 2 == 1; })) | fl::reduce(0L, std::plus<>{}),
                       fl::options{.fuse = true, .report = &r});
    CHECK(sum == (n / 2) * (n / 2));
    CHECK(stage(r, "inc").items_in == std::uint64_t(n));
    CHECK(stage(r, "inc").items_out == std::uint64_t(n));
    CHECK(stage(r, "odd").items_in == std::uint64_t(n));
    CHECK(stage(r, "odd").items_out == std::uint64_t(n / 2));
    CHECK(r.stages.back().items_in == std::uint64_t(n / 2));
    CHECK(stage(r, "inc").bytes_out == 0);  // handed on inside the process
}

TEST_CASE("a farm's replicas add up", "[run][counts]") {
    const long n = 30'000;
    fl::run_report r;
    long sum = fl::run(fl::iota(0L, n) | fl::named("work", fl::farm(2, fl::map([](long i) { return i; }))) |
                           fl::reduce(0L, std::plus<>{}),
                       fl::options{.report = &r});
    CHECK(sum == n * (n - 1) / 2);
    const auto& work = stage(r, "work");
    CHECK(work.processes == 2);
    CHECK(work.items_in == std::uint64_t(n));
    CHECK(work.items_out == std::uint64_t(n));
}

TEST_CASE("a farm whose stage drops items counts what it kept, ordered or not", "[run][counts]") {
    // An ordered farm's replicas send a marker for an input that made nothing: not an item.
    const long n = 10'000;
    auto odd = [](long i) { return i % 2 != 0; };
    auto check = [&](const fl::run_report& r, std::size_t kept) {
        const auto& keep = stage(r, "keep");
        CHECK(keep.items_in == std::uint64_t(n));
        CHECK(keep.items_out == std::uint64_t(n / 2));
        CHECK(r.stages.back().items_in == std::uint64_t(n / 2));
        CHECK(kept == std::size_t(n / 2));
    };
    SECTION("ordered, in slots") {
        fl::run_report r;
        auto v = fl::run(fl::iota(0L, n) | fl::named("keep", fl::farm(2, fl::filter(odd))) | fl::to_vector(),
                         fl::options{.report = &r});
        check(r, v.size());
    }
    SECTION("unordered, in slots") {
        fl::run_report r;
        auto v = fl::run(fl::iota(0L, n) | fl::named("keep", fl::farm(2, fl::filter(odd), fl::unordered)) |
                             fl::to_vector(),
                         fl::options{.report = &r});
        check(r, v.size());
    }
    SECTION("ordered, encoded") {
        fl::run_report r;
        auto v = fl::run(fl::iota(0L, n) | fl::map([](long i) { return std::to_string(i); }) |
                             fl::named("keep", fl::farm(2, fl::filter([](const std::string& s) {
                                                           return (s.back() - '0') % 2 != 0;
                                                       }))) |
                             fl::to_vector(),
                         fl::options{.report = &r});
        check(r, v.size());
    }
}

TEST_CASE("the report names the stage that keeps the others waiting", "[run][counts]") {
    fl::run_report r;
    fl::run(fl::iota(0, 400) | fl::named("slow", fl::map([](int i) {
                burn(250);
                return i;
            })) | fl::reduce(0L, std::plus<>{}),
            fl::options{.fuse = false, .report = &r});
    const auto& slow = stage(r, "slow");
    CHECK(slow.busy() > 0.5);
    CHECK(r.stages.back().input_wait_seconds > r.stages.back().busy_seconds);
    INFO(r.bottleneck);
    CHECK(r.bottleneck.rfind("slow is the bottleneck: busy ", 0) == 0);
    // The sink waited for it nearly all the run (the source was done at once).
    CHECK(r.bottleneck.find("the stage after it waiting for input") != std::string::npos);
}

namespace {

fl::stage_report made_up(std::string name, double busy, double in, double out, std::size_t processes = 1) {
    fl::stage_report s;
    s.name = std::move(name);
    s.processes = processes;
    s.busy_seconds = busy;
    s.input_wait_seconds = in;
    s.output_wait_seconds = out;
    return s;
}

}  // namespace

TEST_CASE("the bottleneck sentence, from made-up numbers", "[run][counts]") {
    // iota, parse, score (parallel), filter, reduce, on four cores, nothing fused.
    auto plan = fl::test::on(4, fl::options{.fuse = false});
    REQUIRE(plan.stages().size() == 5);
    std::vector<fl::stage_report> s = {made_up("iota", 0.8, 0, 9.2), made_up("parse", 9.7, 0.1, 0.2),
                                       made_up("score", 2, 8, 0, 2), made_up("filter", 1, 9, 0),
                                       made_up("reduce", 0.5, 9.5, 0)};
    CHECK(fl::detail::bottleneck_sentence(plan, s, 10) ==
          "parse is the bottleneck: busy 97%, its input full 92% of the time; give it replicas with "
          "fl::parallel, if it keeps no state");

    s[1] = made_up("parse", 1, 1, 8);
    s[2] = made_up("score", 19, 0.4, 0.6, 2);  // 19 of 2 x 10 seconds
    CHECK(fl::detail::bottleneck_sentence(plan, s, 10) ==
          "score is the bottleneck: busy 95%, the stage after it waiting for input 90% of the time; give it "
          "more replicas");

    s[2] = made_up("score", 3, 7, 0, 2);
    CHECK(fl::detail::bottleneck_sentence(plan, s, 10) ==
          "no stage is a bottleneck: the busiest, score, was busy 15% of the run");

    s[0] = made_up("iota", 9, 0, 1);
    CHECK(fl::detail::bottleneck_sentence(plan, s, 10) ==
          "iota is the bottleneck: busy 90%, the stage after it waiting for input 10% of the time; a source "
          "runs in one process: make each item cheaper to make");
}
