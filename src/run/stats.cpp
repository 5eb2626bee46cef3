// A run's stats segment: its layout, its writer and its readers.
#include <forkline/ipc/os.hpp>
#include <forkline/mp/detail/segment.hpp>
#include <forkline/plan/plan.hpp>
#include <forkline/run/detail/stats.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <type_traits>

namespace forkline::detail {

namespace {

/// The segment's head; its stages follow it. Plain data: the writer orders its stores with the
/// sequence number (std::atomic_ref), a reader copies the bytes with pread.
struct stats_head {
    std::uint64_t magic;
    std::uint64_t seq;  ///< odd while the writer writes
    std::int64_t pid;
    std::uint64_t stages;
    double started, updated, seconds, rate;
    std::uint64_t total, done, bytes;
    char command[256];
    char bottleneck[512];
};
struct stats_stage {
    char name[64];
    std::uint64_t processes, items;
    double rate, busy;
};
static_assert(std::is_trivially_copyable_v<stats_head> && std::is_trivially_copyable_v<stats_stage>);

std::string shm_name(const std::string& name) { return "/" + std::string(segment_prefix) + name; }

template <std::size_t N>
void put(char (&to)[N], std::string_view s) noexcept {
    std::size_t n = std::min(s.size(), N - 1);
    std::memcpy(to, s.data(), n);
    to[n] = '\0';
}
/// A string of the segment, as text a terminal may show: control bytes (an escape sequence, a
/// newline in a command's argument) become '?'.
template <std::size_t N>
std::string get(const char (&from)[N]) {
    std::string s(from, ::strnlen(from, N));
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return s;
}
/// A number of the segment: anything but a finite number reads as 0.
double number(double x) { return std::isfinite(x) ? x : 0; }

/// This process's command line, its arguments joined by spaces.
std::string command_line() {
    std::string out;
    int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    char buf[512];
    ssize_t n;
    while (out.size() < 4096 && (n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    while (!out.empty() && out.back() == '\0') out.pop_back();
    std::replace(out.begin(), out.end(), '\0', ' ');
    return out;
}

bool read_at(int fd, void* to, std::size_t n, off_t at) {
    return ::pread(fd, to, n, at) == static_cast<ssize_t>(n);
}

}  // namespace

bool stats_wanted(bool option) noexcept { return switched_on("FORKLINE_STATS", option); }

bool stats_segment::create(const pipeline_plan& plan, double started_unix) noexcept {
    if (base_) return true;
    static std::atomic<unsigned> runs{0};
    try {
        const auto& stages = plan.stages();
        name_ = std::string(stats_prefix) + std::to_string(::getpid()) + "-" + std::to_string(runs++);
        size_ = sizeof(stats_head) + stages.size() * sizeof(stats_stage);
        int fd = ::shm_open(shm_name(name_).c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) return false;
        void* p = ::fchmod(fd, 0600) == 0 && ::ftruncate(fd, static_cast<off_t>(size_)) == 0
                      ? ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                      : MAP_FAILED;
        ::close(fd);
        if (p == MAP_FAILED) {
            ::shm_unlink(shm_name(name_).c_str());
            return false;
        }
        base_ = static_cast<std::byte*>(p);
        stages_ = stages.size();
        auto* h = reinterpret_cast<stats_head*>(base_);
        h->pid = ::getpid();
        h->stages = stages_;
        h->started = started_unix;
        put(h->command, command_line());
        auto* s = reinterpret_cast<stats_stage*>(h + 1);
        for (std::size_t i = 0; i < stages_; ++i) put(s[i].name, stages[i].name);
        // A reader takes it for a stats segment once the magic is there, and the rest with it.
        std::atomic_ref<std::uint64_t>(h->magic).store(stats_magic, std::memory_order_release);
        return true;
    } catch (...) {
        remove();
        return false;
    }
}

void stats_segment::publish(const progress_view& v, std::string_view bottleneck) noexcept {
    if (!base_) return;
    auto* h = reinterpret_cast<stats_head*>(base_);
    std::atomic_ref<std::uint64_t> seq(h->seq);
    seq.fetch_add(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    h->updated = unix_seconds();
    h->seconds = v.seconds;
    h->rate = v.rate;
    h->total = v.total;
    h->done = v.done;
    h->bytes = v.bytes;
    put(h->bottleneck, bottleneck);
    auto* s = reinterpret_cast<stats_stage*>(h + 1);
    for (std::size_t i = 0; i < std::min(stages_, v.stages.size()); ++i) {
        s[i].processes = v.stages[i].processes;
        s[i].items = v.stages[i].items;
        s[i].rate = v.stages[i].rate;
        s[i].busy = v.stages[i].busy;
    }
    seq.fetch_add(1, std::memory_order_release);
}

void stats_segment::remove() noexcept {
    if (!base_) return;
    ::shm_unlink(shm_name(name_).c_str());
    ::munmap(base_, size_);
    base_ = nullptr;
}

std::optional<run_stats> read_stats(const std::string& name) {
    int fd = ::open((std::string(shm_dir) + std::string(segment_prefix) + name).c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return std::nullopt;  // (O_NONBLOCK: a FIFO of that name does not hold us up)
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } close_it{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || st.st_size < static_cast<off_t>(sizeof(stats_head)))
        return std::nullopt;
    stats_head h;
    std::vector<stats_stage> stages;
    // A copy taken while the writer wrote is taken again, a millisecond later.
    for (int attempt = 0; attempt < 20; ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (!read_at(fd, &h, sizeof h, 0) || h.magic != stats_magic || h.pid <= 0 || h.pid > INT32_MAX)
            return std::nullopt;
        if (h.stages > 4096 || sizeof h + h.stages * sizeof(stats_stage) > static_cast<std::size_t>(st.st_size))
            return std::nullopt;
        if (h.seq % 2 != 0) continue;
        stages.resize(h.stages);
        std::uint64_t after = 0;
        if (!stages.empty() && !read_at(fd, stages.data(), stages.size() * sizeof(stats_stage), sizeof h)) continue;
        if (!read_at(fd, &after, sizeof after, offsetof(stats_head, seq)) || after != h.seq) continue;
        run_stats r;
        r.name = name;
        r.pid = static_cast<int>(h.pid);
        r.alive = ::kill(r.pid, 0) == 0;  // (EPERM: another user's process, so not the run)
        r.command = get(h.command);
        r.started = number(h.started);
        r.updated = number(h.updated);
        r.view.seconds = number(h.seconds);
        r.view.rate = number(h.rate);
        r.view.total = h.total;
        r.view.done = h.done;
        r.view.bytes = h.bytes != 0;
        r.bottleneck = get(h.bottleneck);
        for (const auto& s : stages)
            r.view.stages.push_back(
                {get(s.name), static_cast<std::size_t>(s.processes), s.items, number(s.rate), number(s.busy)});
        return r;
    }
    // Half written for 20 ms: its writer died writing it. A segment of a run that is gone.
    run_stats gone;
    gone.name = name;
    gone.pid = static_cast<int>(h.pid);
    gone.alive = false;
    return gone;
}

std::vector<run_stats> all_stats() {
    std::vector<run_stats> out;
    const std::string first = std::string(segment_prefix) + std::string(stats_prefix);
    if (DIR* d = ::opendir(std::string(shm_dir).c_str())) {
        while (dirent* e = ::readdir(d)) {
            std::string_view n(e->d_name);
            if (!n.starts_with(first)) continue;
            if (auto r = read_stats(std::string(n.substr(segment_prefix.size())))) out.push_back(std::move(*r));
        }
        ::closedir(d);
    }
    std::sort(out.begin(), out.end(), [](const run_stats& a, const run_stats& b) {
        return a.started != b.started ? a.started < b.started : a.name < b.name;
    });
    return out;
}

}  // namespace forkline::detail
