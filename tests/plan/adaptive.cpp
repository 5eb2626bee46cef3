// options::adaptive's decision, driven by made-up CPU times: which parallel stages get more
// replicas after the warm-up, how many, and what the report says. No process starts, no timing.
#include "pretended.hpp"

#include <forkline/forkline.hpp>
#include <forkline/plan/detail/adaptive.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>

namespace fl = forkline;
using Catch::Matchers::Contains;
using fl::detail::resize_parallel;
using fl::detail::warm_up_sample;

namespace {
/// On 8 cores score starts 8 replicas and feeds 4; the other 4 processes are not adaptive.
fl::pipeline_plan on_8_cores() { return fl::test::on(8, fl::options{.parallel = fl::spare_cores, .adaptive = true}); }
/// A warm-up of 0.1 s in which group g was busy(g) of a core; every stage fed as planned.
warm_up_sample measured(const fl::pipeline_plan& p, const std::function<double(std::size_t)>& busy) {
    warm_up_sample m;
    m.seconds = 0.1;
    for (std::size_t g = 0; g < p.groups().size(); ++g) m.cpu_seconds.push_back(busy(g) * m.seconds);
    for (const auto& s : p.stages()) m.fed.push_back(static_cast<std::uint32_t>(s.active));
    return m;
}
bool replica_of(const fl::pipeline_plan& p, std::size_t stage, std::size_t group) {
    auto gs = p.groups_of(stage);
    return std::find(gs.begin(), gs.end(), group) != gs.end();
}
}  // namespace

TEST_CASE("the policy's numbers", "[plan][adaptive]") {
    CHECK(fl::detail::adapt_settle == std::chrono::milliseconds(30));
    CHECK(fl::detail::adapt_warm_up == std::chrono::milliseconds(100));
    CHECK(fl::detail::adapt_busy == 0.75);
    CHECK(fl::detail::adapt_round_up == 0.7);
}

TEST_CASE("busy replicas get the cores the other processes leave idle", "[plan][adaptive]") {
    auto p = on_8_cores();
    REQUIRE(p.stages()[2].active == 4);
    REQUIRE(p.groups_of(2).size() == 8);
    // The fed replicas use a core each, the four other processes a quarter of one each: 7 are free.
    auto d = resize_parallel(p, measured(p, [&](std::size_t g) {
        if (!replica_of(p, 2, g)) return 0.25;
        return g < p.groups_of(2)[4] ? 1.0 : 0.0;
    }));
    REQUIRE(d.fed.size() == p.stages().size());
    CHECK(d.fed[2] == 7);
    for (std::size_t s : {0, 1, 3, 4}) CHECK(d.fed[s] == 0);  // not adaptive: as before
    REQUIRE(d.notes.size() == 1);
    CHECK(d.notes[0] == "parallel score: 4 -> 7 replicas (replicas 100% busy, the other processes 1.00 of 8 cores)");
}

TEST_CASE("replicas that are not busy enough keep their number", "[plan][adaptive]") {
    auto p = on_8_cores();
    auto half = resize_parallel(p, measured(p, [](std::size_t) { return 0.5; }));
    CHECK(half.fed[2] == 4);
    REQUIRE(half.notes.size() == 1);
    CHECK(half.notes[0] == "parallel score: 4 -> 4 replicas (replicas 50% busy, the other processes 2.00 of 8 cores)");
    // A little less than 75% busy is not enough; a little more is.
    auto below = resize_parallel(p, measured(p, [&](std::size_t g) { return replica_of(p, 2, g) ? 0.74 : 0.0; }));
    CHECK(below.fed[2] == 4);
    auto above = resize_parallel(p, measured(p, [&](std::size_t g) { return replica_of(p, 2, g) ? 0.76 : 0.0; }));
    CHECK(above.fed[2] == 8);
}

TEST_CASE("only the fed replicas count, and never more replicas than started nor fewer than fed", "[plan][adaptive]") {
    auto p = on_8_cores();
    auto fed = p.groups_of(2);
    auto is_fed = [&](std::size_t g) { return std::find(fed.begin(), fed.begin() + 4, g) != fed.begin() + 4; };
    // Unfed replicas that spin do not make the stage busy.
    auto idle = resize_parallel(
        p, measured(p, [&](std::size_t g) { return is_fed(g) ? 0.5 : replica_of(p, 2, g) ? 1.0 : 0.0; }));
    CHECK(idle.fed[2] == 4);
    // Nothing else works: 8.7 rounds to 8, all that started.
    auto all = resize_parallel(p, measured(p, [&](std::size_t g) { return is_fed(g) ? 1.0 : 0.0; }));
    CHECK(all.fed[2] == 8);
    CHECK(all.notes[0] == "parallel score: 4 -> 8 replicas (replicas 100% busy, the other processes 0.00 of 8 cores)");
    // The others take nearly every core: the stage keeps the 4 it has.
    auto crowded = resize_parallel(
        p, measured(p, [&](std::size_t g) { return is_fed(g) ? 1.0 : replica_of(p, 2, g) ? 0.0 : 1.99; }));
    CHECK(crowded.fed[2] == 4);
    // A process that ended meanwhile reads as less CPU time than before: it counts as idle.
    auto ended = resize_parallel(
        p, measured(p, [&](std::size_t g) { return is_fed(g) ? 1.0 : replica_of(p, 2, g) ? 0.0 : -5.0; }));
    CHECK(ended.fed[2] == 8);
}

TEST_CASE("busy adaptive stages share the free cores by their load", "[plan][adaptive]") {
    auto two = fl::iota(0L, 10L) | fl::parallel(fl::map([](long i) { return i; }), fl::unordered) |
               fl::parallel(fl::map([](long i) { return i + 1; }), fl::unordered) | fl::count();
    auto p = fl::plan(two, fl::options{.cpus = 10, .parallel = fl::spare_cores, .adaptive = true});
    REQUIRE(p.stages()[1].active == 4);
    REQUIRE(p.stages()[2].active == 4);
    REQUIRE(p.groups_of(1).size() == 10);
    // Stage 1's four fed replicas are busy, stage 2's only half: stage 1 alone asks for more, and
    // gets the 10 - 2 free cores (the source and the caller use one each).
    auto first = p.groups_of(1), second = p.groups_of(2);
    auto d = resize_parallel(p, measured(p, [&](std::size_t g) {
        for (std::size_t r = 0; r < 4; ++r) {
            if (first[r] == g) return 1.0;
            if (second[r] == g) return 0.5;
        }
        return replica_of(p, 1, g) || replica_of(p, 2, g) ? 0.0 : 1.0;
    }));
    CHECK(d.fed[1] == 8);
    CHECK(d.fed[2] == 4);
    REQUIRE(d.notes.size() == 2);
    CHECK_THAT(d.notes[0], Contains("4 -> 8 replicas (replicas 100% busy"));
    CHECK_THAT(d.notes[1], Contains("4 -> 4 replicas (replicas 50% busy"));
    // Both busy, 4 : 3.2 in load: the 8 free cores are shared so, each stage keeping what it is fed.
    auto both = resize_parallel(p, measured(p, [&](std::size_t g) {
        for (std::size_t r = 0; r < 4; ++r) {
            if (first[r] == g) return 1.0;
            if (second[r] == g) return 0.8;
        }
        return replica_of(p, 1, g) || replica_of(p, 2, g) ? 0.0 : 1.0;
    }));
    CHECK(both.fed[1] == 5);  // 8 x 4 / 7.2 + 0.7
    CHECK(both.fed[2] == 4);  // 8 x 3.2 / 7.2 + 0.7, no fewer than fed
}
