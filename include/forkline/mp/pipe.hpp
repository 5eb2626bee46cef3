// fl::pipe<T>(): two connected ends, as Python's multiprocessing.Pipe; each end sends and
// receives (or, not duplex, the first only receives and the second only sends).
#pragma once

#include <forkline/mp/queue.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace forkline {

template <class T>
class connection;

/// Two connected ends: with `duplex` (the default) each sends to the other; otherwise the first
/// only receives and the second only sends, as Python's Pipe(duplex=False). Each direction holds
/// up to `ring_bytes` of encoded items before send waits.
/// Example:
///     auto [parent, child] = fl::pipe<std::string>();
///     fl::process p([&] { child.send("hello"); child.close(); });
///     p.start();
///     while (auto m = parent.recv()) std::puts(m->c_str());
/// Errors: std::system_error when the shared memory cannot be made.
template <class T>
std::pair<connection<T>, connection<T>> pipe(bool duplex = true, std::size_t ring_bytes = 1 << 20);

/// One end of an fl::pipe. What one end sends the other receives, in order; the processes forked
/// after the pipe was made share it. Meant for one process at each end, as Python's Connection;
/// two processes using one end at once stay safe (each direction is an fl::queue) but interleave.
///
/// close() ends both directions at this end: the other end's recv drains what was sent, then
/// returns nothing; its send throws fl::queue_closed. Copies of an end are the same end, and the
/// ends are shared memory, not descriptors: unlike Python, a parent must not close() the child's
/// end after start() (that would close it for the child too). An end whose process dies without
/// close() is not closed: use recv(timeout) where the other side may die.
/// Errors: std::logic_error for send on an end that only receives or recv on one that only sends;
/// fl::queue_closed for send after either end closed.
template <class T>
class connection {
public:
    /// Waits for room in the other end's direction (ring_bytes of encoded items), then sends v.
    void send(const T& v) { out("send").put(v); }

    /// The next item; nothing once the other end closed and everything it sent was received.
    std::optional<T> recv() { return in("recv").get(); }
    /// Waits at most `timeout`; nothing when no item came (or the other end closed).
    template <class Rep, class Period>
    std::optional<T> recv(std::chrono::duration<Rep, Period> timeout) {
        return in("recv").get(timeout);
    }
    /// True when recv would not wait: an item is there, or the other end closed.
    bool poll() const { return in_ && (in_->size_approx() > 0 || in_->closed()); }

    /// Closes both directions at this end (idempotent).
    void close() noexcept {
        if (out_) out_->close();
        if (in_) in_->close();
    }
    bool readable() const noexcept { return in_ != nullptr; }
    bool writable() const noexcept { return out_ != nullptr; }

private:
    template <class U>
    friend std::pair<connection<U>, connection<U>> pipe(bool, std::size_t);

    connection(std::shared_ptr<queue<T>> in, std::shared_ptr<queue<T>> out) : in_(std::move(in)), out_(std::move(out)) {}
    queue<T>& in(const char* what) const {
        if (!in_) throw std::logic_error(std::string("forkline::connection::") + what + ": this end of the pipe only sends");
        return *in_;
    }
    queue<T>& out(const char* what) const {
        if (!out_) throw std::logic_error(std::string("forkline::connection::") + what + ": this end of the pipe only receives");
        return *out_;
    }

    std::shared_ptr<queue<T>> in_, out_;
};

template <class T>
std::pair<connection<T>, connection<T>> pipe(bool duplex, std::size_t ring_bytes) {
    auto to_first = std::make_shared<queue<T>>(0, ring_bytes);
    if (!duplex) return {connection<T>(to_first, nullptr), connection<T>(nullptr, to_first)};
    auto to_second = std::make_shared<queue<T>>(0, ring_bytes);
    return {connection<T>(to_first, to_second), connection<T>(to_second, to_first)};
}

}  // namespace forkline
