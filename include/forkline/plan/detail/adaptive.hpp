// options::adaptive's policy: from the CPU time each process used over a warm-up to how many
// replicas each adaptive parallel stage feeds. Pure (compiled in src/plan/adaptive.cpp): the
// supervisor measures and applies it, and a test can drive it with made-up CPU times.
#pragma once

#include <forkline/plan/plan.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace forkline::detail {

/// How long the processes run before the measuring starts (their start-up is not their load),
/// and how long it measures.
inline constexpr std::chrono::milliseconds adapt_settle{30};
inline constexpr std::chrono::milliseconds adapt_warm_up{100};
/// A stage whose fed replicas are busier than this on average (CPU time over wall time) is what
/// holds the run back: it gets more replicas.
inline constexpr double adapt_busy = 0.75;
/// Added before rounding a stage's share of the free cores down: a fraction of a core above 0.3
/// is worth a replica.
inline constexpr double adapt_round_up = 0.7;

/// What the supervisor measured over the warm-up.
struct warm_up_sample {
    double seconds = 0;               ///< the wall time it lasted
    std::vector<double> cpu_seconds;  ///< per process group, the CPU time it used (below 0 counts as 0)
    std::vector<std::uint32_t> fed;   ///< per stage, the replicas its dispatchers feed now
};

/// What to feed after the warm-up: per stage, the replicas (as fed before for a stage that is not
/// adaptive or not busy), and for each adaptive stage a sentence for run_report::adapted.
struct resize_decision {
    std::vector<std::uint32_t> fed;
    std::vector<std::string> notes;
};

/// Shares the cores that the processes other than adaptive replicas leave idle among the adaptive
/// stages whose replicas are busy, by their load: each gets at least the replicas it is fed and at
/// most those the plan started. `sample` has an entry per group and per stage of `plan`.
resize_decision resize_parallel(const pipeline_plan& plan, const warm_up_sample& sample);

}  // namespace forkline::detail
