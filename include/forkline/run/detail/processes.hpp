// Process control for a run: forks its workers, watches and reaps them, and stops what is left
// (a grace period, then SIGKILL). What an ended worker means for the run is the owner's to say,
// through the hook it gives. Compiled in src/run/processes.cpp.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <vector>

namespace forkline::ipc {
struct exit_status;
}

namespace forkline::detail {

class worker_processes {
public:
    struct child {
        pid_t pid;
        std::size_t group;
        bool reaped = false;
        bool killed = false;  ///< by stop_rest(): not an end of its own
        double cpu_seconds = 0;
        long peak_rss_kib = 0;
    };
    /// Called once for each child as it is reaped.
    using exit_hook = void (*)(void* arg, const child& c, const ipc::exit_status& status) noexcept;
    /// How often the caller, while it waits for items, checks that its children still live.
    static constexpr int watch_ms = 20;

    worker_processes(exit_hook on_exit, void* arg) noexcept : on_exit_(on_exit), arg_(arg) {}
    /// Room for `n` children, so that recording a forked one cannot throw.
    void reserve(std::size_t n) { children_.reserve(n); }

    /// Forks the worker of `group`, named `title`, pinned to `core` (or -1), which calls body(arg)
    /// and exits. Throws std::system_error when fork fails.
    void start(std::size_t group, const char* title, int core, void (*body)(void*), void* arg);
    /// Watches `pid`, a child of this process it did not fork (a checkpoint that took over a
    /// dead worker's place), as the worker of `group`.
    void adopt(pid_t pid, std::size_t group);
    /// Reaps the children that have ended.
    void poll() noexcept;
    /// poll()s at most every watch_ms, however often it is called (a program whose timer signals
    /// interrupt every sleep still notices a dead child).
    void watch() noexcept;
    /// Waits for every child to end and reaps it.
    void reap_all() noexcept;
    bool all_reaped() const noexcept;
    /// Gives the children left a grace period to end on their own, then kills and reaps them.
    void stop_rest() noexcept;

    const std::vector<child>& children() const noexcept { return children_; }

private:
    bool reap(child& c, bool block) noexcept;

    std::vector<child> children_;
    exit_hook on_exit_;
    void* arg_;
    double last_watch_ = 0;  ///< when watch() last looked
};

}  // namespace forkline::detail
