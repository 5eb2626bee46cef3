// Coders for user structs without a codec of their own: Hana-adapted structs member by member
// through hana::accessors, and other aggregates field by field through Boost.PFR.
#pragma once

#include <forkline/codec/detail/values.hpp>

#include <boost/hana/accessors.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/unpack.hpp>
#include <boost/pfr/core.hpp>

#include <cstddef>
#include <type_traits>

namespace forkline::detail {

template <class T>
struct coder<T, family::hana_struct> {
    static constexpr std::size_t min_size = min_size_of(hana_fields_t<T>{});
    static constexpr bool fixed = all_fixed(hana_fields_t<T>{});

    /// Calls fn on each member of obj in declaration order (the comma fold is sequenced).
    template <class Obj, class Fn>
    static void for_each_member(Obj& obj, Fn&& fn) {
        boost::hana::unpack(boost::hana::accessors<T>(), [&](auto... accessor) {
            (fn(boost::hana::second(accessor)(obj)), ...);
        });
    }

    static std::size_t size(const T& v) {
        if constexpr (fixed) {
            return min_size;
        } else {
            std::size_t total = 0;
            for_each_member(v, [&total](const auto& m) { total += size_of(m); });
            return total;
        }
    }

    static void encode(const T& v, encoder& e) {
        for_each_member(v, [&e](const auto& m) { e.put(m); });
    }

    static T decode(decoder& d) {
        T obj{};
        for_each_member(obj, [&d](auto& m) { m = d.get<std::remove_cvref_t<decltype(m)>>(); });
        return obj;
    }
};

template <class T>
struct coder<T, family::aggregate> {
    static constexpr std::size_t min_size = min_size_of(pfr_fields_t<T>{});
    static constexpr bool fixed = all_fixed(pfr_fields_t<T>{});

    static std::size_t size(const T& v) {
        if constexpr (fixed) {
            return min_size;
        } else {
            std::size_t total = 0;
            boost::pfr::for_each_field(v, [&total](const auto& f) { total += size_of(f); });
            return total;
        }
    }

    static void encode(const T& v, encoder& e) {
        boost::pfr::for_each_field(v, [&e](const auto& f) { e.put(f); });
    }

    static T decode(decoder& d) { return construct_from<T>(d, pfr_fields_t<T>{}); }
};

}  // namespace forkline::detail
