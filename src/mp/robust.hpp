// Robust, process-shared locks, as every lock in src/mp is: a process that dies holding one does
// not wedge the others; the next locker gets it and is told. pthread mutexes (EOWNERDEAD) for the
// user's locks, and a lighter pid lock for the queues' sides.
#pragma once

#include "deadline.hpp"

#include <pthread.h>
#include <time.h>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace forkline::detail {

/// Makes *m a robust mutex that processes sharing its memory can lock. `what` names the owner in
/// the error. Errors: std::system_error.
inline void init_robust_mutex(pthread_mutex_t* m, bool recursive, const char* what) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutexattr_settype(&a, recursive ? PTHREAD_MUTEX_RECURSIVE : PTHREAD_MUTEX_ERRORCHECK);
    int rc = pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    if (rc != 0) throw std::system_error(rc, std::generic_category(), what);
}

/// What a lock attempt came to.
enum class lock_outcome { locked, owner_died, busy };

/// Maps a pthread lock call's result: EOWNERDEAD makes the mutex consistent (the caller holds it);
/// EBUSY and ETIMEDOUT are `busy`; any other error throws, naming `what`.
inline lock_outcome lock_result(pthread_mutex_t* m, int rc, const char* what) {
    if (rc == EOWNERDEAD) {
        pthread_mutex_consistent(m);
        return lock_outcome::owner_died;
    }
    if (rc == EBUSY || rc == ETIMEDOUT) return lock_outcome::busy;
    if (rc != 0) throw std::system_error(rc, std::generic_category(), what);
    return lock_outcome::locked;
}

/// pthread_mutex_clocklock: locks *m before `t` on the monotonic clock. ThreadSanitizer does not
/// see this call (it intercepts the other lock calls), so it is told of it here, or it would take
/// the unlock that follows for one of a mutex nobody holds.
inline int clock_lock(pthread_mutex_t* m, const timespec& t) noexcept {
#if defined(__SANITIZE_THREAD__)
    __tsan_mutex_pre_lock(m, __tsan_mutex_try_lock);
    int rc = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &t);
    __tsan_mutex_post_lock(m, rc == 0 || rc == EOWNERDEAD ? __tsan_mutex_try_lock
                                                          : __tsan_mutex_try_lock | __tsan_mutex_try_lock_failed,
                           0);
    return rc;
#else
    return pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &t);
#endif
}

/// Locks *m before the deadline passes.
inline lock_outcome lock_robust(pthread_mutex_t* m, const deadline& d, const char* what) {
    if (d.forever) return lock_result(m, pthread_mutex_lock(m), what);
    timespec t = d.monotonic();
    return lock_result(m, clock_lock(m, t), what);
}

/// A robust mutex held for a scope, or not at all when the deadline passed first.
class robust_guard {
public:
    robust_guard(pthread_mutex_t* m, const deadline& d, const char* what)
        : m_(m), outcome_(lock_robust(m, d, what)) {}
    robust_guard(pthread_mutex_t* m, const char* what) : robust_guard(m, deadline(-1), what) {}
    robust_guard(robust_guard&& o) noexcept : m_(o.m_), outcome_(o.outcome_) { o.outcome_ = lock_outcome::busy; }
    robust_guard(const robust_guard&) = delete;
    robust_guard& operator=(const robust_guard&) = delete;
    ~robust_guard() { unlock(); }
    bool held() const noexcept { return outcome_ != lock_outcome::busy; }
    /// Lets go before the end of the scope (to wake others without holding it).
    void unlock() noexcept {
        if (held()) pthread_mutex_unlock(m_);
        outcome_ = lock_outcome::busy;
    }
    /// The previous holder died holding it: what it guarded may be half-updated.
    bool owner_died() const noexcept { return outcome_ == lock_outcome::owner_died; }

private:
    pthread_mutex_t* m_;
    lock_outcome outcome_;
};

}  // namespace forkline::detail

namespace forkline::detail {

/// This process's pid, read once and again after each fork (getpid is a system call).
std::uint32_t current_pid() noexcept;

/// A lock word in shared memory: its owner's pid (0: free) and a bit saying someone sleeps on it.
/// Cheaper than a robust pthread mutex (one compare-and-swap to take, one exchange to give back)
/// and as robust, a little later: a waiter that finds the owner's process gone, at its first
/// check or at a periodic one (every 10 ms while it sleeps), takes the lock over.
struct pid_lock {
    std::atomic<std::uint32_t> word{0};
    static constexpr std::uint32_t sleeping = 1u << 31;
};

/// A pid_lock held for a scope, or not at all when the deadline passed first.
class pid_guard {
public:
    pid_guard(pid_lock& l, const deadline& d) : l_(&l) {
        std::uint32_t free = 0;
        if (l.word.compare_exchange_strong(free, current_pid(), std::memory_order_acquire, std::memory_order_relaxed))
            [[likely]] {
            outcome_ = lock_outcome::locked;
            return;
        }
        outcome_ = lock_slow(d);
    }
    pid_guard(const pid_guard&) = delete;
    pid_guard& operator=(const pid_guard&) = delete;
    ~pid_guard() { unlock(); }

    bool held() const noexcept { return outcome_ != lock_outcome::busy; }
    bool owner_died() const noexcept { return outcome_ == lock_outcome::owner_died; }
    void unlock() noexcept {
        if (held() && (l_->word.exchange(0, std::memory_order_release) & pid_lock::sleeping)) wake();
        outcome_ = lock_outcome::busy;
    }

private:
    lock_outcome lock_slow(const deadline& d);
    void wake() noexcept;

    pid_lock* l_;
    lock_outcome outcome_ = lock_outcome::busy;
};

}  // namespace forkline::detail
