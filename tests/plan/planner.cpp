// The planner's choices on pretended machines, read from the plan: no process starts, no timing.
#include "../support.hpp"
#include "pretended.hpp"

#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>

namespace fl = forkline;
using Catch::Matchers::Contains;
using fl::test::on;

TEST_CASE("on 1 core the planner fuses what it can and gives parallel one replica", "[plan][planner]") {
    auto p = on(1);
    REQUIRE(p.groups().size() == 4);
    CHECK(p.groups()[0].stages == std::vector<std::size_t>{0, 1});  // iota + parse
    CHECK(p.groups()[1].stages == std::vector<std::size_t>{2});     // score, one replica
    CHECK(p.groups()[2].stages == std::vector<std::size_t>{3});     // filter
    CHECK(p.groups()[3].stages == std::vector<std::size_t>{4});     // reduce, in the caller
    CHECK(p.groups()[3].in_caller);
    CHECK(p.caller_group() == 3);
    auto text = p.describe();
    CHECK_THAT(text, Contains("why: fused 5 processes to fit 1 cores: iota + parse"));
    CHECK_THAT(text, Contains("why: parallel score: 1 replica"));
    CHECK_THAT(text, Contains("4 processes share 1 cores"));
    CHECK(p.spin() < 4096);
    for (const auto& g : p.groups()) CHECK(g.cpu == -1);
}

TEST_CASE("on 2 cores the planner fuses the same way", "[plan][planner]") {
    auto p = on(2);
    CHECK(p.groups().size() == 5);  // score has a replica per core
    CHECK(p.groups()[0].stages == std::vector<std::size_t>{0, 1});
    CHECK_THAT(p.describe(), Contains("fused 5 processes to fit 2 cores"));
}

TEST_CASE("nothing is fused into the caller, which runs the sink alone", "[plan][planner]") {
    // A stage in the caller could not be killed if it got stuck in its own code.
    auto id = [](long i) { return i; };
    auto chain = fl::iota(0L, 10L) | fl::map(id) | fl::map(id) | fl::map(id) | fl::count();
    for (unsigned cores : {1u, 2u, 3u}) {
        auto p = fl::plan(chain, fl::options{.cpus = cores});
        CHECK(p.groups()[p.caller_group()].stages == std::vector<std::size_t>{4});
        CHECK(p.groups().size() == std::max(2u, cores));
    }
    auto forced = fl::plan(chain, fl::options{.fuse = true});
    REQUIRE(forced.groups().size() == 2);
    CHECK(forced.groups()[0].stages == std::vector<std::size_t>{0, 1, 2, 3});
    auto streamed = fl::plan(fl::iota(0L, 10L) | fl::map(id) | fl::map(id), fl::options{.cpus = 1});
    CHECK(streamed.groups()[streamed.caller_group()].stages == std::vector<std::size_t>{3});  // "stream"
}

TEST_CASE("by default parallel gets a replica per core, the other processes sharing the cores", "[plan][planner]") {
    auto p = on(8);
    CHECK(p.groups_of(2).size() == 8);
    auto text = p.describe();
    CHECK_THAT(text, Contains("why: parallel score: 8 replicas (a replica per core; the other processes share the cores)"));
    CHECK_THAT(text, Contains("12 processes share 8 cores: waiting processes sleep almost at once"));
    for (const auto& g : p.groups()) CHECK(g.cpu == -1);
    CHECK(on(2).groups_of(2).size() == 2);
    CHECK(on(1).groups_of(2).size() == 1);
    // Replicas of farms of a fixed size count: parallel gets the cores they leave.
    auto mixed = fl::plan(fl::iota(0L, 10L) | fl::farm(3, fl::map([](long i) { return i; })) | fl::map([](long i) { return i; }) |
                              fl::parallel(fl::map([](long i) { return i; })) | fl::count(),
                          fl::options{.cpus = 8});
    CHECK(mixed.groups_of(3).size() == 5);
    CHECK_THAT(mixed.describe(), Contains("why: parallel map#3: 5 replicas (5 of 8 cores left by 3 replicas of fixed farms)"));
}

TEST_CASE("on 8 cores with spare_cores every stage has a process and parallel gets the spare cores", "[plan][planner]") {
    auto p = on(8, fl::options{.parallel = fl::spare_cores});
    REQUIRE(p.groups().size() == 8);
    CHECK(p.groups_of(2).size() == 4);
    for (std::size_t g : p.groups_of(2)) CHECK(p.groups()[g].replica >= 0);
    auto text = p.describe();
    CHECK_THAT(text, Contains("score (farm)  p2-p5@cpu2-5"));
    CHECK_THAT(text, Contains("why: parallel score: 4 replicas (4 of 8 cores left by the other 4 processes)"));
    CHECK_THAT(text, Contains("why: pinned 7 worker processes to cores of their own"));
    CHECK(p.spin() == 4096);
    // iota to parse, parse to each replica, each replica to filter, filter to the caller.
    CHECK(p.rings().size() == 1 + 4 + 4 + 1);
}

TEST_CASE("on 64 cores with spare_cores parallel takes 60 replicas", "[plan][planner]") {
    auto p = on(64, fl::options{.parallel = fl::spare_cores});
    CHECK(p.groups_of(2).size() == 60);
    CHECK_THAT(p.describe(), Contains("p2-p61@cpu2-61"));
}

TEST_CASE("options force fusion on or off and turn pinning off", "[plan][planner]") {
    auto never = on(1, fl::options{.fuse = false});
    CHECK(never.groups().size() == 5);
    auto always = on(64, fl::options{.fuse = true});
    CHECK(always.groups()[0].stages == std::vector<std::size_t>{0, 1});
    CHECK_THAT(always.describe(), Contains("why: fused as asked (options.fuse): iota + parse\n"));
    auto loose = on(8, fl::options{.pin = false, .parallel = fl::spare_cores});
    for (const auto& g : loose.groups()) CHECK(g.cpu == -1);
}

TEST_CASE("a fused pipeline runs and gives the same result", "[plan][planner]") {
    long expect = 0;
    for (long i = 0; i < 10; ++i) expect += i * 2 > 0 ? i * 2 : 0;
    CHECK(fl::run(fl::test::scored_pipeline(), fl::options{.fuse = true}) == expect);
    CHECK(fl::run(fl::test::scored_pipeline(), fl::options{.fuse = false}) == expect);
    CHECK(forkline::test::no_children_left());
}

TEST_CASE("a fused stage's exception names that stage", "[plan][planner]") {
    auto p = fl::iota(0, 100) | fl::map([](int i) { return i; }) | fl::named("picky", fl::map([](int i) {
                 if (i == 50) throw std::runtime_error("no 50");
                 return i;
             })) |
             fl::map([](int i) { return i; }) | fl::count();
    CHECK_THROWS_MATCHES(fl::run(p, fl::options{.fuse = true}), fl::stage_error,
                         Catch::Matchers::Message("forkline: stage 'picky' failed: no 50"));
}

TEST_CASE("adaptive starts a replica per core for parallel and feeds the planned share", "[plan][planner]") {
    auto p = on(8, fl::options{.parallel = fl::spare_cores, .adaptive = true});
    CHECK(p.stages()[2].active == 4);
    CHECK(p.groups_of(2).size() == 8);
    CHECK_THAT(p.describe(), Contains("why: adaptive score: 8 replicas start, 4 fed until a warm-up has measured "
                                      "the others; its input rings are 1/16 of ring_bytes"));
    // The ring into score is short; the one out of it is not.
    auto into = p.rings_to(p.groups_of(2).front()).front(), out = p.rings_from(p.groups_of(2).front()).front();
    CHECK(p.rings()[into].bytes() * 16 <= fl::options{}.ring_bytes);
    CHECK(p.rings()[out].bytes() * 2 > fl::options{}.ring_bytes);
    // A stage that already has a replica per core is left alone.
    CHECK(on(1, fl::options{.parallel = fl::spare_cores, .adaptive = true}).stages()[2].active == 0);
    CHECK(on(8, fl::options{.adaptive = true}).stages()[2].active == 0);  // every core: nothing to adapt
    auto big = on(64, fl::options{.parallel = fl::spare_cores, .adaptive = true});
    CHECK(big.stages()[2].active == 60);
    CHECK(big.groups_of(2).size() == 64);
}

TEST_CASE("an adaptive run re-sizes its parallel stage after the warm-up and keeps order", "[plan][planner]") {
    fl::run_report report;
    auto slow = [](long i) {
        ::usleep(100);  // the run lasts at least 0.3 s, past the warm-up, whatever the machine
        return i * 3;
    };
    auto out = fl::run(fl::iota(0L, 3000L) | fl::parallel(fl::map(slow)) | fl::to_vector(),
                       fl::options{.cpus = 2, .report = &report, .parallel = fl::spare_cores, .adaptive = true});
    REQUIRE(out.size() == 3000);
    for (long i = 0; i < 3000; ++i) CHECK(out[static_cast<std::size_t>(i)] == i * 3);
    REQUIRE(report.adapted.size() == 1);
    CHECK_THAT(report.adapted[0], Catch::Matchers::StartsWith("parallel map: 1 -> "));
    CHECK(forkline::test::no_children_left());
}

TEST_CASE("cost weights steer fusion and the sharing of spare cores", "[plan][planner]") {
    auto two_parallel = fl::iota(0L, 10L) | fl::cost(3, fl::parallel(fl::map([](long i) { return i; }), fl::unordered)) |
                        fl::parallel(fl::map([](long i) { return i + 1; }), fl::unordered) | fl::count();
    auto p = fl::plan(two_parallel, fl::options{.cpus = 10, .parallel = fl::spare_cores});
    // 8 spare cores shared 3 : 1.
    CHECK(p.groups_of(1).size() == 6);
    CHECK(p.groups_of(2).size() == 2);
    CHECK_THAT(p.describe(), Contains("replicas (8 of 10 cores left by the other 2 processes, cost 3 of 4)"));
    // Every core: all 10 shared 3 : 1.
    auto every = fl::plan(two_parallel, fl::options{.cpus = 10});
    CHECK(every.groups_of(1).size() + every.groups_of(2).size() == 10);
    CHECK(every.groups_of(1).size() == 8);

    // On 3 cores four plain stages must fuse into three processes: the cheapest pair goes first.
    auto id = [](long i) { return i; };
    auto chain = fl::iota(0L, 10L) | fl::map(id) | fl::cost(5, fl::map(id)) | fl::count();
    auto q = fl::plan(chain, fl::options{.cpus = 3});
    REQUIRE(q.groups().size() == 3);
    CHECK(q.groups()[0].stages == std::vector<std::size_t>{0, 1});  // iota + map (cost 2), not map + map (cost 6)
    CHECK_THROWS_AS(fl::cost(0, fl::map(id)), std::invalid_argument);
}
