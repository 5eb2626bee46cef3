// Forking, watching, reaping and killing a run's workers.
#include <forkline/ipc/os.hpp>
#include <forkline/ipc/spawn.hpp>
#include <forkline/run/detail/processes.hpp>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace forkline::detail {

namespace {
/// How long stopped processes get to leave on their own before SIGKILL.
constexpr auto grace = std::chrono::seconds(1);
}  // namespace

void worker_processes::adopt(pid_t pid, std::size_t group) { children_.push_back({pid, group}); }

void worker_processes::start(std::size_t group, const char* title, int core, void (*body)(void*), void* arg) {
    children_.reserve(children_.size() + 1);  // before the fork: recording the child cannot fail
    pid_t pid = ipc::fork_worker(title, core, body, arg);
    children_.push_back({pid, group});
}

/// Collects one child if it has ended (or, with `block`, once it ends); true when it is collected.
/// One that someone else collected (SIGCHLD ignored) counts as clean: all we know then is
/// whether it said it was done.
bool worker_processes::reap(child& c, bool block) noexcept {
    ipc::exit_status status;
    if (!ipc::reap(c.pid, block, status, false)) return false;
    c.reaped = true;
    c.cpu_seconds = status.cpu;
    c.peak_rss_kib = status.peak_rss_kib;
    const child ended = c;  // the hook may start a replacement, which moves the children
    on_exit_(arg_, ended, status);
    ipc::release_lifeline(ended.pid);  // unless the hook passed it on (to a checkpoint taking over)
    return true;
}

// By index: reaping a child may start its replacement (options::restarts), which adds one.
void worker_processes::poll() noexcept {
    for (std::size_t i = 0; i < children_.size(); ++i)
        if (!children_[i].reaped) reap(children_[i], false);
}

void worker_processes::watch() noexcept {
    double now = monotonic_seconds();
    if (now - last_watch_ < watch_ms * 1e-3) return;
    last_watch_ = now;
    poll();
}

void worker_processes::reap_all() noexcept {
    for (std::size_t i = 0; i < children_.size(); ++i)
        if (!children_[i].reaped && !reap(children_[i], true)) children_[i].reaped = true;
}

bool worker_processes::all_reaped() const noexcept {
    return std::all_of(children_.begin(), children_.end(), [](const child& c) { return c.reaped; });
}

void worker_processes::stop_rest() noexcept {
    auto deadline = std::chrono::steady_clock::now() + grace;
    auto pause = std::chrono::microseconds(100);
    for (;;) {
        poll();
        if (all_reaped()) return;
        if (std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(20000));
    }
    for (auto& c : children_) {
        if (c.reaped) continue;
        ::kill(c.pid, SIGKILL);
        c.killed = true;
        if (!reap(c, true)) c.reaped = true;
    }
}

}  // namespace forkline::detail
