// fl::for_each(fn): a sink that calls fn(item) in the caller for every item.
#pragma once

#include <forkline/dsl/detail/diagnostics.hpp>
#include <forkline/dsl/detail/element.hpp>

#include <functional>

namespace forkline {

template <class Fn>
struct for_each_sink : detail::pipe_base {
    using role = detail::sink_role;
    static constexpr std::string_view default_name = "for_each";

    /// fn takes the item by value, `const T&`, `T&&` or `T&`.
    template <class In>
    using arg = std::conditional_t<std::invocable<Fn&, In&&>, In&&, In&>;

    template <class In>
    static constexpr bool check() {
        constexpr bool ok = std::invocable<Fn&, arg<In>>;
        static_assert(ok, FORKLINE_CANNOT_TAKE_ITEMS("forkline::for_each(fn): fn"));
        return ok;
    }
    template <class In>
    using result = void;

    template <class In>
    struct runner {
        Fn& fn;
        [[gnu::always_inline]] void push(In&& x) { std::invoke(fn, static_cast<arg<In>>(x)); }
        void finish() {}
    };
    template <class In>
    runner<In> make_runner() { return {fn_}; }

    Fn fn_;
};

struct for_each_fn {
    /// A sink that calls `fn(item)` for each item, in order, in the calling process (so fn may
    /// touch the caller's variables). fl::run returns void.
    /// Example: `fl::run(fl::iota(0, 3) | fl::for_each([](int i) { std::cout << i << '\n'; }))`.
    /// Errors: an exception from fn ends the run as fl::stage_error("for_each").
    template <class Fn>
    for_each_sink<Fn> operator()(Fn fn) const { return {{}, std::move(fn)}; }
};

inline constexpr for_each_fn for_each{};

}  // namespace forkline
