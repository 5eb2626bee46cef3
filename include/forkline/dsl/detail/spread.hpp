// What farm, parallel and partition_by share: the chain they replicate, and the walk that carries
// the item type through it at compile time.
#pragma once

#include <forkline/dsl/detail/element.hpp>

#include <boost/hana/for_each.hpp>

#include <stdexcept>

namespace forkline::detail {

template <class In, class Chain>
struct spread_flow;

/// Walks T through Es...: the type after them (a trailing sink gives its result) and whether all
/// of them are stateless. no_type after the first error.
template <class T, class... Es>
struct spread_walk {
    static constexpr bool stateless = true;
    using type = T;
};
template <class T, class E, class... Rest>
struct spread_walk<T, E, Rest...> {
    static constexpr auto next() {
        if constexpr (std::is_same_v<T, no_type> || std::is_same_v<T, flow_error>) {
            return std::type_identity<flow_error>{};
        } else if constexpr (sink_element<E> && sizeof...(Rest) == 0) {
            if constexpr (E::template check<T>())
                return std::type_identity<typename E::template result<T>>{};
            else
                return std::type_identity<flow_error>{};
        } else {
            return std::type_identity<typename decltype(step<E, T, false>())::type>{};
        }
    }
    using after = typename decltype(next())::type;
    static constexpr bool stateless = stateless_for<E, T>() && spread_walk<after, Rest...>::stateless;
    using type = typename spread_walk<after, Rest...>::type;
};

template <class In, class... Es>
struct spread_flow<In, boost::hana::tuple<Es...>> {
    static constexpr bool has_sink = (sink_element<Es> || ...);
    using type = typename spread_walk<In, Es...>::type;
    static constexpr bool valid =
        !std::is_same_v<type, no_type> && !std::is_same_v<type, flow_error> && !std::is_void_v<type>;
    static constexpr bool stateless = spread_walk<In, Es...>::stateless;
};

/// The parts of a spread element: how many replicas (0: the planner decides) and what they run.
template <class Chain>
struct spread_base : pipe_base {
    static constexpr bool spreads = true;
    std::size_t replicas_;
    Chain inner_;

    /// "parse", or "parse | check" for a chain: the names of what the replicas run.
    std::string name() const {
        std::string n;
        boost::hana::for_each(inner_, [&](const auto& e) { n += (n.empty() ? "" : " | ") + name_of(e); });
        return n;
    }
};


}  // namespace forkline::detail
