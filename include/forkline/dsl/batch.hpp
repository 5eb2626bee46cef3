// fl::batch(n): a stage that groups items into std::vector of n (the last one may be shorter).
#pragma once

#include <forkline/dsl/detail/element.hpp>

#include <stdexcept>
#include <vector>

namespace forkline {

struct batch_stage : detail::pipe_base {
    using role = detail::stage_role;
    static constexpr std::string_view default_name = "batch";

    template <class In>
    static constexpr bool check() { return true; }
    template <class In>
    using output = std::vector<In>;
    template <class In>
    static constexpr bool stateless = false;  // a batch spans items

    template <class In>
    struct runner {
        std::size_t n;
        std::vector<In> buf{};
        template <class Out>
        [[gnu::always_inline]] void push(In&& x, Out& out) {
            if (buf.empty()) buf.reserve(n);
            buf.push_back(std::move(x));
            if (buf.size() == n) {
                out.push(buf);
                buf.clear();
            }
        }
        template <class Out>
        void finish(Out& out) {
            if (!buf.empty()) out.push(buf);
        }
    };
    template <class In>
    runner<In> make_runner() { return {n_}; }

    std::size_t n_;
};

struct batch_fn {
    /// A stage that sends the items in vectors of `n`; the last vector holds what is left.
    /// Example: `fl::iota(0, 5) | fl::batch(2)` sends {0, 1}, {2, 3}, {4}.
    /// Errors: std::invalid_argument at once if n is 0.
    batch_stage operator()(std::size_t n) const {
        if (n == 0) throw std::invalid_argument("forkline::batch(n): n must be at least 1");
        return {{}, n};
    }
};

inline constexpr batch_fn batch{};

}  // namespace forkline
