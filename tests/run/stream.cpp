// fl::stream: a sink-less pipeline read as an input range in the caller.
#include "../support.hpp"

#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>
#include <range/v3/algorithm/equal.hpp>
#include <range/v3/numeric/accumulate.hpp>
#include <range/v3/view/iota.hpp>
#include <range/v3/view/take.hpp>
#include <range/v3/view/transform.hpp>

#include <iterator>
#include <vector>
#include <ranges>

namespace fl = forkline;
namespace rv = ranges::views;

TEST_CASE("stream is an input range of the last stage's items", "[run][stream]") {
    using range = decltype(fl::stream(fl::iota(0, 1) | fl::map([](int i) { return std::to_string(i); })));
    STATIC_REQUIRE(std::ranges::input_range<range>);
    STATIC_REQUIRE(ranges::input_range<range>);
    STATIC_REQUIRE(std::is_same_v<std::ranges::range_value_t<range>, std::string>);
    STATIC_REQUIRE(ranges::view_<range>);
    STATIC_REQUIRE(std::ranges::view<range>);
}

TEST_CASE("stream composes with range-v3 views", "[run][stream]") {
    auto first = fl::stream(fl::iota(0L, 1L << 40) | fl::map([](long i) { return i * 3; })) | rv::take(4);
    std::vector<long> got;
    for (long v : first) got.push_back(v);
    CHECK(got == std::vector<long>{0, 3, 6, 9});
}

TEST_CASE("stream yields every item in order", "[run][stream]") {
    auto sq = [](long i) { return i * i; };
    auto s = fl::stream(fl::iota(0L, 200'000L) | fl::map(sq));
    CHECK(ranges::equal(s, rv::iota(0L, 200'000L) | rv::transform(sq)));
    CHECK(forkline::test::no_children_left());
}

TEST_CASE("stream works with range-v3 algorithms and views", "[run][stream]") {
    auto s = fl::stream(fl::iota(0, 1000));
    CHECK(ranges::accumulate(s, 0) == 999 * 1000 / 2);
}

TEST_CASE("leaving a stream early stops its processes", "[run][stream]") {
    {
        auto s = fl::stream(fl::iota(0L, 1L << 62) | fl::map([](long i) { return i + 1; }));
        long seen = 0;
        for (long v : s) {
            if (v == 1000) break;
            ++seen;
        }
        CHECK(seen == 999);
    }
    CHECK(forkline::test::no_children_left());
}

TEST_CASE("a stream that is never read still stops cleanly", "[run][stream]") {
    { auto s = fl::stream(fl::iota(0, 10) | fl::map([](int i) { return i; })); }
    CHECK(forkline::test::no_children_left());
}
