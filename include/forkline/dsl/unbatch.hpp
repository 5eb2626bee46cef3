// fl::unbatch(): a stage that sends each element of each incoming range (the inverse of batch).
#pragma once

#include <forkline/dsl/detail/element.hpp>

#include <range/v3/range/concepts.hpp>
#include <range/v3/range/traits.hpp>

namespace forkline {

struct unbatch_stage : detail::pipe_base {
    using role = detail::stage_role;
    static constexpr std::string_view default_name = "unbatch";

    template <class In>
    static constexpr bool check() {
        constexpr bool ok = ranges::input_range<In>;
        static_assert(ok, "forkline::unbatch(): the items of the element before it must be ranges (such as the "
                          "vectors fl::batch sends)");
        return ok;
    }
    template <class In>
    using output = std::remove_cvref_t<ranges::range_value_t<In>>;
    template <class In>
    static constexpr bool stateless = true;

    template <class In>
    struct runner {
        template <class Out>
        [[gnu::always_inline]] void push(In&& x, Out& out) {
            for (auto&& y : x) out.push(std::move(y));
        }
        template <class Out>
        void finish(Out&) {}
    };
    template <class In>
    runner<In> make_runner() { return {}; }
};

struct unbatch_fn {
    /// A stage that sends the elements of each incoming range, in order.
    /// Example: `fl::iota(0, 5) | fl::batch(2) | fl::unbatch()` sends 0, 1, 2, 3, 4.
    unbatch_stage operator()() const { return {}; }
};

inline constexpr unbatch_fn unbatch{};

}  // namespace forkline
