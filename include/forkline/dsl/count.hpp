// fl::count(): a sink whose result is the number of items.
#pragma once

#include <forkline/dsl/detail/element.hpp>

namespace forkline {

struct count_sink : detail::pipe_base {
    using role = detail::sink_role;
    static constexpr std::string_view default_name = "count";

    template <class In>
    static constexpr bool check() { return true; }
    template <class In>
    using result = std::size_t;

    template <class In>
    struct runner {
        std::size_t n = 0;
        [[gnu::always_inline]] void push(In&&) { ++n; }
        std::size_t finish() const { return n; }
    };
    template <class In>
    runner<In> make_runner() { return {}; }
};

struct count_fn {
    /// A sink that counts the items. Example: `fl::run(fl::read_lines(path) | fl::count())`.
    count_sink operator()() const { return {}; }
};

inline constexpr count_fn count{};

}  // namespace forkline
