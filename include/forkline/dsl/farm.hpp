// fl::farm(n, stage), fl::farm(n, stage, fl::unordered) and fl::parallel(stage): a stage run by
// several replica processes at once. The process before it hands items to whichever replica has
// room; the process after it collects their output, in input order unless fl::unordered.
#pragma once

#include <forkline/dsl/detail/spread.hpp>

namespace forkline {

/// Asks a farm to pass items on as soon as any replica has them, not in input order.
struct unordered_t {
    explicit unordered_t() = default;
};
inline constexpr unordered_t unordered{};

template <class Chain, bool Ordered>
struct farm_stage : detail::spread_base<Chain> {
    using role = detail::stage_role;
    static constexpr bool ordered = Ordered;
    static constexpr bool partitioned = false;
    static constexpr std::string_view default_name = "farm";

    template <class In>
    static constexpr bool check() {
        using flow = detail::spread_flow<In, Chain>;
        static_assert(!flow::has_sink,
                      "forkline::farm(n, stage): a farm replicates stages, not sinks; put the sink after the farm "
                      "(fl::partition_by accepts a trailing reduce)");
        static_assert(!flow::valid || flow::has_sink || flow::stateless,
                      "forkline::farm(n, stage): the stage keeps state between items (a mutable lambda, or batch), "
                      "and each replica would keep only its own part of it; use fl::partition_by(n, key, stage) to "
                      "keep each key's items together, or make the stage stateless");
        return flow::valid && !flow::has_sink && flow::stateless;
    }
    template <class In>
    using output = typename detail::spread_flow<In, Chain>::type;
    /// Its replicas take what the first of their stages takes.
    template <class In>
    static constexpr bool takes =
        detail::takes_as_is<std::remove_cvref_t<decltype(boost::hana::at_c<0>(std::declval<Chain&>()))>, In>;
};

struct farm_fn {
    /// A stage run by `n` replica processes (at least 1). Items go to whichever replica has room,
    /// so one slow item does not hold up the others; output comes out in input order (a bounded
    /// window: each replica's rings) unless `fl::unordered` is given. The stage must be stateless
    /// (no `mutable` lambda, no batch): use fl::partition_by for per-key state.
    /// Example: `fl::read_lines(path) | fl::farm(4, fl::map(parse)) | fl::to_vector()`.
    /// Errors: an exception or a crash in any replica ends the run as fl::stage_error /
    /// fl::stage_crashed naming the stage and the replica ("parse[2]").
    template <class S>
        requires detail::pipeable<S>
    auto operator()(std::size_t n, S&& stage) const {
        return make<true>(n, std::forward<S>(stage));
    }
    template <class S>
        requires detail::pipeable<S>
    auto operator()(std::size_t n, S&& stage, unordered_t) const {
        return make<false>(n, std::forward<S>(stage));
    }

private:
    template <bool Ordered, class S>
    static auto make(std::size_t n, S&& stage) {
        if (n == 0) throw std::invalid_argument("forkline::farm(n, stage): n must be at least 1");
        using chain = decltype(detail::as_tuple(std::forward<S>(stage)));
        return farm_stage<chain, Ordered>{{{}, n, detail::as_tuple(std::forward<S>(stage))}};
    }
};

inline constexpr farm_fn farm{};

struct parallel_fn {
    /// A farm whose replica count the planner picks from the cores no other process needs
    /// (at least one). Example: `fl::read_lines(path) | fl::parallel(fl::map(parse)) | fl::count()`.
    template <class S>
        requires detail::pipeable<S>
    auto operator()(S&& stage) const {
        using chain = decltype(detail::as_tuple(std::forward<S>(stage)));
        return farm_stage<chain, true>{{{}, 0, detail::as_tuple(std::forward<S>(stage))}};
    }
    template <class S>
        requires detail::pipeable<S>
    auto operator()(S&& stage, unordered_t) const {
        using chain = decltype(detail::as_tuple(std::forward<S>(stage)));
        return farm_stage<chain, false>{{{}, 0, detail::as_tuple(std::forward<S>(stage))}};
    }
};

inline constexpr parallel_fn parallel{};

}  // namespace forkline
