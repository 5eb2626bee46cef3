// fl::iota(first, last): a source that counts from first up to (not including) last.
#pragma once

#include <forkline/dsl/detail/element.hpp>

#include <algorithm>
#include <concepts>

namespace forkline {

template <std::integral T>
struct iota_source : detail::pipe_base {
    using role = detail::source_role;
    using output = T;
    static constexpr std::string_view default_name = "iota";

    static constexpr bool check() { return true; }

    template <class Out>
    void produce(Out& out) {
        if constexpr (requires { out.claim(); }) {
            // Straight into the ring's slots, a contiguous run at a time.
            for (T i = first_; i < last_;) {
                auto slots = out.claim();
                std::size_t n = std::min<std::size_t>(slots.size(), static_cast<std::size_t>(last_ - i));
                for (std::size_t k = 0; k < n; ++k) slots[k] = static_cast<T>(i + static_cast<T>(k));
                out.commit(n);
                i = static_cast<T>(i + static_cast<T>(n));
            }
        } else {
            for (T i = first_; i < last_; ++i) out.push(i);
        }
    }

    T first_, last_;
};

struct iota_fn {
    /// A source of the integers in [first, last). Example: `fl::iota(0, 3)` sends 0, 1, 2.
    template <class A, class B>
    auto operator()(A first, B last) const {
        static_assert(std::integral<A> && std::integral<B>, "forkline::iota(first, last): first and last must be integers");
        using T = std::common_type_t<A, B>;
        return iota_source<T>{{}, static_cast<T>(first), static_cast<T>(last)};
    }
};

inline constexpr iota_fn iota{};

}  // namespace forkline
