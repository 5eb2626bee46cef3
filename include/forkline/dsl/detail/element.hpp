// What every pipeline element shares: its role (source, stage or sink), the one operator| that
// composes elements into a forkline::pipeline, and the compile-time walk that carries the item
// type from the source through each stage and stops at the first mistake with a sentence.
#pragma once

#include <forkline/codec/codec.hpp>

#include <boost/hana/at.hpp>
#include <boost/hana/concat.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/transform.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/unpack.hpp>

#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace forkline {

namespace detail {

struct source_role {};
struct stage_role {};
struct sink_role {};

/// Base of every element and pipeline; operator| is found through it by argument-dependent lookup.
struct pipe_base;

template <class E>
concept element = std::derived_from<E, pipe_base> && requires { typename E::role; };
template <class E>
concept source_element = element<E> && std::same_as<typename E::role, source_role>;
template <class E>
concept stage_element = element<E> && std::same_as<typename E::role, stage_role>;
template <class E>
concept sink_element = element<E> && std::same_as<typename E::role, sink_role>;

/// Marks "no items flow here": after a sink, or in a chain without a source.
struct no_type {};
/// Marks "a check failed here": later checks stay quiet, and nothing is instantiated from it.
struct flow_error {};

}  // namespace detail

/// A chain of elements joined with `|`: a source, stages, and a sink (each part optional, in that
/// order). A chain without a source is a reusable stage: `auto clean = fl::map(trim) | fl::filter(nonempty);`.
/// A pipeline is a value; nothing runs until fl::run, fl::stream or fl::plan gets it.
template <class... Elems>
class pipeline;

namespace detail {

template <class T>
struct is_pipeline : std::false_type {};
template <class... Es>
struct is_pipeline<pipeline<Es...>> : std::true_type {};

template <class T>
concept pipeable = element<std::remove_cvref_t<T>> || is_pipeline<std::remove_cvref_t<T>>::value;

/// The name an element shows in plans and errors ("map", or the one given with fl::named).
template <class E>
std::string name_of(const E& e) {
    if constexpr (requires { e.name_; })
        return e.name_;
    else if constexpr (requires { e.name(); })
        return e.name();
    else
        return std::string(E::default_name);
}

/// Checks that a stage's items can cross a process boundary; the diagnostic's context names both.
template <class Item, class Stage>
struct crosses_boundary {
    static_assert(transferable<Item>,
                  "forkline: operator|: the items this stage passes on cannot cross a process boundary (a "
                  "pointer, reference, string_view or span would dangle in another process; a type needs a "
                  "forkline::codec); pass owning values such as std::string or std::vector instead");
    static constexpr bool value = transferable<Item>;
};

/// The item type after element E when E receives In; runs E's own checks (static_asserts with
/// sentences) and the boundary check, and yields no_type after the first failure.
template <class E, class In>
constexpr auto step() {
    if constexpr (std::is_same_v<In, no_type> || std::is_same_v<In, flow_error>) {
        return std::type_identity<In>{};
    } else if constexpr (source_element<E>) {
        return std::type_identity<flow_error>{};  // reported by check_chain
    } else {
        constexpr bool ok = E::template check<In>();
        if constexpr (!ok) {
            return std::type_identity<flow_error>{};
        } else if constexpr (sink_element<E>) {
            return std::type_identity<no_type>{};  // nothing flows past a sink
        } else {
            using out = typename E::template output<In>;
            static_assert(crosses_boundary<out, E>::value || true);  // instantiated here, so it speaks first
            if constexpr (!transferable<out>)
                return std::type_identity<flow_error>{};
            else
                return std::type_identity<out>{};
        }
    }
}

/// Carries the type through Es...; `type` is the item type after the last one.
template <class In, class... Es>
struct flow {
    using type = In;
};
template <class In, class E, class... Es>
struct flow<In, E, Es...> {
    using type = typename flow<typename decltype(step<E, In>())::type, Es...>::type;
};

template <class E>
concept spreads = element<E> && requires { E::spreads; };

/// Replicas may feed replicas directly when no order is kept on either side: each replica
/// then writes to every replica after it. Order cannot survive several dispatchers.
template <class E>
constexpr bool ordered_spread() {
    if constexpr (spreads<E>)
        return E::ordered;
    else
        return false;
}
template <class... Es>
constexpr bool no_adjacent_spreads() {
    bool prev = false, prev_ordered = false, ok = true;
    ((ok = ok && !(prev && spreads<Es> && (prev_ordered || ordered_spread<Es>())), prev = spreads<Es>,
      prev_ordered = ordered_spread<Es>()),
     ...);
    return ok;
}

template <class... Es>
constexpr bool source_only_first() {
    std::size_t i = 0;
    bool ok = true;
    ((ok = ok && (!source_element<Es> || i == 0), ++i), ...);
    return ok;
}

template <class... Es>
constexpr bool sink_only_last() {
    constexpr std::size_t n = sizeof...(Es);
    std::size_t i = 0;
    bool ok = true;
    ((ok = ok && (!sink_element<Es> || i + 1 == n), ++i), ...);
    return ok;
}

/// True when the items flow through the whole chain without a failed check (a chain without a
/// source is checked once a source is attached).
template <class First, class... Rest>
constexpr bool flows() {
    if constexpr (source_element<First>) {
        if constexpr (!First::check())
            return false;
        else
            return !std::is_same_v<typename flow<typename First::output, Rest...>::type, flow_error>;
    } else {
        return !std::is_same_v<typename flow<no_type, First, Rest...>::type, flow_error>;
    }
}

/// Runs every compile-time check of a chain; instantiated by operator|, run, stream and plan.
template <class... Es>
constexpr bool check_chain() {
    static_assert(source_only_first<Es...>(),
                  "forkline: operator|: a source (from, iota, generate, read_lines) can only start a "
                  "pipeline; it cannot follow another element");
    static_assert(sink_only_last<Es...>(),
                  "forkline: operator|: a sink (to_vector, reduce, for_each, count, write_lines) must be "
                  "the last element of a pipeline; nothing can follow it");
    static_assert(no_adjacent_spreads<Es...>(),
                  "forkline: operator|: an ordered farm (or parallel) cannot be next to another farm, parallel or "
                  "partition_by stage: order cannot be kept across several dispatchers; pass fl::unordered, put a "
                  "plain stage between them, or farm both stages together: fl::farm(n, a | b)");
    if constexpr (source_only_first<Es...>() && sink_only_last<Es...>() && no_adjacent_spreads<Es...>())
        return flows<Es...>();
    else
        return false;
}

template <class... Es>
pipeline<Es...> make_pipeline(boost::hana::tuple<Es...> elems);

template <class T>
auto as_tuple(T&& x);

struct pipe_base {
    /// Joins two elements or chains: `source | stage`, `stage | stage`, `stage | sink`, ...
    /// Mistakes (mismatched item types, something after a sink, a source in the middle, items
    /// that cannot cross a process boundary) are compile errors that name the call.
    template <class A, class B>
        requires pipeable<A> && pipeable<B>
    friend auto operator|(A&& a, B&& b) {
        return make_pipeline(boost::hana::concat(as_tuple(std::forward<A>(a)), as_tuple(std::forward<B>(b))));
    }
};

}  // namespace detail

template <class... Elems>
class pipeline : public detail::pipe_base {
public:
    using elements = boost::hana::tuple<Elems...>;
    static constexpr std::size_t size = sizeof...(Elems);

    explicit pipeline(elements e) : elems_(std::move(e)) {}

    const elements& stages() const& noexcept { return elems_; }
    elements& stages() & noexcept { return elems_; }
    elements&& stages() && noexcept { return std::move(elems_); }

private:
    elements elems_;
};

namespace detail {

template <class T>
auto as_tuple(T&& x) {
    if constexpr (is_pipeline<std::remove_cvref_t<T>>::value)
        return std::forward<T>(x).stages();
    else
        return boost::hana::make_tuple(std::forward<T>(x));
}

template <class... Es>
pipeline<Es...> make_pipeline(boost::hana::tuple<Es...> elems) {
    [[maybe_unused]] constexpr bool checked = check_chain<Es...>();  // its static_asserts speak for it
    return pipeline<Es...>(std::move(elems));
}

/// wrap(element, 0) for an element; for a chain, the chain of wrap(element, i) for each of its
/// elements, i counting from 1 (fl::named and fl::cost wrap elements this way).
template <class E, class Wrap>
auto wrap_elements(E&& e, Wrap wrap) {
    using elem = std::remove_cvref_t<E>;
    if constexpr (element<elem>) {
        return wrap(std::forward<E>(e), std::size_t{0});
    } else {
        auto&& elems = std::forward<E>(e).stages();
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            return make_pipeline(
                boost::hana::make_tuple(wrap(boost::hana::at_c<I>(std::forward<decltype(elems)>(elems)), I + 1)...));
        }(std::make_index_sequence<elem::size>{});
    }
}

}  // namespace detail
}  // namespace forkline
