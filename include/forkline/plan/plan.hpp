// The plan of a run: which process runs which stages (fused groups, farm replicas), which core
// it is pinned to, the item type on every edge and the rings that carry it, and why. Computed by
// the planner (src/plan) from a description of the stages that the templates produce;
// fl::plan(pipeline) returns it without running anything. Its queries and printers are in
// src/plan/plan.cpp, the planning steps in src/plan/planner.cpp.
#pragma once

#include <forkline/core/detail/progress_text.hpp>  // human_number, for to_dot(report)
#include <forkline/ipc/os.hpp>  // readable_type_name, which names the item types of a stage_info
#include <forkline/plan/options.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace forkline {

enum class element_role { source, stage, sink, output };  // output: the end of a sink-less stream
enum class spread_kind { none, farm, partition };         // how many processes run an element

/// One element of the pipeline as the planner sees it.
struct stage_info {
    std::string name;
    element_role role = element_role::stage;
    std::string input;   ///< item type received ("" for a source)
    std::string output;  ///< item type sent on ("" for a sink)
    bool fixed_slots = false;   ///< the output items travel as raw fixed-size slots
    std::size_t item_size = 0;  ///< sizeof the output item type
    spread_kind spread = spread_kind::none;
    std::size_t replicas = 1;  ///< for farm and partition_by; 0: fl::parallel, the planner decides
    bool ordered = false;      ///< an ordered farm: its edges carry sequence-numbered items
    bool seq_fixed_slots = false;   ///< ...which travel like this (for the edges of ordered farms)
    std::size_t seq_item_size = 0;  ///< and are this large
    double cost = 1;         ///< relative work per item (fl::cost)
    std::size_t active = 0;  ///< planned by options::adaptive: replicas fed at first (0: all of them)
    bool split = false;      ///< the readers of a split source: each reads its own parts of the input
    bool combiner = false;   ///< combines what its process sees (keyed aggregation): runs with the element before
    bool late = false;       ///< works only once its input has ended (the merge of a keyed aggregation)
    bool stateless = false;  ///< keeps no state between items (a replaceable process may run it)
    bool resumable = false;  ///< a source that can make its items again from the beginning
    int restarts = -1;       ///< fl::restart: the element's own count (-1: options::restarts)
};

/// One OS process and the stages it runs, in order.
struct process_group {
    std::vector<std::size_t> stages;
    bool in_caller = false;  ///< runs in the process that called fl::run / iterates fl::stream
    int replica = -1;        ///< which replica of a farm or partition_by, or -1
    int cpu = -1;            ///< the core it is pinned to, or -1
    /// With options::restarts: a death of its process is repaired (it reads one ring and writes
    /// one), by a fresh fork when its stages keep no state, else from its last checkpoint.
    bool replaceable = false;
    bool checkpointed = false;
    unsigned restarts = 0;  ///< ...this many times (options::restarts, or fl::restart's)
};

/// options::restarts, poison_after and poison, as the plan keeps them.
struct restart_policy {
    unsigned restarts = 0;
    unsigned poison_after = 2;
    poison_policy poison = poison_policy::fail;
    unsigned checkpoint_ms = 200;
    std::uint64_t checkpoint_items = 0;
};

/// One ring: from a process running element `from` to a process running element `from + 1`.
struct ring_info {
    std::size_t from = 0;
    std::size_t from_group = 0, to_group = 0;
    bool sequenced = false;      ///< carries sequence-numbered items (an ordered farm's edge)
    bool fixed_slots = false;
    std::size_t unit = 1;        ///< bytes per slot (1 for a byte ring)
    std::uint64_t capacity = 0;  ///< slots, or bytes for a byte ring; a power of two
    std::uint64_t bytes() const noexcept { return capacity * unit; }
};

/// What fl::run would do with a pipeline. `describe()` prints a table, `to_dot()` a Graphviz graph.
class pipeline_plan {
public:
    pipeline_plan() = default;
    pipeline_plan(std::vector<stage_info> stages, std::vector<process_group> groups, std::vector<ring_info> rings,
                  unsigned cpus, std::uint32_t spin, std::vector<std::string> reasons, restart_policy restarts = {});

    const std::vector<stage_info>& stages() const noexcept { return stages_; }
    const std::vector<process_group>& groups() const noexcept { return groups_; }
    const std::vector<ring_info>& rings() const noexcept { return rings_; }
    unsigned cpus() const noexcept { return cpus_; }
    std::uint32_t spin() const noexcept { return spin_; }
    const restart_policy& restarts() const noexcept { return restarts_; }
    /// Why the planner chose what it did, one sentence each (fusion, replicas, pinning).
    const std::vector<std::string>& reasons() const noexcept { return reasons_; }

    /// The process groups that run stage i (several for a farm), in replica order.
    std::vector<std::size_t> groups_of(std::size_t stage) const;
    /// The group that runs in the caller's process (the sink, or the end of a stream).
    std::size_t caller_group() const noexcept;
    /// The rings out of group g, and into it, in replica order.
    std::vector<std::size_t> rings_from(std::size_t group) const;
    std::vector<std::size_t> rings_to(std::size_t group) const;
    /// "parse", or "parse[2]" for replica 2 of a farm: how errors name a process's stage.
    std::string label(std::size_t group, std::size_t stage) const;

    /// A text table: each stage, its processes, input and output types, its output rings; then why.
    std::string describe() const;
    /// A Graphviz digraph: one cluster per process, one edge per ring.
    std::string to_dot() const;
    /// The same, with what a run of this plan measured (its run_report, options::report): each
    /// stage's items per second (all its replicas) and busy share under its name, and the run's
    /// seconds as the graph's title.
    /// Example: `fl::plan(p, o).to_dot(report)` after `fl::run(p, o)` with `o.report = &report`.
    std::string to_dot(const run_report& measured) const;

private:
    std::string dot(const run_report* measured) const;
    /// "restarts: up to 3 per process; replaced after a crash: ...; a crash ends the run: ...".
    std::string recovery_line() const;

    std::vector<stage_info> stages_;
    std::vector<process_group> groups_;
    std::vector<ring_info> rings_;
    unsigned cpus_ = 1;
    std::uint32_t spin_ = 0;
    std::vector<std::string> reasons_;
    restart_policy restarts_;
};

namespace detail {
/// The planner: fuses plain stages when processes would outnumber cores, gives spare cores to
/// fl::parallel stages, pins when every process has a core.
pipeline_plan make_plan(std::vector<stage_info> stages, const options& opts);
}  // namespace detail

}  // namespace forkline
