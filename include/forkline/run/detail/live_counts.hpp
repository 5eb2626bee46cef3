// What a run's processes count as they go, in the run's shared region, and how those counts
// become run_report::stages and its bottleneck sentence. Each process group writes its own record
// (its times) and the items its elements hand to the next one in the same process; the items that
// cross between processes are the rings' own counts (ipc::ring_control). Nothing is counted per
// item: rings publish per batch, to_next per batch, waits per wait. Compiled in
// src/run/live_counts.cpp.
#pragma once

#include <forkline/ipc/ring.hpp>
#include <forkline/plan/plan.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace forkline::detail {

/// One process group's record, written by its process alone, on a cache line of its own.
struct alignas(64) group_record {
    /// The stage it runs now: an exception or a crash is blamed on it.
    std::atomic<std::uint32_t> stage{0};
    /// Monotonic nanoseconds (monotonic_ns) when its loop started and ended (0: not yet).
    std::atomic<std::uint64_t> started_ns{0}, ended_ns{0};
    /// Time spent waiting for input, and for room downstream (the wait policies' waited_ns).
    std::atomic<std::uint64_t> input_wait_ns{0}, output_wait_ns{0};
    /// Records it sent that carry no item (an ordered farm's markers, to_tagged), left out of the
    /// counts of its output ring.
    std::atomic<std::uint64_t> markers{0};
};

/// How far the source is through an input whose size is known (for the progress display's bar),
/// and the word the display sleeps on between frames, in the region.
struct alignas(64) source_progress {
    enum unit : std::uint32_t { none = 0, items = 1, bytes = 2 };
    /// The input's size in `unit`s, set before the run starts (none: not known).
    std::uint64_t total = 0;
    std::uint32_t unit = none;
    /// Bytes the source has read, for `bytes` (the readers of a split add each part they finish);
    /// for `items`, the source's items out are the count.
    std::atomic<std::uint64_t> bytes_done{0};
    /// Set to 1 (and woken) when the run ends: the display draws its last frame and leaves.
    std::atomic<std::uint32_t> ended{0};
};

/// Where a run's counts are, for reading them (the caller, after or during the run).
struct live_counts {
    const pipeline_plan* plan = nullptr;
    const group_record* records = nullptr;  ///< one per group
    /// Per group, per stage: the items that stage handed to the next one in the same process.
    const std::atomic<std::uint64_t>* passed = nullptr;
    const ipc::ring_control* const* rings = nullptr;  ///< one per ring of the plan

    /// Each stage's numbers, its processes added up; `now_ns` ends the processes still running.
    std::vector<stage_report> stages(std::uint64_t now_ns) const;
};

/// The sentence that names the stage holding the others back (run_report::bottleneck), from the
/// stages' numbers over a run of `run_seconds`: the one whose processes were busy the largest
/// share of the run, when that is at least half, with what the stages next to it waited for, and
/// what would help. Pure, for tests.
std::string bottleneck_sentence(const pipeline_plan& plan, const std::vector<stage_report>& stages,
                                double run_seconds);

}  // namespace forkline::detail
