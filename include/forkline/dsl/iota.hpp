// fl::iota(first, last): a source that counts from first up to (not including) last.
#pragma once

#include <forkline/dsl/detail/element.hpp>

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <type_traits>

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
            // Counted in the unsigned type, so the widest ranges (INT_MIN to INT_MAX) cannot overflow.
            using U = std::make_unsigned_t<T>;
            U left = first_ < last_ ? static_cast<U>(static_cast<U>(last_) - static_cast<U>(first_)) : U{0};
            U next = static_cast<U>(first_);
            while (left > 0) {
                auto slots = out.claim();
                std::size_t n = static_cast<std::size_t>(std::min<std::uintmax_t>(slots.size(), left));
                for (std::size_t k = 0; k < n; ++k) slots[k] = static_cast<T>(static_cast<U>(next + static_cast<U>(k)));
                out.commit(n);
                next = static_cast<U>(next + static_cast<U>(n));
                left = static_cast<U>(left - static_cast<U>(n));
            }
        } else {
            for (T i = first_; i < last_; ++i) out.push(i);
        }
    }

    /// It makes the same items again (options::restarts: a replacement starts over).
    static constexpr bool resumable() noexcept { return true; }

    detail::input_size input_size() const noexcept {
        using U = std::make_unsigned_t<T>;
        return {first_ < last_ ? static_cast<std::uint64_t>(static_cast<U>(static_cast<U>(last_) - static_cast<U>(first_))) : 0};
    }

    T first_, last_;
};
static_assert(detail::source<iota_source<int>>, "iota_source must model the source protocol");

struct iota_fn {
    /// A source of the integers in [first, last). Example: `fl::iota(0, 3)` sends 0, 1, 2.
    template <class A, class B>
    auto operator()(A first, B last) const {
        static_assert(std::integral<A> && std::integral<B>, "forkline::iota(first, last): first and last must be integers");
        static_assert(!std::integral<A> || !std::integral<B> || std::is_signed_v<A> == std::is_signed_v<B>,
                      "forkline::iota(first, last): first and last must be both signed or both unsigned "
                      "(iota(-5, 5u) would count in unsigned and send nothing)");
        using T = std::common_type_t<A, B>;
        return iota_source<T>{{}, static_cast<T>(first), static_cast<T>(last)};
    }
};

inline constexpr iota_fn iota{};

}  // namespace forkline
