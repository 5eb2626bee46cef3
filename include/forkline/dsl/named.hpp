// fl::named(name, element): gives an element the name that plans and errors show.
#pragma once

#include <forkline/dsl/detail/element.hpp>

namespace forkline {

/// An element with a name of its own; everything else is the element's.
template <class E>
struct named_element : E {
    std::string name_;
};

struct named_fn {
    /// Names an element (a source, stage or sink): `fl::named("parse", fl::map(parse_sale))`
    /// shows as "parse" in fl::plan(...).describe() and in fl::stage_error::stage().
    /// A chain of several elements gets "name.1", "name.2", ...
    template <class E>
        requires detail::pipeable<E>
    auto operator()(std::string name, E&& e) const {
        return detail::wrap_elements(std::forward<E>(e), [&]<class X>(X&& x, std::size_t i) {
            return named_element<std::remove_cvref_t<X>>{std::forward<X>(x), i ? name + "." + std::to_string(i) : name};
        });
    }
};

inline constexpr named_fn named{};

}  // namespace forkline
