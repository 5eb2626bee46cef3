// fl::reduce(init, op): a sink that folds every item into an accumulator in the caller.
#pragma once

#include <forkline/dsl/detail/diagnostics.hpp>
#include <forkline/dsl/detail/element.hpp>

#include <functional>

namespace forkline {

namespace detail {
/// op may update the accumulator in place, `void op(Acc&, In)`, or return the next one, `Acc op(Acc, In)`.
template <class Op, class Acc, class In>
concept folds_in_place = std::invocable<Op&, Acc&, In&&> && std::is_void_v<std::invoke_result_t<Op&, Acc&, In&&>>;
template <class Op, class Acc, class In>
concept folds_by_value = std::invocable<Op&, Acc&&, In&&> &&
                         std::convertible_to<std::invoke_result_t<Op&, Acc&&, In&&>, Acc>;

/// Folds `x` into `acc` with op, in place or by value, whichever op does.
template <class Op, class Acc, class In>
[[gnu::always_inline]] inline void fold_into(Op& op, Acc& acc, In&& x) {
    if constexpr (folds_in_place<Op, Acc, In>)
        std::invoke(op, acc, std::forward<In>(x));
    else
        acc = std::invoke(op, std::move(acc), std::forward<In>(x));
}
}  // namespace detail

template <class Acc, class Op>
struct reduce_sink : detail::pipe_base {
    using role = detail::sink_role;
    static constexpr std::string_view default_name = "reduce";

    template <class In>
    static constexpr bool check() {
        constexpr bool ok = detail::folds_in_place<Op, Acc, In> || detail::folds_by_value<Op, Acc, In>;
        static_assert(ok, FORKLINE_FOLD_OP("forkline::reduce(init, op)"));
        return ok;
    }
    template <class In>
    using result = Acc;

    template <class In>
    struct runner {
        Acc acc;
        Op& op;
        [[gnu::always_inline]] void push(In&& x) { detail::fold_into(op, acc, std::move(x)); }
        Acc finish() { return std::move(acc); }
    };
    template <class In>
    runner<In> make_runner() { return {init_, op_}; }

    Acc init_;
    Op op_;
};
static_assert(detail::sink_for<reduce_sink<long, long (*)(long, int)>, int>, "reduce_sink must model the sink protocol");

struct reduce_fn {
    /// A sink that folds the items, in arrival order, into `init` with `op`; the result is the
    /// final accumulator. Example: `fl::run(fl::iota(1, 5) | fl::reduce(0, std::plus<>{}))` returns 10;
    /// `fl::reduce(std::map<std::string, double>{}, [](auto& m, const sale& s) { m[s.region] += s.amount; })`.
    /// Errors: an exception from op ends the run as fl::stage_error("reduce").
    template <class Init, class Op>
    reduce_sink<std::decay_t<Init>, Op> operator()(Init&& init, Op op) const {
        return {{}, std::forward<Init>(init), std::move(op)};
    }
};

inline constexpr reduce_fn reduce{};

}  // namespace forkline
