// The process-shared synchronization primitives: robust pthread mutexes for the locks, futex
// words for semaphores, events, conditions and the barrier's rounds.
#include <forkline/ipc/waiter.hpp>
#include <forkline/mp/barrier.hpp>
#include <forkline/mp/condition.hpp>
#include <forkline/mp/event.hpp>
#include <forkline/mp/lock.hpp>
#include <forkline/mp/semaphore.hpp>

#include "deadline.hpp"
#include "robust.hpp"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <new>
#include <string>
#include <system_error>

namespace forkline {

namespace {

using detail::deadline;

[[noreturn]] void fail(int rc, const char* what) { throw std::system_error(rc, std::generic_category(), what); }

pthread_mutex_t* as_mutex(void* p) { return static_cast<pthread_mutex_t*>(p); }

struct semaphore_state {
    std::atomic<std::uint32_t> count;
    std::atomic<std::uint32_t> sleepers{0};
    std::uint32_t bound;  // 0: none
};

struct event_state {
    std::atomic<std::uint32_t> flag{0};
};

struct condition_state {
    std::atomic<std::uint32_t> seq{0};
};

struct barrier_state {
    pthread_mutex_t m;
    std::uint32_t count = 0;                     // arrived in this round
    std::atomic<std::uint32_t> generation{0};    // the round; the futex word
    std::int64_t failed_round = -1;              // the last round that ended broken
    bool broken = false;
};

}  // namespace

// ---- mutex

mutex::mutex(bool recursive) : region_(sizeof(pthread_mutex_t)) {
    detail::init_robust_mutex(as_mutex(region_.data()), recursive, "forkline::lock: cannot make a process-shared mutex");
}

bool mutex::locked(int rc, const char* what) {
    auto outcome = detail::lock_result(as_mutex(region_.data()), rc, what);
    if (outcome == detail::lock_outcome::busy) return false;
    owner_died_ = outcome == detail::lock_outcome::owner_died;
    return true;
}

void mutex::lock() { locked(pthread_mutex_lock(as_mutex(region_.data())), "forkline::lock::lock"); }

bool mutex::try_lock() { return locked(pthread_mutex_trylock(as_mutex(region_.data())), "forkline::lock::try_lock"); }

bool mutex::lock_within(long long ns) {
    if (ns <= 0) return try_lock();
    timespec t = detail::deadline(ns).monotonic();
    return locked(detail::clock_lock(as_mutex(region_.data()), t), "forkline::lock::try_lock_for");
}

void mutex::unlock() {
    int rc = pthread_mutex_unlock(as_mutex(region_.data()));
    if (rc != 0) fail(rc, "forkline::lock::unlock: this process does not hold the lock");
}

// ---- semaphore

namespace {
semaphore_state& sem(const ipc::shared_region& r) { return *reinterpret_cast<semaphore_state*>(r.data()); }
}  // namespace

semaphore::semaphore(std::uint32_t initial, std::uint32_t bound) : region_(sizeof(semaphore_state)) {
    new (region_.data()) semaphore_state{{initial}, {0}, bound};
}

bool semaphore::try_acquire() {
    auto& s = sem(region_);
    std::uint32_t c = s.count.load(std::memory_order_relaxed);
    while (c > 0)
        if (s.count.compare_exchange_weak(c, c - 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
    return false;
}

void semaphore::acquire() { acquire_within(-1); }

bool semaphore::acquire_within(long long ns) {
    auto& s = sem(region_);
    deadline d(ns);
    for (int spin = 0; spin < 64; ++spin) {
        if (try_acquire()) return true;
        ipc::cpu_relax();
    }
    for (;;) {
        if (try_acquire()) return true;
        if (d.passed()) return false;
        s.sleepers.fetch_add(1, std::memory_order_seq_cst);
        if (s.count.load(std::memory_order_seq_cst) == 0) ipc::futex_wait(s.count, 0, d.ms_left());
        s.sleepers.fetch_sub(1, std::memory_order_relaxed);
    }
}

void semaphore::release(std::uint32_t n) {
    auto& s = sem(region_);
    std::uint32_t c = s.count.load(std::memory_order_relaxed);
    do {
        if (s.bound && c + n > s.bound)
            throw std::logic_error("forkline::bounded_semaphore::release: released more times than acquired (its "
                                   "value would pass " + std::to_string(s.bound) + ")");
    } while (!s.count.compare_exchange_weak(c, c + n, std::memory_order_seq_cst, std::memory_order_relaxed));
    if (s.sleepers.load(std::memory_order_seq_cst) != 0) ipc::futex_wake(s.count, static_cast<int>(n));
}

std::uint32_t semaphore::value() const noexcept { return sem(region_).count.load(std::memory_order_relaxed); }

// ---- event

namespace {
event_state& ev(const ipc::shared_region& r) { return *reinterpret_cast<event_state*>(r.data()); }
}  // namespace

event::event() : region_(sizeof(event_state)) { new (region_.data()) event_state; }

void event::set() {
    ev(region_).flag.store(1, std::memory_order_release);
    ipc::futex_wake(ev(region_).flag, INT_MAX);
}

void event::clear() { ev(region_).flag.store(0, std::memory_order_release); }

bool event::is_set() const noexcept { return ev(region_).flag.load(std::memory_order_acquire) != 0; }

void event::wait() { wait_within(-1); }

bool event::wait_within(long long ns) {
    deadline d(ns);
    while (!is_set()) {
        if (d.passed()) return false;
        ipc::futex_wait(ev(region_).flag, 0, d.ms_left());
    }
    return true;
}

// ---- condition

namespace {
condition_state& cs(const ipc::shared_region& r) { return *reinterpret_cast<condition_state*>(r.data()); }
}  // namespace

condition::condition() : own_(std::make_unique<mutex>()), m_(own_.get()), region_(sizeof(condition_state)) {
    new (region_.data()) condition_state;
}

condition::condition(mutex& m) : m_(&m), region_(sizeof(condition_state)) { new (region_.data()) condition_state; }

bool condition::wait_within(long long ns) {
    auto& s = cs(region_);
    deadline d(ns);
    // Read under the lock: a notify after our unlock changes seq, so the futex wait returns at once.
    std::uint32_t seen = s.seq.load(std::memory_order_acquire);
    m_->unlock();
    bool notified = ipc::futex_wait(s.seq, seen, d.ms_left()) || s.seq.load(std::memory_order_acquire) != seen;
    m_->lock();
    return notified || !d.passed();
}

void condition::notify(std::uint32_t n) {
    cs(region_).seq.fetch_add(1, std::memory_order_release);
    ipc::futex_wake(cs(region_).seq, static_cast<int>(std::min<std::uint32_t>(n, INT_MAX)));
}

void condition::notify_all() {
    cs(region_).seq.fetch_add(1, std::memory_order_release);
    ipc::futex_wake(cs(region_).seq, INT_MAX);
}

// ---- barrier

namespace {
barrier_state& bs(const ipc::shared_region& r) { return *reinterpret_cast<barrier_state*>(r.data()); }

/// The barrier's mutex, held for a scope.
struct held {
    explicit held(barrier_state& s) : s(s), guard(&s.m, "forkline::barrier") {}
    barrier_state& s;
    detail::robust_guard guard;
};

/// Ends the current round broken: its waiters (and, when `stays`, every later wait) throw.
void break_round(barrier_state& s, bool stays) {
    s.failed_round = s.generation.load(std::memory_order_relaxed);
    s.count = 0;
    s.broken = stays;
    s.generation.fetch_add(1, std::memory_order_release);
    ipc::futex_wake(s.generation, INT_MAX);
}
}  // namespace

barrier::barrier(std::uint32_t parties, std::function<void()> action)
    : parties_(parties), action_(std::move(action)), region_(sizeof(barrier_state)) {
    if (parties == 0) throw std::invalid_argument("forkline::barrier(parties): parties must be at least 1");
    auto* s = new (region_.data()) barrier_state;
    detail::init_robust_mutex(&s->m, false, "forkline::barrier: cannot make its mutex");
}

std::uint32_t barrier::wait_within(long long ns) {
    auto& s = bs(region_);
    deadline d(ns);
    std::uint32_t round, index;
    {
        held h(s);
        if (s.broken) throw broken_barrier("forkline::barrier::wait: the barrier is broken");
        round = s.generation.load(std::memory_order_relaxed);
        index = s.count++;
        if (s.count == parties_) {
            if (action_) {
                try {
                    action_();
                } catch (...) {
                    break_round(s, true);
                    throw;
                }
            }
            s.count = 0;
            s.generation.fetch_add(1, std::memory_order_release);
            ipc::futex_wake(s.generation, INT_MAX);
            return index;
        }
    }
    while (s.generation.load(std::memory_order_acquire) == round) {
        if (d.passed()) {
            held h(s);
            if (s.generation.load(std::memory_order_relaxed) != round) break;  // released meanwhile
            break_round(s, true);
            throw broken_barrier("forkline::barrier::wait: timed out, which breaks the barrier");
        }
        ipc::futex_wait(s.generation, round, d.ms_left());
    }
    held h(s);
    if (s.failed_round == static_cast<std::int64_t>(round))
        throw broken_barrier("forkline::barrier::wait: the barrier was broken (abort, reset or a timeout) while "
                             "this process waited");
    return index;
}

void barrier::reset() {
    auto& s = bs(region_);
    held h(s);
    if (s.count > 0)
        break_round(s, false);
    s.broken = false;
}

void barrier::abort() {
    auto& s = bs(region_);
    held h(s);
    break_round(s, true);
}

bool barrier::broken() const noexcept { return bs(region_).broken; }

std::uint32_t barrier::n_waiting() const noexcept { return bs(region_).count; }

}  // namespace forkline
