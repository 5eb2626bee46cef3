// Every stage, across processes, checked against the same computation done in one process.
#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>
#include <range/v3/action/join.hpp>
#include <range/v3/range/conversion.hpp>
#include <range/v3/view/chunk.hpp>
#include <range/v3/view/filter.hpp>
#include <range/v3/view/for_each.hpp>
#include <range/v3/view/iota.hpp>
#include <range/v3/view/join.hpp>
#include <range/v3/view/repeat_n.hpp>
#include <range/v3/view/transform.hpp>

#include <map>
#include <string>
#include <vector>

namespace fl = forkline;
namespace rv = ranges::views;

namespace {
struct order {
    std::string customer;
    std::vector<int> items;
    double total;
    bool operator==(const order&) const = default;
};
order make_order(int i) { return {"customer-" + std::to_string(i % 17), std::vector<int>(i % 5, i), i * 1.5}; }
}  // namespace

TEST_CASE("map applies fn to every item, changing the type", "[dsl][map]") {
    auto f = [](int i) { return std::to_string(i * 3); };
    STATIC_REQUIRE(std::is_same_v<decltype(fl::run(fl::iota(0, 1) | fl::map(f) | fl::to_vector())),
                                  std::vector<std::string>>);
    CHECK(fl::run(fl::iota(0, 20'000) | fl::map(f) | fl::to_vector()) ==
          (rv::iota(0, 20'000) | rv::transform(f) | ranges::to<std::vector>()));
}

TEST_CASE("map carries aggregates with strings and vectors between processes", "[dsl][map]") {
    CHECK(fl::run(fl::iota(0, 5000) | fl::map(make_order) | fl::to_vector()) ==
          (rv::iota(0, 5000) | rv::transform(make_order) | ranges::to<std::vector>()));
}

TEST_CASE("filter keeps the items its predicate accepts", "[dsl][filter]") {
    auto odd = [](long i) { return i % 2 == 1; };
    CHECK(fl::run(fl::iota(0L, 100'000L) | fl::filter(odd) | fl::to_vector()) ==
          (rv::iota(0L, 100'000L) | rv::filter(odd) | ranges::to<std::vector>()));
    CHECK(fl::run(fl::iota(0, 1000) | fl::filter([](int) { return false; }) | fl::count()) == 0);
}

TEST_CASE("flat_map sends every element of each returned range", "[dsl][flat_map]") {
    auto expand = [](int i) { return std::vector<int>(static_cast<std::size_t>(i % 4), i); };
    CHECK(fl::run(fl::iota(0, 10'000) | fl::flat_map(expand) | fl::to_vector()) ==
          (rv::iota(0, 10'000) | rv::for_each(expand) | ranges::to<std::vector>()));
    auto words = [](int i) { return rv::repeat_n(std::to_string(i), 2); };
    CHECK(fl::run(fl::iota(0, 3) | fl::flat_map(words) | fl::to_vector()) ==
          std::vector<std::string>{"0", "0", "1", "1", "2", "2"});
}

TEST_CASE("batch groups items and unbatch undoes it", "[dsl][batch][unbatch]") {
    STATIC_REQUIRE(std::is_same_v<decltype(fl::run(fl::iota(0, 1) | fl::batch(2) | fl::to_vector())),
                                  std::vector<std::vector<int>>>);
    auto batches = fl::run(fl::iota(0, 10) | fl::batch(4) | fl::to_vector());
    CHECK(batches == (rv::iota(0, 10) | rv::chunk(4) | ranges::to<std::vector<std::vector<int>>>()));
    CHECK(fl::run(fl::iota(0, 100'000) | fl::batch(7) | fl::unbatch() | fl::to_vector()) ==
          (rv::iota(0, 100'000) | ranges::to<std::vector>()));
    CHECK_THROWS_AS(fl::batch(0), std::invalid_argument);
}

TEST_CASE("a composed stage is reusable and named stages show their names", "[dsl][named]") {
    auto clean = fl::map([](int i) { return i - 1; }) | fl::filter([](int i) { return i % 3 == 0; });
    CHECK(fl::run(fl::iota(1, 100) | clean | fl::to_vector()) ==
          (rv::iota(0, 99) | rv::filter([](int i) { return i % 3 == 0; }) | ranges::to<std::vector>()));
    CHECK(fl::run(fl::iota(1, 10) | clean | fl::count()) == 3);  // the same stage in a second pipeline
    auto plan = fl::plan(fl::iota(0, 1) | fl::named("tidy", clean) | fl::named("keep", fl::to_vector()));
    CHECK(plan.stages()[1].name == "tidy.1");
    CHECK(plan.stages()[2].name == "tidy.2");
    CHECK(plan.stages()[3].name == "keep");
}

TEST_CASE("a long chain of stages passes strings through every process", "[dsl][map]") {
    auto add = [](std::string s) { return s + "+"; };
    auto out = fl::run(fl::iota(0, 2000) | fl::map([](int i) { return std::to_string(i); }) | fl::map(add) |
                       fl::map(add) | fl::map(add) | fl::map(add) | fl::map(add) | fl::to_vector());
    REQUIRE(out.size() == 2000);
    CHECK(out[1999] == "1999+++++");
}

TEST_CASE("items larger than a ring stream through it", "[dsl][map]") {
    auto big = [](int i) { return std::string(static_cast<std::size_t>(100'000 + i), char('a' + i % 26)); };
    auto out = fl::run(fl::iota(0, 50) | fl::map(big) | fl::map([](const std::string& s) { return s.size(); }) |
                           fl::to_vector(),
                       fl::options{.ring_bytes = 4096});
    CHECK(out == (rv::iota(0, 50) | rv::transform([](int i) { return std::size_t(100'000 + i); }) |
                  ranges::to<std::vector>()));
}

TEST_CASE("map and for_each take items by reference too", "[dsl][map]") {
    auto shout = [](std::string& s) {
        s += "!";
        return s;
    };
    CHECK(fl::run(fl::from(std::vector<std::string>{"a", "b"}) | fl::map(shout) | fl::to_vector()) ==
          std::vector<std::string>{"a!", "b!"});
    std::string all;
    fl::run(fl::from(std::vector<std::string>{"x", "y"}) | fl::for_each([&](std::string& s) { all += s; }));
    CHECK(all == "xy");
}

TEST_CASE("stages that share a name are numbered in plans and errors", "[dsl][named]") {
    auto p = fl::plan(fl::iota(0, 1) | fl::map([](int i) { return i; }) | fl::map([](int i) { return i; }) |
                      fl::count());
    CHECK(p.stages()[1].name == "map#1");
    CHECK(p.stages()[2].name == "map#2");
    CHECK(p.stages()[0].name == "iota");
}
