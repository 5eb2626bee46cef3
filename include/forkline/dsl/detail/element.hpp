// What every pipeline element shares: the one operator| that composes elements (protocol.hpp says
// what they provide) into a forkline::pipeline, and the checks of a chain: where sources and sinks
// may stand, how a chain with a splittable source is split, and the walk (walk.hpp) of its items.
#pragma once

#include <forkline/dsl/detail/protocol.hpp>
#include <forkline/dsl/detail/walk.hpp>

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

template <class E>
concept plain_stage = stage_element<E> && !spreads<E> && !combines<E>;

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
            if constexpr (last_fused >= 1) return takes_as_is<at<1>, typename at<0>::view_output>;
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

    using plain_part = walk_range<in_one_process, line, std::tuple<Es...>, 1, taker - 1>;
    static constexpr split_kind kind =
        shape_of_taker() != split_kind::none && plain_part::stateless() ? shape_of_taker() : split_kind::none;
    /// The chain is a source and plain stages so far: a split may still come.
    static constexpr bool open = splittable<at<0>> && taker >= n;
};

/// The item type after the readers of a split: their fused elements carry views freely, and
/// what leaves them must be able to cross.
template <class... Es>
constexpr auto split_output_of() {
    using shape = split_shape<Es...>;
    if constexpr (shape::last_fused == 0) {
        return std::type_identity<typename shape::line>{};
    } else {
        using before_last = walk_range<in_one_process, typename shape::line, std::tuple<Es...>, 1, shape::last_fused - 1>;
        using last = typename shape::template at<shape::last_fused>;
        return std::type_identity<typename walk<across_processes, typename before_last::type, last>::type>{};
    }
}
template <class... Es>
using split_output = typename decltype(split_output_of<Es...>())::type;

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
            using rest = walk_range<across_processes, split_output<First, Rest...>, std::tuple<First, Rest...>,
                                    shape::last_fused + 1, sizeof...(Rest) - shape::last_fused>;
            return !std::is_same_v<typename rest::type, flow_error>;
        } else if constexpr (!Closed && shape::open) {
            return !std::is_same_v<typename walk<in_one_process, typename shape::line, Rest...>::type, flow_error>;
        } else {
            return !std::is_same_v<typename walk<across_processes, typename First::output, Rest...>::type, flow_error>;
        }
    } else {
        return !std::is_same_v<typename walk<across_processes, no_type, First, Rest...>::type, flow_error>;
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
/// elements, i counting from 1 (fl::named, fl::cost and fl::restart wrap elements this way).
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

/// An element, or each element of a chain, as `With<X>{x, value}` (fl::cost, fl::restart).
template <template <class> class With, class E, class V>
auto with_each(E&& e, const V& value) {
    return wrap_elements(std::forward<E>(e), [&]<class X>(X&& x, std::size_t) {
        return With<std::remove_cvref_t<X>>{std::forward<X>(x), value};
    });
}

}  // namespace detail
}  // namespace forkline
