// The pid lock's slow paths, and the cached pid they store.
#include "robust.hpp"

#include <forkline/ipc/waiter.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace forkline::detail {

namespace {

std::uint32_t pid_now = 0;

void refresh_pid() noexcept { pid_now = static_cast<std::uint32_t>(::getpid()); }

/// True when the process with this pid has ended: there is none, or it is a zombie its parent has
/// not reaped yet (the parent may be waiting for this very lock).
bool gone(std::uint32_t pid) {
    if (pid == 0) return false;
    if (::kill(static_cast<pid_t>(pid), 0) < 0) return errno == ESRCH;
    char path[32], buf[512];
    std::snprintf(path, sizeof path, "/proc/%u/stat", pid);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return false;
    buf[n] = '\0';
    const char* end = std::strrchr(buf, ')');  // "pid (name) S ...": the name may hold anything
    return end && end[1] == ' ' && (end[2] == 'Z' || end[2] == 'X');
}

}  // namespace

std::uint32_t current_pid() noexcept {
    static const bool armed = [] {
        refresh_pid();
        ::pthread_atfork(nullptr, nullptr, refresh_pid);
        return true;
    }();
    (void)armed;
    return pid_now;
}

lock_outcome pid_guard::lock_slow(const deadline& d) {
    auto& word = l_->word;
    const std::uint32_t me = current_pid();
    // The holder usually lets go within a few hundred cycles: try a little before sleeping.
    for (int i = 0; i < 256; ++i) {
        std::uint32_t free = 0;
        if (word.load(std::memory_order_relaxed) == 0 &&
            word.compare_exchange_strong(free, me, std::memory_order_acquire, std::memory_order_relaxed))
            return lock_outcome::locked;
        ipc::cpu_relax();
    }
    for (bool check = true;;) {  // the owner's life: at first, then after each sleep that timed out
        std::uint32_t cur = word.load(std::memory_order_relaxed);
        if ((cur & ~pid_lock::sleeping) == 0) {
            // Taken with the sleeping bit: others may still sleep, and our unlock must wake one.
            if (word.compare_exchange_strong(cur, me | pid_lock::sleeping, std::memory_order_acquire))
                return lock_outcome::locked;
            continue;
        }
        if (check && gone(cur & ~pid_lock::sleeping)) {
            if (word.compare_exchange_strong(cur, me | pid_lock::sleeping, std::memory_order_acquire))
                return lock_outcome::owner_died;
            continue;
        }
        check = false;
        if (d.passed()) return lock_outcome::busy;
        if (!(cur & pid_lock::sleeping) &&
            !word.compare_exchange_strong(cur, cur | pid_lock::sleeping, std::memory_order_relaxed))
            continue;
        int ms = d.ms_left();
        check = !ipc::futex_wait(word, cur | pid_lock::sleeping, ms < 0 ? 10 : std::min(ms, 10));
    }
}

void pid_guard::wake() noexcept { ipc::futex_wake(l_->word, 1); }

}  // namespace forkline::detail
