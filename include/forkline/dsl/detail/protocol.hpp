// The element protocol: what a source, a stage and a sink provide for operator| to check them and
// for a run to execute them, as concepts, and the router a runner pushes into. Element headers
// assert that their element models its concept for a sample item type (map.hpp, filter.hpp,
// reduce.hpp, iota.hpp), so a broken element breaks the build next to it.
//
// An element E derives from pipe_base (operator| lives there) and provides:
//  1. `role`: source_role, stage_role or sink_role; sources start a chain, sinks end it.
//  2. `default_name`, a string_view: what plans and errors call it ("map"), unless it has a
//     `name_` member or a `name()` (fl::named wraps elements so).
// A source (concept `source`) also provides:
//  3. `output`: the type of the items it sends.
//  4. `check()`, constexpr bool: its own compile-time checks, each a static_assert with a sentence
//     naming the call (as all checks below); false when one failed.
//  5. `produce(out)` or `produce(out, ctx)` (ctx a source_context: its run's abort flag and where
//     rejects go): pushes every item into `out` with `out.push(x)`, in the source's process. `out`
//     models router (below); it may offer more (`claim()`/`commit(n)` to fill a ring in place),
//     which a source tests for.
// A stage (concept `stage_for<E, In>`, for items of type In) also provides:
//  6. `check<In>()`, constexpr bool: as 4, for its input type.
//  7. `output<In>`: the type of the items it sends on.
//  8. `make_runner<In>()`: its per-process state, a runner with `push(In&&, out)`, which pushes
//     what the item makes into `out` (any number of items), and `finish(out)` at the end of its
//     input, which pushes what it still holds. The runner is made in the process it runs in.
//     A spread element (9) has no runner of its own: its replicas run its inner chain fused.
//  Optional, each false when absent:
//     `stateless<In>`: it keeps no state between items, so it may be farmed or run by the readers
//     of a split; `takes<In>`: it takes In as it is (a view into a reader's input, 11).
// A sink (concept `sink_for<E, In>`) also provides:
//  6'. `check<In>()`, as 6.
//  7'. `result<In>`: what fl::run returns (void allowed).
//  8'. `make_runner<In>()`: a runner with `push(In&&)` and `finish()`, which returns the result.
//     A sink runs in the caller, or last in a replica (fl::partition_by(n, key, reduce(...))).
// Markers, tested with the concepts below rather than by name:
//  9. `spreads` (concept `spreads`): a farm, fl::parallel or fl::partition_by; it has `replicas_`
//     (0: the planner decides), `inner_` (the chain its replicas run), `ordered` (output order
//     kept) and `partitioned` (items routed by `route(x, n)`, not to a free replica).
// 10. `combines` (concept `combines`): the first element of a keyed aggregation, which runs in the
//     process of the element before it.
// 11. `view_output` on a source (concept `splittable`): the source can be split; its readers
//     (`read_split<Line>(ctx, sink)`) hand `view_output` items to stages that take them (see 8).
// 12. `split` (concept `split_readers`): the readers of a split, made by fl::run; they run
//     `produce_split(out, ctx)` instead of 5, and carry `ordered` as 9.
// 13. `late` (concept `late_stage`): a spread element that works only once its input has ended
//     (the merge of a keyed aggregation): the planner gives its replicas no core of their own.
// 14. `input_size()` on a source (optional): how much input it has, as an input_size, when that
//     is known before the run (iota, a sized range, files): the progress display's bar. A source
//     whose unit is bytes adds the bytes it finished with its context's `read(n)`.
#pragma once

#include <concepts>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace forkline::detail {

struct source_role {};
struct stage_role {};
struct sink_role {};

/// Base of every element and pipeline; operator| is found through it by argument-dependent lookup.
struct pipe_base;

/// How much input a source has (14): items, or bytes of files.
struct input_size {
    std::uint64_t amount = 0;
    bool bytes = false;
};

/// What a source's process gets from its run (split.hpp).
struct source_context;

template <class E>
concept element = std::derived_from<E, pipe_base> && requires { typename E::role; };
template <class E>
concept source_element = element<E> && std::same_as<typename E::role, source_role>;
template <class E>
concept stage_element = element<E> && std::same_as<typename E::role, stage_role>;
template <class E>
concept sink_element = element<E> && std::same_as<typename E::role, sink_role>;

/// A router sends an element's items on: what a runner (8) or a source (5) pushes into. A type R
/// models router<R, T> when, for `r` an lvalue of R and `t` a T (an lvalue or an rvalue):
///  1. `r.push(t)` sends one item on, to whichever edge or element the router stands for: to
///     another process (run/detail/route/), to the next element of a process group (to_next,
///     a batch at a time), or to the next element of a fused chain (fused.hpp, one call each).
///  2. `r.nudge()` is called between input items: it publishes to idle receivers (channel_sender 4).
///  3. `r.flush()` is called before this process sleeps on something else: everything pushed
///     is handed on (to the next element in the same process too, which then runs and may throw).
///  4. `r.close()` ends the element's output: edges close, the next element here finishes.
/// A process group picks its routers once, when it is wired; its loops are compiled for each.
template <class R, class T>
concept router = requires(R& r, T&& t, const T& c) {
    r.push(std::move(t));
    r.push(c);
    r.nudge();
    r.flush();
    r.close();
};

/// Stands for what a runner or a source pushes into (a router) where only the calls are checked.
struct out_archetype {
    template <class T>
    void push(T&&);
};

/// The calls of 5: a source that produces alone, or with its run's context.
template <class E, class Out = out_archetype>
concept produces_alone = requires(E& e, Out& out) { e.produce(out); };
template <class E, class Out = out_archetype>
concept produces_with_context = requires(E& e, Out& out, source_context& ctx) { e.produce(out, ctx); };

template <class E>
concept spreads = element<E> && requires { E::spreads; };
template <class E>
concept combines = element<E> && requires { E::combines; };
template <class E>
concept splittable = source_element<E> && requires { typename E::view_output; };
template <class E>
concept split_readers = source_element<E> && requires(E& e, out_archetype& out, source_context& ctx) {
    E::split;
    e.produce_split(out, ctx);
};
template <class E>
concept late_stage = element<E> && requires { E::late; };

/// A source: 1 to 5, or 12 for the readers of a split.
template <class E>
concept source = source_element<E> && requires {
    typename E::output;
    { E::check() } -> std::same_as<bool>;
} && (produces_alone<E> || produces_with_context<E> || split_readers<E>);

/// A stage's runner (8).
template <class R, class In>
concept stage_runner = requires(R& r, In&& x, out_archetype& out) {
    r.push(static_cast<In&&>(x), out);
    r.finish(out);
};

/// A stage for items of type In: 1, 2 and 6 to 8.
template <class E, class In>
concept stage_for = stage_element<E> && requires {
    { E::template check<In>() } -> std::same_as<bool>;
    typename E::template output<In>;
} && (spreads<E> || requires(E& e) {
    { e.template make_runner<In>() } -> stage_runner<In>;
});

/// A sink's runner (8').
template <class R, class In, class Result>
concept sink_runner = requires(R& r, In&& x) {
    r.push(static_cast<In&&>(x));
    { r.finish() } -> std::convertible_to<Result>;
};

/// A sink for items of type In: 1, 2 and 6' to 8'.
template <class E, class In>
concept sink_for = sink_element<E> && requires(E& e) {
    { E::template check<In>() } -> std::same_as<bool>;
    typename E::template result<In>;
    { e.template make_runner<In>() } -> sink_runner<In, typename E::template result<In>>;
};

/// The optional members of 8: true only when E says so for In.
template <class E, class In>
concept declared_stateless = requires { requires bool(E::template stateless<In>); };
template <class E, class In>
concept takes_as_is = requires { requires bool(E::template takes<In>); };

}  // namespace forkline::detail
