// What an edge between two processes is: the two ends a router sends into and a collector reads
// from, as concepts. The shared-memory ring (ring_channel.hpp) is the first model; an edge over
// MPI, or one that keeps what it sent until the other side has finished with it, is another model
// of the same two concepts, and the routers (route/) take it without a change.
#pragma once

#include <concepts>

namespace forkline::detail {

/// The sending end of an edge, for items of type T. A type W models channel_sender<W, T> when,
/// for `w` an lvalue of W and `t` of type const T&:
///  1. `w.push(t)` sends one item; items arrive in the order they were pushed. It may wait for
///     room, and a wait ends by throwing ipc::aborted once the run is aborted (the end was made
///     with the run's ipc::wait_policy, which also says what to do before sleeping).
///  2. Items are published in batches: a pushed item is visible to the receiver by the next full
///     batch at the latest, or at once when the receiver sleeps, or on 4, 5 or 6.
///  3. `w.has_room()` says, without waiting, whether an item fits now (a router that serves
///     several ends asks it to choose one).
///  4. `w.nudge()` publishes what was pushed if the receiver is idle; it is cheap, and called
///     between input items so a stage that drops most of its input still hands over what it made.
///  5. `w.flush()` publishes everything pushed, now: before this process sleeps on something else.
///  6. `w.close()` publishes and ends the stream; nothing is pushed after it.
///  7. `w.fill()` is the share of the edge's capacity in use, in [0, 1], as last published.
///  8. When the receiver frees room, it wakes the ipc::waiter the wiring gave this end, which
///     several ends of one router share: the router sleeps on that waiter, then asks 3 of each.
template <class W, class T>
concept channel_sender = requires(W& w, const T& t) {
    w.push(t);
    { w.has_room() } -> std::same_as<bool>;
    w.nudge();
    w.flush();
    w.close();
    { w.fill() } -> std::convertible_to<double>;
};

/// A function a receiver calls with each item.
struct item_sink_archetype {
    template <class T>
    void operator()(T&&) const {}
};

/// The receiving end of an edge, for items of type T. A type R models channel_receiver<R, T>
/// when, for `r` an lvalue of R and `f` callable as f(T&&):
///  1. `r.next(f)` waits for the next item and calls f(T&&) with it, or returns false (without
///     calling f) once the sender closed and everything was read. Waits end as 1 above.
///  2. `r.drain(f)` calls f on every item until the end of the stream, handing room back a batch
///     at a time.
///  3. The item f receives is f's for the call (it may move from it); after f returns, the
///     receiver may reuse its storage for the next one.
///  4. `r.has_item()` says, without waiting, whether the next item is there.
///  5. `r.finished()` says the sender closed and everything was read.
///  6. `r.release()` hands the room of what was read back now (before sleeping elsewhere).
///  7. `r.fill()` as for the sender.
///  8. When the sender publishes, it wakes the ipc::waiter the wiring gave this end, shared by
///     the ends of one collector, which sleeps on it and then asks 4 and 5 of each.
template <class R, class T>
concept channel_receiver = requires(R& r, item_sink_archetype f) {
    { r.next(f) } -> std::same_as<bool>;
    r.drain(f);
    { r.has_item() } -> std::same_as<bool>;
    { r.finished() } -> std::same_as<bool>;
    r.release();
    { r.fill() } -> std::convertible_to<double>;
};

}  // namespace forkline::detail
