// fl::partition_by: items with equal keys meet in one replica, in order, so per-key state works.
#include "../support.hpp"

#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>
#include <range/v3/view/iota.hpp>

#include <unistd.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace fl = forkline;

namespace {
struct tagged {
    long key;
    long seq;
    int pid;
};
}  // namespace

TEST_CASE("every key's items reach one replica, in input order", "[dsl][partition_by]") {
    auto p = fl::iota(0L, 40'000L) | fl::map([](long i) { return tagged{i % 37, i, 0}; }) |
             fl::partition_by(4, [](const tagged& t) { return t.key; }, fl::map([](tagged t) {
                                  t.pid = ::getpid();
                                  return t;
                              })) |
             fl::to_vector();
    auto out = fl::run(p);
    REQUIRE(out.size() == 40'000);
    std::map<long, int> replica_of;
    std::map<long, long> last_seq;
    bool one_replica = true, ordered = true;
    for (const auto& t : out) {
        auto [it, fresh] = replica_of.emplace(t.key, t.pid);
        one_replica = one_replica && it->second == t.pid;
        auto [ls, first] = last_seq.emplace(t.key, t.seq);
        if (!first) ordered = ordered && t.seq > ls->second;
        ls->second = t.seq;
    }
    CHECK(one_replica);
    CHECK(ordered);
    CHECK(replica_of.size() == 37);
}

TEST_CASE("a stateful stage keeps a running total per key", "[dsl][partition_by]") {
    auto running = [totals = std::map<long, long>{}](std::pair<long, long> kv) mutable {
        return std::pair{kv.first, totals[kv.first] += kv.second};
    };
    auto out = fl::run(fl::iota(0L, 10'000L) | fl::map([](long i) { return std::pair{i % 10, 1L}; }) |
                       fl::partition_by(3, [](const std::pair<long, long>& kv) { return kv.first; }, fl::map(running)) |
                       fl::reduce(std::map<long, long>{}, [](std::map<long, long>& m, std::pair<long, long> kv) {
                           m[kv.first] = std::max(m[kv.first], kv.second);
                       }));
    REQUIRE(out.size() == 10);
    for (auto [key, total] : out) CHECK(total == 1000);
}

TEST_CASE("a partition may end with reduce: each replica sends its result", "[dsl][partition_by]") {
    using counts = std::map<std::string, long>;
    auto words = std::vector<std::string>{"a", "b", "c", "a", "b", "a", "d", "e", "a"};
    auto per_replica = fl::run(
        fl::from(words) |
        fl::partition_by(3, [](const std::string& w) { return w; },
                         fl::reduce(counts{}, [](counts& c, const std::string& w) { ++c[w]; })) |
        fl::to_vector());
    CHECK(per_replica.size() == 3);
    counts total;
    for (const auto& c : per_replica)
        for (const auto& [w, n] : c) {
            CHECK(total.count(w) == 0);  // a key lives in one replica only
            total[w] += n;
        }
    CHECK(total == counts{{"a", 4}, {"b", 2}, {"c", 1}, {"d", 1}, {"e", 1}});
}

TEST_CASE("unordered replicas may feed a partition directly", "[dsl][partition_by]") {
    using counts = std::map<long, long>;
    auto out = fl::run(fl::iota(0L, 20'000L) | fl::farm(2, fl::map([](long i) { return i % 50; }), fl::unordered) |
                       fl::partition_by(3, [](long k) { return k; },
                                        fl::reduce(counts{}, [](counts& c, long k) { ++c[k]; })) |
                       fl::reduce(counts{}, [](counts& all, counts part) { all.merge(part); }));
    REQUIRE(out.size() == 50);
    for (auto [k, n] : out) CHECK(n == 400);
}
