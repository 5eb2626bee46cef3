// The plan of a run: which process runs which stage, the item type on every edge, and the size
// of the ring that carries it. Computed by the planner (src/plan) from a description of the
// stages that the templates produce; fl::plan(pipeline) returns it without running anything.
#pragma once

#include <forkline/plan/options.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace forkline {

enum class element_role { source, stage, sink, output };  // output: the end of a sink-less stream

/// One element of the pipeline as the planner sees it.
struct stage_info {
    std::string name;
    element_role role;
    std::string input;   ///< item type received ("" for a source)
    std::string output;  ///< item type sent on ("" for a sink)
    bool fixed_slots = false;   ///< the output items travel as raw fixed-size slots
    std::size_t item_size = 0;  ///< sizeof the output item type
};

/// One OS process and the stages it runs, in order.
struct process_group {
    std::vector<std::size_t> stages;
    bool in_caller = false;  ///< runs in the process that called fl::run / iterates fl::stream
};

/// The ring between stage `from` and stage `from + 1`.
struct edge_info {
    std::size_t from = 0;
    bool fixed_slots = false;
    std::size_t unit = 1;           ///< bytes per slot (1 for a byte ring)
    std::uint64_t capacity = 0;     ///< slots, or bytes for a byte ring; a power of two
    std::uint64_t bytes() const noexcept { return capacity * unit; }
};

/// What fl::run would do with a pipeline. `describe()` prints a table, `to_dot()` a Graphviz graph.
class pipeline_plan {
public:
    pipeline_plan() = default;
    pipeline_plan(std::vector<stage_info> stages, std::vector<process_group> groups, std::vector<edge_info> edges,
                  unsigned cpus, std::uint32_t spin);

    const std::vector<stage_info>& stages() const noexcept { return stages_; }
    const std::vector<process_group>& groups() const noexcept { return groups_; }
    const std::vector<edge_info>& edges() const noexcept { return edges_; }
    unsigned cpus() const noexcept { return cpus_; }
    std::uint32_t spin() const noexcept { return spin_; }
    /// The process group that runs stage i.
    std::size_t group_of(std::size_t stage) const;

    /// A text table: each stage, its process, input and output types, and its output ring.
    std::string describe() const;
    /// A Graphviz digraph: one cluster per process, one edge per ring.
    std::string to_dot() const;

private:
    std::vector<stage_info> stages_;
    std::vector<process_group> groups_;
    std::vector<edge_info> edges_;
    unsigned cpus_ = 1;
    std::uint32_t spin_ = 0;
};

namespace detail {
/// The planner (v1: one process per stage, the sink in the caller).
pipeline_plan make_plan(std::vector<stage_info> stages, const options& opts);
/// A readable name for a mangled type name ("std::string" rather than its full spelling).
std::string readable_type_name(const char* mangled);
}  // namespace detail

}  // namespace forkline
