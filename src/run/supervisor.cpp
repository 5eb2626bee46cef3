// The supervisor: builds the run's region, starts the groups' processes, blames an ended one,
// measures the processes for options::adaptive and applies the decision, fills the report.
#include <forkline/ipc/os.hpp>
#include <forkline/plan/detail/adaptive.hpp>
#include <forkline/run/detail/region_layout.hpp>
#include <forkline/run/detail/supervisor.hpp>

#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <new>
#include <string_view>
#include <thread>

namespace forkline::detail {

namespace {

enum group_state : std::uint32_t { running = 0, done = 1, failed = 2, aborted = 3 };

}  // namespace

/// options::adaptive: the measuring thread, and what it found.
struct supervisor::adapter {
    std::mutex m;
    std::condition_variable cv;
    bool stop = false;
    std::vector<std::string> notes;
    std::thread thread;

    /// Waits `d` unless stopped first; true when the time passed.
    bool sleep(std::chrono::milliseconds d) {
        std::unique_lock lock(m);
        return !cv.wait_for(lock, d, [&] { return stop; });
    }
};

supervisor::supervisor(pipeline_plan plan, run_report* report, bool progress, bool stats)
    : plan_(std::move(plan)),
      workers_(&supervisor::on_exit, this),
      report_(report),
      started_(monotonic_seconds()),
      caller_cpu_(thread_cpu_seconds()) {
    region_layout layout(plan_);
    region_ = ipc::shared_region(layout.size);
    place(layout);
    failures_ = failure_log(new (region_.data() + layout.control) control_block, &error_text_, rings_.data(),
                            rings_.size());
    workers_.reserve(plan_.groups().size());
    bodies_.resize(plan_.groups().size());
    restarts_left_.clear();
    for (const auto& g : plan_.groups()) restarts_left_.push_back(g.restarts);
    show_progress_ = progress_wanted(progress);
    show_stats_ = stats_wanted(stats);
    // A checkpointed process's copies outlive it: as the run's subreaper, this process inherits
    // them, so that one can take over as its worker (and be reaped like one).
    const auto& gs = plan_.groups();
    if (std::any_of(gs.begin(), gs.end(), [](const process_group& g) { return g.checkpointed; })) {
        int was = 0;
        if (::prctl(PR_GET_CHILD_SUBREAPER, &was) == 0 && was == 0 && ::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0)
            was_subreaper_ = 0;
    }
}

/// Constructs what lives in the region where the layout puts it.
void supervisor::place(const region_layout& layout) {
    std::byte* base = region_.data();
    const auto& groups = plan_.groups();
    const auto& stages = plan_.stages();
    states_ = reinterpret_cast<std::atomic<std::uint32_t>*>(base + layout.states);
    records_ = reinterpret_cast<group_record*>(base + layout.records);
    journals_ = reinterpret_cast<group_journal*>(base + layout.journals);
    for (std::size_t g = 0; g < groups.size(); ++g) {
        new (&states_[g]) std::atomic<std::uint32_t>(running);
        new (&records_[g]) group_record;
        new (&journals_[g]) group_journal;
        records_[g].stage.store(static_cast<std::uint32_t>(groups[g].stages.front()), std::memory_order_relaxed);
    }
    passed_ = reinterpret_cast<std::atomic<std::uint64_t>*>(base + layout.passed);
    for (std::size_t i = 0; i < groups.size() * stages.size(); ++i) new (&passed_[i]) std::atomic<std::uint64_t>(0);
    actives_ = reinterpret_cast<std::atomic<std::uint32_t>*>(base + layout.actives);
    for (std::size_t s = 0; s < stages.size(); ++s)
        new (&actives_[s]) std::atomic<std::uint32_t>(static_cast<std::uint32_t>(stages[s].active));
    claims_ = reinterpret_cast<std::atomic<std::uint64_t>*>(base + layout.claims);
    for (std::size_t s = 0; s < stages.size(); ++s) new (&claims_[s]) std::atomic<std::uint64_t>(0);
    reject_counters_ = new (base + layout.rejects) std::atomic<std::uint64_t>[2]{};
    if (layout.has_table) table_ = new (base + layout.table) split_table;
    progress_ = new (base + layout.progress) source_progress;
    waiters_ = reinterpret_cast<ipc::waiter*>(base + layout.waiters);
    for (std::size_t w = 0; w < 2 * groups.size(); ++w) new (&waiters_[w]) ipc::waiter;
    const auto& edges = plan_.rings();
    for (std::size_t i = 0; i < edges.size(); ++i) {
        auto* r = new (base + layout.rings[i]) ipc::ring_control(edges[i].capacity);
        // A group that reads from several rings sleeps on one waiter that all of them wake; the
        // same for a group that writes to several.
        if (plan_.rings_to(edges[i].to_group).size() > 1) r->readable = &fan_in(edges[i].to_group);
        if (plan_.rings_from(edges[i].from_group).size() > 1) r->writable = &fan_out(edges[i].from_group);
        rings_.push_back(r);
        data_.push_back(base + layout.data[i]);
    }
}

supervisor::~supervisor() {
    teardown();
    fill_report();
    if (was_subreaper_ == 0) ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

void supervisor::adapt() {
    const auto& stages = plan_.stages();
    if (std::none_of(stages.begin(), stages.end(), [](const stage_info& s) { return s.active != 0; })) return;
    adapter_ = std::make_unique<adapter>();
    adapter_->thread = std::thread([this, caller = ::pthread_self()] { measure_and_resize(*adapter_, caller); });
}

void supervisor::set_input_size(std::optional<input_size> size) noexcept {
    if (!size) return;
    progress_->total = size->amount;
    progress_->unit = size->bytes ? source_progress::bytes : source_progress::items;
}

void supervisor::start_display() noexcept {
    if (!watched()) return;
    if (show_stats_) stats_.create(plan_, unix_seconds() - (monotonic_seconds() - started_));
    if (!show_progress_ && !stats_.created()) return;  // nothing to draw, nowhere to publish
    display_.start(counts(), *progress_, static_cast<std::uint64_t>(started_ * 1e9), show_progress_ ? 2 : -1,
                   stats_.created() ? &stats_ : nullptr);
}

void supervisor::stop_adapting() noexcept {
    if (!adapter_ || !adapter_->thread.joinable()) return;
    {
        std::lock_guard lock(adapter_->m);
        adapter_->stop = true;
    }
    adapter_->cv.notify_all();
    adapter_->thread.join();
}

/// Measures each process's CPU time over the warm-up, then feeds each adaptive stage as many
/// replicas as resize_parallel decides.
void supervisor::measure_and_resize(adapter& a, pthread_t caller) {
    const auto& groups = plan_.groups();
    std::vector<clockid_t> clocks(groups.size());
    std::vector<bool> known(groups.size(), false);
    for (const auto& c : workers_.children()) known[c.group] = process_cpu_clock(c.pid, clocks[c.group]);
    for (std::size_t g = 0; g < groups.size(); ++g)
        if (groups[g].in_caller) known[g] = thread_cpu_clock(caller, clocks[g]);
    auto sample = [&] {
        std::vector<double> cpu(groups.size(), 0);
        for (std::size_t g = 0; g < groups.size(); ++g)
            if (known[g]) cpu[g] = cpu_seconds(clocks[g]);
        return cpu;
    };
    if (!a.sleep(adapt_settle)) return;
    double w0 = monotonic_seconds();
    auto c0 = sample();
    if (!a.sleep(adapt_warm_up)) return;
    warm_up_sample measured{monotonic_seconds() - w0, sample(), {}};
    for (std::size_t g = 0; g < groups.size(); ++g) measured.cpu_seconds[g] -= c0[g];
    for (std::size_t s = 0; s < plan_.stages().size(); ++s)
        measured.fed.push_back(actives_[s].load(std::memory_order_relaxed));
    auto decision = resize_parallel(plan_, measured);
    std::lock_guard lock(a.m);
    for (std::size_t s = 0; s < plan_.stages().size(); ++s)
        actives_[s].store(decision.fed[s], std::memory_order_relaxed);
    a.notes = std::move(decision.notes);
}

void supervisor::fill_report() noexcept {
    if (!report_) return;
    try {
        run_report r;
        if (adapter_) r.adapted = adapter_->notes;
        r.rejected = reject_count();
        r.source_bytes = progress_->bytes_done.load(std::memory_order_relaxed);
        time_restarts();
        for (const auto& x : restarts_) r.restarts.push_back(x.report);
        r.set_aside = set_aside_;
        r.seconds = monotonic_seconds() - started_;
        for (const auto& c : workers_.children()) {
            process_report p{{}, static_cast<int>(c.pid), c.cpu_seconds, c.peak_rss_kib};
            for (std::size_t s : plan_.groups()[c.group].stages) p.stages.push_back(plan_.stages()[s].name);
            r.processes.push_back(std::move(p));
        }
        process_report caller{{}, 0, thread_cpu_seconds() - caller_cpu_, peak_rss_kib()};
        for (const auto& g : plan_.groups())
            if (g.in_caller)
                for (std::size_t s : g.stages) caller.stages.push_back(plan_.stages()[s].name);
        r.processes.push_back(std::move(caller));
        r.stages = stage_reports();
        r.bottleneck = bottleneck_sentence(plan_, r.stages, r.seconds);
        *report_ = std::move(r);
    } catch (...) {
    }
}

live_counts supervisor::counts() const noexcept { return {&plan_, records_, passed_, rings_.data()}; }

std::vector<stage_report> supervisor::stage_reports() const {
    return counts().stages(monotonic_ns());
}

source_context supervisor::context(std::size_t stage) noexcept {
    source_context c;
    c.next = &claims_[stage];
    c.readers = plan_.groups_of(stage).size();
    c.table = stage == 0 ? table_ : nullptr;
    c.rejects = reject_log{&rejects_text_, &reject_counters_[0], &reject_counters_[1]};
    c.abort = &failures_.abort_flag();
    c.bytes_done = &progress_->bytes_done;
    return c;
}

std::vector<std::string> supervisor::rejects() const {
    std::vector<std::string> out;
    std::string text = rejects_text_.read();
    for (std::size_t at = 0; at < text.size();) {
        std::size_t nl = text.find('\n', at);
        if (nl == std::string::npos) nl = text.size();
        // A reader killed while it wrote leaves zeros where its line should be.
        if (nl > at && text[at] != '\0') out.push_back(text.substr(at, nl - at));
        at = nl + 1;
    }
    return out;
}

std::uint64_t supervisor::reject_count() const noexcept { return reject_counters_[1].load(); }

ipc::wait_policy supervisor::child_policy() const noexcept {
    ipc::wait_policy p;
    p.abort = &failures_.abort_flag();
    p.spin = plan_.spin();
    p.on_wake = &ipc::check_parent;
    return p;
}

ipc::wait_policy supervisor::caller_policy() noexcept {
    ipc::wait_policy p = child_policy();
    p.sleep_ms = worker_processes::watch_ms;
    p.on_wake = &supervisor::on_caller_wake;
    p.on_wake_arg = this;
    return p;
}

void supervisor::on_caller_wake(void* self) { static_cast<supervisor*>(self)->workers_.watch(); }

namespace {

/// What a worker of the run needs to report how its body ended.
struct child_args {
    const failure_log* failures;
    std::atomic<std::uint32_t>* states;
    std::atomic<std::uint32_t>* stage;
    std::size_t group;
    void (*body)(void*);
    void* arg;
};

void child_main(void* a) noexcept {
    auto& c = *static_cast<child_args*>(a);
    auto fail = [&c](std::string_view message) {
        c.failures->fail({.group = c.group, .stage = c.stage->load(std::memory_order_relaxed), .message = message});
    };
    std::uint32_t state = done;
    try {
        c.body(c.arg);
    } catch (const ipc::aborted&) {
        state = aborted;
    } catch (const std::exception& e) {
        state = failed;
        fail(e.what());
    } catch (...) {
        state = failed;
        fail("an exception not derived from std::exception");
    }
    c.states[c.group].store(state, std::memory_order_release);
}

/// The core id for a plan's virtual core index, or -1 for none. The caller is not pinned, and
/// keeps the core it is on: positions count from the core after it, so the workers take the
/// others first and none starts out sharing the caller's core.
int core_for(int position) {
    auto cores = affinity_cores();
    if (position < 0 || cores.empty()) return -1;
    auto here = std::find(cores.begin(), cores.end(), ::sched_getcpu());
    if (here != cores.end()) std::rotate(cores.begin(), here + 1, cores.end());
    return cores[static_cast<std::size_t>(position) % cores.size()];
}

}  // namespace

void supervisor::start(std::size_t group, void (*body)(void*), void* arg) {
    bodies_[group] = {body, arg};
    std::size_t first = plan_.groups()[group].stages.front();
    child_args args{&failures_, states_, &records_[group].stage, group, body, arg};
    std::string title = "fl:" + plan_.label(group, first);
    workers_.start(group, title.c_str(), core_for(plan_.groups()[group].cpu), &child_main, &args);
}

/// A worker ended: a crash unless it said it was done, it failed (and said why), it stopped for
/// an abort, or the supervisor killed it.
void supervisor::on_exit(void* self, const worker_processes::child& c, const ipc::exit_status& status) noexcept {
    auto& s = *static_cast<supervisor*>(self);
    std::uint32_t state = s.states_[c.group].load(std::memory_order_acquire);
    if (c.killed || (status.clean() && state != running) || state == failed || state == aborted) return;
    if (s.replace(c, status)) return;
    s.failures_.fail({.kind = failure_kind::crash,
                      .group = c.group,
                      .stage = s.records_[c.group].stage.load(std::memory_order_relaxed),
                      .pid = static_cast<int>(c.pid),
                      .signal = status.signal,
                      .code = status.code});
}

bool supervisor::count_death(const worker_processes::child& c, const ipc::exit_status& status, group_journal& j,
                             bool on_item, std::uint64_t pos, std::uint64_t item, bool partly_out) {
    const std::size_t g = c.group;
    // A death counts against an item only when the process was on it (a careful replacement);
    // poison_after in a row there make it poison.
    j.deaths_here = !on_item ? 0 : j.death_pos == pos ? j.deaths_here + 1 : 1;
    j.death_pos = on_item ? pos : ~std::uint64_t{0};
    if (j.deaths_here < plan_.restarts().poison_after) return true;
    const std::size_t stage = records_[g].stage.load(std::memory_order_relaxed);
    // Part of its output published already cannot be taken back: then it fails the run. So can
    // an item of a fused chain: what a death names is the first element's input, which the
    // later elements may be done with (they take it a batch at a time).
    const bool fused = plan_.groups()[g].stages.size() > 1;
    if (plan_.restarts().poison == poison_policy::fail || partly_out || fused) {
        failures_.fail({.kind = failure_kind::crash,
                        .group = g,
                        .stage = stage,
                        .pid = static_cast<int>(c.pid),
                        .signal = status.signal,
                        .code = status.code,
                        .item = item,
                        .times = j.deaths_here});
        return false;
    }
    set_aside_.push_back({plan_.label(g, stage), item, status.signal, status.code});
    j.set_aside.store(pos + 1, std::memory_order_release);
    j.deaths_here = 0;
    return true;
}

void supervisor::count_restart(const worker_processes::child& c, const ipc::exit_status& status,
                               const journal_entry& e) {
    const std::size_t g = c.group;
    // Items are slots in a slot ring; a byte ring counts its records. A source starts over: it
    // makes again what it had published.
    const auto in = plan_.rings_to(g);
    const bool slots = plan_.rings()[in.empty() ? plan_.rings_from(g).front() : in.front()].fixed_slots;
    const std::uint64_t item = in.empty() ? 0 : slots ? e.in.pos : e.in.records;
    const std::uint64_t read = slots ? e.read.pos : e.read.records;
    time_restarts();
    const std::string name = plan_.label(g, records_[g].stage.load(std::memory_order_relaxed));
    restarts_.push_back({{name, static_cast<int>(c.pid), status.signal, status.code, read > item ? read - item : 0, 0},
                         g, monotonic_ns()});
    journals_[g].caught_up_ns.store(0, std::memory_order_relaxed);
    --restarts_left_[g];
    states_[g].store(running, std::memory_order_release);
}

bool supervisor::take_over(const worker_processes::child& c, const ipc::exit_status& status) noexcept {
    const std::size_t g = c.group;
    group_journal& j = journals_[g];
    const journal_entry e = j.last();
    // Its copies that never became (or no longer are) its checkpoint are this process's to collect.
    for (pid_t p : {j.forming.exchange(0), j.retiring.exchange(0)})
        if (p > 0 && p != e.checkpoint) copies_.push_back(p);
    take_orphans(j);
    if (j.finished.load(std::memory_order_acquire)) return true;  // it had made all its output
    // A copy takes over once: one that died before it made its twin the checkpoint leaves the
    // twin, which holds the same state; when that one dies too, the state is lost.
    if (j.taken_from != e.checkpoint) j.taken_from = e.checkpoint, j.taken = 0;
    pid_t copy = j.taken == 0 ? e.checkpoint : j.taken == 1 ? j.take_twin(e.checkpoint) : 0;
    if (e.broken || restarts_left_[g] == 0 || (e.checkpoint != 0 && copy == 0)) return false;
    try {
        if (plan_.groups()[g].stages.front() != 0) {  // not a source: it has an input
            // A careful replacement notes the item it is on, the records before it and where
            // its output began.
            const std::size_t in_ring = plan_.rings_to(g).front();
            const std::uint64_t attempt = j.attempt.load(std::memory_order_acquire);
            const std::uint64_t pos = attempt - 1;
            const std::uint64_t item = plan_.rings()[in_ring].fixed_slots ? pos : j.attempt_records;
            if (!count_death(c, status, j, attempt != 0, pos, item, attempt != 0 && e.out > j.attempt_out)) return true;
            // Its replacement notes each item between what the dead one passed and what it may
            // have read.
            j.careful_from = j.passed;
            j.careful_until = std::min(j.reach, rings_[in_ring]->head.load(std::memory_order_acquire));
            j.attempt.store(0, std::memory_order_relaxed);
        }
        count_restart(c, status, e);
        if (copy == 0) {  // none yet (or a source): a fresh fork starts from the beginning
            start(g, bodies_[g].fn, bodies_[g].arg);
            return true;
        }
        workers_.adopt(copy, g);
        ipc::pass_lifeline(c.pid, copy);
        ++j.taken;
        j.resume.store(copy, std::memory_order_release);
        j.wake_copies();
        return true;
    } catch (...) {
        return false;
    }
}

void supervisor::collect_copies() noexcept {
    for (std::size_t g = 0; g < plan_.groups().size(); ++g) {
        if (!plan_.groups()[g].checkpointed) continue;
        group_journal& j = journals_[g];
        j.finished.store(1, std::memory_order_release);
        j.wake_copies();
        for (pid_t p : {j.last().checkpoint, j.forming.load(), j.retiring.load()})
            if (p > 0) copies_.push_back(p);
        for (const auto& t : j.twins)
            if (pid_t p = group_journal::twin_of(t.load()); p > 0) copies_.push_back(p);
        take_orphans(j);
    }
    // Only those this process inherited are its children; waitpid leaves the others alone.
    std::sort(copies_.begin(), copies_.end());
    copies_.erase(std::unique(copies_.begin(), copies_.end()), copies_.end());
    for (pid_t p : copies_)
        while (::waitpid(p, nullptr, 0) < 0 && errno == EINTR) {
        }
    copies_.clear();
}

void supervisor::take_orphans(group_journal& j) noexcept {
    for (auto& o : j.orphans)
        if (pid_t p = o.exchange(0, std::memory_order_acquire); p > 0) copies_.push_back(p);
}

bool supervisor::replace(const worker_processes::child& c, const ipc::exit_status& status) noexcept {
    const std::size_t g = c.group;
    group_journal* j = journal(g);
    if (!j || failures_.aborted() || !bodies_[g].fn) return false;
    // Killed after it had finished: everything it made is published and its output closed.
    if (states_[g].load(std::memory_order_acquire) == done) return true;
    if (plan_.groups()[g].checkpointed || plan_.groups()[g].stages.front() == 0) return take_over(c, status);
    const journal_entry& e = j->last();
    if (e.broken || restarts_left_[g] == 0) return false;
    try {
        const std::size_t in_ring = plan_.rings_to(g).front();
        // A careful replacement journals each item: the journal's input position is the item
        // it is on. Items are slots in a slot ring; a byte ring counts its records.
        const bool on_item = j->attempt.load(std::memory_order_relaxed) == e.in.pos + 1;
        const std::uint64_t item = plan_.rings()[in_ring].fixed_slots ? e.in.pos : e.in.records;
        if (!count_death(c, status, *j, on_item, e.in.pos, item, e.out > e.out_base.pos)) return true;
        count_restart(c, status, e);
        // The replacement journals each item up to what the dead one could have read.
        j->careful_until = rings_[in_ring]->head.load(std::memory_order_acquire);
        j->attempt.store(0, std::memory_order_relaxed);
        start(g, bodies_[g].fn, bodies_[g].arg);
        return true;
    } catch (...) {
        return false;
    }
}

void supervisor::time_restarts() noexcept {
    for (auto& r : restarts_) {
        std::uint64_t caught = journals_[r.group].caught_up_ns.load(std::memory_order_relaxed);
        if (r.report.seconds_lost == 0 && caught > r.died_ns) r.report.seconds_lost = static_cast<double>(caught - r.died_ns) * 1e-9;
    }
}

void supervisor::teardown() noexcept {
    display_.stop();
    stats_.remove();
    stop_adapting();
    if (!workers_.all_reaped()) {
        failures_.stop();
        workers_.stop_rest();
    }
    collect_copies();
}

void supervisor::finish(std::exception_ptr caller_error) {
    display_.stop();
    stats_.remove();
    stop_adapting();
    if (caller_error) {
        std::string message = "an exception not derived from std::exception";
        try {
            std::rethrow_exception(caller_error);
        } catch (const std::exception& e) {
            message = e.what();
        } catch (...) {
        }
        std::size_t group = plan_.caller_group();
        failures_.fail({.group = group, .stage = records_[group].stage.load(std::memory_order_relaxed), .message = message});
    }
    if (failures_.aborted()) {
        teardown();
        failures_.throw_recorded(plan_);
    }
    workers_.reap_all();
    collect_copies();
    if (failures_.failed()) {
        teardown();
        failures_.throw_recorded(plan_);
    }
}

}  // namespace forkline::detail
