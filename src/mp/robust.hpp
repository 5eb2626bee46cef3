// Robust, process-shared pthread mutexes, as every lock in src/mp uses them: a process that dies
// holding one does not wedge the others; the next locker gets it (EOWNERDEAD) and is told.
#pragma once

#include "deadline.hpp"

#include <pthread.h>
#include <time.h>

#include <cerrno>
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

/// Locks *m before the deadline passes.
inline lock_outcome lock_robust(pthread_mutex_t* m, const deadline& d, const char* what) {
    if (d.forever) return lock_result(m, pthread_mutex_lock(m), what);
    timespec t = d.monotonic();
    return lock_result(m, pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &t), what);
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
