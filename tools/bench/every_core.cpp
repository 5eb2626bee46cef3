// The every-core benchmark: one table, one run. A CPU-bound map (about 100 us an item) run by
// fl::farm(cpu_count()) and fl::farm(1) against a plain loop in one process (the speedup
// baseline), and the same work in oneTBB's parallel_pipeline.
//   build/tools/bench/bench_every_core [--quick]
#include <forkline/forkline.hpp>

#ifdef FORKLINE_HAVE_TBB
#include <tbb/parallel_pipeline.h>
#endif

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace fl = forkline;

namespace {

/// About 100 us of arithmetic on this machine; the result depends on every step.
long work(long i) {
    unsigned long x = static_cast<unsigned long>(i) + 1;
    for (int k = 0; k < 60000; ++k) x = x * 6364136223846793005ul + 1442695040888963407ul;
    return static_cast<long>(x >> 33);
}

double seconds(const std::function<long()>& fn, long& result) {
    auto t0 = std::chrono::steady_clock::now();
    result = fn();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    const long n = quick ? 2000 : 20000;
    const unsigned cores = fl::cpu_count();
    auto farm_of = [&](std::size_t replicas) {
        return [&, replicas] {
            return fl::run(fl::iota(0L, n) | fl::farm(replicas, fl::map(work)) | fl::reduce(0L, std::plus<>{}));
        };
    };
    struct row {
        std::string name;
        double s;
    };
    std::vector<row> rows;
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
    if (one != all || one != plain) {
        std::fprintf(stderr, "bench_every_core: farms disagree\n");
        return 1;
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
    std::string head = "row (" + std::to_string(n) + " items of ~100 us)";
    std::printf("%-44s %10s %12s %10s\n", head.c_str(), "seconds", "items/s", "speedup");
    for (const auto& r : rows)
        std::printf("%-44s %10.3f %12.0f %10.2f\n", r.name.c_str(), r.s, static_cast<double>(n) / r.s, rows[0].s / r.s);
    std::printf("cores: %u; target: farm(cores) speedup >= %.2f\n", cores, 0.95 * cores);
}
