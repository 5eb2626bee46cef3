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
        using elem = std::remove_cvref_t<E>;
        if constexpr (detail::element<elem>) {
            return named_element<elem>{std::forward<E>(e), std::move(name)};
        } else {
            auto&& elems = std::forward<E>(e).stages();
            auto renamed = [&]<std::size_t... I>(std::index_sequence<I...>) {
                return boost::hana::make_tuple(named_element<std::remove_cvref_t<decltype(boost::hana::at_c<I>(elems))>>{
                    boost::hana::at_c<I>(std::forward<decltype(elems)>(elems)), name + "." + std::to_string(I + 1)}...);
            }(std::make_index_sequence<elem::size>{});
            return detail::make_pipeline(std::move(renamed));
        }
    }
};

inline constexpr named_fn named{};

}  // namespace forkline
