// Coders for single values: raw bytes, user codecs, and the standard vocabulary types
// (std::optional, std::variant, std::monostate, std::pair, std::tuple).
#pragma once

#include <forkline/codec/detail/families.hpp>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace forkline::detail {

/// A word for a raw type in error messages.
template <class T>
constexpr const char* raw_word() {
    if constexpr (std::is_same_v<T, bool>)
        return "bool";
    else if constexpr (std::is_integral_v<T>)
        return "integer";
    else if constexpr (std::is_floating_point_v<T>)
        return "floating-point number";
    else if constexpr (std::is_enum_v<T>)
        return "enum";
    else
        return "trivially copyable value";
}

/// The address of v even if T overloads unary & (the classic addressof, without <memory>).
template <class T>
const void* bytes_of(const T& v) noexcept {
    return &reinterpret_cast<const unsigned char&>(v);
}
template <class T>
void* bytes_of(T& v) noexcept {
    return &reinterpret_cast<unsigned char&>(v);
}

/// Builds T from its parts decoded in order: a braced initializer list evaluates its elements
/// left to right, and needs neither a default constructor nor assignable members.
template <class T, class... Parts>
T construct_from(decoder& d, type_list<Parts...>) {
    return T{d.get<Parts>()...};
}

template <class T>
struct coder<T, family::raw> {
    static constexpr std::size_t min_size = sizeof(T);
    static constexpr bool fixed = true;

    static constexpr std::size_t size(const T&) noexcept { return sizeof(T); }
    static void encode(const T& v, encoder& e) noexcept { e.put_bytes(bytes_of(v), sizeof(T)); }

    static T decode(decoder& d) {
        if constexpr (std::is_same_v<T, bool>) {
            static_assert(sizeof(bool) == 1, "forkline::codec: bool must take one byte");
            return read_flag(d, "bool");
        } else if constexpr (std::is_default_constructible_v<T>) {
            T v;
            std::memcpy(bytes_of(v), take(d, sizeof(T), raw_word<T>()), sizeof(T));
            return v;
        } else {
            struct bytes { std::byte b[sizeof(T)]; } buf;
            std::memcpy(buf.b, take(d, sizeof(T), raw_word<T>()), sizeof(T));
            return std::bit_cast<T>(buf);
        }
    }
};

template <class T>
struct coder<T, family::user> {
    static constexpr std::size_t min_size = 0;  // unknown: a user encoding may be empty
    static constexpr bool fixed = false;

    static std::size_t size(const T& v) { return codec<T>::size(v); }
    static void encode(const T& v, encoder& e) { codec<T>::encode(v, e); }
    static T decode(decoder& d) { return codec<T>::decode(d); }
};

template <class T>
struct coder<T, family::monostate> {
    static constexpr std::size_t min_size = 0;
    static constexpr bool fixed = true;

    static constexpr std::size_t size(const T&) noexcept { return 0; }
    static void encode(const T&, encoder&) noexcept {}
    static T decode(decoder&) noexcept { return T{}; }
};

template <class T>
struct coder<T, family::optional> {
    using value_type = typename T::value_type;
    static constexpr std::size_t min_size = 1;
    static constexpr bool fixed = false;

    static std::size_t size(const T& v) { return 1 + (v ? size_of(*v) : 0); }

    static void encode(const T& v, encoder& e) {
        const auto flag = static_cast<std::uint8_t>(v.has_value());
        e.put_bytes(&flag, 1);
        if (v) e.put(*v);
    }

    static T decode(decoder& d) {
        if (!read_flag(d, "optional flag")) return std::nullopt;
        return T(std::in_place, d.get<value_type>());
    }
};

template <class T>
struct coder<T, family::tuple> {
    static constexpr std::size_t min_size = min_size_of(parts_t<T>{});
    static constexpr bool fixed = all_fixed(parts_t<T>{});

    static std::size_t size(const T& v) {
        if constexpr (fixed)
            return min_size;
        else
            return std::apply([](const auto&... xs) { return (std::size_t{0} + ... + size_of(xs)); }, v);
    }

    static void encode(const T& v, encoder& e) {
        std::apply([&e](const auto&... xs) { (e.put(xs), ...); }, v);
    }

    static T decode(decoder& d) { return construct_from<T>(d, parts_t<T>{}); }
};

template <class... As>
consteval std::size_t smallest_min_size(type_list<As...>) {
    std::size_t least = static_cast<std::size_t>(-1);
    ((least = coder<As>::min_size < least ? coder<As>::min_size : least), ...);
    return least;
}

/// Whether every alternative always encodes to the same number of bytes.
template <class... As>
consteval bool same_fixed_size(type_list<As...> all) {
    return ((coder<As>::fixed && coder<As>::min_size == smallest_min_size(all)) && ...);
}

template <class T>
struct coder<T, family::variant> {
    using index_type = std::uint32_t;
    static constexpr std::size_t min_size = sizeof(index_type) + smallest_min_size(parts_t<T>{});
    static constexpr bool fixed = same_fixed_size(parts_t<T>{});

    static void check_valued(const T& v) {
        if (v.valueless_by_exception())
            throw std::invalid_argument(
                "forkline::encode: a std::variant that is valueless_by_exception has no value to send");
    }

    static std::size_t size(const T& v) {
        check_valued(v);
        if constexpr (fixed)
            return min_size;
        else
            return sizeof(index_type) + std::visit([](const auto& x) { return size_of(x); }, v);
    }

    static void encode(const T& v, encoder& e) {
        check_valued(v);
        const auto index = static_cast<index_type>(v.index());
        e.put_bytes(&index, sizeof index);
        std::visit([&e](const auto& x) { e.put(x); }, v);
    }

    template <std::size_t I>
    static T decode_alternative(decoder& d) {
        return T(std::in_place_index<I>, d.get<std::variant_alternative_t<I, T>>());
    }

    static T decode(decoder& d) {
        constexpr std::size_t count = std::variant_size_v<T>;
        const std::size_t at = d.offset();
        index_type index;
        std::memcpy(&index, take(d, sizeof index, "variant index"), sizeof index);
        if (index >= count)
            fail_corrupt("variant index", index, at, "expected less than " + std::to_string(count));
        constexpr auto table = []<std::size_t... Is>(std::index_sequence<Is...>) {
            return std::array<T (*)(decoder&), count>{&decode_alternative<Is>...};
        }(std::make_index_sequence<count>{});
        return table[index](d);
    }
};

}  // namespace forkline::detail
