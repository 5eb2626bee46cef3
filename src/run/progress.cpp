// The progress display: its rates and its process.
#include <forkline/ipc/os.hpp>
#include <forkline/ipc/spawn.hpp>
#include <forkline/ipc/waiter.hpp>
#include <forkline/run/detail/progress.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace forkline::detail {

namespace {

constexpr double ns = 1e-9;
/// Rates are measured over this much of the recent past.
constexpr std::uint64_t window_ns = 2'000'000'000;
/// Off a terminal the display wakes once a second, and writes a line every line_every.
constexpr int line_ms = 1000;
constexpr int frame_ms = static_cast<int>(frame_every.count());
constexpr std::uint64_t quiet_ns = std::chrono::nanoseconds(quiet_for).count();
constexpr std::uint64_t line_every_ns = std::chrono::nanoseconds(line_every).count();

/// With a stats segment and nothing to draw, the display wakes this often.
constexpr int stats_ms = 500;

struct display_args {
    live_counts counts;
    source_progress* progress;
    std::uint64_t started_ns;
    int fd;
    stats_segment* stats;
};

/// A terminal frame of `lines`, drawn over the `shown` lines of the last one (then its own).
std::string frame_over(std::vector<std::string> lines, std::size_t& shown, std::size_t cols, std::size_t rows) {
    if (rows > 2 && lines.size() > rows - 1) {
        std::size_t more = lines.size() - (rows - 2);
        lines.resize(rows - 2);
        lines.push_back(fit("  (" + std::to_string(more) + " more stages)", cols - 1));
    }
    std::string frame;
    if (shown > 0) frame += "\x1b[" + std::to_string(shown) + "A";
    for (const auto& l : lines) frame += "\r\x1b[2K" + l + "\n";
    if (lines.size() < shown) frame += "\x1b[J";
    shown = lines.size();
    return frame;
}

/// The display's process: draws and publishes until the run ends (or the caller is gone: its
/// lifeline wakes us then), then removes the stats segment if the caller could not, and erases
/// what it drew (after the removal, which a terminal that takes no output cannot hold up).
void display_main(void* a) noexcept {
    auto& d = *static_cast<display_args*>(a);
    bool orphaned = false;
    std::size_t shown = 0;  // lines of the last frame on the screen, the cursor below them
    try {
        const bool draws = d.fd >= 0, tty = draws && ::isatty(d.fd) == 1;
        const int sleep_ms = tty ? frame_ms : d.stats ? stats_ms : line_ms;
        progress_sampler sampler(d.counts, *d.progress, d.started_ns);
        std::uint64_t next_line = d.started_ns + line_every_ns;
        while (d.progress->ended.load(std::memory_order_acquire) == 0) {
            ipc::futex_wait(d.progress->ended, 0, sleep_ms);
            if (d.progress->ended.load(std::memory_order_acquire) != 0) break;
            if ((orphaned = ipc::parent_gone())) break;
            std::uint64_t now = monotonic_ns();
            progress_view v = sampler.sample(now);
            if (d.stats) {
                double run_seconds = static_cast<double>(now - d.started_ns) * ns;
                d.stats->publish(v, bottleneck_sentence(*d.counts.plan, d.counts.stages(now), run_seconds));
            }
            if (!draws) continue;
            if (!tty) {
                if (now < next_line) continue;
                next_line = now + line_every_ns;
                write_all(d.fd, progress_line(v) + "\n");
                continue;
            }
            if (now - d.started_ns < quiet_ns) continue;
            std::size_t cols = 80, rows = 24;
            terminal_size(d.fd, cols, rows);
            auto lines = progress_lines(v, cols > 1 ? cols - 1 : 1);  // the last column would wrap
            write_all(d.fd, frame_over(std::move(lines), shown, cols, rows));
        }
    } catch (...) {
    }
    if (d.stats && (orphaned || ipc::parent_gone())) d.stats->remove();
    try {
        if (shown > 0) write_all(d.fd, "\x1b[" + std::to_string(shown) + "A\r\x1b[J");
    } catch (...) {
    }
}

}  // namespace

progress_view progress_sampler::sample(std::uint64_t now_ns) {
    std::vector<stage_report> stages = counts_.stages(now_ns);
    reading r;
    r.ns = now_ns;
    for (std::size_t s = 0; s < stages.size(); ++s) {
        r.items.push_back(s == 0 ? stages[s].items_out : stages[s].items_in);
        r.busy.push_back(stages[s].busy_seconds);
    }
    progress_view v;
    v.seconds = static_cast<double>(now_ns - started_ns_) * ns;
    v.bytes = progress_->unit == source_progress::bytes;
    v.total = progress_->unit == source_progress::none ? 0 : progress_->total;
    r.done = v.bytes ? progress_->bytes_done.load(std::memory_order_relaxed) : (r.items.empty() ? 0 : r.items.front());
    v.done = v.total > 0 ? std::min(r.done, v.total) : r.done;

    // Rates since the oldest reading of the window (since the start, at first).
    reading start{started_ns_, 0, std::vector<std::uint64_t>(stages.size(), 0), std::vector<double>(stages.size(), 0)};
    while (past_.size() > 1 && now_ns - past_[1].ns >= window_ns) past_.erase(past_.begin());
    const reading& from = past_.empty() ? start : past_.front();
    double dt = static_cast<double>(now_ns - from.ns) * ns;
    auto per_second = [dt](double d) { return dt > 0 ? std::max(d, 0.0) / dt : 0.0; };
    v.rate = per_second(static_cast<double>(r.done) - static_cast<double>(from.done));
    for (std::size_t s = 0; s < stages.size(); ++s) {
        progress_view::stage st;
        st.name = stages[s].name;
        st.processes = stages[s].processes;
        st.items = r.items[s];
        st.rate = per_second(static_cast<double>(r.items[s]) - static_cast<double>(from.items[s]));
        double procs = static_cast<double>(std::max<std::size_t>(st.processes, 1));
        st.busy = per_second(r.busy[s] - from.busy[s]) / procs;
        v.stages.push_back(std::move(st));
    }
    past_.push_back(std::move(r));
    return v;
}

void progress_display::start(const live_counts& counts, source_progress& progress, std::uint64_t started_ns,
                             int fd, stats_segment* stats) noexcept {
    if (pid_ > 0) return;
    progress_ = &progress;
    display_args args{counts, &progress, started_ns, fd, stats};
    try {
        pid_ = ipc::fork_watcher("fl:progress", &display_main, &args);
    } catch (...) {
        pid_ = -1;
        if (stats) stats->remove();  // nobody would write it, or remove it should the caller be killed
    }
}

void progress_display::stop() noexcept {
    if (pid_ <= 0) return;
    progress_->ended.store(1, std::memory_order_release);
    ipc::futex_wake(progress_->ended, 1);
    // It erases its frame and leaves at once; one stuck on a terminal that takes no output is
    // not waited for long.
    ipc::exit_status status;
    bool gone = false;
    for (int k = 0; k < 200 && !(gone = ipc::reap(pid_, false, status)); ++k) ::usleep(5000);
    if (!gone) {
        ::kill(pid_, SIGKILL);
        ipc::reap(pid_, true, status);
    }
    pid_ = -1;
}

}  // namespace forkline::detail
