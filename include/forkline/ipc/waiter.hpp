// Process-shared waiting: spin briefly, then sleep on a futex after announcing it.
// A waiter lives in shared memory; the side that makes progress calls notify(), which costs
// one load unless somebody is asleep, so the fast path makes no system call.
#pragma once

#include <forkline/ipc/os.hpp>

#include <atomic>
#include <cstdint>

namespace forkline::ipc {

/// Thrown out of a wait when the run was aborted (an error elsewhere, or a teardown).
/// Caught by forkline's own process bodies; user code never needs to name it.
struct aborted {};

/// Sleeps on `word` while it still equals `expected`, at most `timeout_ms` (negative: no limit).
/// Returns false on timeout. Works across processes (the word must be in shared memory).
bool futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected, int timeout_ms) noexcept;

/// Wakes up to `count` sleepers on `word`.
void futex_wake(const std::atomic<std::uint32_t>& word, int count) noexcept;

/// What a wait needs to know besides its condition: where the abort flag is, how long to spin,
/// and what to do before sleeping (flush what this process holds) or after a timed wake-up
/// (the supervisor's check on its children). Lives in the waiting process, not in shared memory.
struct wait_policy {
    const std::atomic<std::uint32_t>* abort = nullptr;
    std::uint32_t spin = 4096;      ///< polls before sleeping; 0 when processes outnumber cores
    int sleep_ms = 1000;            ///< a deep sleeper re-checks the abort flag at least this often
    void (*before_sleep)(void*) = nullptr;
    void* before_sleep_arg = nullptr;
    /// Called with before_sleep_arg when a wait that called before_sleep ends (also by a throw).
    void (*after_sleep)(void*) noexcept = nullptr;
    /// Called each time a deep sleep ends, whatever ended it (a signal, a wake-up, the timeout);
    /// may throw aborted. The caller watches its children with it, a worker its parent.
    void (*on_wake)(void*) = nullptr;
    void* on_wake_arg = nullptr;
    /// When set, every wait adds the nanoseconds it took here (one process writes it: a run's
    /// live counts of time spent waiting for input, or for room).
    std::atomic<std::uint64_t>* waited_ns = nullptr;
};

/// Adds the time from its construction to its end to a wait policy's waited_ns, if any (also
/// when the wait ends by throwing).
class wait_timer {
public:
    explicit wait_timer(std::atomic<std::uint64_t>* to) noexcept : to_(to), start_(to ? detail::monotonic_ns() : 0) {}
    wait_timer(const wait_timer&) = delete;
    wait_timer& operator=(const wait_timer&) = delete;
    ~wait_timer() {
        if (to_) to_->store(to_->load(std::memory_order_relaxed) + (detail::monotonic_ns() - start_), std::memory_order_relaxed);
    }

private:
    std::atomic<std::uint64_t>* to_;
    std::uint64_t start_;
};

/// Throws aborted when the run was aborted. Rings check it whenever a side runs out of cached
/// room or items (once a batch), so even a process that never has to wait notices an abort.
inline void check_abort(const wait_policy& p) {
    if (p.abort && p.abort->load(std::memory_order_relaxed)) throw aborted{};
}

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

/// One sleeping side of a ring. `sleeping` says someone announced a sleep, and how deeply;
/// `seq` is the futex word.
///
/// A sleeper first sleeps *lightly*: at most a millisecond, and the other side wakes it only for
/// a full batch or the end of the stream (it publishes what it has every 256th of the ring
/// either way, so the light sleeper finds nearly all of it when it wakes). A sleeper that found
/// nothing after a light sleep sleeps *deeply*, and the next item or nudge wakes it, with what
/// was left unpublished. So a stage fed slowly wakes about a thousand times a
/// second at most, however many items arrive, and an idle one wakes on the first item.
struct alignas(64) waiter {
    /// hungry: spinning for a while already; the other side then publishes at once (without a
    /// wake-up), so an item never waits for a batch to fill while its consumer is idle.
    static constexpr std::uint32_t awake = 0, deep = 1, light = 2, hungry = 3;
    static constexpr int light_sleep_ms = 1;

    std::atomic<std::uint32_t> seq{0};
    std::atomic<std::uint32_t> sleeping{awake};

    /// Called by the side that made progress, after publishing it. `urgent`: a full batch, the
    /// end of the stream, or the caller is about to wait itself; anything else only wakes a deep
    /// sleeper.
    void notify(bool urgent = true) noexcept {
        std::atomic_thread_fence(std::memory_order_seq_cst);
        std::uint32_t s = sleeping.load(std::memory_order_relaxed);
        if ((s == deep || (s == light && urgent)) && sleeping.exchange(awake, std::memory_order_relaxed) != awake) {
            seq.fetch_add(1, std::memory_order_release);
            futex_wake(seq, 1);
        }
    }

    /// Wakes a sleeper unconditionally (abort, teardown).
    void wake_all() noexcept {
        sleeping.store(awake, std::memory_order_relaxed);
        seq.fetch_add(1, std::memory_order_release);
        futex_wake(seq, 1 << 30);
    }

    /// Waits until `ready()` holds; throws aborted when the run is aborted meanwhile.
    template <class Ready>
    void wait(Ready&& ready, const wait_policy& policy) {
        wait_timer timed(policy.waited_ns);
        for (std::uint32_t i = 0; i < policy.spin; ++i) {
            if (ready()) return;
            cpu_relax();
        }
        check_abort(policy);
        if (policy.before_sleep) policy.before_sleep(policy.before_sleep_arg);
        struct woken {
            const wait_policy& p;
            ~woken() {
                if (p.after_sleep) p.after_sleep(p.before_sleep_arg);
            }
        } after{policy};
        for (std::uint32_t depth = light;; depth = deep) {
            // The order matters: read seq, announce, re-check. A notifier that saw the
            // announcement bumps seq after we read it, so the futex call returns at once.
            std::uint32_t s = seq.load(std::memory_order_acquire);
            sleeping.store(depth, std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_seq_cst);
            if (ready()) {
                sleeping.store(awake, std::memory_order_relaxed);
                return;
            }
            check_abort(policy);
            futex_wait(seq, s, depth == light ? light_sleep_ms : policy.sleep_ms);
            if (ready()) {
                sleeping.store(awake, std::memory_order_relaxed);
                return;
            }
            if (depth == deep && policy.on_wake) policy.on_wake(policy.on_wake_arg);
            check_abort(policy);
        }
    }
};

}  // namespace forkline::ipc
