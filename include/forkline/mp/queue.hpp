// fl::queue<T> and fl::joinable_queue<T>: many producers and many consumers across processes,
// any transferable T, bounded, with timeouts and close.
#pragma once

#include <forkline/codec/codec.hpp>
#include <forkline/core/diagnostics.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>

namespace forkline {

/// Thrown by put on a closed queue.
class queue_closed : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

namespace detail {

struct queue_shared;

/// The untyped queue in shared memory: records of bytes in a ring, one lock for the producers and
/// one for the consumers (robust: a process that dies holding one does not wedge the queue).
class queue_core {
public:
    enum class result { done, timeout, closed };
    using fill_fn = void (*)(void* ctx, std::byte* dst);
    using use_fn = void (*)(void* ctx, const std::byte* src, std::size_t n);

    queue_core(std::size_t maxsize, std::size_t ring_bytes, bool joinable);
    queue_core(queue_core&&) noexcept;
    queue_core& operator=(queue_core&&) noexcept;
    ~queue_core();

    /// Writes one record of n bytes (fill writes them). timeout_ns < 0: no limit; 0: no wait.
    result put(std::size_t n, fill_fn fill, void* ctx, long long timeout_ns);
    /// Reads one record (use reads it).
    result get(use_fn use, void* ctx, long long timeout_ns);
    void close() noexcept;
    bool closed() const noexcept;
    std::size_t size_approx() const noexcept;
    std::size_t maxsize() const noexcept;
    void task_done();
    bool join(long long timeout_ns);

private:
    std::unique_ptr<queue_shared> s_;
};

template <class Rep, class Period>
long long nanos(std::chrono::duration<Rep, Period> d) {
    return std::max<long long>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

/// The put and get calls every queue has, over the queue's put_within(v, ns) and get_within(ns)
/// (ns < 0: no limit; 0: no wait).
template <class Queue, class T>
class queue_calls {
public:
    /// Waits for room, then adds v.
    void put(const T& v) { self().put_within(v, -1); }
    /// Adds v if there is room now; false otherwise.
    bool try_put(const T& v) { return self().put_within(v, 0); }
    /// Waits at most `timeout` for room; false when there was none.
    template <class Rep, class Period>
    bool put(const T& v, std::chrono::duration<Rep, Period> timeout) {
        return self().put_within(v, nanos(timeout));
    }

    /// Waits for an item and takes it; nothing once the queue is closed and empty.
    std::optional<T> get() { return self().get_within(-1); }
    /// Takes an item if there is one now.
    std::optional<T> try_get() { return self().get_within(0); }
    /// Waits at most `timeout` for an item.
    template <class Rep, class Period>
    std::optional<T> get(std::chrono::duration<Rep, Period> timeout) {
        return self().get_within(nanos(timeout));
    }

private:
    Queue& self() { return static_cast<Queue&>(*this); }
};

}  // namespace detail

/// A queue shared by the processes forked after it was made: any number of them put, any number
/// get, each item reaches exactly one getter, in the order the puts happened. T is any
/// fl::transferable type (numbers, strings, structs, containers): items are encoded into a ring
/// of shared memory, so nothing is shared by pointer.
///
/// Bounded: `maxsize` items (0: no count limit) and `ring_bytes` bytes of encoded items (default
/// 1 MiB; an item larger than half of it streams through). put waits while it is full, get while
/// it is empty. close() ends it: puts throw fl::queue_closed, gets drain what is left, then return
/// nothing. Movable, not copyable.
///
/// Example:
///     fl::queue<std::string> q(100);
///     fl::process producer([&] { for (auto& w : words) q.put(w); q.close(); });
///     producer.start();
///     while (auto w = q.get()) use(*w);          // until closed and drained
/// Robust: a process killed while it holds one side's lock (inside put or get) does not wedge the
/// queue; the next caller on that side takes over within milliseconds. An item larger than half
/// of `ring_bytes` streams through the ring, its producer and a getter at work on it at once. When
/// the producer is killed partway, the getters drop what it wrote and go on with the next items:
/// nobody receives part of an item, and the put that never completed counts neither in
/// size_approx() nor in join(). When the getter is killed partway, the item is lost with it
/// (counted as got, and as done for join()); the next getter drops the rest as the producer
/// writes it. Limits: such an item's put waits for getters to take it, and a get that meets it
/// (or the rest of a lost one) waits for its producer, whatever the timeout; a process killed
/// between moving an item and counting it can leave size_approx() (and so maxsize) off by one.
/// Errors: fl::queue_closed from put on a closed queue; decode_error if an item's bytes were
/// damaged (the item is dropped); std::system_error when the shared memory cannot be made.
template <class T>
class queue : public detail::queue_calls<queue<T>, T> {
    static_assert(transferable<T>,
                  FORKLINE_CANNOT_CROSS("forkline::queue<T>: T", "another process", "; use owning values"));

public:
    explicit queue(std::size_t maxsize = 0, std::size_t ring_bytes = 1 << 20) : core_(maxsize, ring_bytes, false) {}

    /// No more puts; getters drain what is left, then get nothing. Wakes everyone waiting.
    void close() noexcept { core_.close(); }
    bool closed() const noexcept { return core_.closed(); }
    /// Items in the queue now (others may change it at once).
    std::size_t size_approx() const noexcept { return core_.size_approx(); }
    bool empty() const noexcept { return size_approx() == 0; }

protected:
    queue(std::size_t maxsize, std::size_t ring_bytes, bool joinable) : core_(maxsize, ring_bytes, joinable) {}
    detail::queue_core core_;

private:
    friend detail::queue_calls<queue<T>, T>;
    bool put_within(const T& v, long long ns) {
        auto r = core_.put(
            encoded_size(v), [](void* ctx, std::byte* dst) { encode(*static_cast<const T*>(ctx), dst); },
            const_cast<T*>(&v), ns);
        if (r == detail::queue_core::result::closed) throw queue_closed("forkline::queue::put: the queue is closed");
        return r == detail::queue_core::result::done;
    }
    std::optional<T> get_within(long long ns) {
        std::optional<T> out;
        core_.get([](void* ctx, const std::byte* src,
                     std::size_t n) { static_cast<std::optional<T>*>(ctx)->emplace(decode<T>(src, n)); },
                  &out, ns);
        return out;
    }
};

/// A queue whose consumers say when they finished each item (task_done), so a producer can wait
/// until all items put so far were handled (join), as Python's JoinableQueue.
/// Example: workers `while (auto t = q.get()) { run(*t); q.task_done(); }`; the parent
/// `for (...) q.put(t); q.join();`
/// Errors: task_done() more times than items put throws std::logic_error.
template <class T>
class joinable_queue : public queue<T> {
public:
    explicit joinable_queue(std::size_t maxsize = 0, std::size_t ring_bytes = 1 << 20)
        : queue<T>(maxsize, ring_bytes, true) {}
    void task_done() { this->core_.task_done(); }
    /// Waits until every item put so far had its task_done().
    void join() { this->core_.join(-1); }
    template <class Rep, class Period>
    bool join(std::chrono::duration<Rep, Period> timeout) {
        return this->core_.join(detail::nanos(timeout));
    }
};

}  // namespace forkline
