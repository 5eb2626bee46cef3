// Starting and stopping worker processes: fork a child that runs one function and exits, make it
// die with its parent, and reap it. Shared by pipeline runs and pools.
#pragma once

#include <sys/types.h>

namespace forkline::ipc {

/// Flushes std::cout/cerr/clog and every C stream, so a fork does not write buffered output twice.
void flush_standard_streams() noexcept;

/// Forks a worker that calls body(arg) (which must not throw), flushes the standard streams and
/// _exit(0)s. The worker is named `title` (at most 15 characters show in ps), is pinned to `core`
/// (a core id, or -1 for none), ignores the caller's SIGINT and SIGTERM handlers, and is killed
/// with SIGKILL as soon as the caller's process ends, however it ends and whatever the worker is
/// doing (a lifeline pipe, held until reap() collects the worker). Throws std::system_error when
/// fork fails or the pipe cannot be made.
pid_t fork_worker(const char* title, int core, void (*body)(void*), void* arg);

/// Forks a process that calls body(arg) and _exit(0)s like a worker, but that outlives the caller
/// long enough to clean up after it (a run's display: it removes the run's stats segment and
/// erases its frame): it ignores SIGINT, SIGTERM, SIGHUP and SIGQUIT, so that what ends the
/// caller, its process group or its terminal does not end it, and its lifeline sends it SIGUSR1
/// (a no-op that interrupts its waits) instead of SIGKILL when the caller is gone. Its body must
/// watch for the caller's end (parent_gone) after each wait and not take long.
/// Errors: as fork_worker.
pid_t fork_watcher(const char* title, void (*body)(void*), void* arg);
/// In a process fork_worker or fork_watcher started: true once the process that forked it is gone.
bool parent_gone() noexcept;

/// In a worker: throws ipc::aborted when the process that forked it is gone. Fits
/// wait_policy::on_wake. In any other process: does nothing.
void check_parent(void* = nullptr);

/// True in a process fork_worker started (a run's or a pool's worker, or one forked from it).
bool in_worker() noexcept;

/// Checkpoints (options::restarts, run/detail/journal.hpp): a worker forks copies of itself that
/// wait, and one of them takes over when the worker dies. In such a copy: true once the
/// worker's lifeline is cut (the process that started the worker is gone).
bool lifeline_cut() noexcept;
/// In a copy that takes over from the worker it was forked from (now dead, and the copy a child
/// of the process that started the worker): the lifeline kills this process from now on.
void take_over_lifeline() noexcept;
/// In the process that started the worker `from`, which died: its lifeline is held for `to`, the
/// copy taking over, from now on (so that reaping `from` does not cut it).
void pass_lifeline(pid_t from, pid_t to) noexcept;
/// Lets go of the lifeline of `pid` (reap does it, unless asked not to).
void release_lifeline(pid_t pid) noexcept;

/// The end of a child, as wait4 reported it.
struct exit_status {
    int signal = 0;     ///< the signal that killed it, or 0
    int code = 0;       ///< its exit code when it exited, else -1
    double cpu = 0;     ///< user + system seconds it used
    long peak_rss_kib = 0;  ///< the most memory it had resident at once
    bool clean() const noexcept { return signal == 0 && code == 0; }
};

/// Collects `pid` if it has ended (or, with `block`, once it ends): true and its status then.
/// A child someone else already collected (SIGCHLD ignored) counts as a clean exit.
/// `release`: lets go of its lifeline then (see pass_lifeline).
bool reap(pid_t pid, bool block, exit_status& out, bool release = true) noexcept;

}  // namespace forkline::ipc
