// Where everything of a run lives in its shared region: the offset of the control block, of the
// process groups' states and records (live_counts.hpp), of the items they hand on inside a
// process, of their waiters, of the stages' actives and claims, of the reject counters, of a
// split source's table, and of every ring. Each part starts on a
// cache line of its own; src/run/region_layout.cpp computes them and checks that each part's
// type fits that alignment.
#pragma once

#include <forkline/plan/plan.hpp>

#include <cstddef>
#include <vector>

namespace forkline::detail {

struct region_layout {
    /// The alignment of every part (a group's record, which its worker writes as items pass,
    /// has a line of its own).
    static constexpr std::size_t line = 64;

    explicit region_layout(const pipeline_plan& plan);

    std::size_t control = 0;   ///< the control_block
    std::size_t states = 0;    ///< an std::atomic<std::uint32_t> per process group
    std::size_t records = 0;   ///< a group_record (a line) per group
    std::size_t journals = 0;  ///< a group_journal per group (journal.hpp)
    std::size_t passed = 0;    ///< an std::atomic<std::uint64_t> per group and stage
    std::size_t waiters = 0;   ///< two ipc::waiter per group: fan-in, fan-out
    std::size_t actives = 0;   ///< an std::atomic<std::uint32_t> per stage
    std::size_t claims = 0;    ///< an std::atomic<std::uint64_t> per stage
    std::size_t rejects = 0;   ///< two std::atomic<std::uint64_t>: bytes used, rejects
    std::size_t progress = 0;  ///< the source_progress
    std::size_t table = 0;     ///< the split_table, when has_table
    bool has_table = false;    ///< the source is split
    std::vector<std::size_t> rings;  ///< per ring, its ipc::ring_control
    std::vector<std::size_t> data;   ///< per ring, its slots or bytes
    std::size_t size = 0;            ///< of the whole region, in whole lines
};

}  // namespace forkline::detail
