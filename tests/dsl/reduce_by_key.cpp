// fl::reduce_by_key and fl::count_by: combined where the items are made, merged by key, the
// same maps as one process computes, after a split source, a farm, a plain stage or a source.
#include "../support.hpp"

#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>

#include <ranges>
#include <string>
#include <unordered_map>
#include <vector>

namespace fl = forkline;
using forkline::test::temp_file;

namespace {

auto words(std::string_view line) {
    return line | std::views::split(' ') | std::views::filter([](auto w) { return !w.empty(); }) |
           std::views::transform([](auto w) { return std::string_view(w.begin(), w.end()); });
}

std::string corpus(int lines) {
    std::string text;
    for (int i = 0; i < lines; ++i) {
        for (int k = 0; k <= i % 5; ++k) text += "w" + std::to_string((i * 7 + k) % 23) + (k % 2 ? "  " : " ");
        text += i % 4 ? "\n" : "\r\n";
    }
    return text;
}

std::unordered_map<std::string, std::size_t> counted_in_one_process(const std::string& text) {
    std::unordered_map<std::string, std::size_t> m;
    std::string_view all(text);
    for (auto line : all | std::views::split('\n')) {
        std::string_view l(line.begin(), line.end());
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        for (auto w : words(l)) ++m[std::string(w)];
    }
    return m;
}

}  // namespace

TEST_CASE("count_by counts the words of a split file like one process does", "[dsl][count_by]") {
    const std::string text = corpus(3000);
    temp_file f(text);
    const auto expect = counted_in_one_process(text);
    using result = std::unordered_map<std::string, std::size_t>;
    for (std::uint64_t chunk : {0, 1, 7, 100, 4096}) {
        auto p = fl::read_lines(f.path, {.split_bytes = chunk}) | fl::flat_map(words) | fl::count_by(std::identity{});
        STATIC_REQUIRE(std::is_same_v<decltype(fl::run(p)), result>);  // the view keys are stored as strings
        INFO("parts of " << chunk << " bytes");
        CHECK(fl::run(p) == expect);
        CHECK(fl::run(p, fl::options{.cpus = 3}) == expect);
    }
    auto plan = fl::plan(fl::read_lines(f.path) | fl::flat_map(words) | fl::count_by(std::identity{}),
                         fl::options{.cpus = 3});
    CHECK(plan.describe().find("read_lines | flat_map | count_by (split)") != std::string::npos);
    CHECK(plan.groups_of(0).size() == 3);  // a reader per core: the caller only joins
    CHECK(plan.groups_of(1).size() == 3);  // as many merge replicas, which wait for the end
    CHECK(plan.stages()[1].name == "count_by.merge");
    CHECK(forkline::test::no_children_left());
}

TEST_CASE("reduce_by_key combines in the replicas of a farm, in the process of a plain stage, and after a source",
          "[dsl][reduce_by_key]") {
    std::unordered_map<int, long> expect;
    for (int i = 0; i < 20'000; ++i) expect[i % 17] += static_cast<long>(i) * 3;
    auto sum = [](long acc, long x) { return acc + x; };  // merges partial sums too
    auto key = [](long x) { return static_cast<int>(x / 3 % 17); };

    auto farmed = fl::iota(0L, 20'000L) | fl::farm(2, fl::map([](long i) { return i * 3; })) | fl::reduce_by_key(key, 0L, sum);
    CHECK(fl::run(farmed) == expect);
    auto plan = fl::plan(farmed);
    CHECK(plan.groups_of(2) == plan.groups_of(1));  // the combiner runs in the farm's replicas
    CHECK(!plan.stages()[1].ordered);               // whose order it does not need

    auto plain = fl::iota(0L, 20'000L) | fl::map([](long i) { return i * 3; }) | fl::reduce_by_key(key, 0L, sum);
    CHECK(fl::run(plain, fl::options{.fuse = false}) == expect);
    auto plain_plan = fl::plan(plain, fl::options{.fuse = false});
    CHECK(plain_plan.groups_of(2) == plain_plan.groups_of(1));

    auto from_source = fl::iota(0L, 20'000L) |
                       fl::reduce_by_key([](long i) { return static_cast<int>(i % 17); }, 0L,
                                         [](long& acc, long i) { acc += i * 3; }, std::plus<>{});
    CHECK(fl::run(from_source) == expect);
}

TEST_CASE("reduce_by_key keeps accumulators of any transferable type", "[dsl][reduce_by_key]") {
    using lists = std::unordered_map<std::string, std::vector<int>>;
    auto p = fl::iota(0, 100) |
             fl::reduce_by_key([](int i) { return i % 2 ? std::string("odd") : std::string("even"); }, std::vector<int>{},
                               [](std::vector<int>& v, int i) { v.push_back(i); },
                               [](std::vector<int> a, std::vector<int> b) {
                                   a.insert(a.end(), b.begin(), b.end());
                                   return a;
                               });
    auto m = fl::run(p);
    STATIC_REQUIRE(std::is_same_v<decltype(m), lists>);
    REQUIRE(m.size() == 2);
    std::sort(m["odd"].begin(), m["odd"].end());
    CHECK(m["odd"].size() == 50);
    CHECK(m["odd"].front() == 1);
    CHECK(m["odd"].back() == 99);
    CHECK(fl::run(fl::from(std::vector<int>{}) | fl::count_by([](int i) { return i; })).empty());
}

TEST_CASE("a key that throws ends the run naming the keyed fold", "[dsl][count_by]") {
    try {
        fl::run(fl::iota(0, 1000) | fl::map([](int i) { return i; }) | fl::count_by([](int i) {
                    if (i == 777) throw std::runtime_error("no key for 777");
                    return i % 3;
                }));
        FAIL("no exception");
    } catch (const fl::stage_error& e) {
        CHECK(e.stage() == "count_by");
        CHECK(e.message() == "no key for 777");
    }
    CHECK(forkline::test::no_children_left());
}
