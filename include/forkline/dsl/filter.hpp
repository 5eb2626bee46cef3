// fl::filter(pred): a stage that sends on the items for which pred(item) is true.
#pragma once

#include <forkline/dsl/detail/diagnostics.hpp>
#include <forkline/dsl/detail/element.hpp>

#include <functional>

namespace forkline {

template <class Pred>
struct filter_stage : detail::pipe_base {
    using role = detail::stage_role;
    static constexpr std::string_view default_name = "filter";

    template <class In>
    static constexpr bool check() {
        constexpr bool ok = std::predicate<Pred&, In&>;
        static_assert(ok,
                      FORKLINE_MUST_TAKE_ITEMS("forkline::filter(pred): pred") " and return something convertible to bool");
        return ok;
    }
    template <class In>
    using output = In;
    template <class In>
    static constexpr bool stateless = std::predicate<const Pred&, In&>;
    template <class In>
    static constexpr bool takes = std::predicate<Pred&, In&>;

    template <class In>
    struct runner {
        Pred& pred;
        template <class Out>
        [[gnu::always_inline]] void push(In&& x, Out& out) {
            if (std::invoke(pred, x)) out.push(std::move(x));
        }
        template <class Out>
        void finish(Out&) {}
    };
    template <class In>
    runner<In> make_runner() { return {pred_}; }

    Pred pred_;
};
static_assert(detail::stage_for<filter_stage<bool (*)(const int&)>, int>, "filter_stage must model the stage protocol");

struct filter_fn {
    /// A stage that keeps the items for which `pred(item)` is true, in order.
    /// Example: `fl::iota(0, 6) | fl::filter([](int i) { return i % 2 == 0; })` sends 0, 2, 4.
    /// Errors: an exception from pred ends the run as fl::stage_error naming this stage.
    template <class Pred>
    filter_stage<Pred> operator()(Pred pred) const { return {{}, std::move(pred)}; }
};

inline constexpr filter_fn filter{};

}  // namespace forkline
