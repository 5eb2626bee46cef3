#include <forkline/ipc/spawn.hpp>
#include <forkline/ipc/waiter.hpp>

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <system_error>

namespace forkline::ipc {

namespace {
pid_t parent_pid = 0;  // in a worker: the process that started it

double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; }
}  // namespace

void flush_standard_streams() noexcept {
    try {
        std::cout.flush();
        std::cerr.flush();
        std::clog.flush();
    } catch (...) {
    }
    std::fflush(nullptr);
}

void check_parent(void*) {
    if (parent_pid != 0 && ::getppid() != parent_pid) throw aborted{};
}

pid_t fork_worker(const char* title, int core, void (*body)(void*), void* arg) {
    flush_standard_streams();
    pid_t parent = ::getpid();
    bool from_main_thread = ::gettid() == parent;
    pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "forkline: fork failed");
    if (pid > 0) return pid;
    // Die with the caller, even if it is killed before it can stop us. The signal comes when the
    // forking *thread* ends, so it is armed only for forks from the main thread; the waits check
    // the parent themselves too.
    parent_pid = parent;
    if (from_main_thread) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(0);
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

bool reap(pid_t pid, bool block, exit_status& out) noexcept {
    int status = 0;
    rusage ru{};
    pid_t r;
    while ((r = ::wait4(pid, &status, block ? 0 : WNOHANG, &ru)) < 0 && errno == EINTR) {
    }
    if (r < 0 && errno == ECHILD) {
        out = {};
        return true;
    }
    if (r != pid) return false;
    out.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    out.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    out.cpu = seconds(ru.ru_utime) + seconds(ru.ru_stime);
    return true;
}

}  // namespace forkline::ipc
