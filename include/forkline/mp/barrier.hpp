// fl::barrier: n processes wait for each other, then all go on.
#pragma once

#include <forkline/ipc/region.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>

namespace forkline {

/// Thrown by fl::barrier::wait when the barrier is broken: a wait timed out, abort() or reset()
/// was called while processes waited, or the action threw.
class broken_barrier : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A barrier for `parties` processes (forked after it was made): each wait() returns once all
/// have called it, with a distinct index 0 ... parties-1 (the order they came); the last to come
/// first runs `action` (in its own process). Reusable, round after round.
///
/// A wait that times out breaks the barrier, as abort() does: every waiter and every later wait
/// throws fl::broken_barrier until reset(). reset() empties it (waiters at that moment get
/// broken_barrier) and makes it usable again.
/// Example: `fl::barrier b(4);` each of 4 workers: `compute(step); b.wait();`
/// Errors: std::invalid_argument for 0 parties; std::system_error when shared memory cannot be made.
class barrier {
public:
    explicit barrier(std::uint32_t parties, std::function<void()> action = {});
    barrier(barrier&&) noexcept = default;
    barrier& operator=(barrier&&) noexcept = default;

    std::uint32_t wait() { return wait_within(-1); }
    template <class Rep, class Period>
    std::uint32_t wait(std::chrono::duration<Rep, Period> timeout) {
        return wait_within(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count());
    }
    void reset();
    void abort();
    bool broken() const noexcept;
    std::uint32_t parties() const noexcept { return parties_; }
    /// Processes waiting now.
    std::uint32_t n_waiting() const noexcept;

private:
    std::uint32_t wait_within(long long ns);
    std::uint32_t parties_;
    std::function<void()> action_;
    ipc::shared_region region_;
};

}  // namespace forkline
