// Helpers shared by the tests: child processes and the checks that a run left nothing behind.
#pragma once

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace forkline::test {

/// Built with AddressSanitizer: its shadow memory and the quarantine of freed blocks count in a
/// process's resident size, so bounds on memory use hold only without it.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool address_sanitized = true;
#else
inline constexpr bool address_sanitized = false;
#endif
/// Built with ThreadSanitizer, which reports a mutex misused on purpose (a test that a lock not
/// held refuses an unlock) as an error of its own.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool thread_sanitized = true;
#else
inline constexpr bool thread_sanitized = false;
#endif

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

/// Sets an environment variable (or unsets it, for nullptr) for one scope.
struct env_var {
    env_var(const char* name, const char* value) : name_(name) {
        if (const char* old = ::getenv(name)) old_ = old, had_ = true;
        if (value)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ~env_var() {
        if (had_)
            ::setenv(name_, old_.c_str(), 1);
        else
            ::unsetenv(name_);
    }
    const char* name_;
    std::string old_;
    bool had_ = false;
};

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

/// True when `pid` has ended (gone, or a zombie nobody reaped yet): for processes that are not
/// this one's children, such as a run's workers started by a child of the test.
inline bool ended(pid_t pid) {
    std::string stat = "/proc/" + std::to_string(pid) + "/stat";
    FILE* f = std::fopen(stat.c_str(), "r");
    if (!f) return true;
    char line[512] = {};
    std::size_t n = std::fread(line, 1, sizeof line - 1, f);
    std::fclose(f);
    // "pid (comm) S ...": the state follows the last ')'
    std::string s(line, n);
    std::size_t close = s.rfind(')');
    return close == std::string::npos || close + 2 >= s.size() || s[close + 2] == 'Z' || s[close + 2] == 'X';
}

/// This process's children that run (not zombies) and whose name starts with `prefix`: a run's
/// workers are named "fl:<stage>" ("fl:parse[1]" for a farm's replica).
inline std::vector<pid_t> children_named(const std::string& prefix) {
    std::vector<pid_t> out;
    DIR* d = ::opendir("/proc");
    if (!d) return out;
    const std::string me = std::to_string(::getpid());
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
        std::string line;
        if (!std::getline(in, line)) continue;
        // "pid (comm) S ppid ...": the state and the parent follow the last ')'
        auto open = line.find('('), close = line.rfind(')');
        if (open == std::string::npos || close == std::string::npos || close + 4 >= line.size()) continue;
        std::string rest = line.substr(close + 2);
        std::string ppid = rest.substr(2, rest.find(' ', 2) - 2);
        if (rest[0] != 'Z' && ppid == me && line.compare(open + 1, prefix.size(), prefix) == 0)
            out.push_back(static_cast<pid_t>(std::stol(e->d_name)));
    }
    ::closedir(d);
    return out;
}

/// Waits until `done()` holds, checking every few milliseconds, at most `seconds`; true if it held.
/// For outcomes that come at once or never: the limit is far beyond what a loaded machine needs.
template <class Done>
bool eventually(Done done, double seconds = 10) {
    for (int i = 0; i < static_cast<int>(seconds * 200); ++i) {
        if (done()) return true;
        ::usleep(5000);
    }
    return done();
}

/// For tests that kill a caller they forked: while it lives, this process adopts the orphans of
/// its descendants (PR_SET_CHILD_SUBREAPER), so the test can reap the caller's workers and see how
/// they ended.
class orphans {
public:
    orphans() { ok_ = ::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0; }
    ~orphans() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }
    bool adopting() const noexcept { return ok_; }

    /// Reaps until `count` processes ended (at most `seconds`); true if they did. `ended` gets
    /// each one's exit code or 128 + signal.
    bool reap(std::size_t count, double seconds = 10) {
        return eventually([&] {
            int status = 0;
            for (pid_t p; (p = ::waitpid(-1, &status, WNOHANG)) > 0;)
                ended[p] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return ended.size() >= count;
        }, seconds);
    }
    /// Kills `pid` (a stray the test knows of) unless it was reaped already (its number may be
    /// another process's by now), and reaps everything left.
    void clean_up(pid_t pid) {
        if (pid > 0 && !ended.count(pid)) ::kill(pid, SIGKILL);
        int status = 0;
        while (::waitpid(-1, &status, 0) > 0) {
        }
    }
    std::map<pid_t, int> ended;

private:
    bool ok_ = false;
};

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

/// A file in the system's temp directory, removed when the test ends (the caller's own name,
/// so tests running side by side do not meet).
struct temp_file {
    std::string path;
    explicit temp_file(const std::string& contents) {
        char name[] = "/tmp/forkline-test-XXXXXX";
        int fd = ::mkstemp(name);
        if (fd < 0) throw std::runtime_error("temp_file: mkstemp failed");
        ::close(fd);
        path = name;
        std::ofstream(path, std::ios::binary) << contents;
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    ~temp_file() { std::remove(path.c_str()); }
};

/// A directory in the system's temp directory for files a test makes; removed, with them, at the end.
struct temp_dir {
    std::string path;
    std::vector<std::string> files;
    temp_dir() {
        char name[] = "/tmp/forkline-test-XXXXXX";
        if (!::mkdtemp(name)) throw std::runtime_error("temp_dir: mkdtemp failed");
        path = name;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    /// Writes `contents` to the file `name` in it; returns its path.
    std::string add(const std::string& name, const std::string& contents) {
        files.push_back(path + "/" + name);
        std::ofstream(files.back(), std::ios::binary) << contents;
        return files.back();
    }
    ~temp_dir() {
        for (const auto& f : files) std::remove(f.c_str());
        ::rmdir(path.c_str());
    }
};

}  // namespace forkline::test
