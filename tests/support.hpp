// Helpers shared by the tests: child processes and the checks that a run left nothing behind.
#pragma once

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <string>

namespace forkline::test {

/// Runs fn in a child process that exits with fn's return value (or 99 on an exception).
template <class Fn>
pid_t fork_child(Fn fn) {
    pid_t pid = ::fork();
    if (pid == 0) {
        int code = 99;
        try {
            code = fn();
        } catch (...) {
        }
        ::_exit(code);
    }
    return pid;
}

/// Waits for a child and returns its exit code, or 128 + signal.
inline int wait_child(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// True when the child has ended (reaped now, its exit code or 128 + signal in `code`).
inline bool exited(pid_t pid, int& code) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) != pid) return false;
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
}

/// True when this process has no child at all, running or zombie.
inline bool no_children_left() {
    int status;
    return ::waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

/// The entries of /dev/shm that look like forkline's.
inline std::set<std::string> shm_entries() {
    std::set<std::string> out;
    if (DIR* d = ::opendir("/dev/shm")) {
        while (dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n.find("forkline") != std::string::npos || n.rfind("fl.", 0) == 0) out.insert(n);
        }
        ::closedir(d);
    }
    return out;
}

}  // namespace forkline::test
