// Every sink, in the caller, checked against the same computation done in one process.
#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>
#include <range/v3/numeric/accumulate.hpp>
#include <range/v3/view/iota.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <unistd.h>

namespace fl = forkline;
namespace rv = ranges::views;

TEST_CASE("to_vector collects every item in order", "[dsl][to_vector]") {
    CHECK(fl::run(fl::iota(0, 3) | fl::to_vector()) == std::vector<int>{0, 1, 2});
}

TEST_CASE("reduce folds by value and in place", "[dsl][reduce]") {
    STATIC_REQUIRE(std::is_same_v<decltype(fl::run(fl::iota(0, 1) | fl::reduce(0.0, std::plus<>{}))), double>);
    CHECK(fl::run(fl::iota(1, 100'001) | fl::reduce(0LL, std::plus<>{})) ==
          ranges::accumulate(rv::iota(1, 100'001), 0LL));
    auto by_digit = fl::run(fl::iota(0, 10'000) | fl::reduce(std::map<int, int>{}, [](std::map<int, int>& m, int i) {
                                ++m[i % 10];
                            }));
    REQUIRE(by_digit.size() == 10);
    for (auto [digit, n] : by_digit) CHECK(n == 1000);
}

TEST_CASE("for_each runs in the caller and sees its variables", "[dsl][for_each]") {
    long sum = 0;
    STATIC_REQUIRE(std::is_void_v<decltype(fl::run(fl::iota(0, 1) | fl::for_each([](int) {})))>);
    fl::run(fl::iota(0L, 1000L) | fl::for_each([&](long i) { sum += i; }));
    CHECK(sum == 999 * 1000 / 2);
}

TEST_CASE("count counts", "[dsl][count]") {
    CHECK(fl::run(fl::iota(0, 123'457) | fl::count()) == 123'457);
}

TEST_CASE("write_lines writes one line per item and returns how many", "[dsl][write_lines]") {
    char name[] = "/tmp/forkline-test-XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::size_t n = fl::run(fl::iota(0, 50'000) | fl::write_lines(name));
    CHECK(n == 50'000);
    std::ifstream in(name);
    std::string line;
    int expect = 0;
    bool ordered = true;
    while (std::getline(in, line)) ordered = ordered && line == std::to_string(expect++);
    CHECK(ordered);
    CHECK(expect == 50'000);
    CHECK(fl::run(fl::from(std::vector<std::string>{"a b", ""}) | fl::write_lines(name)) == 2);
    std::ifstream again(name);
    std::stringstream all;
    all << again.rdbuf();
    CHECK(all.str() == "a b\n\n");
    std::remove(name);
}

TEST_CASE("write_lines to a path that cannot be opened fails naming it", "[dsl][write_lines]") {
    CHECK_THROWS_AS(fl::run(fl::iota(0, 3) | fl::write_lines("/nonexistent/dir/out.txt")), fl::stage_error);
    CHECK_THROWS_WITH(fl::run(fl::iota(0, 3) | fl::write_lines("/nonexistent/dir/out.txt")),
                      Catch::Matchers::Contains("stage 'write_lines' failed") &&
                          Catch::Matchers::Contains("'/nonexistent/dir/out.txt'"));
}
