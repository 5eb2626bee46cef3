// The non-template half of fl::pool: persistent worker processes, one task ring and one result
// ring per worker, dispatch on demand, and the replacement of workers that die. Tasks cross as
// records that name a function of this very program (workers are forks of it, so its addresses
// hold in them) followed by the closure's bytes and the encoded arguments. Compiled in src/mp.
#pragma once

#include <forkline/codec/codec.hpp>

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace forkline::detail {

/// Why a task brought no results: its function threw, its worker died, or the pool could not run it.
struct task_failure {
    enum kind_t : std::uint8_t { threw, crashed, refused } kind = threw;
    std::uint32_t item = 0;       ///< which of the task's items (threw)
    std::string type, message;    ///< the exception's type and what() (threw), or why (refused)
    int pid = 0, signal = 0, code = 0;  ///< how the worker ended (crashed): the last that did
    std::uint32_t runs = 1;             ///< how many times the task ran, losing its worker each time (crashed)
};

/// In a worker: the encoded results of the task it runs, back to back.
class task_output {
public:
    template <class T>
    void put(const T& v) {
        std::size_t at = bytes.size();
        bytes.resize(at + encoded_size(v));
        encode(v, bytes.data() + at);
    }
    std::uint32_t item = 0;  ///< the item being run, for an error report
    std::vector<std::byte> bytes;
};

/// What a worker runs: `count` items encoded at [in, in + n), after the closure's bytes.
using task_body = void (*)(const std::byte* in, std::size_t n, std::uint32_t count, task_output& out);

/// Whoever waits for results (a map call, an imap range, a future). Called under the pool's lock.
struct pool_job {
    virtual ~pool_job() = default;
    /// Chunk `chunk` came back: `count` results encoded at [p, p + n).
    virtual void done(std::uint64_t chunk, std::uint32_t count, const std::byte* p, std::size_t n) = 0;
    virtual void failed(std::uint64_t chunk, const task_failure& f) = 0;
    bool cancelled = false;  ///< nobody waits any more: tasks not yet sent are dropped
    unsigned retries = 0;    ///< how many more times a task of this job runs when its worker dies in it
};

/// A task's record, as it crosses: this header, the closure's bytes (padded to 8), the items.
struct task_header {
    std::uint64_t id;
    task_body body;
    std::uint32_t count;
    std::uint32_t closure_bytes;
};

/// Starts a task record: the header and the closure; the caller appends the encoded items.
template <class Fn>
std::vector<std::byte> task_record(task_body body, const Fn& fn) {
    constexpr std::size_t closure = (sizeof(Fn) + 7) & ~std::size_t{7};
    std::vector<std::byte> r(sizeof(task_header) + closure);
    task_header h{0, body, 0, static_cast<std::uint32_t>(sizeof(Fn))};
    std::memcpy(r.data(), &h, sizeof h);
    std::memcpy(r.data() + sizeof h, &fn, sizeof(Fn));
    return r;
}

/// Appends one encoded item to a task record.
template <class T>
void append_item(std::vector<std::byte>& record, const T& v) {
    std::size_t at = record.size();
    record.resize(at + encoded_size(v));
    encode(v, record.data() + at);
}

struct pool_shared;
struct pool_worker;

class pool_engine {
public:
    /// Forks `workers` processes; each runs `initializer` (when set) before its first task.
    pool_engine(unsigned workers, std::function<void()> initializer);
    pool_engine(const pool_engine&) = delete;
    pool_engine& operator=(const pool_engine&) = delete;
    /// Joins when the pool was closed, else terminates. Every job is complete afterwards.
    ~pool_engine();

    unsigned size() const noexcept { return static_cast<unsigned>(workers_.size()); }
    /// How many tasks one worker may hold now (from how long tasks have taken so far).
    std::size_t depth() const noexcept { return depth_; }

    /// Held around send() and step(); recursive, so an input range may itself read from the pool.
    std::unique_lock<std::recursive_mutex> lock() { return std::unique_lock(mutex_); }

    /// Queues a task for `job` (its `count` items are already in the record). Throws
    /// std::logic_error when the pool is closed or used from another process.
    void send(std::shared_ptr<pool_job> job, std::uint64_t chunk, std::uint32_t count, std::vector<std::byte> record);

    /// One round: hands queued tasks to workers with room, collects results, replaces dead
    /// workers; when none of that did anything and `sleep`, sleeps until a result comes (or
    /// 20 ms pass).
    void step(bool sleep = true);

    /// Tasks queued or running.
    std::size_t outstanding() const noexcept;

    void close();     ///< no more tasks; those queued still run
    void join();      ///< after close(): waits for every task, then for the workers to exit
    void terminate(); ///< kills the workers now; unfinished tasks fail
    bool closed() const noexcept { return closed_; }

    /// The retries of calls that do not say (pool.retry).
    unsigned retries() const noexcept { return retries_.load(std::memory_order_relaxed); }
    void set_retries(unsigned k) noexcept { retries_.store(k, std::memory_order_relaxed); }
    /// Tasks run again so far because their worker died in them.
    std::uint64_t retried() const noexcept { return retried_; }

private:
    struct task {
        std::uint64_t id;
        std::shared_ptr<pool_job> job;
        std::uint64_t chunk;
        std::uint32_t count;
        std::vector<std::byte> record;
        std::uint32_t deaths = 0;  ///< workers that died running it
    };
    void check_caller(const char* what) const;
    std::string init_error() const;
    void spawn(std::size_t w);
    bool dispatch();
    void hand_over(std::size_t w);
    bool collect(std::size_t w);
    void deliver(pool_worker& wk, const std::byte* p, std::size_t n);
    bool watch();
    void learn(double seconds) noexcept;
    void buried(std::size_t w, pid_t pid, int signal, int code);
    void fail_everything(const task_failure& f);
    void wait_for_results();
    bool any_result() noexcept;
    static void on_wake(void* self);

    std::recursive_mutex mutex_;
    std::function<void()> initializer_;
    pid_t owner_;
    std::unique_ptr<pool_shared> shared_;
    std::vector<std::unique_ptr<pool_worker>> workers_;
    std::deque<task> queued_;
    std::uint64_t next_id_ = 1;
    std::size_t next_worker_ = 0;
    std::size_t peer_ = SIZE_MAX;  ///< the worker a blocking read or write waits on
    std::size_t depth_ = 2;        ///< tasks one worker may hold: see learn()
    double task_seconds_ = -1;     ///< how long a task runs, on average (-1: not known yet)
    double last_watch_ = 0;
    std::atomic<unsigned> retries_{0};  ///< read by calls before they take the lock
    std::uint64_t retried_ = 0;
    bool closed_ = false, joined_ = false;
    std::string broken_;  ///< why the pool cannot run tasks (its initializer failed)

    friend struct pool_worker;
};

}  // namespace forkline::detail
