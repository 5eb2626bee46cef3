// fl::semaphore and fl::bounded_semaphore: process-shared counting semaphores.
#pragma once

#include <forkline/ipc/region.hpp>

#include <chrono>
#include <cstdint>

namespace forkline {

/// A counter shared by the processes forked after it was made: acquire() takes one (waiting while
/// it is 0), release() gives one back and wakes a waiter. Lockable (lock / unlock / try_lock and
/// the timed forms), so std::scoped_lock works for "at most n at a time".
/// Example: `fl::semaphore slots(3);` then in each worker `std::scoped_lock g(slots);`.
/// Errors: std::system_error when the shared memory cannot be made.
class semaphore {
public:
    explicit semaphore(std::uint32_t initial = 1) : semaphore(initial, 0) {}
    semaphore(semaphore&&) noexcept = default;
    semaphore& operator=(semaphore&&) noexcept = default;

    void acquire();
    bool try_acquire();
    template <class Rep, class Period>
    bool acquire(std::chrono::duration<Rep, Period> timeout) {
        return acquire_within(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count());
    }
    /// Gives back n. Errors (fl::bounded_semaphore): std::logic_error past its initial value.
    void release(std::uint32_t n = 1);
    /// The count now (it may change at once).
    std::uint32_t value() const noexcept;

    void lock() { acquire(); }
    bool try_lock() { return try_acquire(); }
    template <class Rep, class Period>
    bool try_lock_for(std::chrono::duration<Rep, Period> d) {
        return acquire(d);
    }
    void unlock() { release(); }

protected:
    semaphore(std::uint32_t initial, std::uint32_t bound);

private:
    bool acquire_within(long long ns);
    ipc::shared_region region_;
};

/// A semaphore that may never count above its initial value: a release() too many (a bug) throws
/// std::logic_error instead of letting one more in.
class bounded_semaphore : public semaphore {
public:
    explicit bounded_semaphore(std::uint32_t initial = 1) : semaphore(initial, initial) {}
};

}  // namespace forkline
