// fl::plan: what a run would do, as data, as a table and as a graph; no process starts.
#include "../support.hpp"

#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>

namespace fl = forkline;

namespace {
auto sample() {
    return fl::iota(0L, 10L) | fl::map([](long i) { return std::to_string(i); }) |
           fl::named("lengths", fl::map([](const std::string& s) { return s.size(); })) | fl::to_vector();
}
}  // namespace

TEST_CASE("the v1 planner gives every stage a process and the sink the caller", "[plan]") {
    auto p = fl::plan(sample(), fl::options{.cpus = 4, .pin = false});
    REQUIRE(p.stages().size() == 4);
    REQUIRE(p.groups().size() == 4);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(p.groups()[i].stages == std::vector<std::size_t>{i});
        CHECK_FALSE(p.groups()[i].in_caller);
    }
    CHECK(p.groups()[3].in_caller);
    CHECK(p.cpus() == 4);
    CHECK(forkline::test::no_children_left());
}

TEST_CASE("plan records item types and picks the ring kind from them", "[plan]") {
    auto p = fl::plan(sample(), fl::options{.cpus = 4});
    CHECK(p.stages()[0].output == "long");
    CHECK(p.stages()[1].input == "long");
    CHECK(p.stages()[1].output == "std::string");
    CHECK(p.stages()[2].output == "unsigned long");
    CHECK(p.stages()[3].input == "unsigned long");
    REQUIRE(p.rings().size() == 3);
    CHECK(p.rings()[0].fixed_slots);
    CHECK(p.rings()[0].unit == sizeof(long));
    CHECK_FALSE(p.rings()[1].fixed_slots);
    CHECK(p.rings()[2].fixed_slots);
}

TEST_CASE("ring_bytes sets every ring's capacity, rounded down to a power of two", "[plan]") {
    auto p = fl::plan(sample(), fl::options{.ring_bytes = 3000, .cpus = 4});
    CHECK(p.rings()[0].capacity == 256);  // 3000 / 8 = 375 slots -> 256
    CHECK(p.rings()[1].capacity == 2048);
    CHECK(p.rings()[0].bytes() <= 3000);
}

TEST_CASE("describe prints each stage with its process, types and ring", "[plan]") {
    std::string text = fl::plan(sample(), fl::options{.cpus = 4}).describe();
    CHECK_THAT(text, Catch::Matchers::StartsWith("4 stages in 4 processes on 4 cores\n"));
    CHECK_THAT(text, Catch::Matchers::Contains("iota"));
    CHECK_THAT(text, Catch::Matchers::Contains("lengths"));
    CHECK_THAT(text, Catch::Matchers::Contains("caller"));
    CHECK_THAT(text, Catch::Matchers::Contains("std::string"));
    CHECK_THAT(text, Catch::Matchers::Contains("32768 slots x 8 B (256 KiB)"));
    CHECK_THAT(text, Catch::Matchers::Contains("256 KiB of records"));
}

TEST_CASE("to_dot draws a cluster per process and an edge per ring", "[plan]") {
    std::string dot = fl::plan(sample(), fl::options{.cpus = 4}).to_dot();
    CHECK_THAT(dot, Catch::Matchers::StartsWith("digraph forkline {"));
    CHECK_THAT(dot, Catch::Matchers::Contains("subgraph cluster_3"));
    CHECK_THAT(dot, Catch::Matchers::Contains("g0s0 -> g1s1"));
    CHECK_THAT(dot, Catch::Matchers::Contains("g2s2 -> g3s3"));
    CHECK_THAT(dot, Catch::Matchers::Contains("label=\"lengths\""));
}

TEST_CASE("to_dot with a run's report puts each stage's rate and busy share under its name", "[plan]") {
    auto p = fl::plan(fl::iota(0, 3) | fl::named("parse", fl::map([](int i) { return i; })) | fl::count(),
                      fl::options{.cpus = 4});
    fl::run_report r;
    r.seconds = 2;
    r.stages = {{"iota", 1, 0, 4'000'000}, {"parse", 1, 4'000'000, 4'000'000}, {"count", 1, 4'000'000, 0}};
    r.stages[1].busy_seconds = 1.94;
    r.stages[1].input_wait_seconds = 0.06;
    std::string dot = p.to_dot(r);
    CHECK_THAT(dot, Catch::Matchers::Contains("label=\"measured: 2 s\""));
    CHECK_THAT(dot, Catch::Matchers::Contains("parse\\n2.00 M items/s, busy 97%"));
    CHECK_THAT(dot, Catch::Matchers::Contains("iota\\n2.00 M items/s, busy 0%"));
    // A report of some other pipeline is left out rather than misread.
    r.stages.pop_back();
    CHECK(p.to_dot(r) == p.to_dot());
}

TEST_CASE("a stream's plan ends in the caller", "[plan]") {
    auto p = fl::plan(fl::iota(0, 3) | fl::map([](int i) { return i; }), fl::options{.cpus = 4});
    REQUIRE(p.stages().size() == 3);
    CHECK(p.stages()[2].role == fl::element_role::output);
    CHECK(p.groups()[2].in_caller);
}

TEST_CASE("a run report gives every process its stages and CPU time", "[plan]") {
    fl::run_report report;
    auto n = fl::run(fl::iota(0, 100'000) | fl::named("half", fl::map([](int i) { return i / 2; })) | fl::count(),
                     fl::options{.fuse = false, .report = &report});
    CHECK(n == 100'000);
    REQUIRE(report.processes.size() == 3);
    CHECK(report.processes[0].stages == std::vector<std::string>{"iota"});
    CHECK(report.processes[1].stages == std::vector<std::string>{"half"});
    CHECK(report.processes[2].stages == std::vector<std::string>{"count"});
    CHECK(report.processes[0].pid > 0);
    CHECK(report.processes[2].pid == 0);
    CHECK(report.seconds > 0);
    for (const auto& p : report.processes) CHECK(p.cpu_seconds >= 0);
}
