// Looking inside structs without running them: counting an aggregate's fields with a "probe" that
// converts to any field type, asking whether every field is safe to copy as raw bytes, and listing
// the field types of aggregates (Boost.PFR) and of Hana-adapted structs.
#pragma once

#include <boost/hana/accessors.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/pair.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/pfr/core.hpp>

#include <climits>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace forkline::detail {

template <class... Ts>
struct type_list {};

/// Whether a field of type T may be copied as raw bytes (defined with the families).
template <class T>
consteval bool is_raw_safe();

/// Converts to the type of any field of the aggregate T. It does not convert to T or to T's
/// bases, so the compiler brace-elides into an aggregate base and initializes its fields one
/// probe each (and cannot initialize a base that is not an aggregate at all).
template <class T>
struct any_field {
    template <class U>
        requires(!std::is_base_of_v<U, T>)
    operator U() const noexcept;
};

/// Like any_field, but converting to a type that is not safe as raw bytes is deleted (rather than
/// absent, which would let the compiler brace-elide into it), so a braced initialization of T from
/// these fails exactly when some field, array element or base field is unsafe.
template <class T>
struct raw_field {
    template <class U>
        requires(!std::is_base_of_v<U, T> && is_raw_safe<U>())
    operator U() const noexcept;
    template <class U>
        requires(!std::is_base_of_v<U, T> && !is_raw_safe<U>())
    operator U() const = delete;
};

template <std::size_t, class P>
using repeat = P;

template <class T, class Probe, std::size_t... Is>
consteval bool brace_init_with(std::index_sequence<Is...>) {
    return requires { T{repeat<Is, Probe>{}...}; };
}

// One more clause, "{}", fits only if T has a member the probes did not reach.
template <class T, class Probe, std::size_t... Is>
consteval bool brace_init_then_more(std::index_sequence<Is...>) {
    return requires { T{repeat<Is, Probe>{}..., {}}; };
}

#ifdef __cpp_aggregate_paren_init
// Parenthesized aggregate initialization never elides braces, so it takes one probe per member
// only when no C array member or base class took several in braces.
template <class T, class Probe, std::size_t... Is>
consteval bool one_clause_per_member(std::index_sequence<Is...>) {
    return requires { T(repeat<Is, Probe>{}...); };
}
#else
// Without parenthesized aggregate initialization: "{}" in place of the probe at position I takes
// a whole member, so the probes after it no longer fit when that member is a C array or base that
// took several. Quadratic, hence the cap (larger aggregates are then not reflected).
template <class T, class Probe, std::size_t... Before, std::size_t... After>
consteval bool brace_init_with_empty_at(std::index_sequence<Before...>, std::index_sequence<After...>) {
    return requires { T{repeat<Before, Probe>{}..., {}, repeat<After, Probe>{}...}; };
}
template <class T, class Probe, std::size_t... Is>
consteval bool one_clause_per_member(std::index_sequence<Is...>) {
    constexpr std::size_t n = sizeof...(Is);
    if constexpr (n > 64)
        return false;
    else
        return (brace_init_with_empty_at<T, Probe>(std::make_index_sequence<Is>{},
                                                    std::make_index_sequence<n - 1 - Is>{}) && ...);
}
#endif

template <class T, class Probe, std::size_t N>
inline constexpr bool brace_init_n = brace_init_with<T, Probe>(std::make_index_sequence<N>{});

/// The largest n in [Lo, Hi) for which T{probe x n} compiles, knowing it does for Lo, not for Hi.
template <class T, std::size_t Lo, std::size_t Hi>
consteval std::size_t bisect_fields() {
    if constexpr (Hi - Lo <= 1) {
        return Lo;
    } else {
        constexpr std::size_t mid = Lo + (Hi - Lo) / 2;
        if constexpr (brace_init_n<T, any_field<T>, mid>)
            return bisect_fields<T, mid, Hi>();
        else
            return bisect_fields<T, Lo, mid>();
    }
}

/// How many probes T{...} accepts (C array members count once per element). Gallops up from
/// Known, so the cost follows the real count rather than sizeof(T).
template <class T, std::size_t Known = 0>
consteval std::size_t count_fields() {
    constexpr std::size_t most = sizeof(T) * CHAR_BIT;  // one-bit bit-fields are the densest case
    constexpr std::size_t next = Known == 0 ? 1 : Known * 2;
    if constexpr (next > most)
        return bisect_fields<T, Known, most + 1>();
    else if constexpr (brace_init_n<T, any_field<T>, next>)
        return count_fields<T, next>();
    else
        return bisect_fields<T, Known, next>();
}

inline constexpr std::size_t uncountable = static_cast<std::size_t>(-1);

/// The number of initializer clauses an aggregate T takes (each element of a C array member and
/// each field of an aggregate base counts), or uncountable when T is not an aggregate we can
/// count: a union, one whose members are not all default-initializable, one with a member no
/// probe converts to, or one with a base that is not an aggregate.
template <class T>
consteval std::size_t field_count() {
    if constexpr (!std::is_class_v<T> || !std::is_aggregate_v<T> || !requires { T{}; }) {
        return uncountable;
    } else {
        constexpr std::size_t n = count_fields<T>();
        if constexpr (brace_init_then_more<T, any_field<T>>(std::make_index_sequence<n>{}))
            return uncountable;
        else
            return n;
    }
}

template <class T>
inline constexpr std::size_t field_count_v = field_count<T>();

/// Whether every field of the aggregate T is safe as raw bytes (false when T cannot be counted).
/// The second check matters where a compiler brace-elides into a member whose conversion is
/// deleted (clang before 16): the elided member then takes more clauses, leaving room for "{}".
template <class T>
consteval bool fields_raw_safe() {
    constexpr std::size_t n = field_count_v<T>;
    if constexpr (n == uncountable)
        return false;
    else
        return brace_init_n<T, raw_field<T>, n> &&
               !brace_init_then_more<T, raw_field<T>>(std::make_index_sequence<n>{});
}

/// Whether Boost.PFR can reflect T: a countable aggregate without base classes or C array members
/// (PFR would count their elements as fields and then fail to bind them).
template <class T>
consteval bool pfr_reflectable() {
    constexpr std::size_t n = field_count_v<T>;
    if constexpr (n == uncountable)
        return false;
    else if constexpr (n == 0)
        return true;
    else
        return one_clause_per_member<T, any_field<T>>(std::make_index_sequence<n>{});
}

template <class T, std::size_t... Is>
auto pfr_field_list(std::index_sequence<Is...>)
    -> type_list<std::remove_cv_t<boost::pfr::tuple_element_t<Is, T>>...>;

/// The field types of a PFR-reflectable aggregate, cv-qualifiers removed.
template <class T>
using pfr_fields_t = decltype(pfr_field_list<T>(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{}));

template <class T>
inline constexpr bool is_hana_struct = boost::hana::Struct<T>::value;

template <class T, class Accessor>
using hana_member_ref =
    decltype(boost::hana::second(std::declval<Accessor>())(std::declval<T&>()));

template <class T, class... Accessors>
auto hana_member_list(boost::hana::tuple<Accessors...>*)
    -> type_list<std::remove_cvref_t<hana_member_ref<T, Accessors>>...>;

template <class T, class... Accessors>
consteval bool hana_assignable(boost::hana::tuple<Accessors...>*) {
    return ((std::is_lvalue_reference_v<hana_member_ref<T, Accessors>> &&
             !std::is_const_v<std::remove_reference_t<hana_member_ref<T, Accessors>>>) && ...);
}

template <class T>
using hana_accessors_t = decltype(boost::hana::accessors<T>());

/// The member types of a Hana-adapted struct, in declaration order.
template <class T>
using hana_fields_t = decltype(hana_member_list<T>(static_cast<hana_accessors_t<T>*>(nullptr)));

/// Whether decoding can assign every member of a Hana-adapted struct (BOOST_HANA_ADAPT_ADT
/// accessors return copies, which cannot be assigned).
template <class T>
inline constexpr bool hana_members_assignable =
    hana_assignable<T>(static_cast<hana_accessors_t<T>*>(nullptr));

}  // namespace forkline::detail
