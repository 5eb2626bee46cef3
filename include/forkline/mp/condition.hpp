// fl::condition: wait until another process says something changed, under a lock.
#pragma once

#include <forkline/ipc/region.hpp>
#include <forkline/mp/lock.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace forkline {

/// A condition variable shared by the processes forked after it was made, with its lock: take
/// the lock (the condition is Lockable itself), test your predicate, wait() (which releases the
/// lock while it sleeps and takes it again), and notify() from a process that changed the state
/// under the same lock. A wait may end without a notify (spuriously): wait with a predicate.
/// A process that dies while waiting leaves nothing behind; one that dies holding the lock is
/// handled as fl::lock says.
///
/// Example:
///     fl::condition cv;   // with its own fl::lock, or fl::condition cv(lk) to share lk
///     { std::unique_lock g(cv); cv.wait([&] { return shared->ready; }); }
///     { std::scoped_lock g(cv); shared->ready = true; cv.notify_all(); }
/// Errors: std::system_error when the shared memory cannot be made.
class condition {
public:
    condition();
    /// Uses `m` as the lock (it must outlive the condition; hold it once, not recursively).
    explicit condition(mutex& m);
    condition(condition&&) noexcept = default;
    condition& operator=(condition&&) noexcept = default;

    void lock() { m_->lock(); }
    bool try_lock() { return m_->try_lock(); }
    void unlock() { m_->unlock(); }
    void acquire() { lock(); }
    void release() { unlock(); }

    /// Releases the lock (which the caller holds), sleeps until notified, takes the lock again.
    void wait() { wait_within(-1); }
    /// As wait(), for at most `timeout`; false when the time ran out.
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> timeout) {
        return wait_within(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count());
    }
    /// Waits until pred() holds (tested under the lock).
    template <class Pred>
    void wait(Pred pred) {
        while (!pred()) wait();
    }
    /// Waits until pred() holds or `timeout` passes; returns pred().
    template <class Rep, class Period, class Pred>
    bool wait_for(std::chrono::duration<Rep, Period> timeout, Pred pred) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!pred()) {
            auto left = deadline - std::chrono::steady_clock::now();
            if (left <= left.zero()) return pred();
            wait_for(left);
        }
        return true;
    }
    /// Wakes up to n waiters / all of them. Call it holding the lock.
    void notify(std::uint32_t n = 1);
    void notify_all();

    /// The lock in use.
    mutex& get_lock() noexcept { return *m_; }

private:
    bool wait_within(long long ns);
    std::unique_ptr<mutex> own_;
    mutex* m_;
    ipc::shared_region region_;
};

}  // namespace forkline
