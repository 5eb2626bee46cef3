// The core benchmark: one table, one run, every row measured side by side on this machine.
//   build/tools/bench/bench_pipeline [--quick]
// Each row runs three times (once with --quick) and its fastest run is reported.
// Rows: a bare two-process shared-memory ring (the ceiling), forkline with 2, 3 and 8 processes,
// 64-byte strings, oneTBB's parallel_pipeline and Python's multiprocessing.Queue doing the same.
#include <forkline/forkline.hpp>

#include "best_of.hpp"
#include "rows.hpp"
#include <forkline/ipc/region.hpp>

#ifdef FORKLINE_HAVE_TBB
#include <tbb/parallel_pipeline.h>
#endif

#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <new>
#include <optional>
#include <string>
#include <vector>

namespace fl = forkline;
using forkline::bench::human;

namespace {

using clock_type = std::chrono::steady_clock;

struct row {
    std::string name;
    double items = 0, seconds = 0, cpu = 0;  // cpu: cores busy on average (children + self)
    int against = -1;                         // the forkline row this one is compared with
    std::string note;
    double rate() const { return seconds > 0 ? items / seconds : 0; }
};

/// How many times each row runs; the fastest run counts (a shared virtual machine has bad moments).
int repeats = 3;

/// Times fn (which handles `items` items) and records wall time and average cores busy.
row measure(std::string name, double items, const std::function<void()>& fn) {
    auto t = forkline::bench::best_of(repeats, fn);
    return row{std::move(name), items, t.seconds, t.cpu, -1, ""};
}

/// The reference ceiling: the simplest fast SPSC ring between two processes, written out by hand
/// with nothing around it: cached indices, and both sides moving contiguous runs of up to
/// `chunk` slots between index updates (so the loops vectorize), spinning when they must wait.
double bare_ring(long n) {
    constexpr std::uint64_t cap = 1 << 15, mask = cap - 1, chunk = 1 << 11;
    struct alignas(64) shared {
        alignas(64) std::atomic<std::uint64_t> head{0};
        alignas(64) std::atomic<std::uint64_t> tail{0};
        alignas(64) long slots[cap];
    };
    fl::ipc::shared_region region(sizeof(shared));
    auto* s = new (region.data()) shared;
    const auto total = static_cast<std::uint64_t>(n);
    // Each side on a core of its own (two spinning processes sharing one would measure the
    // scheduler); forkline pins its workers the same way.
    cpu_set_t saved;
    ::sched_getaffinity(0, sizeof saved, &saved);
    auto cores = fl::detail::affinity_cores();
    auto pin = [](int core) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(core, &one);
        ::sched_setaffinity(0, sizeof one, &one);
    };
    pid_t pid = ::fork();
    if (pid == 0) {
        if (cores.size() >= 2) pin(cores[0]);
        std::uint64_t head = 0, tail_cache = 0;
        while (head < total) {
            while (head - tail_cache == cap) tail_cache = s->tail.load(std::memory_order_acquire);
            std::uint64_t run = std::min({cap - (head - tail_cache), cap - (head & mask), chunk, total - head});
            long* out = s->slots + (head & mask);
            for (std::uint64_t k = 0; k < run; ++k) out[k] = static_cast<long>(head + k);
            head += run;
            s->head.store(head, std::memory_order_release);
        }
        ::_exit(0);
    }
    if (cores.size() >= 2) pin(cores[1]);
    std::uint64_t tail = 0, head_cache = 0;
    long sum = 0;
    while (tail < total) {
        while (tail == head_cache) head_cache = s->head.load(std::memory_order_acquire);
        std::uint64_t run = std::min({head_cache - tail, cap - (tail & mask), chunk});
        const long* in = s->slots + (tail & mask);
        for (std::uint64_t k = 0; k < run; ++k) sum += in[k];
        tail += run;
        s->tail.store(tail, std::memory_order_release);
    }
    ::waitpid(pid, nullptr, 0);
    ::sched_setaffinity(0, sizeof saved, &saved);
    return static_cast<double>(sum);
}

long expected_sum(long n) { return n * (n - 1) / 2; }

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "bench_pipeline: wrong result in %s\n", what);
        std::exit(1);
    }
}

std::optional<row> python_row(long n) {
    std::string cmd = "python3 " FORKLINE_BENCH_DIR "/mp_queue.py " + std::to_string(n) + " 2>/dev/null";
    std::FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return std::nullopt;
    double items = 0, seconds = 0;
    int got = std::fscanf(p, "%lf %lf", &items, &seconds);
    if (::pclose(p) != 0 || got != 2) return std::nullopt;
    return row{"python multiprocessing.Queue: count | map | sum", items, seconds, 0, -1, "3 processes"};
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    double scale = quick ? 0.05 : 1.0;
    if (quick) repeats = 1;
    auto n_of = [&](double n) { return static_cast<long>(n * scale); };
    std::vector<row> rows;

    long n = n_of(1e9);
    rows.push_back(measure("bare two-process ring (ceiling)", n, [&] { check(bare_ring(n) == double(expected_sum(n)), "bare"); }));
    rows.back().note = "2 processes, 8-byte items";

    rows.push_back(measure("forkline iota | reduce(sum)", n, [&] {
        check(fl::run(fl::iota(0L, n) | fl::reduce(0L, std::plus<>{})) == expected_sum(n), "iota|reduce");
    }));
    rows.back().note = "2 processes";
    rows[0].against = 1;
    const int two = 1;

    long n3 = n_of(5e8);
    auto step = [](long i) { return i * 2 + 1; };
    rows.push_back(measure("forkline iota | map | reduce", n3, [&] {
        check(fl::run(fl::iota(0L, n3) | fl::map(step) | fl::reduce(0L, std::plus<>{}), fl::options{.fuse = false}) ==
                  n3 * n3,
              "iota|map|reduce");
    }));
    rows.back().note = "3 processes";
    const int three = 2;

#ifdef FORKLINE_HAVE_TBB
    long nt = n_of(5e6);
    rows.push_back(measure("oneTBB parallel_pipeline, same filters", nt, [&] {
        long i = 0, sum = 0;
        tbb::parallel_pipeline(
            64, tbb::make_filter<void, long>(tbb::filter_mode::serial_in_order,
                                             [&](tbb::flow_control& fc) -> long {
                                                 if (i == nt) fc.stop();
                                                 return i++;
                                             }) &
                    tbb::make_filter<long, long>(tbb::filter_mode::parallel, step) &
                    tbb::make_filter<long, void>(tbb::filter_mode::serial_in_order, [&](long x) { sum += x; }));
        check(sum == nt * nt, "tbb");
    }));
    rows.back().note = "threads, 2 cores";
    rows.back().against = three;
#else
    rows.push_back({"oneTBB parallel_pipeline, same filters", 0, 0, 0, -1, "skipped: oneTBB not found"});
#endif

    long ns = n_of(5e7);
    rows.push_back(measure("forkline 64-byte std::string items", ns, [&] {
        check(forkline::bench::sum_of_64_byte_strings(ns) == 64 * ns, "strings");
    }));
    rows.back().note = "3 processes, byte ring";
    rows.back().against = three;

    long n8 = n_of(2e8);
    auto inc = [](long i) { return i + 1; };
    auto eight = [&](const fl::options& o) {
        long r = fl::run(fl::iota(0L, n8) | fl::map(inc) | fl::map(inc) | fl::map(inc) | fl::map(inc) | fl::map(inc) |
                             fl::map(inc) | fl::reduce(0L, std::plus<>{}),
                         o);
        check(r == expected_sum(n8) + 6 * n8, "8 stages");
    };
    rows.push_back(measure("forkline 8 stages, 8 processes", n8, [&] { eight(fl::options{.fuse = false}); }));
    rows.back().note = "more processes than cores";
    rows.back().against = three;
    rows.push_back(measure("forkline 8 stages, planner fuses", n8, [&] { eight(fl::options{}); }));
    rows.back().note = "as many processes as cores";
    rows.back().against = three;

    long nb = n_of(2e6);
    auto slow = [](long i) {  // about a microsecond of work: the others wait for it
        for (int k = 0; k < 300; ++k) i = i * 6364136223846793005L + 1442695040888963407L;
        return i & 1;
    };
    fl::run_report report;
    rows.push_back(measure("forkline 8 stages, one slow", nb, [&] {
        fl::run(fl::iota(0L, nb) | fl::named("slow", fl::map(slow)) | fl::map(inc) | fl::map(inc) | fl::map(inc) |
                    fl::map(inc) | fl::map(inc) | fl::reduce(0L, std::plus<>{}),
                fl::options{.fuse = false, .report = &report});
    }));
    {
        // How busy the stages that only wait for the slow one were, each as a share of one core.
        double slow_share = 0, most = 0;
        for (const auto& p : report.processes) {
            double share = p.cpu_seconds / report.seconds;
            if (p.stages.front() == "slow") slow_share = share;
            else most = std::max(most, share);
        }
        char note[96];
        std::snprintf(note, sizeof note, "slow stage %.0f%% of a core, each other stage at most %.1f%%", slow_share * 100,
                      most * 100);
        rows.back().note = note;
    }

    if (auto py = python_row(quick ? 20'000 : 200'000)) {
        py->against = three;
        rows.push_back(*py);
    } else {
        rows.push_back({"python multiprocessing.Queue: count | map | sum", 0, 0, 0, -1, "skipped: python3 not found"});
    }

    std::printf("%-50s %12s %10s %14s %12s  %s\n", "row", "items", "seconds", "items/s", "forkline/x", "cores busy, note");
    for (const auto& r : rows) {
        if (r.seconds == 0) {
            std::printf("%-50s %12s %10s %14s %12s  %s\n", r.name.c_str(), "-", "-", "-", "-", r.note.c_str());
            continue;
        }
        std::string ratio = "-";
        if (r.against >= 0) {
            char b[32];
            std::snprintf(b, sizeof b, "%.2f", rows[static_cast<std::size_t>(r.against)].rate() / r.rate());
            ratio = b;
        }
        char cores[16] = "";
        if (r.cpu > 0) std::snprintf(cores, sizeof cores, "%.2f, ", r.cpu);
        std::printf("%-50s %12s %10.3f %14s %12s  %s%s\n", r.name.c_str(), human(r.items).c_str(), r.seconds,
                    human(r.rate()).c_str(), ratio.c_str(), cores, r.note.c_str());
    }
    (void)two;
}
