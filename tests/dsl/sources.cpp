// Every source, across processes, checked against the same computation done in one process.
#include "../support.hpp"

#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>
#include <range/v3/numeric/accumulate.hpp>
#include <range/v3/range/conversion.hpp>
#include <range/v3/view/iota.hpp>
#include <range/v3/view/transform.hpp>

#include <cstdio>
#include <limits>
#include <fstream>
#include <string>
#include <vector>

namespace fl = forkline;

TEST_CASE("from sends the elements of an lvalue range in order", "[dsl][from]") {
    std::vector<int> v = ranges::views::iota(0, 50'000) | ranges::to<std::vector>();
    STATIC_REQUIRE(std::is_same_v<decltype(fl::run(fl::from(v) | fl::to_vector())), std::vector<int>>);
    CHECK(fl::run(fl::from(v) | fl::to_vector()) == v);
}

TEST_CASE("from owns an rvalue range and reads range-v3 views", "[dsl][from]") {
    auto squares = ranges::views::iota(0, 1000) | ranges::views::transform([](int i) { return i * i; });
    CHECK(fl::run(fl::from(std::vector<std::string>{"a", "bb", ""}) | fl::to_vector()) ==
          std::vector<std::string>{"a", "bb", ""});
    CHECK(fl::run(fl::from(squares) | fl::to_vector()) == (squares | ranges::to<std::vector>()));
}

TEST_CASE("iota counts up to but not including last", "[dsl][iota]") {
    STATIC_REQUIRE(std::is_same_v<decltype(fl::run(fl::iota(0L, 5) | fl::to_vector())), std::vector<long>>);
    CHECK(fl::run(fl::iota(0, 5) | fl::to_vector()) == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(fl::run(fl::iota(7, 7) | fl::to_vector()).empty());
    CHECK(fl::run(fl::iota(9, 7) | fl::to_vector()).empty());
    CHECK(fl::run(fl::iota(std::numeric_limits<signed char>::min(), std::numeric_limits<signed char>::max()) |
                  fl::count()) == 255);
    long n = 3'000'000;
    CHECK(fl::run(fl::iota(0L, n) | fl::reduce(0L, std::plus<>{})) ==
          ranges::accumulate(ranges::views::iota(0L, n), 0L));
}

TEST_CASE("generate calls fn until it returns nullopt, keeping its state", "[dsl][generate]") {
    auto fib = [a = 0L, b = 1L, n = 0]() mutable -> std::optional<long> {
        if (n++ == 40) return std::nullopt;
        long r = a;
        a = b;
        b += r;
        return r;
    };
    std::vector<long> expect;
    for (auto f = fib; auto x = f();) expect.push_back(*x);
    CHECK(fl::run(fl::generate(fib) | fl::to_vector()) == expect);
    CHECK(expect.size() == 40);
}

