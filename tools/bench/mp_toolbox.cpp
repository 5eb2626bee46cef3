// The multiprocessing toolbox benchmark: one table, one run, every row measured side by side.
//   build/tools/bench/bench_mp_toolbox [--quick]
// Rows: fl::queue<int> from 1 producer to 1 consumer process and from 4 to 4, against
// Boost.Interprocess message_queue and Python's multiprocessing.Queue (tools/bench/mp_queue.py) in
// the same shapes; fl::lock handed back and forth between two processes and taken by one process
// alone, against Python's multiprocessing.Lock (tools/bench/mp_lock.py).
// Each row starts its processes, lines them up on a barrier and times from there to the end of the
// last one, so starting processes (slow in Python) is not counted; the fastest of 3 runs counts
// (one with --quick), on both sides. The C++ rows take their item counts from a pilot run, aiming
// at 0.8 s a run (0.1 s with --quick), because their rates swing with the machine's load and a
// run may go faster than its pilot; Python's rates swing less, so its rows have fixed counts (a
// fifth with --quick). Rates are compared, never times. Every row checks what it received and
// fails loudly.
#include <forkline/forkline.hpp>

#include "best_of.hpp"

#include <boost/interprocess/ipc/message_queue.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fl = forkline;
namespace bip = boost::interprocess;
using forkline::bench::human;

namespace {

using clock_type = std::chrono::steady_clock;

/// How many times each row runs; the fastest run counts (a shared virtual machine has bad moments).
int repeats = 3;

/// How long a forkline, Boost or lock row should run: its item count comes from a pilot run.
double row_seconds = 0.8;

/// Queues hold this many items at most, on every side (mp_queue.py's Queue(1024) too).
constexpr std::size_t capacity = 1024;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// A row's item count and its fastest run's seconds.
struct measured {
    long items;
    double seconds;
};

/// Runs fn(pilot) once, picks the count that takes about row_seconds at that rate (at most 100
/// times the pilot, at least the pilot), and keeps the fastest of `repeats` runs of fn(count).
/// fn returns the seconds it measured.
measured sized(long pilot, const std::function<double(long)>& fn) {
    double rate = static_cast<double>(pilot) / fn(pilot);
    long n = std::clamp(static_cast<long>(rate * row_seconds), pilot, 100 * pilot);
    double best = 0;
    for (int k = 0; k < repeats; ++k) {
        double s = fn(n);
        if (k == 0 || s < best) best = s;
    }
    return {n, best};
}

/// Waits until ps[0 .. count) have ended. Fails as soon as any process of ps has failed, so that
/// a consumer that died does not leave its producers blocked for ever.
void wait_for(std::vector<fl::process>& ps, std::size_t count, const char* what) {
    for (std::size_t k = 0; k < count;) {
        if (ps[k].join(std::chrono::milliseconds(50))) ++k;
        for (auto& p : ps)
            if (auto code = p.exit_code(); code && *code != 0)
                fail(std::string(what) + ": a process failed (exit code " + std::to_string(*code) + ")");
    }
}

/// Starts every process, waits on `ready` (whose other parties are the processes), and returns
/// the time from there until `finish` is done; then waits for them all. Processes still running
/// when this throws are killed by their destructors.
double timed(std::vector<fl::process>& ps, fl::barrier& ready, const std::function<void()>& finish, const char* what) {
    for (auto& p : ps) p.start();
    ready.wait();
    auto t0 = clock_type::now();
    finish();
    double s = seconds_since(t0);
    wait_for(ps, ps.size(), what);
    return s;
}

// ---- queues: n items 0..n-1 from `producers` processes to `consumers` processes

/// fl::queue<int> as a channel: close() ends the stream.
struct fl_channel {
    fl::queue<int> q{capacity};
    void put(int v) { q.put(v); }
    std::optional<int> get() { return q.get(); }
    void end(int) { q.close(); }
};

/// Boost.Interprocess message_queue of int-sized messages as a channel, in a uniquely named
/// segment that is removed however the row ends; one -1 a consumer ends the stream.
class boost_channel {
public:
    boost_channel()
        : name_("forkline_bench_mq_" + std::to_string(::getpid()) + "_" + std::to_string(++made_)),
          remover_(name_), q_(bip::create_only, name_.c_str(), capacity, sizeof(int)) {}
    void put(int v) { q_.send(&v, sizeof v, 0); }
    std::optional<int> get() {
        int v = -1;
        bip::message_queue::size_type got = 0;
        unsigned priority = 0;
        q_.receive(&v, sizeof v, got, priority);
        if (got != sizeof v) fail("boost message_queue: a message of " + std::to_string(got) + " bytes");
        if (v == -1) return std::nullopt;
        return v;
    }
    void end(int consumers) {
        for (int k = 0; k < consumers; ++k) put(-1);
    }

private:
    /// Removes the segment when made (a leftover of a killed run) and when destroyed, also when
    /// the queue's constructor throws. Only the process that made it destroys it: children leave
    /// by _exit.
    struct remover {
        explicit remover(const std::string& n) : name(n) { bip::message_queue::remove(name.c_str()); }
        ~remover() { bip::message_queue::remove(name.c_str()); }
        std::string name;
    };
    static inline int made_ = 0;
    std::string name_;
    remover remover_;
    bip::message_queue q_;
};

/// What the consumers received, in shared memory: how often each item came, and each consumer's
/// count and sum.
struct received {
    explicit received(long n, int consumers) : seen(static_cast<std::size_t>(n)), count(consumers), sum(consumers) {}
    fl::raw_array<std::atomic<std::uint8_t>> seen;
    fl::raw_array<long> count, sum;
    fl::raw_value<std::atomic<long>> out_of_range{0};

    void take(int consumer, int v) {
        auto c = static_cast<std::size_t>(consumer);
        ++count[c];
        sum[c] += v;
        if (v < 0 || static_cast<std::size_t>(v) >= seen.size()) ++*out_of_range;
        else seen[static_cast<std::size_t>(v)].fetch_add(1, std::memory_order_relaxed);
    }
    /// Each item of 0..n-1 exactly once, and the counts and sums agree.
    void check(long n, const char* what) const {
        long c = 0, s = 0, wrong = 0;
        for (std::size_t k = 0; k < count.size(); ++k) c += count[k], s += sum[k];
        for (auto& x : seen) wrong += x.load() != 1;
        if (wrong || *out_of_range || c != n || s != n * (n - 1) / 2)
            fail(std::string(what) + ": " + std::to_string(wrong) + " items lost or received twice, " +
                 std::to_string(out_of_range->load()) + " out of range, " + std::to_string(c) + " received of " +
                 std::to_string(n));
    }
};

/// Seconds to move n items through a fresh Channel from `producers` to `consumers` processes.
template <class Channel>
double fan(long n, int producers, int consumers, const char* what) {
    Channel ch;
    received got(n, consumers);
    fl::barrier ready(static_cast<std::uint32_t>(producers + consumers + 1));
    std::vector<fl::process> ps;
    for (int k = 0; k < producers; ++k)
        ps.emplace_back([&, first = n * k / producers, last = n * (k + 1) / producers] {
            ready.wait();
            for (long i = first; i < last; ++i) ch.put(static_cast<int>(i));
        });
    for (int k = 0; k < consumers; ++k)
        ps.emplace_back([&, k] {
            ready.wait();
            while (auto v = ch.get()) got.take(k, *v);
        });
    double s = timed(ps, ready, [&] {
        wait_for(ps, static_cast<std::size_t>(producers), what);
        ch.end(consumers);
        wait_for(ps, ps.size(), what);
    }, what);
    got.check(n, what);
    return s;
}

// ---- locks

/// Lock hand-offs between two processes, 2n of them. Each process takes the lock, looks at a turn
/// counter guarded by it, and when the turn is its own (counter even for one, odd for the other)
/// advances it and counts a turn; it lets the lock go either way, and loops until it has had n
/// turns. So the lock goes strictly from one process to the other and back: every counted turn
/// is one hand-off, and the time includes what the lock does when the process that must wait
/// keeps taking it (as a real waiter would). mp_lock.py's pingpong does the same.
double lock_pingpong(long n) {
    fl::lock lk;
    fl::raw_value<long> turn(0);
    fl::barrier ready(3);
    std::vector<fl::process> ps;
    for (long me : {0L, 1L})
        ps.emplace_back([&, me] {
            ready.wait();
            for (long mine = 0; mine < n;) {
                std::scoped_lock g(lk);
                if (*turn % 2 == me) {
                    ++*turn;
                    ++mine;
                }
            }
        });
    double s = timed(ps, ready, [&] { wait_for(ps, ps.size(), "fl::lock ping-pong"); }, "fl::lock ping-pong");
    if (*turn != 2 * n) fail("fl::lock ping-pong: " + std::to_string(*turn) + " turns, not " + std::to_string(2 * n));
    return s;
}

/// n lock + unlock in one process, nobody else around; a counter under the lock proves each.
double lock_alone(long n) {
    fl::lock lk;
    long count = 0;
    auto t0 = clock_type::now();
    for (long i = 0; i < n; ++i) {
        std::scoped_lock g(lk);
        ++count;
    }
    double s = seconds_since(t0);
    if (count != n) fail("fl::lock alone: counted " + std::to_string(count));
    return s;
}

// ---- Python

/// python3's path on PATH, or nothing.
std::optional<std::string> find_python() {
    const char* path = std::getenv("PATH");
    std::string_view rest = path ? path : "";
    while (!rest.empty()) {
        auto colon = rest.find(':');
        std::string dir(rest.substr(0, colon));
        rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
        std::string exe = (dir.empty() ? "." : dir) + "/python3";
        if (::access(exe.c_str(), X_OK) == 0) return exe;
    }
    return std::nullopt;
}

/// Runs `python3 tools/bench/<script> <args> <repeats>` and returns its "count seconds" line's
/// seconds; the count must be `count`. A script that fails (its checks are assertions) fails the
/// benchmark, its message on our stderr.
double python(const std::string& exe, const std::string& script_args, long count) {
    std::string cmd = exe + " " FORKLINE_BENCH_DIR "/" + script_args + " " + std::to_string(repeats);
    std::FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) fail("cannot run " + cmd);
    long got = 0;
    double s = 0;
    int read = std::fscanf(p, "%ld %lf", &got, &s);
    int status = ::pclose(p);
    if (read != 2 || status != 0 || got != count || s <= 0) fail("python baseline failed: " + cmd);
    return s;
}

// ---- the table

struct row {
    std::string name;
    long items = 0;
    double seconds = 0;  // 0: not measured
    int against = -1;    // the forkline row this one is compared with
    std::string note;
    double rate() const { return static_cast<double>(items) / seconds; }
};

void print(const std::vector<row>& rows) {
    std::printf("%-46s %10s %8s %12s %11s  %s\n", "row", "items", "seconds", "items/s", "forkline/x", "note");
    for (const auto& r : rows) {
        if (r.seconds == 0) {
            std::printf("%-46s %10s %8s %12s %11s  %s\n", r.name.c_str(), "-", "-", "-", "-", r.note.c_str());
            continue;
        }
        char ratio[32] = "-";
        if (r.against >= 0) std::snprintf(ratio, sizeof ratio, "%.1f", rows[static_cast<std::size_t>(r.against)].rate() / r.rate());
        std::printf("%-46s %10s %8.3f %12s %11s  %s\n", r.name.c_str(), human(static_cast<double>(r.items)).c_str(),
                    r.seconds, human(r.rate()).c_str(), ratio, r.note.c_str());
    }
}

/// One target line: each forkline row over the row compared with it, against `times`.
void target(const std::vector<row>& rows, const char* what, double times, const std::vector<int>& others) {
    std::printf("target: fl::queue >= %gx %s:", times, what);
    for (int o : others) {
        const row& r = rows[static_cast<std::size_t>(o)];
        std::string shape = r.name.substr(r.name.rfind(',') + 2);
        if (r.seconds == 0) {
            std::printf("  %s not measured (%s)", shape.c_str(), r.note.c_str());
            continue;
        }
        double x = rows[static_cast<std::size_t>(r.against)].rate() / r.rate();
        std::printf("  %s %.1fx %s", shape.c_str(), x, x >= times ? "met" : "NOT MET");
    }
    std::printf("\n");
}

/// A python3 row, or a "python3 not found" one.
row python_row(const std::optional<std::string>& exe, std::string name, const std::string& script_args, long count,
               int against, std::string note) {
    if (!exe) return {std::move(name), 0, 0, against, "python3 not found"};
    return {std::move(name), count, python(*exe, script_args, count), against, std::move(note)};
}

void run(double python_scale) {
    auto py = find_python();
    auto py_n = [&](double n) { return static_cast<long>(n * python_scale); };
    std::vector<row> rows;
    std::vector<int> boost_rows, python_rows;

    struct shape {
        int producers, consumers;
        const char* label;
        const char* note;
    };
    for (const shape& sh : {shape{1, 1, ", 1 -> 1", "1 producer, 1 consumer process"},
                            shape{4, 4, ", 4 -> 4", "4 producer, 4 consumer processes"}}) {
        const int fl_row = static_cast<int>(rows.size());
        auto [n, s] = sized(200'000, [&](long n) { return fan<fl_channel>(n, sh.producers, sh.consumers, "fl::queue"); });
        rows.push_back({std::string("fl::queue<int>") + sh.label, n, s, -1, sh.note});
        auto [bn, bs] = sized(200'000, [&](long n) { return fan<boost_channel>(n, sh.producers, sh.consumers, "message_queue"); });
        boost_rows.push_back(static_cast<int>(rows.size()));
        rows.push_back({std::string("boost message_queue") + sh.label, bn, bs, fl_row, sh.note});
        python_rows.push_back(static_cast<int>(rows.size()));
        long pn = py_n(5e4);
        rows.push_back(python_row(py, std::string("python multiprocessing.Queue") + sh.label,
                                  "mp_queue.py " + std::to_string(pn) + " " + std::to_string(sh.producers) + " " +
                                      std::to_string(sh.consumers),
                                  pn, fl_row, sh.note));
    }

    const int pingpong_row = static_cast<int>(rows.size());
    auto [turns, turns_s] = sized(100'000, lock_pingpong);
    rows.push_back({"fl::lock ping-pong hand-offs", 2 * turns, turns_s, -1, "2 processes, strictly in turn"});
    long py_turns = py_n(2e5);
    rows.push_back(python_row(py, "python multiprocessing.Lock ping-pong", "mp_lock.py pingpong " + std::to_string(py_turns),
                              2 * py_turns, pingpong_row, "2 processes, strictly in turn"));

    const int alone_row = static_cast<int>(rows.size());
    auto [alone, alone_s] = sized(1'000'000, lock_alone);
    rows.push_back({"fl::lock lock + unlock, uncontended", alone, alone_s, -1, "1 process"});
    long py_alone = py_n(4e6);
    rows.push_back(python_row(py, "python multiprocessing.Lock acquire + release",
                              "mp_lock.py alone " + std::to_string(py_alone), py_alone, alone_row, "1 process"));

    print(rows);
    std::printf("\n");
    target(rows, "python multiprocessing.Queue", 100, python_rows);
    target(rows, "boost message_queue", 5, boost_rows);
}

}  // namespace

int main(int argc, char** argv) {
    std::string command = "$";
    for (int k = 0; k < argc; ++k) command += std::string(" ") + argv[k];
    bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    if (quick) {
        repeats = 1;
        row_seconds = 0.1;
    }
    std::printf("%s\n%u cores; the fastest of %d runs a row; for the locks, items are hand-offs or lock + unlock pairs\n\n",
                command.c_str(), fl::cpu_count(), repeats);
    std::fflush(stdout);  // before the children fork, so they do not print it again
    try {
        run(quick ? 0.2 : 1.0);
        return 0;
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "bench_mp_toolbox: %s\n", e.what());
        return 1;
    }
}
