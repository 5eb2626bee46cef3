#include <forkline/ipc/os.hpp>
#include <forkline/ipc/spawn.hpp>
#include <forkline/ipc/waiter.hpp>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <new>
#include <system_error>
#include <vector>

namespace forkline::ipc {

namespace {
pid_t parent_pid = 0;  // in a worker: the process that started it
int watcher_lifeline = -1;  // in a watcher: its end of the lifeline (see parent_gone)
int worker_lifeline = -1;   // in a worker: its end of the lifeline (see lifeline_cut)

// Lifelines. A worker must die with the process that started it, whatever either is doing: the
// worker may be deep in a stage's own code, and PR_SET_PDEATHSIG fires when the forking *thread*
// ends, not the process. So each worker gets a pipe: it keeps the read end, armed with O_ASYNC so
// that the kernel signals it (F_SETSIG: SIGKILL) when the pipe's last write end closes, and only
// its parent holds the write end, until it reaps the worker. However the parent ends, SIGKILL
// included, the kernel closes that end and the worker dies at once.
//
// Every other process must let go of the write ends, or a worker would outlive its parent: the
// fork handlers below close them in every child forked here, by forkline or by anyone else
// (O_CLOEXEC covers exec).
struct lifeline {
    pid_t pid;  // 0 while its fork is under way
    int fd;     // the write end
};
std::mutex lifelines_mutex;
std::vector<lifeline>* lifelines = new std::vector<lifeline>;  // never destroyed: forks at exit still read it

void lock_lifelines() noexcept { lifelines_mutex.lock(); }
void unlock_lifelines() noexcept { lifelines_mutex.unlock(); }
void drop_lifelines_in_child() noexcept {
    for (const lifeline& l : *lifelines) ::close(l.fd);
    lifelines->clear();  // keeps its memory: nothing is freed in a child that may have been forked mid-malloc
    lifelines_mutex.unlock();  // the forking thread took it (lock_lifelines), and it is this one
}

/// Makes a lifeline for a worker about to be forked; returns its two ends.
void make_lifeline(int ends[2]) {
    static std::once_flag hooks;
    std::call_once(hooks, [] { ::pthread_atfork(lock_lifelines, unlock_lifelines, drop_lifelines_in_child); });
    if (::pipe2(ends, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "forkline: cannot make a worker's lifeline pipe");
    std::lock_guard lock(lifelines_mutex);
    try {
        lifelines->push_back({0, ends[1]});
    } catch (...) {
        ::close(ends[0]);
        ::close(ends[1]);
        throw;
    }
}

/// Gives the lifeline whose write end is `fd` to the worker `pid` just forked.
void give_lifeline(int fd, pid_t pid) noexcept {
    std::lock_guard lock(lifelines_mutex);
    for (lifeline& l : *lifelines)
        if (l.fd == fd) l.pid = pid;
}

/// Closes and forgets the lifeline `is` picks (its worker was collected, or never forked).
template <class Is>
void close_lifeline(Is is) noexcept {
    std::lock_guard lock(lifelines_mutex);
    auto it = std::find_if(lifelines->begin(), lifelines->end(), is);
    if (it == lifelines->end()) return;
    ::close(it->fd);
    lifelines->erase(it);
}

/// In the worker: `signal` (SIGKILL) when the lifeline's last write end closes; false when it
/// already has (the parent died during the fork).
bool hold_lifeline(int fd, int signal = SIGKILL) noexcept {
    ::fcntl(fd, F_SETOWN, ::getpid());
    ::fcntl(fd, F_SETSIG, signal);
    ::fcntl(fd, F_SETFL, O_ASYNC | O_NONBLOCK);
    pollfd p{fd, POLLIN, 0};
    return !(::poll(&p, 1, 0) == 1 && (p.revents & POLLHUP));
}

}  // namespace

void release_lifeline(pid_t pid) noexcept {
    close_lifeline([pid](const lifeline& l) { return l.pid == pid; });
}

void pass_lifeline(pid_t from, pid_t to) noexcept {
    std::lock_guard lock(lifelines_mutex);
    for (lifeline& l : *lifelines)
        if (l.pid == from) l.pid = to;
}

bool lifeline_cut() noexcept {
    if (worker_lifeline < 0) return false;
    pollfd p{worker_lifeline, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

void take_over_lifeline() noexcept {
    if (worker_lifeline >= 0) ::fcntl(worker_lifeline, F_SETOWN, ::getpid());
    if (lifeline_cut()) ::_exit(0);
}

void flush_standard_streams() noexcept {
    try {
        std::cout.flush();
        std::cerr.flush();
        std::clog.flush();
    } catch (...) {
    }
    std::fflush(nullptr);
}

// A watcher's lifeline signal comes as its parent's files close, which is before the parent's
// children are given to another: getppid() may still name the parent then, so the lifeline's end
// is asked too.
bool parent_gone() noexcept {
    if (parent_pid == 0) return false;
    if (::getppid() != parent_pid) return true;
    if (watcher_lifeline < 0) return false;
    pollfd p{watcher_lifeline, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

void check_parent(void*) {
    if (parent_gone()) throw aborted{};
}

bool in_worker() noexcept { return parent_pid != 0; }

namespace {
/// Forks with a lifeline: in the parent, the child's pid (the write end is the parent's now); in
/// the child, 0, and `read_end` the child's end to hold.
pid_t fork_with_lifeline(int& read_end) {
    int line[2];
    make_lifeline(line);
    pid_t pid = ::fork();
    if (pid < 0) {
        int e = errno;
        ::close(line[0]);
        close_lifeline([fd = line[1]](const lifeline& l) { return l.fd == fd; });
        throw std::system_error(e, std::generic_category(), "forkline: fork failed");
    }
    if (pid > 0) {
        ::close(line[0]);
        give_lifeline(line[1], pid);
        return pid;
    }
    read_end = line[0];
    return 0;
}
}  // namespace

pid_t fork_worker(const char* title, int core, void (*body)(void*), void* arg) {
    flush_standard_streams();
    pid_t parent = ::getpid();
    bool from_main_thread = ::gettid() == parent;
    int line = -1;
    if (pid_t pid = fork_with_lifeline(line)) return pid;
    // Die with the caller, even if it is killed before it can stop us: the lifeline, and where it
    // is safe (the forking thread is the main one, which ends only with the process) the parent-
    // death signal too. The waits check the parent themselves as well.
    parent_pid = parent;
    if (from_main_thread) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (!hold_lifeline(line) || ::getppid() != parent) ::_exit(0);
    worker_lifeline = line;
    // Ctrl-C stops workers even when the caller handles SIGINT itself.
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::prctl(PR_SET_NAME, title);
    if (core >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(core, &set);
        ::sched_setaffinity(0, sizeof set, &set);  // best effort: a refusal only costs speed
    }
    body(arg);
    flush_standard_streams();
    ::_exit(0);
}

pid_t fork_watcher(const char* title, void (*body)(void*), void* arg) {
    flush_standard_streams();
    pid_t parent = ::getpid();
    int line = -1;
    if (pid_t pid = fork_with_lifeline(line)) return pid;
    parent_pid = parent;
    // The signals that end a program, its process group or its terminal session leave this one
    // be, to clean up after it; its lifeline wakes it (SIGUSR1, which interrupts a wait) the
    // moment the caller is gone, however it went.
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(sig, SIG_IGN);
    struct sigaction wake {};
    wake.sa_handler = [](int) {};
    ::sigemptyset(&wake.sa_mask);
    ::sigaction(SIGUSR1, &wake, nullptr);  // no SA_RESTART: the wait it interrupts returns
    watcher_lifeline = line;
    if (!hold_lifeline(line, SIGUSR1) || ::getppid() != parent) {
        body(arg);  // it finds its parent gone at once, and cleans up
        ::_exit(0);
    }
    ::prctl(PR_SET_NAME, title);
    body(arg);
    flush_standard_streams();
    ::_exit(0);
}

bool reap(pid_t pid, bool block, exit_status& out, bool release) noexcept {
    int status = 0;
    rusage ru{};
    pid_t r;
    while ((r = ::wait4(pid, &status, block ? 0 : WNOHANG, &ru)) < 0 && errno == EINTR) {
    }
    if (r < 0 && errno == ECHILD) {
        if (release) release_lifeline(pid);
        out = {};
        return true;
    }
    if (r != pid) return false;
    if (release) release_lifeline(pid);
    out.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    out.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    out.cpu = detail::cpu_seconds(ru);
    out.peak_rss_kib = ru.ru_maxrss;
    return true;
}

}  // namespace forkline::ipc
