// What the routers (how a process sends an element's items on; their concept is the element
// protocol's, dsl/detail/protocol.hpp) and the collectors (how it gathers an element's input)
// share: the collector concept, the numbered item of an ordered farm's edges,
// and end_set, the ends of a router or collector that serves several edges and sleeps on one
// waiter for all of them. One header per router and collector beside this one; the wiring
// (run/detail/wiring.hpp) picks them from the plan.
#pragma once

#include <forkline/core/config.hpp>
#include <forkline/dsl/detail/protocol.hpp>
#include <forkline/ipc/waiter.hpp>
#include <forkline/run/detail/channel.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

namespace forkline::detail {

/// An item of an ordered farm's edge: its input's sequence number, whether it is the last item
/// made from that input, and the item (none when the input made nothing).
template <class T>
struct sequenced {
    std::uint64_t tag;  // seq << 1 | last
    std::optional<T> value;
};

/// A collector's hooks when the element's router has none to take (see collector 2).
struct no_hooks {
    void begin_item(std::uint64_t) noexcept {}
    void end_item() noexcept {}
};

/// A collector gathers an element's input from one or more edges. A type C models
/// collector<C, T> when, for `c` an lvalue of C, `f` callable as f(T&&) and `out` the element's
/// router:
///  1. `c.next(f)` as channel_receiver 1, over all of its edges: f gets the next item, or the
///     call returns false once every edge ended.
///  2. `c.drain(f, out)` calls f on every item to the end. A collector of numbered items (the
///     input of an ordered farm's replica) tells `out` each input's number before f
///     (`out.begin_item(seq)`) and its end after (`out.end_item()`); others leave `out` alone.
///  3. `c.release()` as channel_receiver 6, for all of its edges.
template <class C, class T>
concept collector = requires(C& c, item_sink_archetype f, no_hooks& out) {
    { c.next(f) } -> std::same_as<bool>;
    c.drain(f, out);
    c.release();
};

/// The ends of a router or collector that serves several edges, and the waiter every one of their
/// other sides wakes (channel_sender 8, channel_receiver 8). Ends stay where they were made.
template <class End>
class end_set {
public:
    end_set(ipc::waiter& fan, const ipc::wait_policy& policy) noexcept : fan_(&fan), policy_(&policy) {}

    /// Makes one more end in place from `args`.
    template <class... Args>
    End& add(Args&&... args) {
        End& e = ends_.emplace_back(std::forward<Args>(args)...);
        index_.push_back(&e);
        return e;
    }
    std::size_t size() const noexcept { return index_.size(); }
    End& operator[](std::size_t k) noexcept { return *index_[k]; }
    auto begin() noexcept { return index_.begin(); }
    auto end() noexcept { return index_.end(); }

    /// Every end's nudge, flush, close or release: for a router or collector that treats its
    /// ends as one.
    void nudge() noexcept {
        for (End* e : index_) e->nudge();
    }
    void flush() {
        for (End* e : index_) e->flush();
    }
    void close() {
        for (End* e : index_) e->close();
    }
    void release() noexcept {
        for (End* e : index_) e->release();
    }

    /// Sleeps until `ready()` holds (it asks the ends); throws ipc::aborted when the run is.
    template <class Ready>
    void wait(Ready&& ready) {
        fan_->wait(ready, *policy_);
    }

private:
    std::deque<End> ends_;       ///< neither movable nor copyable: a deque keeps them in place
    std::vector<End*> index_;    ///< ends_, indexed without the deque's arithmetic
    ipc::waiter* fan_;
    const ipc::wait_policy* policy_;
};

}  // namespace forkline::detail
