// fl::map(fn): a stage that sends fn(item) for every item.
#pragma once

#include <forkline/dsl/detail/diagnostics.hpp>
#include <forkline/dsl/detail/element.hpp>

#include <functional>

namespace forkline {

template <class Fn>
struct map_stage : detail::pipe_base {
    using role = detail::stage_role;
    static constexpr std::string_view default_name = "map";

    /// fn takes the item as it likes: by value, `const T&`, `T&&`, or `T&` (the item is the
    /// stage's own copy, so changing it in place is fine).
    template <class In>
    using arg = std::conditional_t<std::invocable<Fn&, In&&>, In&&, In&>;

    template <class In>
    static constexpr bool check() {
        constexpr bool callable = std::invocable<Fn&, arg<In>>;
        static_assert(callable,
                      FORKLINE_CANNOT_TAKE_ITEMS("forkline::map(fn): fn"));
        if constexpr (callable) {
            static_assert(!std::is_void_v<std::invoke_result_t<Fn&, arg<In>>>,
                          "forkline::map(fn): fn returns void; use fl::for_each(fn) for side effects");
            return !std::is_void_v<std::invoke_result_t<Fn&, arg<In>>>;
        }
        return false;
    }
    template <class In>
    using output = std::remove_cvref_t<std::invoke_result_t<Fn&, arg<In>>>;
    template <class In>
    static constexpr bool stateless = std::invocable<const Fn&, arg<In>>;
    template <class In>
    static constexpr bool takes = std::invocable<Fn&, arg<In>>;

    template <class In>
    struct runner {
        Fn& fn;
        template <class Out>
        [[gnu::always_inline]] void push(In&& x, Out& out) {
            out.push(std::invoke(fn, static_cast<arg<In>>(x)));
        }
        template <class Out>
        void finish(Out&) {}
    };
    template <class In>
    runner<In> make_runner() { return {fn_}; }

    Fn fn_;
};
static_assert(detail::stage_for<map_stage<int (*)(int)>, int>, "map_stage must model the stage protocol");

struct map_fn {
    /// A stage that sends `fn(item)` for each item, in order; fn runs in the stage's own process.
    /// Example: `fl::iota(0, 3) | fl::map([](int i) { return i * i; })` sends 0, 1, 4.
    /// Errors: an exception from fn ends the run as fl::stage_error naming this stage.
    template <class Fn>
    map_stage<Fn> operator()(Fn fn) const { return {{}, std::move(fn)}; }
};

inline constexpr map_fn map{};

}  // namespace forkline
