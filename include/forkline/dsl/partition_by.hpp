// fl::partition_by(n, key, stage): n replicas of a stage, each item sent to the replica its key
// hashes to, so a stateful stage (a running total per key, a dedup set) works in parallel.
#pragma once

#include <forkline/dsl/detail/diagnostics.hpp>
#include <forkline/dsl/detail/spread.hpp>

#include <functional>

namespace forkline {

template <class Key, class Chain>
struct partition_stage : detail::spread_base<Chain> {
    using role = detail::stage_role;
    static constexpr bool ordered = false;
    static constexpr bool partitioned = true;
    static constexpr std::string_view default_name = "partition_by";

    template <class In>
    static constexpr bool check() {
        constexpr bool keyed = std::invocable<const Key&, const In&>;
        static_assert(keyed, FORKLINE_MUST_TAKE_ITEMS("forkline::partition_by(n, key, stage): key"));
        if constexpr (keyed) {
            using k = std::remove_cvref_t<std::invoke_result_t<const Key&, const In&>>;
            constexpr bool hashable = requires(const k& v) { std::hash<k>{}(v); };
            static_assert(hashable, FORKLINE_KEY_NEEDS_HASH("forkline::partition_by(n, key, stage)"));
            return hashable && detail::spread_flow<In, Chain>::valid;
        }
        return false;
    }
    template <class In>
    using output = typename detail::spread_flow<In, Chain>::type;

    /// The replica an item goes to.
    template <class In>
    std::size_t route(const In& x, std::size_t n) const {
        using k = std::remove_cvref_t<std::invoke_result_t<const Key&, const In&>>;
        // Mixed, so that keys hashed by identity (integers) still spread over the replicas; the
        // top half is then scaled to [0, n) by a multiply, which costs less than a division.
        std::uint64_t h = std::hash<k>{}(std::invoke(key_, x)) * 0x9e3779b97f4a7c15ull;
        return static_cast<std::size_t>(((h >> 32) * n) >> 32);
    }

    Key key_;
};

struct partition_by_fn {
    /// `n` replicas of `stage`; every item goes to the replica `hash(key(item))` picks, so items
    /// with equal keys meet in one replica, in their input order, and the stage may keep per-key
    /// state (a `mutable` lambda). The stage may end with a sink such as fl::reduce: each replica
    /// then sends its result on when its input ends. Output from different replicas interleaves.
    /// Example (word count): `fl::partition_by(n, word_of, fl::reduce(counts{}, add_word))`.
    /// Errors: as fl::farm.
    template <class Key, class S>
        requires detail::pipeable<S>
    auto operator()(std::size_t n, Key key, S&& stage) const {
        if (n == 0) throw std::invalid_argument("forkline::partition_by(n, key, stage): n must be at least 1");
        using chain = decltype(detail::as_tuple(std::forward<S>(stage)));
        return partition_stage<Key, chain>{{{}, n, detail::as_tuple(std::forward<S>(stage))}, std::move(key)};
    }
};

inline constexpr partition_by_fn partition_by{};

}  // namespace forkline
