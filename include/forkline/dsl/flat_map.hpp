// fl::flat_map(fn): a stage that sends every element of the range fn(item) returns.
#pragma once

#include <forkline/dsl/detail/diagnostics.hpp>
#include <forkline/dsl/detail/element.hpp>

#include <range/v3/range/concepts.hpp>
#include <range/v3/range/traits.hpp>

#include <functional>

namespace forkline {

template <class Fn>
struct flat_map_stage : detail::pipe_base {
    using role = detail::stage_role;
    static constexpr std::string_view default_name = "flat_map";

    template <class In>
    static constexpr bool check() {
        static_assert(std::invocable<Fn&, In&&>,
                      FORKLINE_CANNOT_TAKE_ITEMS("forkline::flat_map(fn): fn"));
        if constexpr (std::invocable<Fn&, In&&>) {
            constexpr bool ok = ranges::input_range<std::invoke_result_t<Fn&, In&&>>;
            static_assert(ok, "forkline::flat_map(fn): fn must return a range (a container or a view)");
            return ok;
        }
        return false;
    }
    template <class In>
    using output = std::remove_cvref_t<ranges::range_value_t<std::invoke_result_t<Fn&, In&&>>>;
    template <class In>
    static constexpr bool stateless = std::invocable<const Fn&, In&&>;
    template <class In>
    static constexpr bool takes = std::invocable<Fn&, In&&>;

    template <class In>
    struct runner {
        Fn& fn;
        template <class Out>
        [[gnu::always_inline]] void push(In&& x, Out& out) {
            auto&& r = std::invoke(fn, std::move(x));
            for (auto&& y : r) out.push(static_cast<const output<In>&>(y));
        }
        template <class Out>
        void finish(Out&) {}
    };
    template <class In>
    runner<In> make_runner() { return {fn_}; }

    Fn fn_;
};

struct flat_map_fn {
    /// A stage that sends each element of `fn(item)`, item after item, in order.
    /// Example: `fl::from(lines) | fl::flat_map(split_words)` sends every word of every line.
    /// Errors: an exception from fn ends the run as fl::stage_error naming this stage.
    template <class Fn>
    flat_map_stage<Fn> operator()(Fn fn) const { return {{}, std::move(fn)}; }
};

inline constexpr flat_map_fn flat_map{};

}  // namespace forkline
