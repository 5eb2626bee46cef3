// The supervisor: region layout, fork, child bookkeeping, error recording and teardown.
#include <forkline/run/detail/supervisor.hpp>
#include <forkline/ipc/spawn.hpp>
#include <forkline/core/errors.hpp>

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <string_view>
#include <thread>

namespace forkline::detail {

namespace {

enum group_state : std::uint32_t { running = 0, done = 1, failed = 2, aborted = 3 };
enum error_kind : std::uint32_t { exception = 1, crash = 2 };

constexpr std::size_t align_up(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }

double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; }
double cpu_of(const rusage& r) { return seconds(r.ru_utime) + seconds(r.ru_stime); }
double thread_cpu() {
    rusage r{};
    ::getrusage(RUSAGE_THREAD, &r);
    return cpu_of(r);
}
double wall_clock() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

/// How long stopped processes get to leave on their own before SIGKILL.
constexpr auto grace = std::chrono::seconds(1);
/// How often the caller, while it waits for items, checks that its children still live.
constexpr int caller_watch_ms = 20;

}  // namespace

/// How a group failed: what the first failure of a run records.
struct failure {
    std::uint32_t kind;
    std::size_t group, stage;
    int pid = 0, signal = 0, code = 0;  ///< for a crash
};

/// The shared control block at the start of the region.
struct control_block {
    std::atomic<std::uint32_t> abort{0};
    std::atomic<std::uint32_t> error_claimed{0};
    std::atomic<std::uint32_t> error_ready{0};  ///< the fields below are complete
    std::uint32_t error_kind = 0;
    std::uint32_t error_stage = 0, error_group = 0;
    std::int32_t error_pid = 0, error_signal = 0, error_code = 0;
    std::uint64_t error_length = 0;  ///< of the message, which is in the run's shared_text
    std::size_t ring_count = 0;

    /// Records the first failure of the run (later ones lose) and stops every process.
    void fail(const failure& f, std::string_view message, const ipc::shared_text& text,
              ipc::ring_control* const* rings) noexcept {
        if (error_claimed.exchange(1, std::memory_order_acq_rel) == 0) {
            error_kind = f.kind;
            error_group = static_cast<std::uint32_t>(f.group);
            error_stage = static_cast<std::uint32_t>(f.stage);
            error_pid = f.pid;
            error_signal = f.signal;
            error_code = f.code;
            error_length = message.size();
            text.write(message);
            error_ready.store(1, std::memory_order_release);
        }
        stop(rings);
    }
    void stop(ipc::ring_control* const* rings) noexcept {
        abort.store(1, std::memory_order_seq_cst);
        for (std::size_t i = 0; i < ring_count; ++i) rings[i]->wake_all();
    }
};

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

supervisor::supervisor(pipeline_plan plan, run_report* report)
    : plan_(std::move(plan)), report_(report), started_(wall_clock()), caller_cpu_(thread_cpu()) {
    const auto& groups = plan_.groups();
    const auto& edges = plan_.rings();
    std::size_t states_at = align_up(sizeof(control_block), 64);
    std::size_t stages_at = align_up(states_at + groups.size() * sizeof(std::atomic<std::uint32_t>), 64);
    // Each group's current stage on a cache line of its own: workers write it as items pass.
    std::size_t waiters_at = align_up(stages_at + groups.size() * 64, 64);
    std::size_t actives_at = align_up(waiters_at + 2 * groups.size() * sizeof(ipc::waiter), 64);
    std::size_t claims_at = align_up(actives_at + plan_.stages().size() * sizeof(std::atomic<std::uint32_t>), 64);
    // Two counters for the rejects, then the table of a split source, if there is one.
    std::size_t rejects_at = align_up(claims_at + plan_.stages().size() * sizeof(std::atomic<std::uint64_t>), 64);
    std::size_t table_at = align_up(rejects_at + 2 * sizeof(std::atomic<std::uint64_t>), 64);
    bool split = !plan_.stages().empty() && plan_.stages().front().split;
    std::size_t size = align_up(table_at + (split ? sizeof(split_table) : 0), 64);
    std::vector<std::size_t> ring_at, data_at;
    for (const auto& e : edges) {
        ring_at.push_back(size);
        size = align_up(size + sizeof(ipc::ring_control), 64);
        data_at.push_back(size);
        size = align_up(size + e.bytes(), 64);
    }
    region_ = ipc::shared_region(size);
    control_ = new (region_.data()) control_block;
    states_ = reinterpret_cast<std::atomic<std::uint32_t>*>(region_.data() + states_at);
    for (std::size_t g = 0; g < groups.size(); ++g) {
        new (&states_[g]) std::atomic<std::uint32_t>(running);
        stages_.push_back(new (region_.data() + stages_at + 64 * g)
                              std::atomic<std::uint32_t>(static_cast<std::uint32_t>(groups[g].stages.front())));
    }
    children_.reserve(groups.size());  // so that recording a forked child cannot throw
    actives_ = reinterpret_cast<std::atomic<std::uint32_t>*>(region_.data() + actives_at);
    for (std::size_t s = 0; s < plan_.stages().size(); ++s)
        new (&actives_[s]) std::atomic<std::uint32_t>(static_cast<std::uint32_t>(plan_.stages()[s].active));
    claims_ = reinterpret_cast<std::atomic<std::uint64_t>*>(region_.data() + claims_at);
    for (std::size_t s = 0; s < plan_.stages().size(); ++s) new (&claims_[s]) std::atomic<std::uint64_t>(0);
    reject_counters_ = new (region_.data() + rejects_at) std::atomic<std::uint64_t>[2]{};
    if (split) table_ = new (region_.data() + table_at) split_table;
    waiters_ = reinterpret_cast<ipc::waiter*>(region_.data() + waiters_at);
    for (std::size_t w = 0; w < 2 * groups.size(); ++w) new (&waiters_[w]) ipc::waiter;
    for (std::size_t i = 0; i < edges.size(); ++i) {
        auto* r = new (region_.data() + ring_at[i]) ipc::ring_control(edges[i].capacity);
        // A group that reads from several rings sleeps on one waiter that all of them wake; the
        // same for a group that writes to several.
        if (plan_.rings_to(edges[i].to_group).size() > 1) r->readable = &fan_in(edges[i].to_group);
        if (plan_.rings_from(edges[i].from_group).size() > 1) r->writable = &fan_out(edges[i].from_group);
        rings_.push_back(r);
        data_.push_back(region_.data() + data_at[i]);
    }
    control_->ring_count = rings_.size();
}


supervisor::~supervisor() {
    teardown();
    fill_report();
}

void supervisor::adapt() {
    const auto& stages = plan_.stages();
    if (std::none_of(stages.begin(), stages.end(), [](const stage_info& s) { return s.active != 0; })) return;
    adapter_ = std::make_unique<adapter>();
    adapter_->thread = std::thread([this, caller = ::pthread_self()] { resize_parallel(*adapter_, caller); });
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

namespace {
double cpu_clock(clockid_t c) {
    timespec t{};
    if (::clock_gettime(c, &t) != 0) return 0;  // a process that ended meanwhile
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}
}  // namespace

/// Measures how busy each process is over a warm-up (CPU time over wall time), then gives each
/// parallel stage whose replicas are busy the cores the other processes leave idle.
void supervisor::resize_parallel(adapter& a, pthread_t caller) {
    constexpr auto settle = std::chrono::milliseconds(30), warm_up = std::chrono::milliseconds(100);
    const auto& groups = plan_.groups();
    std::vector<clockid_t> clocks(groups.size());
    std::vector<bool> known(groups.size(), false);
    for (const auto& c : children_) known[c.group] = ::clock_getcpuclockid(c.pid, &clocks[c.group]) == 0;
    for (std::size_t g = 0; g < groups.size(); ++g)
        if (groups[g].in_caller) known[g] = ::pthread_getcpuclockid(caller, &clocks[g]) == 0;
    auto sample = [&] {
        std::vector<double> cpu(groups.size(), 0);
        for (std::size_t g = 0; g < groups.size(); ++g)
            if (known[g]) cpu[g] = cpu_clock(clocks[g]);
        return cpu;
    };
    if (!a.sleep(settle)) return;
    double w0 = wall_clock();
    auto c0 = sample();
    if (!a.sleep(warm_up)) return;
    double span = wall_clock() - w0;
    auto c1 = sample();
    std::vector<double> busy(groups.size());
    for (std::size_t g = 0; g < groups.size(); ++g) busy[g] = std::max(0.0, c1[g] - c0[g]) / span;

    // What the processes that are not adaptive replicas use; the rest of the cores is free.
    const auto& stages = plan_.stages();
    std::vector<bool> adaptive_group(groups.size(), false);
    for (std::size_t g = 0; g < groups.size(); ++g) adaptive_group[g] = stages[groups[g].stages.front()].active != 0;
    double others = 0, demand = 0;
    for (std::size_t g = 0; g < groups.size(); ++g)
        if (!adaptive_group[g]) others += busy[g];
    double free = std::max(0.0, plan_.cpus() - others);
    std::vector<double> load(stages.size(), 0);
    for (std::size_t s = 0; s < stages.size(); ++s) {
        if (!stages[s].active) continue;
        auto replicas = plan_.groups_of(s);
        std::uint32_t fed = actives_[s].load(std::memory_order_relaxed);
        for (std::size_t r = 0; r < fed && r < replicas.size(); ++r) load[s] += busy[replicas[r]];
        if (load[s] / fed > 0.75) demand += load[s];  // its replicas are what holds the run back
    }
    std::lock_guard lock(a.m);
    for (std::size_t s = 0; s < stages.size(); ++s) {
        if (!stages[s].active) continue;
        std::uint32_t fed = actives_[s].load(std::memory_order_relaxed);
        std::size_t most = plan_.groups_of(s).size();
        char measured[160];
        std::snprintf(measured, sizeof measured, "replicas %.0f%% busy, the other processes %.2f of %u cores",
                      100 * load[s] / fed, others, plan_.cpus());
        std::size_t want = fed;
        if (load[s] / fed > 0.75 && demand > 0)  // a fraction of a core above 0.3 is worth a replica
            want = std::clamp<std::size_t>(static_cast<std::size_t>(free * load[s] / demand + 0.7), fed, most);
        actives_[s].store(static_cast<std::uint32_t>(want), std::memory_order_relaxed);
        a.notes.push_back("parallel " + stages[s].name + ": " + std::to_string(fed) + " -> " + std::to_string(want) +
                          (want == 1 ? " replica (" : " replicas (") + measured + ")");
    }
}

void supervisor::fill_report() noexcept {
    if (!report_) return;
    try {
        run_report r;
        if (adapter_) r.adapted = adapter_->notes;
        r.rejected = reject_count();
        r.seconds = wall_clock() - started_;
        for (const auto& c : children_) {
            process_report p{{}, static_cast<int>(c.pid), c.cpu_seconds, c.peak_rss_kib};
            for (std::size_t s : plan_.groups()[c.group].stages) p.stages.push_back(plan_.stages()[s].name);
            r.processes.push_back(std::move(p));
        }
        rusage self{};
        ::getrusage(RUSAGE_SELF, &self);
        process_report caller{{}, 0, thread_cpu() - caller_cpu_, self.ru_maxrss};
        for (const auto& g : plan_.groups())
            if (g.in_caller)
                for (std::size_t s : g.stages) caller.stages.push_back(plan_.stages()[s].name);
        r.processes.push_back(std::move(caller));
        *report_ = std::move(r);
    } catch (...) {
    }
}


source_context supervisor::context(std::size_t stage) noexcept {
    source_context c;
    c.next = &claims_[stage];
    c.readers = plan_.groups_of(stage).size();
    c.table = stage == 0 ? table_ : nullptr;
    c.rejects = reject_log{&rejects_text_, &reject_counters_[0], &reject_counters_[1]};
    c.abort = &control_->abort;
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
    p.abort = &control_->abort;
    p.spin = plan_.spin();
    p.on_wake = &ipc::check_parent;
    return p;
}

ipc::wait_policy supervisor::caller_policy() noexcept {
    ipc::wait_policy p = child_policy();
    p.sleep_ms = caller_watch_ms;
    p.on_wake = &supervisor::on_caller_wake;
    p.on_wake_arg = this;
    return p;
}

void supervisor::on_caller_wake(void* self) { static_cast<supervisor*>(self)->watch_children(); }

/// Looks at the children at most every caller_watch_ms, however often the caller wakes (a
/// program whose timer signals interrupt every sleep still notices a dead child).
void supervisor::watch_children() {
    double now = wall_clock();
    if (now - last_watch_ < caller_watch_ms * 1e-3) return;
    last_watch_ = now;
    poll_children();
}

namespace {

/// What a worker of the run needs to report how its body ended.
struct child_args {
    control_block* control;
    std::atomic<std::uint32_t>* states;
    std::atomic<std::uint32_t>* stage;
    const ipc::shared_text* text;
    ipc::ring_control* const* rings;
    std::size_t group;
    void (*body)(void*);
    void* arg;
};

void child_main(void* a) noexcept {
    auto& c = *static_cast<child_args*>(a);
    auto fail = [&c](std::string_view message) {
        c.control->fail({exception, c.group, c.stage->load(std::memory_order_relaxed)}, message, *c.text, c.rings);
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

/// The core id for a plan's virtual core index, or -1 for none.
int core_for(int position) {
    auto cores = affinity_cores();
    if (position < 0 || cores.empty()) return -1;
    return cores[static_cast<std::size_t>(position) % cores.size()];
}

}  // namespace

void supervisor::start(std::size_t group, void (*body)(void*), void* arg) {
    std::size_t first = plan_.groups()[group].stages.front();
    child_args args{control_, states_, stages_[group], &error_text_, rings_.data(), group, body, arg};
    std::string title = "fl:" + plan_.label(group, first);
    pid_t pid = ipc::fork_worker(title.c_str(), core_for(plan_.groups()[group].cpu), &child_main, &args);
    children_.push_back({pid, group});
}

void supervisor::reaped(child& c, const ipc::exit_status& status) {
    c.reaped = true;
    c.cpu_seconds = status.cpu;
    c.peak_rss_kib = status.peak_rss_kib;
    std::uint32_t state = states_[c.group].load(std::memory_order_acquire);
    if ((status.clean() && state != running) || state == failed || state == aborted) return;
    std::size_t stage = stages_[c.group]->load(std::memory_order_relaxed);
    control_->fail({crash, c.group, stage, static_cast<int>(c.pid), status.signal, status.code}, "", error_text_,
                   rings_.data());
}

/// Collects one child if it has ended (or, with `block`, once it ends); true when it is collected.
/// One that someone else collected (SIGCHLD ignored) counts as clean: all we know then is
/// whether it said it was done.
bool supervisor::reap(child& c, bool block) {
    ipc::exit_status status;
    if (!ipc::reap(c.pid, block, status)) return false;
    reaped(c, status);
    return true;
}

void supervisor::poll_children() {
    for (auto& c : children_)
        if (!c.reaped) reap(c, false);
}

void supervisor::teardown() noexcept {
    stop_adapting();
    if (std::all_of(children_.begin(), children_.end(), [](const child& c) { return c.reaped; })) return;
    control_->stop(rings_.data());
    auto deadline = std::chrono::steady_clock::now() + grace;
    auto pause = std::chrono::microseconds(100);
    for (;;) {
        poll_children();
        bool left = std::any_of(children_.begin(), children_.end(), [](const child& c) { return !c.reaped; });
        if (!left) return;
        if (std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(20000));
    }
    for (auto& c : children_) {
        if (c.reaped) continue;
        ::kill(c.pid, SIGKILL);
        states_[c.group].store(aborted, std::memory_order_release);  // killed by us: not a crash of its own
        if (!reap(c, true)) c.reaped = true;
    }
}


void supervisor::finish(std::exception_ptr caller_error) {
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
        control_->fail({exception, group, stages_[group]->load(std::memory_order_relaxed)}, message, error_text_,
                       rings_.data());
    }
    if (control_->abort.load(std::memory_order_acquire)) {
        teardown();
        throw_recorded();
    }
    for (auto& c : children_)
        if (!c.reaped && !reap(c, true)) c.reaped = true;
    if (control_->error_claimed.load(std::memory_order_acquire)) {
        teardown();
        throw_recorded();
    }
}

void supervisor::throw_recorded() {
    if (!control_->error_claimed.load(std::memory_order_acquire))
        throw stage_error("?", "the run was stopped without a recorded cause");
    if (!control_->error_ready.load(std::memory_order_acquire))  // its reporter died mid-report
        throw stage_error("?", "a stage failed and its process died while reporting why");
    std::string name = plan_.label(control_->error_group, control_->error_stage);
    if (control_->error_kind == crash)
        throw stage_crashed(name, control_->error_pid, control_->error_signal, control_->error_code);
    std::string message = error_text_.read();
    if (message.size() < control_->error_length)  // the memory for it ran out
        message += " [forkline: message cut to " + std::to_string(message.size()) + " of its " +
                   std::to_string(control_->error_length) + " bytes]";
    throw stage_error(name, std::move(message));
}

}  // namespace forkline::detail
