// fl::count_by(key): how many items each key has, counted where the items are made and added up
// by key (fl::reduce_by_key with a count).
#pragma once

#include <forkline/dsl/reduce_by_key.hpp>

#include <cstddef>
#include <functional>

namespace forkline {

namespace detail {
struct count_one {
    template <class T>
    std::size_t operator()(std::size_t n, const T&) const noexcept {
        return n + 1;
    }
};
}  // namespace detail

struct count_by_fn {
    /// A sink that counts the items of each key and returns a `std::unordered_map<key,
    /// std::size_t>`: each process that makes items counts them in a map of its own, and the
    /// counts are added up by key (see fl::reduce_by_key). A view key (a `std::string_view` word
    /// of a line) is stored as a std::string.
    /// Example (word count, on every core): `fl::read_lines(path) | fl::flat_map(words) |
    /// fl::count_by(std::identity{})`.
    /// Errors: an exception from key ends the run as fl::stage_error("count_by").
    template <class Key>
    auto operator()(Key key) const {
        return detail::keyed_fold("count_by", std::move(key), std::size_t{0}, detail::count_one{}, std::plus<std::size_t>{});
    }
};

inline constexpr count_by_fn count_by{};

}  // namespace forkline
