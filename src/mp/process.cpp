// fl::process: fork, wait (through a pidfd when the kernel has them), signals, and the registry
// of started children that active_children() reads and the exit handler joins.
#include <forkline/ipc/os.hpp>
#include <forkline/ipc/spawn.hpp>
#include <forkline/mp/process.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <new>
#include <stdexcept>
#include <thread>
#include <typeinfo>

namespace forkline {

namespace detail {

struct process_state {
    std::function<void()> body;
    std::string name;
    bool daemon = false;
    pid_t pid = 0;
    bool reaped = false;
    ipc::exit_status status;
};

}  // namespace detail

namespace {

using detail::process_state;

/// The children started here and not yet reaped. Guarded by registry_mutex; never destroyed, so
/// the exit handler can still read it after static destructors ran.
std::mutex registry_mutex;
auto* registry_ = new std::vector<std::shared_ptr<process_state>>;
/// In a child: its parent's list, which it does not own. Kept so that it stays reachable (a leak
/// checker would report it); volatile, so the store that keeps it is not optimized away.
std::vector<std::shared_ptr<process_state>>* volatile inherited_ = nullptr;
std::vector<std::shared_ptr<process_state>>& registry() { return *registry_; }
std::atomic<int> counter{0};

/// Records how a child ended (once) and forgets it in the registry.
void record(process_state& s, const ipc::exit_status& st) {
    s.reaped = true;
    s.status = st;
    std::lock_guard lock(registry_mutex);
    auto& r = registry();
    r.erase(std::remove_if(r.begin(), r.end(), [&](const auto& p) { return p.get() == &s; }), r.end());
}

bool poll_child(process_state& s, bool block) {
    if (s.reaped) return true;
    ipc::exit_status st;
    if (!ipc::reap(s.pid, block, st)) return false;
    record(s, st);
    return true;
}

/// At normal exit: join the children still running, kill the daemons (as Python does).
void at_exit() {
    std::vector<std::shared_ptr<process_state>> left;
    {
        std::lock_guard lock(registry_mutex);
        left = registry();
    }
    for (auto& s : left)
        if (s->daemon && !s->reaped) ::kill(s->pid, SIGKILL);
    for (auto& s : left) poll_child(*s, true);
}

void child_body(void* arg) noexcept {
    auto& s = *static_cast<process_state*>(arg);
    // The parent's children are not ours to join or kill. Another thread of the parent may have
    // held the lock or been changing the list when it forked: start both afresh.
    // The parent's list is not freed: another thread may have been changing it.
    new (&registry_mutex) std::mutex;
    inherited_ = registry_;
    registry_ = new std::vector<std::shared_ptr<process_state>>;
    try {
        s.body();
    } catch (...) {
        std::string type = "an exception not derived from std::exception", message;
        try {
            throw;
        } catch (const std::exception& e) {
            type = detail::demangle(typeid(e).name());
            message = e.what();
        } catch (...) {
        }
        std::fprintf(stderr, "forkline: process '%s' (pid %d) ended by an exception: %s: %s\n", s.name.c_str(),
                     static_cast<int>(::getpid()), type.c_str(), message.c_str());
        ipc::flush_standard_streams();
        ::_exit(1);
    }
}

process_state& need(const std::shared_ptr<process_state>& s, const char* what) {
    if (!s) throw std::logic_error(std::string("forkline::process::") + what + ": the process is empty (moved from)");
    return *s;
}

}  // namespace

process::process(std::in_place_t, std::function<void()> body) : s_(std::make_shared<process_state>()) {
    s_->body = std::move(body);
    s_->name = "process-" + std::to_string(++counter);
}

process::process(process&&) noexcept = default;

process& process::operator=(process&& o) noexcept {
    if (this != &o) {
        process old(std::move(*this));  // ends as a destroyed process does
        s_ = std::move(o.s_);
    }
    return *this;
}

process::~process() {
    if (!s_ || !s_->pid || s_->reaped) return;
    if (poll_child(*s_, false)) return;
    ::kill(s_->pid, SIGKILL);
    poll_child(*s_, true);
    if (!s_->daemon)
        std::fprintf(stderr,
                     "forkline: process '%s' (pid %d) was still running when its fl::process was destroyed; "
                     "killed it (join() it first, or make it a daemon)\n",
                     s_->name.c_str(), static_cast<int>(s_->pid));
}

void process::start() {
    auto& s = need(s_, "start");
    if (s.pid) throw std::logic_error("forkline::process::start: '" + s.name + "' was started already");
    static std::once_flag exit_hook;
    std::call_once(exit_hook, [] { std::atexit(at_exit); });
    std::string title = s.name.substr(0, 15);
    s.pid = ipc::fork_worker(title.c_str(), -1, &child_body, &s);
    std::lock_guard lock(registry_mutex);
    registry().push_back(s_);
}

void process::join() {
    auto& s = need(s_, "join");
    if (!s.pid) throw std::logic_error("forkline::process::join: '" + s.name + "' was not started");
    poll_child(s, true);
}

bool process::join_for(long long ms) {
    auto& s = need(s_, "join");
    if (!s.pid) throw std::logic_error("forkline::process::join: '" + s.name + "' was not started");
    if (poll_child(s, false)) return true;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(ms, 0LL));
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, s.pid, 0));  // -1 on kernels before 5.3
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        if (fd >= 0) {
            pollfd p{fd, POLLIN, 0};
            ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count() + 1, 1 << 30)));
        } else {  // no pidfd: look again every few milliseconds
            std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(5)));
        }
        if (poll_child(s, false)) break;
    }
    if (fd >= 0) ::close(fd);
    return poll_child(s, false);
}

bool process::is_alive() {
    if (!s_ || !s_->pid) return false;
    return !poll_child(*s_, false);
}

std::optional<int> process::exit_code() {
    if (!s_ || !s_->pid || !poll_child(*s_, false)) return std::nullopt;
    return s_->status.signal ? -s_->status.signal : s_->status.code;
}

void process::terminate() {
    if (is_alive()) ::kill(s_->pid, SIGTERM);
}

void process::kill() {
    if (is_alive()) ::kill(s_->pid, SIGKILL);
}

pid_t process::pid() const noexcept { return s_ ? s_->pid : 0; }

const std::string& process::name() const noexcept {
    static const std::string none;
    return s_ ? s_->name : none;
}

void process::name(std::string n) { need(s_, "name").name = std::move(n); }

bool process::daemon() const noexcept { return s_ && s_->daemon; }

void process::daemon(bool d) {
    auto& s = need(s_, "daemon");
    if (s.pid) throw std::logic_error("forkline::process::daemon: set it before start()");
    s.daemon = d;
}

std::vector<child_info> active_children() {
    std::vector<std::shared_ptr<process_state>> all;
    {
        std::lock_guard lock(registry_mutex);
        all = registry();
    }
    std::vector<child_info> out;
    for (auto& s : all)
        if (!poll_child(*s, false)) out.push_back({s->pid, s->name, s->daemon});
    return out;
}

}  // namespace forkline
