// fl::to_vector(): a sink that collects every item into a std::vector in the caller.
#pragma once

#include <forkline/dsl/detail/element.hpp>

#include <vector>

namespace forkline {

struct to_vector_sink : detail::pipe_base {
    using role = detail::sink_role;
    static constexpr std::string_view default_name = "to_vector";

    template <class In>
    static constexpr bool check() { return true; }
    template <class In>
    using result = std::vector<In>;

    template <class In>
    struct runner {
        std::vector<In> items{};
        [[gnu::always_inline]] void push(In&& x) { items.push_back(std::move(x)); }
        std::vector<In> finish() { return std::move(items); }
    };
    template <class In>
    runner<In> make_runner() { return {}; }
};

struct to_vector_fn {
    /// A sink whose result is every item, in the order they arrived.
    /// Example: `fl::run(fl::iota(0, 3) | fl::to_vector())` returns std::vector<int>{0, 1, 2}.
    to_vector_sink operator()() const { return {}; }
};

inline constexpr to_vector_fn to_vector{};

}  // namespace forkline
