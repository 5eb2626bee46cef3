// The progress display (options::progress, or FORKLINE_PROGRESS in the environment): a process of
// its own, forked once the run's workers are, that reads the run's live counts a few times a
// second and draws them on stderr, so the stages' loops do nothing for it. On a terminal, a table
// redrawn in place (a bar for a source whose size is known, then a line per stage), erased when
// the run ends however it ends; otherwise a plain line every few seconds. How a frame is worded is
// core/detail/progress_text.hpp's. The same process writes the run's stats segment (stats.hpp)
// when the run publishes one, and outlives the caller just long enough to erase its frame and
// remove the segment when the caller is killed. Compiled in src/run/progress.cpp.
#pragma once

#include <forkline/core/detail/progress_text.hpp>
#include <forkline/run/detail/live_counts.hpp>
#include <forkline/run/detail/stats.hpp>

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace forkline::detail {

/// Turns successive readings of a run's counts into views, with rates over the last two seconds.
class progress_sampler {
public:
    progress_sampler(live_counts counts, const source_progress& progress, std::uint64_t started_ns)
        : counts_(counts), progress_(&progress), started_ns_(started_ns) {}
    progress_view sample(std::uint64_t now_ns);

private:
    struct reading {
        std::uint64_t ns = 0, done = 0;
        std::vector<std::uint64_t> items;
        std::vector<double> busy;
    };
    live_counts counts_;
    const source_progress* progress_;
    std::uint64_t started_ns_;
    std::vector<reading> past_;  ///< the readings of the last two seconds, oldest first
};

/// The display's process: start() forks it, stop() (or the destructor) tells it the run ended and
/// waits until it has erased what it drew.
class progress_display {
public:
    progress_display() = default;
    progress_display(const progress_display&) = delete;
    progress_display& operator=(const progress_display&) = delete;
    ~progress_display() { stop(); }

    /// Forks the display for the run whose counts and source progress these are (started at
    /// `started_ns`, monotonic), drawing on file descriptor `fd` (-1: it draws nothing) and
    /// publishing in `stats` (when not null: a segment created in this process). Best effort: a
    /// fork that fails leaves the run without a display.
    void start(const live_counts& counts, source_progress& progress, std::uint64_t started_ns, int fd = 2,
               stats_segment* stats = nullptr) noexcept;
    void stop() noexcept;
    bool running() const noexcept { return pid_ > 0; }

private:
    pid_t pid_ = -1;
    source_progress* progress_ = nullptr;
};

}  // namespace forkline::detail
