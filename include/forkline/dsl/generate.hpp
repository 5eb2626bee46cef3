// fl::generate(fn): a source that calls fn() until it returns an empty std::optional.
#pragma once

#include <forkline/dsl/detail/diagnostics.hpp>
#include <forkline/dsl/detail/element.hpp>

#include <optional>

namespace forkline {

namespace detail {
template <class T>
struct optional_value {
    using type = void;
};
template <class T>
struct optional_value<std::optional<T>> {
    using type = T;
};
}  // namespace detail

template <class Fn>
struct generate_source : detail::pipe_base {
    using role = detail::source_role;
    using output = typename detail::optional_value<std::remove_cvref_t<std::invoke_result_t<Fn&>>>::type;
    static constexpr std::string_view default_name = "generate";

    static constexpr bool check() {
        static_assert(transferable<output>,
                      FORKLINE_CANNOT_CROSS("forkline::generate(fn): the items fn returns", "another process", ""));
        return transferable<output>;
    }

    template <class Out>
    void produce(Out& out) {
        while (auto item = fn_()) out.push(*item);
    }

    Fn fn_;
};

struct generate_fn {
    /// A source that sends what `fn()` returns until it returns std::nullopt; fn runs in the
    /// source's process and may keep state. Example: a counter `[i = 0]() mutable -> std::optional<int>
    /// { if (i == 3) return {}; return i++; }` sends 0, 1, 2.
    /// Errors: an exception from fn ends the run as fl::stage_error("generate").
    template <class Fn>
    auto operator()(Fn fn) const {
        static_assert(std::invocable<Fn&>, "forkline::generate(fn): fn must be callable with no arguments");
        if constexpr (std::invocable<Fn&>) {
            using result = std::remove_cvref_t<std::invoke_result_t<Fn&>>;
            static_assert(!std::is_void_v<typename detail::optional_value<result>::type>,
                          "forkline::generate(fn): fn must return std::optional<T> (empty at the end)");
        }
        return generate_source<Fn>{{}, std::move(fn)};
    }
};

inline constexpr generate_fn generate{};

}  // namespace forkline
