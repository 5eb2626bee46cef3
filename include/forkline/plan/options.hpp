// fl::options: how a run may use the machine. Designated initializers read best:
// `fl::run(p, fl::options{.ring_bytes = 1 << 20})`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace forkline {

/// What one process of a run did, filled in when the run ends (see options::report).
struct process_report {
    std::vector<std::string> stages;  ///< the stages it ran, in order
    int pid = 0;                      ///< 0 for the caller
    double cpu_seconds = 0;           ///< user + system time it used
    /// The most memory it had resident at once, in KiB (for the caller: its peak so far, over
    /// its whole life). A worker's counts the pages it shares with the caller from the fork.
    long peak_rss_kib = 0;
};

/// What one stage did, its processes (replicas) added up; counted as the run goes, a batch at a
/// time. Stages fused into one process share its times: each reports that process's.
struct stage_report {
    std::string name;
    std::size_t processes = 1;                 ///< the processes that ran it
    std::uint64_t items_in = 0, items_out = 0;  ///< 0 in for a source, 0 out for a sink
    /// What its items took in the rings between processes (encoded size, with each record's
    /// header); 0 for items handed on inside one process.
    std::uint64_t bytes_in = 0, bytes_out = 0;
    double busy_seconds = 0;         ///< working: its processes' time not spent waiting
    double input_wait_seconds = 0;   ///< waiting for input
    double output_wait_seconds = 0;  ///< waiting for room downstream
    /// The share of its processes' time it was busy, in [0, 1].
    double busy() const noexcept {
        double all = busy_seconds + input_wait_seconds + output_wait_seconds;
        return all > 0 ? busy_seconds / all : 0;
    }
};

/// A stage process that died and was replaced (options::restarts).
struct restart_report {
    std::string stage;   ///< "map", or "parse[1]" for a farm's replica
    int pid = 0;         ///< the process that died
    int signal = 0;      ///< the signal that killed it, or 0
    int exit_code = 0;   ///< or its exit code
    /// Items its replacement read again: those the dead process had read since it last handed
    /// room back to its input (at least; up to a sixteenth of the ring).
    std::uint64_t items_replayed = 0;
    /// From the death being noticed to the replacement passing the output its predecessor had
    /// published (0 when the run ended first).
    double seconds_lost = 0;
};

/// An item a stage crashed on again and again, set aside (options::poison).
struct poison_item {
    std::string stage;      ///< as in restart_report
    /// Its index in that process's input, from 0 (a farm replica's: of what it was given).
    std::uint64_t position = 0;
    int signal = 0;         ///< the signal of the last crash on it, or 0
    int exit_code = 0;
};

/// How a run went: wall time and each process's CPU time. A stage that waits for its
/// neighbours sleeps, so its CPU time stays near zero however long the run takes.
struct run_report {
    double seconds = 0;
    std::vector<process_report> processes;  ///< in plan order; the caller's is last
    /// Per stage, in pipeline order: items, bytes, time busy and waiting.
    std::vector<stage_report> stages;
    /// The stage that was busy while the others waited, and what would help, in a sentence
    /// ("parse is the bottleneck: busy 97%, its input full 92% of the time; give it more
    /// replicas"), or why there was none.
    std::string bottleneck;
    /// What options::adaptive measured and changed, one sentence each.
    std::vector<std::string> adapted;
    /// How many rows the source rejected (fl::read_csv collecting them in csv_options::rejects).
    std::uint64_t rejected = 0;
    /// The bytes of files the source read, when it counts them (the readers of a split of
    /// read_lines or read_csv, a single read_csv reader); else 0.
    std::uint64_t source_bytes = 0;
    /// The processes that died and were replaced, in the order they died (options::restarts).
    std::vector<restart_report> restarts;
    /// The items set aside as poison (options::poison), in the order they were found.
    std::vector<poison_item> set_aside;
};

/// What a run does with an item a stage crashed on options::poison_after times in a row.
enum class poison_policy {
    fail,  ///< the run ends with fl::stage_crashed, which names the item
    skip,  ///< the item is dropped and listed in run_report::set_aside; the run goes on
};

/// How fl::parallel stages (and split sources) get their replicas; see options::parallel.
enum class parallel_sizing { every_core, spare_cores };
inline constexpr parallel_sizing every_core = parallel_sizing::every_core;
inline constexpr parallel_sizing spare_cores = parallel_sizing::spare_cores;

/// Settings for fl::run, fl::stream and fl::plan; every field has a sensible default.
struct options {
    /// Bytes of shared memory for each ring between two processes (rounded down to a power of
    /// two; at least one item). Memory does not grow with the input: it is this times the edges.
    std::size_t ring_bytes = 256 * 1024;
    /// Cores the planner may assume; 0 means fl::cpu_count() (the cores this process may run on).
    unsigned cpus = 0;
    /// Run adjacent plain stages in one process: `true` always, `false` never; by default only
    /// when the pipeline would otherwise need more processes than there are cores.
    std::optional<bool> fuse{};
    /// Pin each worker process to a core of its own when there are no more processes than cores.
    bool pin = true;
    /// When set, filled in as the run ends (also when it ends with an error).
    run_report* report = nullptr;
    /// fl::every_core (the default): each parallel stage gets a replica per core (shared by
    /// fl::cost when there are several), and the other processes share the cores with them; one
    /// that waits sleeps, so a light source and sink cost the replicas little. fl::spare_cores:
    /// parallel stages get only the cores the other processes leave (each counted busy), so that
    /// every process can have a core of its own and be pinned to it.
    parallel_sizing parallel = every_core;
    /// Re-size fl::parallel stages while the run goes: every replica they could use starts, the
    /// planner's share is fed at first, and after a warm-up of about 0.1 s each parallel stage
    /// that keeps its replicas busy gets the cores that the other processes leave idle (measured
    /// from their CPU time). Replicas it does not feed sleep. Fusion stays as planned.
    bool adaptive = false;
    /// Show the run's progress on stderr while it goes (FORKLINE_PROGRESS=1 in the environment does
    /// too, without a rebuild; FORKLINE_PROGRESS=0 turns it off): on a terminal, a table redrawn
    /// four times a second (a bar with percent, rate and time left when the source's size is
    /// known, then per stage its processes, items/s, busy share and items) and erased when the
    /// run ends; otherwise one line every 5 seconds. Drawn by a process of its own from the live
    /// counts, so the stages do nothing for it.
    bool progress = false;
    /// Publish the run's live numbers for `forkline-top` (FORKLINE_STATS=1 in the environment
    /// does too; FORKLINE_STATS=0 turns it off): what the progress display would show, and the
    /// bottleneck so far, in a named segment /dev/shm/forkline.stats-PID-N that only this user
    /// can read (mode 0600), rewritten a few times a second by the display's process and removed when
    /// the run ends, also when the caller is killed (`forkline-shm` lists one left by a display
    /// process killed with it).
    bool stats = false;
    /// How many times each stage process may die and be replaced (0, the default: the first
    /// death ends the run with fl::stage_crashed). The replacement takes over the items the dead
    /// one had taken but not finished, and the output is what a run without the crash gives:
    /// nothing lost, nothing twice, order kept. For the processes that read one ring and write
    /// one: those of stages that keep no state between items (map, filter, flat_map, fused chains
    /// of them, farm and parallel replicas) are replaced by a fresh fork; those whose stages keep
    /// state (partition_by replicas, reduce, count_by's per-process counts, mutable lambdas) by
    /// their last checkpoint (see checkpoint_ms). fl::plan's describe() says which (with
    /// restarts, the planner fuses nothing into the source unless options::fuse says so). Their
    /// functions must give the same output for the same input (a replacement does an item again).
    /// fl::restart(k, element) gives one element a count of its own over this one.
    unsigned restarts = 0;
    /// With restarts, a process whose stages keep state saves it at least this often while
    /// items come (a fork of itself that waits: a copy-on-write snapshot), and whenever the items
    /// read since the last one fill half its input ring, which keeps them until the next one. A
    /// replacement resumes from the last checkpoint and reads those items again.
    unsigned checkpoint_ms = 200;
    /// ...and after this many items read since the last checkpoint (0: no such limit).
    std::uint64_t checkpoint_items = 0;
    /// After this many deaths in a row on one item, the item is poison: options::poison says what
    /// becomes of it (at least 1). They count from the first death: its replacement journals each
    /// item until it has passed what the dead one could have read, so the deaths after it name
    /// the item (the first one, found only then, is not counted).
    unsigned poison_after = 2;
    /// fl::poison_policy::skip holds only where the item made no output the next stage saw:
    /// an item that a flat_map had sent part of the output of, or one inside a fused chain,
    /// fails the run.
    poison_policy poison = poison_policy::fail;
};

}  // namespace forkline
