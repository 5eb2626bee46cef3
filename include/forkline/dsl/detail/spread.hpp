// What farm, parallel and partition_by share: the chain they replicate, and what the walk
// (walk.hpp) says of it at compile time.
#pragma once

#include <forkline/dsl/detail/element.hpp>

#include <boost/hana/for_each.hpp>

#include <stdexcept>

namespace forkline::detail {

template <class In, class Chain>
struct spread_flow;

/// The chain a spread element's replicas run, from In: the type after it (a trailing sink gives
/// its result), whether that is a valid item, and whether every element of it is stateless.
template <class In, class... Es>
struct spread_flow<In, boost::hana::tuple<Es...>> {
    using chain = walk<in_replicas, In, Es...>;
    static constexpr bool has_sink = (sink_element<Es> || ...);
    using type = typename chain::type;
    static constexpr bool valid =
        !std::is_same_v<type, no_type> && !std::is_same_v<type, flow_error> && !std::is_void_v<type>;
    static constexpr bool stateless = chain::stateless();
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
