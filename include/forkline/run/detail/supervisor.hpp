// The supervisor of one run: maps the shared region (as region_layout lays it out) and builds what
// lives in it, forks one process per process group (worker_processes), records the first failure
// (failure_log) and throws it as fl::stage_error or fl::stage_crashed once every process has
// stopped, reads the counts the processes keep (live_counts), and with options::adaptive measures
// the processes and applies what the policy in plan/detail/adaptive.hpp decides. All of it is
// compiled in src/run.
#pragma once

#include <forkline/dsl/detail/split.hpp>
#include <forkline/ipc/ring.hpp>
#include <forkline/ipc/spawn.hpp>
#include <forkline/ipc/region.hpp>
#include <forkline/ipc/shared_text.hpp>
#include <forkline/plan/plan.hpp>
#include <forkline/run/detail/failures.hpp>
#include <forkline/run/detail/journal.hpp>
#include <forkline/run/detail/live_counts.hpp>
#include <forkline/run/detail/processes.hpp>
#include <forkline/run/detail/progress.hpp>

#include <pthread.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace forkline::detail {

struct region_layout;

class supervisor {
public:
    /// `progress`, `stats`: options::progress and options::stats (the environment may say
    /// otherwise: progress_wanted, stats_wanted).
    explicit supervisor(pipeline_plan plan, run_report* report = nullptr, bool progress = false, bool stats = false);
    supervisor(const supervisor&) = delete;
    supervisor& operator=(const supervisor&) = delete;
    /// Stops whatever still runs (abort, then SIGKILL after a grace period) and reaps it. Never throws.
    ~supervisor();

    const pipeline_plan& plan() const noexcept { return plan_; }
    ipc::ring_control& ring(std::size_t r) const noexcept { return *rings_[r]; }
    void* ring_data(std::size_t r) const noexcept { return data_[r]; }

    /// The waiting policy of a process group's rings; the caller's one also watches the children.
    ipc::wait_policy child_policy() const noexcept;
    ipc::wait_policy caller_policy() noexcept;

    /// Forks the process of group g, which calls body(arg) and exits. With options::restarts, a
    /// replaceable group's process that dies is replaced by a fork that calls body(arg) again.
    void start(std::size_t group, void (*body)(void*), void* arg);
    /// Group g's journal (options::restarts), when the plan says a fresh process may replace it.
    group_journal* journal(std::size_t g) const noexcept {
        return plan_.groups()[g].replaceable ? &journals_[g] : nullptr;
    }

    /// The stage group g is running right now (a process may run several, fused): an exception or
    /// a crash is blamed on it. In the run's region, so the supervisor can still read it after the
    /// group's process died; each run has its own, so a stage that runs a pipeline of its own
    /// (a nested fl::run) does not move its run's record.
    std::atomic<std::uint32_t>& stage_of(std::size_t g) const noexcept { return records_[g].stage; }
    /// Group g's record of its times (live_counts.hpp), which its process writes as it runs.
    group_record& record(std::size_t g) const noexcept { return records_[g]; }
    /// Per stage, the items group g's elements hand to the next one in its process.
    std::atomic<std::uint64_t>* passed(std::size_t g) const noexcept { return passed_ + g * plan_.stages().size(); }
    /// Each stage's numbers so far (during the run, or after it).
    std::vector<stage_report> stage_reports() const;

    /// How many replicas of stage s its dispatchers feed (options::adaptive), in the region.
    std::atomic<std::uint32_t>& active(std::size_t s) const noexcept { return actives_[s]; }
    /// What the source (stage s, 0) gets from the run: the next part of the input the readers of
    /// a split have not claimed, their count and table, where rejects go, the abort flag.
    source_context context(std::size_t s) noexcept;
    /// After the run: the rejects the sources logged (as many as fit), and how many there were.
    std::vector<std::string> rejects() const;
    std::uint64_t reject_count() const noexcept;
    /// After every start(): with options::adaptive, measures the processes for a warm-up in a
    /// thread of the caller, then re-sizes the parallel stages.
    void adapt();
    /// True when the run shows its progress or publishes its stats (then the caller tells the
    /// source's size, if known).
    bool watched() const noexcept { return show_progress_ || show_stats_; }
    void set_input_size(std::optional<input_size> size) noexcept;
    /// After every start(), before adapt(): creates the stats segment and forks the display
    /// process, when the run shows its progress or publishes its stats.
    void start_display() noexcept;

    /// Ends the run in the caller. With no error and no abort: reaps every process and throws if
    /// one of them failed. With `caller_error` (the caller's own stage threw: the one its group's
    /// stage_of names) or after an abort (a caller's wait threw ipc::aborted): stops everything
    /// and throws the run's first failure as stage_error or stage_crashed.
    void finish(std::exception_ptr caller_error = nullptr);


private:
    /// The waiter a group sleeps on when it reads from (or writes to) several rings at once;
    /// those rings point at it instead of their own.
    ipc::waiter& fan_in(std::size_t group) const noexcept { return waiters_[2 * group]; }
    ipc::waiter& fan_out(std::size_t group) const noexcept { return waiters_[2 * group + 1]; }
    void place(const region_layout& layout);
    static void on_exit(void* self, const worker_processes::child& c, const ipc::exit_status& status) noexcept;
    /// options::restarts: replaces the dead process of a replaceable group, or sets its poison
    /// item aside, or fails the run naming that item; false when the death ends the run as it is.
    bool replace(const worker_processes::child& c, const ipc::exit_status& status) noexcept;
    /// ...for a checkpointed group: tells its last checkpoint to take over.
    bool take_over(const worker_processes::child& c, const ipc::exit_status& status) noexcept;
    /// A death of a careful replacement on an item (`on_item`; at input position `pos`, item
    /// number `item`) counts against it; after options::poison_after in a row it is set aside,
    /// or it fails the run (false) under poison_policy::fail, when part of its output was
    /// published (`partly_out`), or in a fused chain (which cannot say which item it was on).
    bool count_death(const worker_processes::child& c, const ipc::exit_status& status, group_journal& j, bool on_item,
                     std::uint64_t pos, std::uint64_t item, bool partly_out);
    /// Restart bookkeeping shared by both: the report, and one restart fewer left.
    void count_restart(const worker_processes::child& c, const ipc::exit_status& status, const journal_entry& e);
    /// After every worker is reaped: the copies of checkpointed processes that this process
    /// inherited when their process died leave, and are collected.
    void collect_copies() noexcept;
    /// Adds the copies that noted themselves as orphans in `j` to those to collect.
    void take_orphans(group_journal& j) noexcept;
    /// The restarts' seconds lost, as far as the replacements' journals tell.
    void time_restarts() noexcept;
    void fill_report() noexcept;
    live_counts counts() const noexcept;
    struct adapter;
    void measure_and_resize(adapter& a, pthread_t caller);
    void stop_adapting() noexcept;
    std::unique_ptr<adapter> adapter_;
    void teardown() noexcept;
    static void on_caller_wake(void* self);

    pipeline_plan plan_;
    ipc::shared_region region_;
    ipc::shared_text error_text_;  ///< the first failure's message, of any length
    failure_log failures_;
    std::atomic<std::uint32_t>* states_ = nullptr;  ///< one per process group, in the region
    group_record* records_ = nullptr;                 ///< one per process group, in the region
    group_journal* journals_ = nullptr;               ///< one per process group, in the region
    struct body {
        void (*fn)(void*) = nullptr;
        void* arg = nullptr;
    };
    std::vector<body> bodies_;             ///< per group: what start() was given
    std::vector<unsigned> restarts_left_;  ///< per group
    struct restart {
        restart_report report;
        std::size_t group;
        std::uint64_t died_ns;
    };
    std::vector<restart> restarts_;
    std::vector<poison_item> set_aside_;
    std::vector<pid_t> copies_;  ///< checkpoints inherited from dead processes, to collect
    int was_subreaper_ = -1;     ///< PR_GET_CHILD_SUBREAPER before the run, when it changed it
    std::atomic<std::uint64_t>* passed_ = nullptr;    ///< per group and stage, in the region
    ipc::waiter* waiters_ = nullptr;                  ///< two per process group, in the region
    std::atomic<std::uint32_t>* actives_ = nullptr;   ///< one per stage, in the region
    std::atomic<std::uint64_t>* claims_ = nullptr;    ///< one per stage, in the region
    std::atomic<std::uint64_t>* reject_counters_ = nullptr;  ///< bytes used, rejects: in the region
    split_table* table_ = nullptr;                    ///< the split source's, in the region
    source_progress* progress_ = nullptr;             ///< in the region
    bool show_progress_ = false, show_stats_ = false;
    stats_segment stats_;  ///< declared before the display, which writes it: removed after it stops
    progress_display display_;
    ipc::shared_text rejects_text_;
    std::vector<ipc::ring_control*> rings_;
    std::vector<void*> data_;
    worker_processes workers_;
    run_report* report_ = nullptr;
    double started_ = 0, caller_cpu_ = 0;  ///< clock readings at the start, for the report
};

}  // namespace forkline::detail
