// A run's stats segment (options::stats, or FORKLINE_STATS in the environment): a named shared
// memory segment, /dev/shm/forkline.stats-PID-N (mode 0600, this user's only), that the run's
// display process rewrites as often as it draws (twice a second when it does not) with what its frame would show and the bottleneck so
// far, for forkline-top to read from outside. Created by the caller before the display forks,
// removed when the run ends; when the caller is killed the display process removes it. A reader
// copies it whole and keeps the copy only if no write happened meanwhile (a sequence number, odd
// while the writer writes), so it never sees half a frame. Compiled in src/run/stats.cpp.
#pragma once

#include <forkline/core/detail/progress_text.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace forkline {
class pipeline_plan;
}

namespace forkline::detail {

/// The names of stats segments start so, after forkline's own prefix (mp/detail/segment.hpp).
inline constexpr std::string_view stats_prefix = "stats-";

/// Whether a run publishes its stats: FORKLINE_STATS when set (as progress_wanted reads
/// FORKLINE_PROGRESS), else `option`; never in a process forkline forked.
bool stats_wanted(bool option) noexcept;

/// What a stats segment says, as a reader sees it.
struct run_stats {
    std::string name;       ///< the segment's name ("stats-4242-0")
    int pid = 0;            ///< the process that runs the pipeline
    bool alive = false;     ///< whether that process is still there
    std::string command;    ///< its command line, arguments joined by spaces
    double started = 0;     ///< when the run started, seconds since the epoch
    double updated = 0;     ///< when the segment was last written (0: not yet)
    progress_view view;     ///< what the run's progress frame shows
    std::string bottleneck; ///< the bottleneck sentence over the run so far
};

/// The writing side, in the caller and then in the display process.
class stats_segment {
public:
    stats_segment() = default;
    stats_segment(const stats_segment&) = delete;
    stats_segment& operator=(const stats_segment&) = delete;
    ~stats_segment() { remove(); }

    /// Creates and maps the segment for a run of `plan` (its stages' names, this process's pid
    /// and command line). Best effort: false, and no segment, when it cannot be made.
    bool create(const pipeline_plan& plan, double started_unix) noexcept;
    bool created() const noexcept { return base_ != nullptr; }
    /// Rewrites the frame (the display process, after each reading of the counts).
    void publish(const progress_view& v, std::string_view bottleneck) noexcept;
    /// Removes the name and unmaps; nothing when there is none.
    void remove() noexcept;

private:
    std::string name_;
    std::byte* base_ = nullptr;
    std::size_t size_ = 0, stages_ = 0;
};

/// Reads the stats segment `name` (without forkline's prefix): nothing when it is not one, not
/// this user's, or kept changing while read.
std::optional<run_stats> read_stats(const std::string& name);
/// Every stats segment of this user in /dev/shm, oldest run first.
std::vector<run_stats> all_stats();

}  // namespace forkline::detail
