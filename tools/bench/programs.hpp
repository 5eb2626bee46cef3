// What the benchmarks that run other programs share: a temporary input file and the programs
// they start (generators, the Unix tools, Python), so that nothing outlives a benchmark, also one
// stopped by Ctrl-C.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

extern char** environ;

namespace forkline::bench {

/// A file mapped read-only (for the one-process baselines; a run's processes share the mapping).
struct mapped {
    const char* data = nullptr;
    std::size_t size = 0;
    explicit mapped(const std::string& path) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + path);
        struct stat st {};
        ::fstat(fd, &st);
        size = static_cast<std::size_t>(st.st_size);
        void* p = size ? ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : nullptr;
        ::close(fd);
        if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "cannot map " + path);
        ::madvise(p, size, MADV_SEQUENTIAL);
        data = static_cast<const char*>(p);
    }
    mapped(const mapped&) = delete;
    mapped& operator=(const mapped&) = delete;
    ~mapped() {
        if (data) ::munmap(const_cast<char*>(data), size);
    }
};

/// What a fatal signal must clean up: the input file (while a temp_file exists) and the process group
/// of the program running now (a generator, the shell with tr, sort and uniq, Python). Those programs
/// run in a group of their own, so only this handler stops them, with SIGTERM (sort then removes
/// its own temporary files). forkline's workers die with their parent.
inline volatile std::sig_atomic_t have_temp = 0;
inline volatile std::sig_atomic_t running_group = 0;
inline char temp_path[4096];

extern "C" inline void clean_up_and_die(int sig) {
    if (running_group > 0) ::kill(-running_group, SIGTERM);
    if (have_temp) ::unlink(temp_path);
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

/// A file made by mkstemp in $TMPDIR (or /tmp), removed when this goes out of scope, also by an
/// exception, and by a SIGINT, SIGTERM or SIGHUP that ends the program before then. One at a
/// time: the signal handler knows one path.
class temp_file {
public:
    temp_file() {
        if (have_temp) throw std::logic_error("forkline::bench::temp_file: one at a time");
        const char* dir = std::getenv("TMPDIR");
        std::string pattern = std::string(dir && *dir ? dir : "/tmp") + "/forkline-bench-XXXXXX";
        if (pattern.size() >= sizeof temp_path) throw std::runtime_error("TMPDIR is too long: " + pattern);
        std::memcpy(temp_path, pattern.c_str(), pattern.size() + 1);
        int fd = ::mkstemp(temp_path);
        if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot create " + pattern);
        ::close(fd);
        have_temp = 1;
        struct sigaction sa {};
        sa.sa_handler = clean_up_and_die;
        for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    ~temp_file() {
        ::unlink(temp_path);
        have_temp = 0;
        for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, SIG_DFL);
    }
    std::string path() const { return temp_path; }
};

/// Starts argv (argv[0] a path) in a process group of its own, with its stdout on `out_fd`
/// (unchanged when -1). One at a time: wait_ok ends its turn. The fatal signals wait until the
/// handler knows the new group, and the program starts with them unblocked.
inline pid_t spawn(const std::vector<std::string>& args, int out_fd = -1) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    sigset_t fatal, before;
    ::sigemptyset(&fatal);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaddset(&fatal, sig);
    ::sigprocmask(SIG_BLOCK, &fatal, &before);
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    if (out_fd >= 0) ::posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
    posix_spawnattr_t attr;
    ::posix_spawnattr_init(&attr);
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
    ::posix_spawnattr_setpgroup(&attr, 0);
    ::posix_spawnattr_setsigmask(&attr, &before);
    pid_t pid;
    int err = ::posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), environ);
    ::posix_spawnattr_destroy(&attr);
    ::posix_spawn_file_actions_destroy(&actions);
    if (err == 0) running_group = pid;
    ::sigprocmask(SIG_SETMASK, &before, nullptr);
    if (err != 0) throw std::system_error(err, std::generic_category(), "cannot run " + args[0]);
    return pid;
}

/// Waits for pid; unless `quiet`, throws when it did not exit with status 0.
inline void wait_ok(pid_t pid, const std::string& what, bool quiet = false) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    running_group = 0;
    if (!quiet && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) throw std::runtime_error(what + " failed");
}

/// A program started by spawn whose output this reads, a line at a time. Closing the read end
/// first makes the program end (SIGPIPE) when reading stops early (an exception), so the wait in
/// the destructor never hangs and nothing outlives this.
class program_output {
public:
    program_output(const std::vector<std::string>& args, std::string what) : what_(std::move(what)) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) < 0) throw std::system_error(errno, std::generic_category(), "pipe");
        try {
            pid_ = spawn(args, fds[1]);
        } catch (...) {
            ::close(fds[0]);
            ::close(fds[1]);
            throw;
        }
        ::close(fds[1]);
        if (!(from_ = ::fdopen(fds[0], "r"))) {
            ::close(fds[0]);
            wait_ok(pid_, what_, true);
            throw std::system_error(errno, std::generic_category(), "fdopen");
        }
    }
    program_output(const program_output&) = delete;
    program_output& operator=(const program_output&) = delete;
    ~program_output() {
        std::free(line_);
        if (from_) std::fclose(from_);
        if (pid_ > 0) wait_ok(pid_, what_, true);
    }
    /// The next line, without its "\n"; valid until the next call. False at the end.
    bool next(std::string_view& line) {
        ssize_t n = ::getline(&line_, &cap_, from_);
        if (n <= 0) return false;
        line = std::string_view(line_, static_cast<std::size_t>(n - (line_[n - 1] == '\n')));
        return true;
    }
    /// Waits for the program; throws unless it exited with status 0.
    void finish() {
        std::fclose(std::exchange(from_, nullptr));
        wait_ok(std::exchange(pid_, -1), what_);
    }

private:
    std::string what_;
    std::FILE* from_ = nullptr;
    pid_t pid_ = -1;
    char* line_ = nullptr;
    std::size_t cap_ = 0;
};

/// What this machine does with `n` copies of fn at once, each in a process of its own that times
/// itself: the sum of their speeds in runs a second, the best of `repeats` tries. Times one run
/// alone, it bounds what any program that shares the work over n processes can reach here: on
/// equal idle cores it is n, but the cores of a shared virtual machine need not be equal, and one
/// may slow down when the other is busy (caches and memory shared with other guests).
inline double runs_per_second_at_once(unsigned n, int repeats, const std::function<void()>& fn) {
    double best = 0;
    for (int r = 0; r < repeats; ++r) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) < 0) throw std::system_error(errno, std::generic_category(), "pipe");
        std::vector<pid_t> kids;
        for (unsigned k = 0; k < n; ++k) {
            pid_t pid = ::fork();
            if (pid == 0) {
                double seconds = -1;
                try {
                    auto t0 = std::chrono::steady_clock::now();
                    fn();
                    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                } catch (...) {
                }
                ssize_t w = ::write(fds[1], &seconds, sizeof seconds);
                ::_exit(w == sizeof seconds && seconds > 0 ? 0 : 1);
            }
            if (pid < 0) break;
            kids.push_back(pid);
        }
        ::close(fds[1]);
        double sum = 0, seconds = 0;
        unsigned got = 0;
        while (::read(fds[0], &seconds, sizeof seconds) == sizeof seconds)
            if (seconds > 0) sum += 1 / seconds, ++got;
        ::close(fds[0]);
        for (pid_t pid : kids)
            while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
            }
        if (got != n) throw std::runtime_error("one of the runs at once failed");
        best = std::max(best, sum);
    }
    return best;
}

/// The size of the generated input and the runs a row gets: `--quick` (64 MiB, one run) and
/// `--bytes N`; 1 GiB and three runs by default.
struct settings {
    std::uint64_t bytes = std::uint64_t{1} << 30;
    int repeats = 3;
};

inline settings parse(int argc, char** argv) {
    settings s;
    bool sized = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--quick")) {
            s.repeats = 1;
            if (!sized) s.bytes = std::uint64_t{64} << 20;
        } else if (!std::strcmp(argv[i], "--bytes") && i + 1 < argc) {
            char* end = nullptr;
            s.bytes = std::strtoull(argv[++i], &end, 10);
            sized = true;
            if (*end || s.bytes == 0) throw std::invalid_argument("--bytes takes a positive number");
        } else {
            throw std::invalid_argument(std::string("unknown argument ") + argv[i]);
        }
    }
    return s;
}

/// A benchmark's main: run(settings from the command line), its errors printed as "name: why".
template <class Run>
int main_of(int argc, char** argv, const char* name, Run run) {
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", name, e.what());
        return 1;
    }
}

}  // namespace forkline::bench
