// The every-core benchmark: one run, one table in two parts.
//  - farm: a CPU-bound map (about 100 us an item) run by fl::farm(cpu_count()) and fl::farm(1)
//    against a plain loop in one process (the speedup baseline), the same work in oneTBB's
//    parallel_pipeline, and fl::parallel by default, with fl::spare_cores, and with options::adaptive.
//  - pool: fl::pool::map against Python's multiprocessing.Pool.map (tools/bench/mp_pool.py) on
//    the same work and chunk sizes, tiny tasks and 100 us ones, and the cost of one small map
//    call next to the cost of a fork (which persistent workers avoid).
//   build/tools/bench/bench_every_core [--quick]
#include <forkline/forkline.hpp>

#ifdef FORKLINE_HAVE_TBB
#include <tbb/parallel_pipeline.h>
#endif

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

namespace fl = forkline;

namespace {

using clock_type = std::chrono::steady_clock;

/// About 100 us of arithmetic on this machine; the result depends on every step.
long work(long i) {
    unsigned long x = static_cast<unsigned long>(i) + 1;
    for (int k = 0; k < 60000; ++k) x = x * 6364136223846793005ul + 1442695040888963407ul;
    return static_cast<long>(x >> 33);
}

/// 100 us of CPU, measured on the clock: the same work in C++ and in Python.
long spin(long x) {
    auto end = clock_type::now() + std::chrono::microseconds(100);
    while (clock_type::now() < end) {
    }
    return x;
}

long tiny(long x) { return x * x; }

double seconds(const std::function<long()>& fn, long& result) {
    auto t0 = clock_type::now();
    result = fn();
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// Python's time for `work` over n items in multiprocessing.Pool.map, or nothing without python3.
std::optional<double> python_pool(const char* work, long n, long chunksize, unsigned processes) {
    std::string cmd = "python3 " FORKLINE_BENCH_DIR "/mp_pool.py " + std::string(work) + " " + std::to_string(n) +
                      " " + std::to_string(chunksize) + " " + std::to_string(processes) + " 2>/dev/null";
    std::FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return std::nullopt;
    long items = 0;
    double s = 0;
    int got = std::fscanf(p, "%ld %lf", &items, &s);
    int status = ::pclose(p);
    if (got != 2 || status != 0 || items != n) return std::nullopt;
    return s;
}

/// One fork, an immediate _exit and the wait for it: what a pool that forked per call would pay.
double fork_cost(int rounds) {
    auto t0 = clock_type::now();
    for (int i = 0; i < rounds; ++i) {
        pid_t pid = ::fork();
        if (pid == 0) ::_exit(0);
        int status;
        ::waitpid(pid, &status, 0);
    }
    return std::chrono::duration<double>(clock_type::now() - t0).count() / rounds;
}

struct farm_row {
    std::string name;
    double s;
};

/// The farm part: speedup of farm(cores) over a plain loop. Returns false when results disagree.
bool farm_rows(long n, unsigned cores) {
    auto farm_of = [&](std::size_t replicas) {
        return [&, replicas] {
            return fl::run(fl::iota(0L, n) | fl::farm(replicas, fl::map(work)) | fl::reduce(0L, std::plus<>{}));
        };
    };
    std::vector<farm_row> rows;
    long plain = 0, one = 0, all = 0;
    rows.push_back({"one process, a plain loop (the baseline)", seconds(
                                                                   [&] {
                                                                       long sum = 0;
                                                                       for (long i = 0; i < n; ++i) sum += work(i);
                                                                       return sum;
                                                                   },
                                                                   plain)});
    rows.push_back({"forkline farm(1, map(work))", seconds(farm_of(1), one)});
    rows.push_back({"forkline farm(" + std::to_string(cores) + ", map(work))", seconds(farm_of(cores), all)});
    // fl::parallel by default (a replica per core, the source and the caller sharing the cores),
    // with fl::spare_cores (they count as busy: one replica on 2 cores), and spare_cores with
    // options::adaptive, which measures them idle and adds replicas after a warm-up.
    auto parallel_with = [&](fl::parallel_sizing sizing, bool adaptive) {
        return [&, sizing, adaptive] {
            return fl::run(fl::iota(0L, n) | fl::parallel(fl::map(work)) | fl::reduce(0L, std::plus<>{}),
                           fl::options{.parallel = sizing, .adaptive = adaptive});
        };
    };
    long every = 0, planned = 0, adapted = 0;
    rows.push_back({"forkline parallel(map(work)), the default", seconds(parallel_with(fl::every_core, false), every)});
    rows.push_back({"forkline parallel(map(work)), spare_cores", seconds(parallel_with(fl::spare_cores, false), planned)});
    rows.push_back(
        {"forkline parallel(map(work)), spare_cores + adaptive", seconds(parallel_with(fl::spare_cores, true), adapted)});
    if (one != all || one != plain || every != plain || planned != plain || adapted != plain) {
        std::fprintf(stderr, "bench_every_core: farms disagree\n");
        return false;
    }
#ifdef FORKLINE_HAVE_TBB
    long tbb_sum = 0;
    double tbb_s = seconds(
        [&] {
            long i = 0, sum = 0;
            tbb::parallel_pipeline(
                4 * cores,
                tbb::make_filter<void, long>(tbb::filter_mode::serial_in_order,
                                             [&](tbb::flow_control& fc) -> long {
                                                 if (i == n) fc.stop();
                                                 return i++;
                                             }) &
                    tbb::make_filter<long, long>(tbb::filter_mode::parallel, [](long x) { return work(x); }) &
                    tbb::make_filter<long, void>(tbb::filter_mode::serial_in_order, [&](long x) { sum += x; }));
            return sum;
        },
        tbb_sum);
    rows.push_back({"oneTBB parallel_pipeline, parallel filter", tbb_s});
#endif
    std::string head = "farm (" + std::to_string(n) + " items of ~100 us)";
    std::printf("%-50s %10s %12s %10s\n", head.c_str(), "seconds", "items/s", "speedup");
    for (const auto& r : rows)
        std::printf("%-50s %10.3f %12.0f %10.2f\n", r.name.c_str(), r.s, static_cast<double>(n) / r.s, rows[0].s / r.s);
    std::printf("cores: %u; target: farm(cores) speedup >= %.2f\n\n", cores, 0.95 * cores);
    return true;
}

/// The pool part: each row runs the same map in fl::pool and in Python's Pool, with as many
/// workers as cores.
bool pool_rows(bool quick, unsigned cores) {
    fl::pool pool(cores);
    struct pool_case {
        std::string name;
        const char* work;
        long items, chunksize;
        long (*fn)(long);
    };
    const long scale = quick ? 10 : 1;
    std::vector<pool_case> cases{
        {"map x*x, chunksize 1", "tiny", 200'000 / scale, 1, tiny},
        {"map x*x, chunksize 1000", "tiny", 2'000'000 / scale, 1000, tiny},
        {"map 100 us of CPU, chunksize 1", "spin", 20'000 / scale, 1, spin},
        {"map 100 us of CPU, chunksize 100", "spin", 20'000 / scale, 100, spin},
    };
    std::string head = "pool (" + std::to_string(cores) + " workers), multiprocessing.Pool alike";
    std::printf("%-50s %10s %12s %12s %10s\n", head.c_str(), "items", "forkline s", "python s", "ahead");
    for (const auto& c : cases) {
        std::vector<long> in(static_cast<std::size_t>(c.items));
        std::iota(in.begin(), in.end(), 0L);
        long check = 0;
        double s = seconds(
            [&] {
                auto out = pool.map(c.fn, in, static_cast<std::size_t>(c.chunksize));
                return static_cast<long>(out.size());
            },
            check);
        if (check != c.items) {
            std::fprintf(stderr, "bench_every_core: pool.map lost items\n");
            return false;
        }
        auto py = python_pool(c.work, c.items, c.chunksize, cores);
        std::printf("%-50s %10ld %12.3f ", c.name.c_str(), c.items, s);
        if (py)
            std::printf("%12.3f %9.1fx\n", *py, *py / s);
        else
            std::printf("%12s %10s\n", "-", "-");
    }
    // Small maps, one after another: the workers stay, so a call costs no fork.
    const long calls = quick ? 200 : 2000;
    long check = 0;
    std::vector<long> eight{0, 1, 2, 3, 4, 5, 6, 7};
    double s = seconds(
        [&] {
            long n = 0;
            for (long k = 0; k < calls; ++k) n += static_cast<long>(pool.map(tiny, eight, 1).size());
            return n;
        },
        check);
    auto py = python_pool("calls", calls, 1, cores);
    std::printf("%-50s %10ld %12.3f ", ("map over 8 items, " + std::to_string(calls) + " calls").c_str(), calls * 8, s);
    if (py)
        std::printf("%12.3f %9.1fx\n", *py, *py / s);
    else
        std::printf("%12s %10s\n", "-", "-");
    double fork_s = fork_cost(quick ? 50 : 500);
    std::printf("one small map call: %.1f us; one fork + exit + wait: %.1f us (paid once per worker, at pool start)\n",
                s / static_cast<double>(calls) * 1e6, fork_s * 1e6);
    return check == calls * 8;
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    const unsigned cores = fl::cpu_count();
    if (!farm_rows(quick ? 2000 : 20000, cores)) return 1;
    if (!pool_rows(quick, cores)) return 1;
}
