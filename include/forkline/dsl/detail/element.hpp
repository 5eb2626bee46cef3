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
#include <tuple>
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
/// sentences) and, when the items may cross to another process (`Cross`), the boundary check;
/// yields flow_error after the first failure.
template <class E, class In, bool Cross = true>
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
            if constexpr (!Cross) {
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
}

/// Carries the type through Es...; `type` is the item type after the last one. With `Cross`
/// false the elements run in one process, and their items need not be able to leave it.
template <class In, bool Cross, class... Es>
struct flow_through {
    using type = In;
};
template <class In, bool Cross, class E, class... Es>
struct flow_through<In, Cross, E, Es...> {
    using type = typename flow_through<typename decltype(step<E, In, Cross>())::type, Cross, Es...>::type;
};
template <class In, class... Es>
using flow = flow_through<In, true, Es...>;

template <class E>
concept spreads = element<E> && requires { E::spreads; };
/// The first element of a keyed aggregation (fl::count_by, fl::reduce_by_key): it combines the
/// items of the process it runs in, so it always runs with the element before it.
template <class E>
concept combines = element<E> && requires { E::combines; };
template <class E>
concept plain_stage = stage_element<E> && !spreads<E> && !combines<E>;
/// A source that can be split: each replica of what follows reads its own part of the input.
/// It sends `output` items across processes and `view_output` ones (views into its input) to
/// stages in its own process that take them.
template <class E>
concept splittable = source_element<E> && requires { typename E::view_output; };

/// Whether element E takes items of type V as they are (quietly: false when E does not say).
template <class E, class V>
constexpr bool takes() {
    if constexpr (requires { E::template takes<V>; })
        return E::template takes<V>;
    else
        return false;
}

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

/// Every stage says whether it keeps state between items; only stateless ones may be farmed
/// or run by the readers of a split.
template <class E, class In>
constexpr bool stateless_for() {
    if constexpr (std::is_same_v<In, flow_error> || std::is_same_v<In, no_type>)
        return true;  // reported where the flow broke
    else if constexpr (requires { E::template stateless<In>; })
        return E::template stateless<In>;
    else
        return false;
}

/// The elements Es[From], ..., Es[From + Count - 1] of a chain, as a flow: `type` after them,
/// and whether all of them are stateless.
template <class T, bool Cross, class Tuple, std::size_t From, class Seq>
struct flow_range;
template <class T, bool Cross, class... Es, std::size_t From, std::size_t... I>
struct flow_range<T, Cross, std::tuple<Es...>, From, std::index_sequence<I...>> {
    template <std::size_t K>
    using at = std::tuple_element_t<From + K, std::tuple<Es...>>;
    using type = typename flow_through<T, Cross, at<I>...>::type;

    template <class U, class... Fs>
    struct walk {
        static constexpr bool stateless = true;
    };
    template <class U, class F, class... Fs>
    struct walk<U, F, Fs...> {
        static constexpr bool stateless =
            stateless_for<F, U>() && walk<typename decltype(step<F, U, false>())::type, Fs...>::stateless;
    };
    static constexpr bool stateless = walk<T, at<I>...>::stateless;
};

enum class split_kind {
    none,   ///< read by one process
    fused,  ///< readers run the stages after the source up to and with a farm or a combiner
    feeds,  ///< readers run the plain stages after the source and feed a partition_by
};

/// How a chain that starts with a splittable source is split: the plain stages after the source
/// run in its readers, and so does the element after them when it is a farm (fl::parallel too)
/// or the combiner of a keyed aggregation; a partition_by after them is fed by the readers.
/// Nothing is split when a stage between keeps state, or when no such element comes.
template <class... Es>
struct split_shape {
    static constexpr std::size_t n = sizeof...(Es);
    template <std::size_t I>
    using at = std::tuple_element_t<I, std::tuple<Es...>>;

    /// The first element after the source that is not a plain stage (n when none).
    static constexpr std::size_t taker = [] {
        constexpr bool plain[] = {plain_stage<Es>..., false};
        std::size_t i = 1;
        while (i < n && plain[i]) ++i;
        return i;
    }();
    static constexpr split_kind shape_of_taker() {
        if constexpr (taker >= n || !splittable<at<0>>) {
            return split_kind::none;
        } else {
            using T = at<taker>;
            if constexpr (combines<T>)
                return split_kind::fused;
            else if constexpr (spreads<T>)
                return T::partitioned ? split_kind::feeds : split_kind::fused;
            else
                return split_kind::none;
        }
    }
    /// The last element the readers run.
    static constexpr std::size_t last_fused = shape_of_taker() == split_kind::fused ? taker : taker - 1;

    /// Lines are views when the first element after the source runs in the readers and takes one.
    static constexpr bool views = [] {
        if constexpr (n > 1 && splittable<at<0>>) {
            if constexpr (last_fused >= 1) return takes<at<1>, typename at<0>::view_output>();
        }
        return false;
    }();
    using line = typename decltype([] {
        if constexpr (views)
            return std::type_identity<typename at<0>::view_output>{};
        else if constexpr (source_element<at<0>>)
            return std::type_identity<typename at<0>::output>{};
        else
            return std::type_identity<no_type>{};
    }())::type;

    using plain_part = flow_range<line, false, std::tuple<Es...>, 1, std::make_index_sequence<taker - 1>>;
    static constexpr split_kind kind =
        shape_of_taker() != split_kind::none && plain_part::stateless ? shape_of_taker() : split_kind::none;
    /// The chain is a source and plain stages so far: a split may still come.
    static constexpr bool open = splittable<at<0>> && taker >= n;
};

/// The item type after the readers of a split: their fused elements carry views freely, and
/// what leaves them must be able to cross.
template <class... Es>
constexpr auto split_output() {
    using shape = split_shape<Es...>;
    if constexpr (shape::last_fused == 0) {
        return std::type_identity<typename shape::line>{};
    } else {
        using before_last = flow_range<typename shape::line, false, std::tuple<Es...>, 1,
                                       std::make_index_sequence<shape::last_fused - 1>>;
        using last = typename shape::template at<shape::last_fused>;
        return std::type_identity<typename decltype(step<last, typename before_last::type, true>())::type>{};
    }
}

/// The elements after the readers of a split, as a flow from `In`.
template <class In, class Tuple, std::size_t From>
struct rest_flow;
template <class In, class... Es, std::size_t From>
struct rest_flow<In, std::tuple<Es...>, From> {
    using type = typename flow_range<In, true, std::tuple<Es...>, From,
                                     std::make_index_sequence<sizeof...(Es) - From>>::type;
};

/// True when the items flow through the whole chain without a failed check (a chain without a
/// source is checked once a source is attached). `Closed`: the chain is complete (fl::run,
/// fl::stream, fl::plan); before that, the plain stages after a splittable source may still end
/// up in its readers, so their items are not yet held to crossing.
template <bool Closed, class First, class... Rest>
constexpr bool flows() {
    if constexpr (source_element<First>) {
        using shape = split_shape<First, Rest...>;
        if constexpr (!First::check()) {
            return false;
        } else if constexpr (shape::kind != split_kind::none) {
            using out = typename decltype(split_output<First, Rest...>())::type;
            return !std::is_same_v<typename rest_flow<out, std::tuple<First, Rest...>, shape::last_fused + 1>::type,
                                   flow_error>;
        } else if constexpr (!Closed && shape::open) {
            return !std::is_same_v<typename flow_through<typename shape::line, false, Rest...>::type, flow_error>;
        } else {
            return !std::is_same_v<typename flow<typename First::output, Rest...>::type, flow_error>;
        }
    } else {
        return !std::is_same_v<typename flow<no_type, First, Rest...>::type, flow_error>;
    }
}

/// Runs every compile-time check of a chain; instantiated by operator| (`Closed` false) and by
/// run, stream and plan (`Closed` true).
template <bool Closed, class... Es>
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
        return flows<Closed, Es...>();
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
    [[maybe_unused]] constexpr bool checked = check_chain<false, Es...>();  // its static_asserts speak for it
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
