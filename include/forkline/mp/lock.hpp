// fl::lock and fl::rlock (fl::mutex, fl::recursive_mutex): process-shared, robust locks. A process
// that dies holding one does not wedge the others: the next locker gets it and can ask whether its
// previous owner died.
#pragma once

#include <forkline/ipc/region.hpp>

#include <chrono>

namespace forkline {

/// A lock shared by the processes forked after it was made (its state lives in shared memory).
/// C++ Lockable and TimedLockable, so std::scoped_lock, std::unique_lock and std::lock_guard work;
/// Python's names too (acquire / release). Only the process (and thread) that locked it may
/// unlock it; to hand a turn from one process to another use fl::semaphore.
///
/// Robust: when the process holding it dies, the next lock() succeeds and owner_died() says so
/// (the data it guarded may be half-updated: check it). Python's Lock would stay held forever.
/// Movable, not copyable.
///
/// Example:
///     fl::lock lk;
///     fl::process p([&] { std::scoped_lock g(lk); ++shared->count; });
/// Errors: std::system_error when the lock cannot be made, when unlock() is called by a process
/// that does not hold it, or when locking it again from its holder (fl::rlock allows that).
class mutex {
public:
    mutex() : mutex(false) {}
    mutex(mutex&&) noexcept = default;
    mutex& operator=(mutex&&) noexcept = default;

    void lock();
    bool try_lock();
    template <class Rep, class Period>
    bool try_lock_for(std::chrono::duration<Rep, Period> d) {
        return lock_within(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
    }
    template <class Clock, class Duration>
    bool try_lock_until(std::chrono::time_point<Clock, Duration> t) {
        return try_lock_for(t - Clock::now());
    }
    void unlock();

    /// Python's names: acquire() blocks; acquire(timeout) gives up after it; release() unlocks.
    void acquire() { lock(); }
    template <class Rep, class Period>
    bool acquire(std::chrono::duration<Rep, Period> timeout) {
        return try_lock_for(timeout);
    }
    void release() { unlock(); }

    /// True when the last successful lock in this process took the lock from a process that had
    /// died holding it.
    bool owner_died() const noexcept { return owner_died_; }

    /// The pthread_mutex_t in shared memory (for fl::condition).
    void* native() const noexcept { return region_.data(); }

protected:
    explicit mutex(bool recursive);

private:
    bool lock_within(long long ns);
    bool locked(int rc, const char* what);
    ipc::shared_region region_;
    bool owner_died_ = false;
};

/// A lock its holder may take again (it is released when unlocked as many times). Otherwise as
/// fl::mutex, robust included.
class recursive_mutex : public mutex {
public:
    recursive_mutex() : mutex(true) {}
};

/// Python's multiprocessing names.
using lock = mutex;
using rlock = recursive_mutex;

}  // namespace forkline
