// fl::farm and fl::parallel: replicas across processes, order kept or not, failures in a replica.
#include "../support.hpp"

#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>
#include <range/v3/algorithm/sort.hpp>
#include <range/v3/range/conversion.hpp>
#include <range/v3/view/filter.hpp>
#include <range/v3/view/for_each.hpp>
#include <range/v3/view/iota.hpp>
#include <range/v3/view/transform.hpp>

#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace fl = forkline;
namespace rv = ranges::views;

namespace {
auto square = [](long i) { return i * i; };
/// Uneven work, so replicas finish out of order and the collector has to put items back in order.
auto uneven = [](long i) {
    if (i % 97 == 0) ::usleep(200);
    return std::to_string(i);
};
}  // namespace

TEST_CASE("a farm keeps input order by default", "[dsl][farm]") {
    STATIC_REQUIRE(std::is_same_v<decltype(fl::run(fl::iota(0L, 1L) | fl::farm(2, fl::map(uneven)) | fl::to_vector())),
                                  std::vector<std::string>>);
    for (std::size_t n : {1, 2, 3, 5}) {
        auto out = fl::run(fl::iota(0L, 20'000L) | fl::farm(n, fl::map(uneven)) | fl::to_vector());
        CHECK(out == (rv::iota(0L, 20'000L) | rv::transform(uneven) | ranges::to<std::vector>()));
    }
}

TEST_CASE("an ordered farm keeps order when replicas drop or multiply items", "[dsl][farm]") {
    auto keep = [](long i) { return i % 3 != 0; };
    auto twice = [](long i) { return std::vector<long>(static_cast<std::size_t>(i % 3), i); };
    auto dropped = fl::run(fl::iota(0L, 30'000L) | fl::farm(3, fl::filter(keep) | fl::map(square)) | fl::to_vector());
    CHECK(dropped == (rv::iota(0L, 30'000L) | rv::filter(keep) | rv::transform(square) | ranges::to<std::vector>()));
    auto multiplied = fl::run(fl::iota(0L, 30'000L) | fl::farm(3, fl::flat_map(twice)) | fl::to_vector());
    CHECK(multiplied == (rv::iota(0L, 30'000L) | rv::for_each(twice) | ranges::to<std::vector>()));
}

TEST_CASE("an unordered farm delivers every item exactly once", "[dsl][farm]") {
    auto out = fl::run(fl::iota(0L, 50'000L) | fl::farm(3, fl::map(square), fl::unordered) | fl::to_vector());
    auto expect = rv::iota(0L, 50'000L) | rv::transform(square) | ranges::to<std::vector>();
    ranges::sort(out);
    CHECK(out == expect);
}

TEST_CASE("parallel farms with the replicas the planner picks", "[dsl][farm]") {
    auto p = fl::iota(0L, 10'000L) | fl::parallel(fl::map(square)) | fl::to_vector();
    CHECK(fl::run(p) == (rv::iota(0L, 10'000L) | rv::transform(square) | ranges::to<std::vector>()));
    CHECK(fl::plan(p, fl::options{.cpus = 8}).groups_of(1).size() == 8);  // a replica per core
    auto spare = fl::plan(p, fl::options{.cpus = 8, .parallel = fl::spare_cores});
    CHECK(spare.groups_of(1).size() == 6);  // 8 cores, minus the source and the caller
}

TEST_CASE("a farm's output feeds later stages and a stream", "[dsl][farm]") {
    auto s = fl::stream(fl::iota(0L, 5000L) | fl::farm(2, fl::map(square)) | fl::map([](long v) { return v + 1; }));
    std::vector<long> got;
    for (long v : s) got.push_back(v);
    CHECK(got == (rv::iota(0L, 5000L) | rv::transform([](long i) { return i * i + 1; }) | ranges::to<std::vector>()));
}

TEST_CASE("an exception in a replica names the stage and the replica", "[dsl][farm]") {
    auto p = fl::iota(0L, 100'000L) | fl::farm(3, fl::named("check", fl::map([](long i) {
                                                     if (i == 7777) throw std::runtime_error("bad 7777");
                                                     return i;
                                                 }))) |
             fl::count();
    try {
        fl::run(p);
        FAIL("no exception");
    } catch (const fl::stage_error& e) {
        CHECK_THAT(e.stage(), Catch::Matchers::Matches("check\\[[0-2]\\]"));
        CHECK(e.message() == "bad 7777");
    }
    CHECK(forkline::test::no_children_left());
}

TEST_CASE("a replica that crashes is reported with its replica number", "[dsl][farm]") {
    auto p = fl::iota(0L, 100'000L) | fl::farm(2, fl::map([](long i) {
                                          if (i == 5000) ::raise(SIGKILL);
                                          return i;
                                      })) |
             fl::count();
    try {
        fl::run(p);
        FAIL("no exception");
    } catch (const fl::stage_crashed& e) {
        CHECK_THAT(e.stage(), Catch::Matchers::Matches("map\\[[0-1]\\]"));
        CHECK(e.signal() == SIGKILL);
    }
    CHECK(forkline::test::no_children_left());
}

TEST_CASE("farm(0, stage) is refused at once", "[dsl][farm]") {
    CHECK_THROWS_AS(fl::farm(0, fl::map(square)), std::invalid_argument);
}
