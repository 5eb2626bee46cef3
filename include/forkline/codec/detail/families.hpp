// Which rule encodes a type: every type maps to one family (or to none when it cannot cross a
// process boundary). The order of the checks below is the priority order of the rules.
#pragma once

#include <forkline/codec/detail/reflect.hpp>
#include <forkline/codec/detail/stream.hpp>

#include <array>
#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace forkline::detail {

enum class family {
    none,         // cannot cross a process boundary
    user,         // forkline::codec<T> specialization
    raw,          // trivially transferable: sizeof(T) raw bytes
    string,       // std::basic_string: u64 length + characters
    raw_vector,   // std::vector of raw elements: u64 length + one block of bytes
    sequence,     // other sequences: u64 length + elements
    fixed_array,  // std::array of non-raw elements: elements
    optional,     // u8 flag + value
    variant,      // u32 index + alternative
    monostate,    // nothing
    tuple,        // std::pair, std::tuple: members in order
    associative,  // maps and sets: u64 size + elements (key then mapped value for maps)
    hana_struct,  // Hana-adapted struct: members in declaration order
    aggregate,    // other aggregates, through Boost.PFR: fields in order
};

template <class T, template <class...> class Template>
inline constexpr bool is_instance_of = false;
template <template <class...> class Template, class... Args>
inline constexpr bool is_instance_of<Template<Args...>, Template> = true;

template <class T>
inline constexpr bool is_std_array = false;
template <class T, std::size_t N>
inline constexpr bool is_std_array<std::array<T, N>> = true;

template <class T>
inline constexpr bool is_std_span = false;
template <class T, std::size_t N>
inline constexpr bool is_std_span<std::span<T, N>> = true;

/// The standard vocabulary types, which have their own validated encodings: at top level they are
/// never sent as raw bytes, so that a corrupt flag or index is caught instead of trusted. As
/// fields of a trivially copyable struct they travel inside its bytes if what they hold may.
template <class T>
inline constexpr bool is_vocabulary =
    is_instance_of<T, std::optional> || is_instance_of<T, std::variant> ||
    std::is_same_v<T, std::monostate> || is_instance_of<T, std::pair> || is_instance_of<T, std::tuple>;

/// Trivially copyable classes that can only hold an address: a non-aggregate with begin() and
/// end() views elements stored elsewhere (initializer_list, subrange, ...), and iterators and
/// pointer-like classes (element_type and operator->) point into the sender's memory.
template <class T>
concept holds_address =
    std::is_class_v<T> && std::is_trivially_copyable_v<T> &&
    ((!std::is_aggregate_v<T> && requires(const T& t) { t.begin(); t.end(); }) ||
     requires { typename T::iterator_category; } ||
     requires(const T& t) { typename T::element_type; t.operator->(); });

/// Types whose value is an address in the sender's memory.
template <class T>
inline constexpr bool refers_elsewhere =
    std::is_pointer_v<T> || std::is_member_pointer_v<T> || std::is_null_pointer_v<T> ||
    is_instance_of<T, std::basic_string_view> || is_std_span<T> ||
    is_instance_of<T, std::reference_wrapper> || holds_address<T>;

/// The types inside a vocabulary type: an optional's value, a pair's or tuple's members, a
/// variant's alternatives (cv-qualifiers removed).
template <class T>
struct parts;
template <>
struct parts<std::monostate> {
    using type = type_list<>;
};
template <class T>
struct parts<std::optional<T>> {
    using type = type_list<std::remove_cv_t<T>>;
};
template <class A, class B>
struct parts<std::pair<A, B>> {
    using type = type_list<std::remove_cv_t<A>, std::remove_cv_t<B>>;
};
template <class... Ts>
struct parts<std::tuple<Ts...>> {
    using type = type_list<std::remove_cv_t<Ts>...>;
};
template <class... Ts>
struct parts<std::variant<Ts...>> {
    using type = type_list<std::remove_cv_t<Ts>...>;
};
template <class T>
using parts_t = typename parts<T>::type;

template <class T>
concept has_user_codec = requires(const T& v, encoder& e, decoder& d) {
    { codec<T>::size(v) } -> std::convertible_to<std::size_t>;
    codec<T>::encode(v, e);
    { codec<T>::decode(d) } -> std::convertible_to<T>;
};

template <class... Ts>
consteval bool all_raw_safe(type_list<Ts...>) {
    return (is_raw_safe<Ts>() && ...);
}

template <class T>
consteval bool is_raw_safe() {
    using U = std::remove_cv_t<T>;
    if constexpr (!std::is_trivially_copyable_v<U> || refers_elsewhere<U> || has_user_codec<U>)
        return false;
    else if constexpr (std::is_array_v<U>)
        return is_raw_safe<std::remove_all_extents_t<U>>();
    else if constexpr (is_std_array<U>)
        return is_raw_safe<typename U::value_type>();
    else if constexpr (is_vocabulary<U>)
        return all_raw_safe(parts_t<U>{});
    else if constexpr (std::is_class_v<U> && std::is_aggregate_v<U>)
        return fields_raw_safe<U>();
    else if constexpr (is_hana_struct<U>)
        return all_raw_safe(hana_fields_t<U>{});
    else
        return true;  // arithmetic, enum, or a class we cannot look into (see transferable)
}

template <class T>
consteval family family_of();

/// The family of T (cv-unqualified object type); none when no rule covers it.
template <class T>
inline constexpr family family_v = family_of<T>();

template <class T>
inline constexpr bool encodable = family_v<std::remove_cv_t<T>> != family::none;

template <class... Ts>
consteval bool all_encodable(type_list<Ts...>) {
    return (encodable<Ts> && ...);
}

template <class T>
concept sequence_container =
    std::default_initializable<T> && requires { typename T::value_type; } &&
    !requires { typename T::key_type; } &&
    requires(T& c, const T& cc, typename T::value_type&& x) {
        cc.begin();
        cc.end();
        cc.size();
        c.emplace_back(std::move(x));
    };

template <class T>
concept associative_container =
    std::default_initializable<T> && requires { typename T::key_type; typename T::value_type; } &&
    requires(const T& cc) { cc.begin(); cc.end(); cc.size(); } &&
    (requires(T& c, typename T::value_type&& x) { c.emplace_hint(c.end(), std::move(x)); } ||
     requires(T& c, typename T::value_type&& x) { c.emplace(std::move(x)); });

template <class T>
consteval bool associative_encodable() {
    if constexpr (requires { typename T::mapped_type; })
        return encodable<typename T::key_type> && encodable<typename T::mapped_type>;
    else
        return encodable<typename T::key_type>;
}

template <class T>
consteval family struct_family() {
    if constexpr (is_hana_struct<T>) {
        if constexpr (std::default_initializable<T> && hana_members_assignable<T>)
            return all_encodable(hana_fields_t<T>{}) ? family::hana_struct : family::none;
        else
            return family::none;
    } else if constexpr (pfr_reflectable<T>()) {
        return all_encodable(pfr_fields_t<T>{}) ? family::aggregate : family::none;
    } else {
        return family::none;
    }
}

template <class T>
consteval family container_family() {
    if constexpr (sequence_container<T>)
        return encodable<typename T::value_type> ? family::sequence : family::none;
    else if constexpr (associative_container<T>)
        return associative_encodable<T>() ? family::associative : family::none;
    else
        return struct_family<T>();
}

template <class T>
consteval family vocabulary_family() {
    if constexpr (std::is_same_v<T, std::monostate>)
        return family::monostate;
    else if constexpr (!all_encodable(parts_t<T>{}))
        return family::none;
    else if constexpr (is_instance_of<T, std::optional>)
        return family::optional;
    else
        return is_instance_of<T, std::variant> ? family::variant : family::tuple;
}

template <class T>
consteval family owning_family() {
    if constexpr (is_instance_of<T, std::basic_string>) {
        return family::string;
    } else if constexpr (is_instance_of<T, std::vector>) {
        using element = typename T::value_type;
        if constexpr (family_v<element> == family::raw && !std::is_same_v<element, bool>)
            return family::raw_vector;
        else
            return encodable<element> ? family::sequence : family::none;
    } else if constexpr (is_std_array<T>) {
        using element = typename T::value_type;
        return encodable<element> && std::default_initializable<element> ? family::fixed_array
                                                                         : family::none;
    } else if constexpr (is_vocabulary<T>) {
        return vocabulary_family<T>();
    } else {
        return container_family<T>();
    }
}

template <class T>
consteval family family_of() {
    if constexpr (!std::is_object_v<T> || std::is_array_v<T> || std::is_abstract_v<T> ||
                  std::is_const_v<T> || std::is_volatile_v<T>)
        return family::none;
    else if constexpr (has_user_codec<T>)
        return family::user;
    else if constexpr (refers_elsewhere<T>)
        return family::none;
    else if constexpr (is_raw_safe<T>() && !is_vocabulary<T>)
        return family::raw;
    else
        return owning_family<T>();
}

/// How a type of family F is sized, written and read. Each specialization also says, at compile
/// time, the fewest bytes an encoding can take (min_size) and whether every encoding takes
/// exactly that many (fixed), which lets containers size and bound-check without a loop.
template <class T, family F = family_v<T>>
struct coder;

template <class T>
std::size_t size_of(const T& v) {
    return coder<T>::size(v);
}

template <class... Ts>
consteval std::size_t min_size_of(type_list<Ts...>) {
    return (std::size_t{0} + ... + coder<Ts>::min_size);
}

template <class... Ts>
consteval bool all_fixed(type_list<Ts...>) {
    return (coder<Ts>::fixed && ...);
}

}  // namespace forkline::detail
