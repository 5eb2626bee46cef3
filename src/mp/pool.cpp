// fl::pool's engine: the shared region, the workers' loop, dispatch, collection and burial.
#include <forkline/core/errors.hpp>
#include <forkline/ipc/cpu_count.hpp>
#include <forkline/ipc/os.hpp>
#include <forkline/ipc/region.hpp>
#include <forkline/ipc/ring.hpp>
#include <forkline/ipc/shared_text.hpp>
#include <forkline/ipc/spawn.hpp>
#include <forkline/mp/detail/pool_engine.hpp>
#include <forkline/mp/errors.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <optional>
#include <stdexcept>
#include <thread>
#include <typeinfo>

namespace forkline::detail {

namespace {

constexpr std::uint64_t ring_bytes = 256 << 10;
/// Tasks a worker holds at once (the one it runs and those queued behind it) are enough for about
/// this long, so that a worker finds its next task waiting even when the caller is slow to run,
/// while a task slower than the rest holds back little other work. Tasks of unknown length: 2.
constexpr double queued_seconds = 1e-3;
constexpr std::size_t min_depth = 2, max_depth = 64;
/// How often the caller, while it waits for results, checks that its workers still live.
constexpr int watch_ms = 20;

enum worker_state : std::uint32_t { starting, ready, init_failed, finished };
enum result_status : std::uint32_t { ok, threw };

/// A result's record: this header (count of results, or the failing item), then the payload.
struct result_header {
    std::uint64_t id;
    std::uint32_t status;
    std::uint32_t item;
    double seconds;  ///< how long the task ran
};

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

/// What a worker writes where its parent can read it after the worker died.
struct worker_slot {
    std::atomic<std::uint64_t> running{0};  ///< the task it runs, 0 between tasks
    std::atomic<std::uint32_t> state{starting};
};

/// The name of the exception in flight, and its message.
std::pair<std::string, std::string> describe_current() {
    try {
        throw;
    } catch (const std::exception& e) {
        return {demangle(typeid(e).name()), e.what()};
    } catch (...) {
        return {"an exception not derived from std::exception", ""};
    }
}

struct peer_died {};  // a blocking read or write found its worker dead

}  // namespace

std::exception_ptr task_exception(const char* call, std::uint64_t first, std::uint32_t count, const task_failure& f) {
    switch (f.kind) {
    case task_failure::threw:
        return std::make_exception_ptr(
            task_error(std::string(call) + " item " + std::to_string(first + f.item), f.type, f.message));
    case task_failure::crashed: {
        std::string where = std::string(call) + (count == 1 ? " item " + std::to_string(first)
                                                            : " items " + std::to_string(first) + " to " +
                                                                  std::to_string(first + count - 1));
        if (f.runs > 1) where += " lost its worker on each of its " + std::to_string(f.runs) + " runs; the last";
        return std::make_exception_ptr(process_crashed(where, "worker process", f.pid, f.signal, f.code));
    }
    case task_failure::refused:
        break;
    }
    return std::make_exception_ptr(std::runtime_error(f.message));
}

struct pool_shared {
    ipc::shared_region region;
    std::atomic<std::uint32_t>* abort = nullptr;  ///< terminate(): workers stop waiting
    ipc::waiter* results = nullptr;               ///< every result ring wakes the caller here
    ipc::wait_policy caller, worker;
    /// Why an initializer failed, of any length: the first worker whose initializer threw claims
    /// it, writes it, then says it is ready (in the region).
    ipc::shared_text init_error;
    std::atomic<std::uint32_t>* init_error_claimed = nullptr;
    std::atomic<std::uint32_t>* init_error_ready = nullptr;
};

struct pool_worker {
    worker_slot* slot;
    ipc::ring_control* tasks_ring;
    ipc::ring_control* results_ring;
    std::byte* tasks_data;
    std::byte* results_data;
    std::optional<ipc::byte_producer> tasks;  // the caller's ends
    std::optional<ipc::byte_consumer> results;
    pid_t pid = 0;  ///< 0 once reaped
    std::deque<pool_engine::task> in_flight;
};

namespace {

struct worker_args {
    pool_engine* engine;
    pool_worker* worker;
    const std::function<void()>* initializer;
    const pool_shared* shared;
};

/// Runs one task record and writes its result record.
void run_task(const std::byte* p, std::size_t n, worker_slot& slot, task_output& out, ipc::byte_producer& results) {
    task_header h;
    std::memcpy(&h, p, sizeof h);
    slot.running.store(h.id, std::memory_order_relaxed);
    result_header r{h.id, ok, h.count, 0};
    out.bytes.clear();
    out.item = 0;
    double start = now();
    try {
        h.body(p + sizeof h, n - sizeof h, h.count, out);
    } catch (...) {
        auto [type, message] = describe_current();
        r = {h.id, threw, out.item, 0};
        out.bytes.clear();
        out.put(type);
        out.put(message);
    }
    r.seconds = now() - start;
    results.write(sizeof r + out.bytes.size(), [&](std::byte* d) {
        std::memcpy(d, &r, sizeof r);
        if (!out.bytes.empty()) std::memcpy(d + sizeof r, out.bytes.data(), out.bytes.size());
    });
    results.flush();
    slot.running.store(0, std::memory_order_relaxed);
}

void worker_main(void* a) noexcept {
    auto& args = *static_cast<worker_args*>(a);
    worker_slot& slot = *args.worker->slot;
    if (*args.initializer) {
        try {
            (*args.initializer)();
        } catch (...) {
            auto [type, message] = describe_current();
            const pool_shared& shared = *args.shared;
            if (shared.init_error_claimed->exchange(1) == 0) {
                shared.init_error.write(type + ": " + message);
                shared.init_error_ready->store(1, std::memory_order_release);
            }
            slot.state.store(init_failed, std::memory_order_release);
            return;
        }
    }
    slot.state.store(ready, std::memory_order_release);
    try {
        ipc::byte_consumer tasks(*args.worker->tasks_ring, args.worker->tasks_data, args.shared->worker);
        ipc::byte_producer results(*args.worker->results_ring, args.worker->results_data, args.shared->worker);
        task_output out;
        while (tasks.read([&](const std::byte* p, std::size_t n) { run_task(p, n, slot, out, results); })) {
        }
        results.close();
        slot.state.store(finished, std::memory_order_release);
    } catch (...) {
        // aborted (terminate, or the caller is gone) or a broken ring: the caller sees us die.
    }
}

}  // namespace

pool_engine::pool_engine(unsigned workers, std::function<void()> initializer)
    : initializer_(std::move(initializer)), owner_(::getpid()), shared_(std::make_unique<pool_shared>()) {
    if (workers == 0) throw std::invalid_argument("forkline::pool(n): n must be at least 1");
    // Layout: abort flag | result waiter | the initializer error's flags | per worker: slot, two
    // ring controls, two rings.
    const std::size_t slot_bytes = (sizeof(worker_slot) + 63) / 64 * 64;
    const std::size_t control_bytes = (sizeof(ipc::ring_control) + 63) / 64 * 64;
    const std::size_t per_worker = slot_bytes + 2 * control_bytes + 2 * ring_bytes;
    constexpr std::size_t header_bytes = 192;
    shared_->region = ipc::shared_region(header_bytes + workers * per_worker);
    std::byte* base = shared_->region.data();
    shared_->abort = new (base) std::atomic<std::uint32_t>(0);
    shared_->results = new (base + 64) ipc::waiter;
    shared_->init_error_claimed = new (base + 128) std::atomic<std::uint32_t>(0);
    shared_->init_error_ready = new (base + 132) std::atomic<std::uint32_t>(0);
    bool spare_core = workers + 1 <= cpu_count();
    for (ipc::wait_policy* p : {&shared_->caller, &shared_->worker}) {
        p->spin = spare_core ? 4096 : 64;
        p->abort = shared_->abort;
    }
    shared_->caller.abort = nullptr;  // the caller is never aborted; it watches its workers instead
    shared_->caller.sleep_ms = watch_ms;
    shared_->caller.on_wake = &pool_engine::on_wake;
    shared_->caller.on_wake_arg = this;
    shared_->worker.on_wake = &ipc::check_parent;
    for (unsigned w = 0; w < workers; ++w) {
        std::byte* at = base + header_bytes + w * per_worker;
        auto wk = std::make_unique<pool_worker>();
        wk->slot = reinterpret_cast<worker_slot*>(at);
        wk->tasks_ring = reinterpret_cast<ipc::ring_control*>(at + slot_bytes);
        wk->results_ring = reinterpret_cast<ipc::ring_control*>(at + slot_bytes + control_bytes);
        wk->tasks_data = at + slot_bytes + 2 * control_bytes;
        wk->results_data = wk->tasks_data + ring_bytes;
        workers_.push_back(std::move(wk));
    }
    try {
        for (std::size_t w = 0; w < workers_.size(); ++w) spawn(w);
    } catch (...) {
        terminate();
        throw;
    }
}

pool_engine::~pool_engine() {
    try {
        if (!joined_) closed_ && broken_.empty() ? join() : terminate();
    } catch (...) {
        terminate();
    }
}

void pool_engine::spawn(std::size_t w) {
    pool_worker& wk = *workers_[w];
    new (wk.slot) worker_slot;
    new (wk.tasks_ring) ipc::ring_control(ring_bytes);
    new (wk.results_ring) ipc::ring_control(ring_bytes);
    wk.results_ring->readable = shared_->results;
    wk.tasks.emplace(*wk.tasks_ring, wk.tasks_data, shared_->caller);
    wk.results.emplace(*wk.results_ring, wk.results_data, shared_->caller);
    worker_args args{this, &wk, &initializer_, shared_.get()};
    std::string title = "fl:pool[" + std::to_string(w) + "]";
    wk.pid = ipc::fork_worker(title.c_str(), -1, &worker_main, &args);
}

/// The message of the first initializer that failed. Its worker may still be writing it (another
/// worker's failure can be seen first): give it a moment, not forever, since it may die.
std::string pool_engine::init_error() const {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (!shared_->init_error_ready->load(std::memory_order_acquire)) {
        if (std::chrono::steady_clock::now() > until) return "(its message was lost: its worker died writing it)";
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return shared_->init_error.read();
}

void pool_engine::check_caller(const char* what) const {
    if (::getpid() != owner_)
        throw std::logic_error(std::string("forkline::pool::") + what +
                               ": the pool belongs to another process (a task cannot use its own pool)");
}

void pool_engine::send(std::shared_ptr<pool_job> job, std::uint64_t chunk, std::uint32_t count,
                       std::vector<std::byte> record) {
    check_caller("send");
    if (!broken_.empty()) throw std::runtime_error(broken_);
    if (closed_) throw std::logic_error("forkline::pool: a task was given to a closed pool");
    task_header h;
    std::memcpy(&h, record.data(), sizeof h);
    h.id = next_id_++;
    h.count = count;
    std::memcpy(record.data(), &h, sizeof h);
    queued_.push_back({h.id, std::move(job), chunk, count, std::move(record)});
}

std::size_t pool_engine::outstanding() const noexcept {
    std::size_t n = queued_.size();
    for (const auto& wk : workers_) n += wk->in_flight.size();
    return n;
}

/// Hands queued tasks to workers: an idle worker first, else one with room for one more.
bool pool_engine::dispatch() {
    bool any = false;
    const std::size_t n = workers_.size();
    while (!queued_.empty()) {
        if (queued_.front().job->cancelled) {
            queued_.pop_front();
            continue;
        }
        const std::size_t len = queued_.front().record.size();
        std::size_t chosen = SIZE_MAX;
        for (std::size_t k = 0; k < n && chosen == SIZE_MAX; ++k) {
            std::size_t w = (next_worker_ + k) % n;
            if (workers_[w]->pid && workers_[w]->in_flight.empty()) chosen = w;
        }
        for (std::size_t k = 0; k < n && chosen == SIZE_MAX; ++k) {
            std::size_t w = (next_worker_ + k) % n;
            pool_worker& wk = *workers_[w];
            if (wk.pid && wk.in_flight.size() < depth_ && wk.tasks->fits(len)) chosen = w;
        }
        if (chosen == SIZE_MAX) break;
        next_worker_ = (chosen + 1) % n;
        hand_over(chosen);
        any = true;
    }
    return any;
}

/// Writes the first queued task to worker w. A record too large for its ring goes only to an
/// idle worker (which reads it as it streams in), so the caller never waits on a busy one.
void pool_engine::hand_over(std::size_t w) {
    pool_worker& wk = *workers_[w];
    const auto& record = queued_.front().record;
    peer_ = w;
    try {
        wk.tasks->write(record.size(), [&](std::byte* d) { std::memcpy(d, record.data(), record.size()); });
        wk.tasks->flush();
    } catch (const peer_died&) {
        peer_ = SIZE_MAX;
        return;  // buried already: the task stays queued for another worker
    }
    peer_ = SIZE_MAX;
    wk.in_flight.push_back(std::move(queued_.front()));
    queued_.pop_front();
}

/// Reads every result worker w has finished; true when there was one.
bool pool_engine::collect(std::size_t w) {
    pool_worker& wk = *workers_[w];
    bool any = false;
    peer_ = w;
    try {
        while (!wk.in_flight.empty() && wk.results->try_fill(ipc::byte_record::header)) {
            wk.results->read([&](const std::byte* p, std::size_t n) { deliver(wk, p, n); });
            any = true;
        }
    } catch (const peer_died&) {
        any = true;
    }
    peer_ = SIZE_MAX;
    if (any && wk.pid) wk.results->release();
    return any;
}

void pool_engine::deliver(pool_worker& wk, const std::byte* p, std::size_t n) {
    result_header r;
    if (n < sizeof r) throw ipc::ring_corrupt("forkline::pool: a worker sent a result too short to read");
    std::memcpy(&r, p, sizeof r);
    if (wk.in_flight.empty() || wk.in_flight.front().id != r.id)
        throw ipc::ring_corrupt("forkline::pool: a worker answered a task it was not given");
    task t = std::move(wk.in_flight.front());
    wk.in_flight.pop_front();
    learn(r.seconds);
    if (t.job->cancelled) return;
    const std::byte* payload = p + sizeof r;
    std::size_t size = n - sizeof r;
    try {
        if (r.status == ok) {
            t.job->done(t.chunk, r.item, payload, size);
            return;
        }
        decoder d(payload, size);
        task_failure f;
        f.item = r.item;
        f.type = d.get<std::string>();
        f.message = d.get<std::string>();
        t.job->failed(t.chunk, f);
    } catch (...) {
        auto [type, message] = describe_current();
        t.job->failed(t.chunk, {task_failure::threw, 0, type, "its results could not be read: " + message});
    }
}

/// Follows how long tasks run (a moving average) and sets how many each worker may hold.
void pool_engine::learn(double seconds) noexcept {
    task_seconds_ = task_seconds_ < 0 ? seconds : task_seconds_ + (seconds - task_seconds_) / 8;
    double fit = queued_seconds / std::max(task_seconds_, 1e-7);
    depth_ = static_cast<std::size_t>(std::clamp(fit, double(min_depth), double(max_depth)));
}

/// Reaps the workers that died; true when one had.
bool pool_engine::watch() {
    last_watch_ = now();
    bool any = false;
    for (std::size_t w = 0; w < workers_.size(); ++w) {
        ipc::exit_status st;
        if (workers_[w]->pid && ipc::reap(workers_[w]->pid, false, st)) {
            pid_t pid = workers_[w]->pid;
            workers_[w]->pid = 0;
            buried(w, pid, st.signal, st.code);
            any = true;
        }
    }
    return any;
}

void pool_engine::on_wake(void* self) {
    auto& e = *static_cast<pool_engine*>(self);
    if (e.peer_ == SIZE_MAX) return;
    pool_worker& wk = *e.workers_[e.peer_];
    ipc::exit_status st;
    if (!wk.pid || !ipc::reap(wk.pid, false, st)) return;
    std::size_t w = e.peer_;
    pid_t pid = wk.pid;
    wk.pid = 0;
    e.peer_ = SIZE_MAX;
    e.buried(w, pid, st.signal, st.code);
    throw peer_died{};
}

/// Worker w died (it was reaped): keep what it finished, run the task it ran again (first, on
/// whichever worker is free) while its job's retries last, else fail it, give the tasks it had not
/// started to the others, and start a new worker in its place.
void pool_engine::buried(std::size_t w, pid_t pid, int signal, int code) {
    pool_worker& wk = *workers_[w];
    wk.results_ring->closed.store(1, std::memory_order_release);  // nobody writes to it any more
    try {
        while (!wk.in_flight.empty() && wk.results->try_fill(ipc::byte_record::header))
            if (!wk.results->read([&](const std::byte* p, std::size_t n) { deliver(wk, p, n); })) break;
    } catch (const ipc::ring_corrupt&) {
        // a result cut short by the death: its task counts as the one that was running
    }
    std::uint32_t state = wk.slot->state.load(std::memory_order_acquire);
    if (state == init_failed || (state == starting && initializer_)) {
        broken_ = state == init_failed ? "forkline::pool: the initializer failed in a worker: " + init_error()
                                       : "forkline::pool: a worker died while its initializer ran";
        closed_ = true;
        fail_everything({task_failure::refused, 0, "", broken_});
        terminate();
        return;
    }
    std::uint64_t running = wk.slot->running.load(std::memory_order_relaxed);
    std::optional<task> again;
    if (!wk.in_flight.empty() && wk.in_flight.front().id == running) {
        task t = std::move(wk.in_flight.front());
        wk.in_flight.pop_front();
        if (!t.job->cancelled && ++t.deaths <= t.job->retries) {
            ++retried_;
            again.emplace(std::move(t));
        } else if (!t.job->cancelled) {
            t.job->failed(t.chunk, {task_failure::crashed, 0, "", "", pid, signal, code, t.deaths});
        }
    }
    while (!wk.in_flight.empty()) {
        queued_.push_front(std::move(wk.in_flight.back()));
        wk.in_flight.pop_back();
    }
    if (again) queued_.push_front(std::move(*again));
    if (!joined_) spawn(w);
}

void pool_engine::fail_everything(const task_failure& f) {
    auto fail = [&](task& t) {
        if (!t.job->cancelled) t.job->failed(t.chunk, f);
    };
    for (auto& wk : workers_) {
        for (auto& t : wk->in_flight) fail(t);
        wk->in_flight.clear();
    }
    for (auto& t : queued_) fail(t);
    queued_.clear();
}

bool pool_engine::any_result() noexcept {
    for (auto& wk : workers_)
        if (wk->pid && !wk->in_flight.empty() && wk->results->try_fill(ipc::byte_record::header)) return true;
    return false;
}

void pool_engine::wait_for_results() {
    double deadline = now() + watch_ms * 1e-3;
    shared_->results->wait([&] { return any_result() || now() >= deadline; }, shared_->caller);
}

void pool_engine::step(bool sleep) {
    check_caller("step");
    bool any = dispatch();
    for (std::size_t w = 0; w < workers_.size(); ++w)
        if (workers_[w]->pid && collect(w)) any = true;
    if (now() - last_watch_ >= watch_ms * 1e-3 && watch()) any = true;
    if (any || !sleep || outstanding() == 0) return;
    wait_for_results();
}

void pool_engine::close() { closed_ = true; }

void pool_engine::join() {
    check_caller("join");
    if (joined_) return;
    if (!closed_) throw std::logic_error("forkline::pool::join(): close() or terminate() the pool first");
    while (outstanding() != 0) step();
    joined_ = true;  // from here a worker that dies is not replaced
    for (auto& wk : workers_)
        if (wk->pid) wk->tasks->close();
    for (auto& wk : workers_) {
        ipc::exit_status st;
        if (wk->pid) ipc::reap(wk->pid, true, st);
        wk->pid = 0;
    }
}

void pool_engine::terminate() {
    if (joined_) return;
    closed_ = true;
    joined_ = true;
    shared_->abort->store(1, std::memory_order_seq_cst);
    for (auto& wk : workers_)
        if (wk->pid) ::kill(wk->pid, SIGKILL);
    for (auto& wk : workers_) {
        ipc::exit_status st;
        if (wk->pid) ipc::reap(wk->pid, true, st);
        wk->pid = 0;
    }
    fail_everything({task_failure::refused, 0, "",
                     broken_.empty() ? "forkline::pool: terminated before the task finished" : broken_});
}

}  // namespace forkline::detail
