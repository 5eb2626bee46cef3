// fl::reduce_by_key(key, init, op[, merge]): a keyed fold with combiners, as MapReduce and Thrill
// do it. Three elements: each process that makes items folds them into a hash map of its own
// (no item crosses), the partial maps are partitioned by key and merged, and the caller gathers
// the merged parts into one std::unordered_map.
#pragma once

#include <forkline/dsl/detail/diagnostics.hpp>
#include <forkline/dsl/detail/element.hpp>
#include <forkline/dsl/partition_by.hpp>
#include <forkline/dsl/reduce.hpp>

#include <boost/hana/tuple.hpp>

#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace forkline {

namespace detail {

/// The key a combiner stores: a view key (a word of a line) becomes the string it views.
template <class K>
struct owned_key {
    using type = K;
};
template <class C, class Tr>
struct owned_key<std::basic_string_view<C, Tr>> {
    using type = std::basic_string<C, Tr>;
};

/// Where a combiner keeps its keys. A string key is stored once, in a deque that never moves
/// its strings, and the map is keyed by views of them: looking a word up costs what a map of
/// string_views costs, and the key owns its bytes.
template <class K, class Acc>
struct key_store {
    std::unordered_map<K, Acc> map;
    template <class Q>
    Acc& at(const Q& k, const Acc& init) {
        auto it = map.find(k);
        if (it == map.end()) it = map.emplace(K(k), init).first;
        return it->second;
    }
    template <class F>
    void drain(F&& f) {
        while (!map.empty()) {
            auto node = map.extract(map.begin());
            f(std::move(node.key()), std::move(node.mapped()));
        }
    }
};
template <class C, class Tr, class A, class Acc>
struct key_store<std::basic_string<C, Tr, A>, Acc> {
    using view = std::basic_string_view<C, Tr>;
    std::unordered_map<view, Acc> map;
    std::deque<std::basic_string<C, Tr, A>> keys;
    Acc& at(view k, const Acc& init) {
        auto it = map.find(k);
        if (it == map.end()) it = map.emplace(view(keys.emplace_back(k)), init).first;
        return it->second;
    }
    template <class F>
    void drain(F&& f) {
        for (auto& [k, acc] : map) f(std::basic_string<C, Tr, A>(k), std::move(acc));
        map.clear();
        keys.clear();
    }
};

template <class Key, class In>
using key_of = std::remove_cvref_t<std::invoke_result_t<const Key&, const In&>>;

/// The combiner: folds the items of its process into a map of its own and sends the map's
/// entries on when its input ends.
template <class Key, class Acc, class Op>
struct combine_stage : pipe_base {
    using role = stage_role;
    static constexpr bool combines = true;
    static constexpr std::string_view default_name = "combine";

    template <class In>
    using owned = typename owned_key<key_of<Key, In>>::type;

    template <class In>
    static constexpr bool check() {
        constexpr bool keyed = std::invocable<const Key&, const In&>;
        static_assert(keyed, FORKLINE_MUST_TAKE_ITEMS("forkline::reduce_by_key(key, init, op): key"));
        if constexpr (keyed) {
            constexpr bool hashable = requires(const owned<In>& k) { std::hash<owned<In>>{}(k); };
            static_assert(hashable, FORKLINE_KEY_NEEDS_HASH("forkline::reduce_by_key(key, init, op)"));
            constexpr bool folds = folds_in_place<Op, Acc, In> || folds_by_value<Op, Acc, In>;
            static_assert(folds, FORKLINE_FOLD_OP("forkline::reduce_by_key(key, init, op)"));
            return hashable && folds;
        }
        return false;
    }
    template <class In>
    using output = std::pair<owned<In>, Acc>;
    template <class In>
    static constexpr bool stateless = false;
    template <class In>
    static constexpr bool takes =
        std::invocable<const Key&, const In&> && (folds_in_place<Op, Acc, In> || folds_by_value<Op, Acc, In>);

    template <class In>
    struct runner {
        combine_stage& self;
        key_store<owned<In>, Acc> parts{};

        template <class Out>
        [[gnu::always_inline]] void push(In&& x, Out&) {
            fold_into(self.op_, parts.at(std::invoke(self.key_, std::as_const(x)), self.init_),
                      std::move(x));
        }
        template <class Out>
        void finish(Out& out) {
            parts.drain([&](owned<In>&& k, Acc&& acc) { out.push(output<In>(std::move(k), std::move(acc))); });
        }
    };
    template <class In>
    runner<In> make_runner() { return {*this}; }

    Key key_;
    Acc init_;
    Op op_;
    std::string name_;
};

/// The merge, in each replica of the partition: the entries of its keys from every combiner,
/// merged with merge(acc, acc) where a key meets again.
template <class Merge>
struct merge_sink : pipe_base {
    using role = sink_role;
    static constexpr std::string_view default_name = "merge";

    template <class In>
    static constexpr bool check() { return true; }  // made only after a combine_stage
    template <class In>
    using result = std::unordered_map<typename In::first_type, typename In::second_type>;

    template <class In>
    struct runner {
        Merge& merge;
        result<In> merged{};
        void push(In&& e) {
            auto [it, fresh] = merged.try_emplace(std::move(e.first), std::move(e.second));
            if (!fresh) it->second = std::invoke(merge, std::move(it->second), std::move(e.second));
        }
        result<In> finish() { return std::move(merged); }
    };
    template <class In>
    runner<In> make_runner() { return {merge_}; }

    Merge merge_;
};

/// The caller's part: the merged parts hold disjoint keys, so they join without a clash.
struct join_sink : pipe_base {
    using role = sink_role;
    static constexpr std::string_view default_name = "join";

    template <class In>
    static constexpr bool check() { return true; }  // made only after a merge
    template <class In>
    using result = In;

    template <class In>
    struct runner {
        In all{};
        void push(In&& part) {
            if (all.empty())
                all = std::move(part);
            else
                all.merge(part);
        }
        In finish() { return std::move(all); }
    };
    template <class In>
    runner<In> make_runner() { return {}; }

    std::string name_;
};

/// The merge as a partition_by whose replicas wait for the combiners' entries, so the planner
/// gives them no core of their own and as many replicas as the combiners have.
template <class Key, class Chain>
struct merge_stage : partition_stage<Key, Chain> {
    static constexpr bool late = true;
    std::string name_;
};

struct first_of {
    template <class P>
    const auto& operator()(const P& p) const noexcept {
        return p.first;
    }
};

/// The three elements of a keyed fold, named `name`, "name.merge" and "name.join".
template <class Key, class Acc, class Op, class Merge>
auto keyed_fold(std::string name, Key key, Acc init, Op op, Merge merge) {
    using chain = boost::hana::tuple<merge_sink<Merge>>;
    merge_stage<first_of, chain> merging{{{{}, 0, chain(merge_sink<Merge>{{}, std::move(merge)})}, first_of{}},
                                         name + ".merge"};
    join_sink join{{}, name + ".join"};
    combine_stage<Key, Acc, Op> combine{{}, std::move(key), std::move(init), std::move(op), std::move(name)};
    return make_pipeline(boost::hana::make_tuple(std::move(combine), std::move(merging), std::move(join)));
}

}  // namespace detail

struct reduce_by_key_fn {
    /// A sink that folds the items of each key: `acc = op(acc, item)` (or `op(acc&, item)`),
    /// starting from `init`, and returns a `std::unordered_map<key, acc>`. Each process that makes
    /// items (every replica of a split source or a farm, or the process of the stage before)
    /// folds them into a map of its own first; the partial results are then partitioned by key,
    /// merged with `merge(acc, acc)` (op itself when it takes two accumulators), and gathered in
    /// the caller. A key that is a view (`std::string_view` into a line) is stored as a string.
    /// Items of one key are folded in no set order: op and merge should not care.
    /// Example: `fl::read_lines(path) | fl::map(parse) | fl::reduce_by_key(&sale::region, 0.0,
    /// [](double t, const sale& s) { return t + s.amount; }, std::plus<>{})`.
    /// Errors: an exception from key, op or merge ends the run as fl::stage_error naming
    /// "reduce_by_key" (its merge "reduce_by_key.merge").
    template <class Key, class Init, class Op, class Merge>
    auto operator()(Key key, Init&& init, Op op, Merge merge) const {
        using acc = std::decay_t<Init>;
        static_assert(std::is_invocable_r_v<acc, Merge&, acc&&, acc&&>,
                      "forkline::reduce_by_key(key, init, op, merge): merge must be callable as merge(acc, acc) "
                      "returning the merged accumulator");
        return make<acc>(std::move(key), std::forward<Init>(init), std::move(op), std::move(merge));
    }
    template <class Key, class Init, class Op>
    auto operator()(Key key, Init&& init, Op op) const {
        using acc = std::decay_t<Init>;
        static_assert(std::is_invocable_r_v<acc, Op&, acc&&, acc&&>,
                      "forkline::reduce_by_key(key, init, op): partial results are merged with op(acc, acc), which "
                      "op cannot do; pass a merge: fl::reduce_by_key(key, init, op, merge)");
        Op merge = op;
        return make<acc>(std::move(key), std::forward<Init>(init), std::move(op), std::move(merge));
    }

private:
    template <class Acc, class Key, class Init, class Op, class Merge>
    static auto make(Key key, Init&& init, Op op, Merge merge) {
        return detail::keyed_fold("reduce_by_key", std::move(key), Acc(std::forward<Init>(init)), std::move(op),
                                  std::move(merge));
    }
};

inline constexpr reduce_by_key_fn reduce_by_key{};

}  // namespace forkline
