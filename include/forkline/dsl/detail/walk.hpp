// The one compile-time walk that carries the item type through a chain of elements: operator|'s
// checks, the type after a farm's stages or a split's readers, and the runtime's edge types are
// all this walk, with a walk_mode saying what it checks and what a trailing sink gives.
#pragma once

#include <forkline/codec/codec.hpp>
#include <forkline/dsl/detail/diagnostics.hpp>
#include <forkline/dsl/detail/protocol.hpp>

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

namespace forkline::detail {

/// Marks "no items flow here": after a sink, or in a chain without a source.
struct no_type {};
/// Marks "a check failed here": later checks stay quiet, and nothing is instantiated from it.
struct flow_error {};

/// What a walk does at each element.
struct walk_mode {
    bool checks = false;       ///< run each element's check<In>() (its sentences) and stop at a failure
    bool cross = false;        ///< the items leave the process after each element: hold them to transferable
    bool sink_result = false;  ///< a trailing sink gives its result type (else no_type: nothing flows on)
};
/// operator|'s walk: elements in processes of their own.
inline constexpr walk_mode across_processes{.checks = true, .cross = true};
/// Elements run back to back in one process, checked (the readers of a split).
inline constexpr walk_mode in_one_process{.checks = true};
/// What a spread element's replicas run: checked, in one process, maybe ending with a sink.
inline constexpr walk_mode in_replicas{.checks = true, .sink_result = true};
/// The types alone, once the checks passed: the runtime's edges.
inline constexpr walk_mode types_only{};
/// The types alone of a fused chain, whose trailing sink's result is its output.
inline constexpr walk_mode fused_types{.sink_result = true};

/// Checks that a stage's items can cross a process boundary; the diagnostic's context names both.
template <class Item, class Stage>
struct crosses_boundary {
    static_assert(transferable<Item>, FORKLINE_ITEMS_CANNOT_CROSS);
    static constexpr bool value = transferable<Item>;
};

/// Element E's own checks for In (static_asserts with sentences), when the walk runs them.
template <walk_mode M, class E, class In>
constexpr bool passes() {
    if constexpr (M.checks)
        return E::template check<In>();
    else
        return true;
}

/// The item type after element E when E receives In (`Last`: E ends the walk), as a
/// type_identity; flow_error after the first failed check.
template <walk_mode M, class E, class In, bool Last>
constexpr auto step() {
    if constexpr (std::is_same_v<In, no_type> || std::is_same_v<In, flow_error>) {
        return std::type_identity<In>{};
    } else if constexpr (source_element<E>) {
        return std::type_identity<flow_error>{};  // reported by check_chain
    } else if constexpr (!passes<M, E, In>()) {
        return std::type_identity<flow_error>{};
    } else if constexpr (sink_element<E>) {
        if constexpr (M.sink_result && Last)
            return std::type_identity<typename E::template result<In>>{};
        else
            return std::type_identity<no_type>{};  // nothing flows past a sink
    } else {
        using out = typename E::template output<In>;
        if constexpr (!M.cross) {
            return std::type_identity<out>{};
        } else {
            static_assert(crosses_boundary<out, E>::value || true);  // instantiated here, so it speaks first
            if constexpr (!transferable<out>)
                return std::type_identity<flow_error>{};
            else
                return std::type_identity<out>{};
        }
    }
}

/// Whether E keeps no state between items of type In (quietly: false when E does not say).
template <class E, class In>
constexpr bool stateless_for() {
    if constexpr (std::is_same_v<In, flow_error> || std::is_same_v<In, no_type>)
        return true;  // reported where the flow broke
    else
        return declared_stateless<E, In>;
}

/// Carries In through Es...: `type` after the last one, `after` after the first, `rest` the walk
/// from there; `stateless()` whether every element keeps no state. Each element is stepped once.
template <walk_mode M, class In, class... Es>
struct walk {
    using type = In;
    static constexpr bool stateless() { return true; }
};
template <walk_mode M, class In, class E, class... Es>
struct walk<M, In, E, Es...> {
    using after = typename decltype(step<M, E, In, sizeof...(Es) == 0>())::type;
    using rest = walk<M, after, Es...>;
    using type = typename rest::type;
    static constexpr bool stateless() { return stateless_for<E, In>() && rest::stateless(); }
};

/// The walk over the elements Es[From], ..., Es[From + Count - 1] of a chain (Seq: 0 ... Count-1).
template <walk_mode M, class In, class Tuple, std::size_t From, class Seq>
struct walk_part;
template <walk_mode M, class In, class... Es, std::size_t From, std::size_t... I>
struct walk_part<M, In, std::tuple<Es...>, From, std::index_sequence<I...>> {
    using type = walk<M, In, std::tuple_element_t<From + I, std::tuple<Es...>>...>;
};
template <walk_mode M, class In, class Tuple, std::size_t From, std::size_t Count>
using walk_range = typename walk_part<M, In, Tuple, From, std::make_index_sequence<Count>>::type;

/// The types a walk meets, as a std::tuple: its input, then the type after each element.
template <class Walk>
struct walk_edges;
template <walk_mode M, class In>
struct walk_edges<walk<M, In>> {
    using type = std::tuple<In>;
};
template <walk_mode M, class In, class E, class... Es>
struct walk_edges<walk<M, In, E, Es...>> {
    template <class... Ts>
    static std::tuple<In, Ts...> prepend(std::tuple<Ts...>*);
    using rest = typename walk_edges<typename walk<M, In, E, Es...>::rest>::type;
    using type = decltype(prepend(static_cast<rest*>(nullptr)));
};

}  // namespace forkline::detail
