// Coders for containers: strings and vectors of raw elements (one block copy), other sequences and
// std::array element by element, and associative containers (maps and sets, ordered or not).
#pragma once

#include <forkline/codec/detail/families.hpp>

#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace forkline::detail {

template <class T>
struct coder<T, family::string> {
    using char_type = typename T::value_type;
    static constexpr std::size_t min_size = 8;
    static constexpr bool fixed = false;

    static std::size_t size(const T& s) noexcept { return 8 + s.size() * sizeof(char_type); }

    static void encode(const T& s, encoder& e) noexcept {
        put_count(e, s.size());
        e.put_bytes(s.data(), s.size() * sizeof(char_type));
    }

    static T decode(decoder& d) {
        const std::size_t n = read_count(d, "string length", sizeof(char_type));
        if constexpr (std::is_same_v<char_type, char> || std::is_same_v<char_type, unsigned char>) {
            // char may alias the record's bytes, so the string copies straight out of the record.
            return T(reinterpret_cast<const char_type*>(d.take_bytes(n)), n);
        } else {
            T s(n, char_type{});
            d.get_bytes(s.data(), n * sizeof(char_type));
            return s;
        }
    }

    /// Decodes into s, reusing its storage (a reader that takes item after item allocates once).
    static void decode_into(T& s, decoder& d) {
        const std::size_t n = read_count(d, "string length", sizeof(char_type));
        if constexpr (std::is_same_v<char_type, char> || std::is_same_v<char_type, unsigned char>) {
            s.assign(reinterpret_cast<const char_type*>(d.take_bytes(n)), n);
        } else {
            s.resize(n);
            d.get_bytes(s.data(), n * sizeof(char_type));
        }
    }
};

/// Sequences of any element type (std::deque, std::list, std::vector<std::string>, ...).
template <class T>
struct coder<T, family::sequence> {
    using element = typename T::value_type;
    static constexpr std::size_t min_size = 8;
    static constexpr bool fixed = false;

    static std::size_t size(const T& c) {
        if constexpr (coder<element>::fixed) {
            return 8 + c.size() * coder<element>::min_size;
        } else {
            std::size_t total = 8;
            for (const auto& x : c) total += size_of<element>(x);
            return total;
        }
    }

    static void encode(const T& c, encoder& e) {
        put_count(e, c.size());
        for (const auto& x : c) e.put<element>(x);  // <element>: std::vector<bool> yields proxies
    }

    static T decode(decoder& d) {
        constexpr std::size_t least = coder<element>::min_size;
        const std::size_t n = read_count(d, "sequence length", least);
        T c;
        if constexpr (requires { c.reserve(n); }) c.reserve(safe_reserve(n, d.remaining(), least));
        for (std::size_t i = 0; i < n; ++i) c.emplace_back(d.get<element>());
        return c;
    }
};

template <class T>
struct coder<T, family::raw_vector> {
    using element = typename T::value_type;
    static constexpr std::size_t min_size = 8;
    static constexpr bool fixed = false;

    static std::size_t size(const T& v) noexcept { return 8 + v.size() * sizeof(element); }

    static void encode(const T& v, encoder& e) noexcept {
        put_count(e, v.size());
        e.put_bytes(v.data(), v.size() * sizeof(element));
    }

    static T decode(decoder& d) {
        if constexpr (std::is_default_constructible_v<element>) {
            const std::size_t n = read_count(d, "vector length", sizeof(element));
            T v(n);
            d.get_bytes(v.data(), n * sizeof(element));
            return v;
        } else {
            return coder<T, family::sequence>::decode(d);
        }
    }

    /// Decodes into v, reusing its storage, as the string coder does.
    static void decode_into(T& v, decoder& d)
        requires std::is_default_constructible_v<element>
    {
        const std::size_t n = read_count(d, "vector length", sizeof(element));
        v.resize(n);
        d.get_bytes(v.data(), n * sizeof(element));
    }
};

template <class T>
struct coder<T, family::fixed_array> {
    using element = typename T::value_type;
    static constexpr std::size_t length = std::tuple_size<T>::value;
    static constexpr std::size_t min_size = length * coder<element>::min_size;
    static constexpr bool fixed = coder<element>::fixed;

    static std::size_t size(const T& a) {
        if constexpr (fixed) {
            return min_size;
        } else {
            std::size_t total = 0;
            for (const auto& x : a) total += size_of(x);
            return total;
        }
    }

    static void encode(const T& a, encoder& e) {
        for (const auto& x : a) e.put(x);
    }

    static T decode(decoder& d) {
        T a;
        for (auto& x : a) x = d.get<element>();
        return a;
    }
};

/// The keys of a set, or the key and mapped types of a map: what each element sends.
template <class T>
consteval auto element_parts() {
    if constexpr (requires { typename T::mapped_type; })
        return type_list<typename T::key_type, typename T::mapped_type>{};
    else
        return type_list<typename T::key_type>{};
}

/// Maps and sets, detected by key_type and value_type; maps send key then mapped value.
template <class T>
struct coder<T, family::associative> {
    static constexpr bool is_map = requires { typename T::mapped_type; };
    static constexpr std::size_t element_min = min_size_of(element_parts<T>());
    static constexpr bool element_fixed = all_fixed(element_parts<T>());
    using key = typename T::key_type;

    static constexpr std::size_t min_size = 8;
    static constexpr bool fixed = false;

    static std::size_t size(const T& c) {
        if constexpr (element_fixed) {
            return 8 + c.size() * element_min;
        } else {
            std::size_t total = 8;
            for (const auto& x : c) {
                if constexpr (is_map)
                    total += size_of(x.first) + size_of(x.second);
                else
                    total += size_of(x);
            }
            return total;
        }
    }

    static void encode(const T& c, encoder& e) {
        put_count(e, c.size());
        for (const auto& x : c) {
            if constexpr (is_map) {
                e.put(x.first);
                e.put(x.second);
            } else {
                e.put(x);
            }
        }
    }

    template <class... Args>
    static void insert(T& c, Args&&... args) {
        if constexpr (requires { c.emplace_hint(c.end(), std::forward<Args>(args)...); })
            c.emplace_hint(c.end(), std::forward<Args>(args)...);  // amortized O(1) for sorted input
        else
            c.emplace(std::forward<Args>(args)...);
    }

    static void decode_element(decoder& d, T& c) {
        key k = d.get<key>();
        if constexpr (is_map) {
            auto mapped = d.get<typename T::mapped_type>();  // after the key: the order they were sent
            insert(c, std::move(k), std::move(mapped));
        } else {
            insert(c, std::move(k));
        }
    }

    static T decode(decoder& d) {
        const char* what = is_map ? "map size" : "set size";
        const std::size_t at = d.offset();
        const std::size_t n = read_count(d, what, element_min);
        T c;
        if constexpr (requires { c.reserve(n); }) c.reserve(safe_reserve(n, d.remaining(), element_min));
        for (std::size_t i = 0; i < n; ++i) decode_element(d, c);
        if (c.size() != n)  // a unique-key container dropped a repeated key
            fail_corrupt(what, n, at, "repeated keys: only " + std::to_string(c.size()) + " distinct");
        return c;
    }
};

}  // namespace forkline::detail
