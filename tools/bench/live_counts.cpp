// What the live counts cost: the rows of bench_pipeline that move the most items per second,
// with the counts compiled in (this program) and compiled out (the same file built with
// FORKLINE_LIVE_COUNTS=0 against a library built the same way), run in turns, on the same data.
//   build/tools/bench/bench_live_counts [--quick]
// Each row's fastest of eleven runs per build is reported (one with --quick), and "on/off" is the
// counted build's time over the uncounted one's: 1.03 is 3% slower with the counts.
// bench_live_counts_off --rows prints its rows' seconds, one per line, for the driver to read.
#include <forkline/forkline.hpp>

#include "best_of.hpp"
#include "rows.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace fl = forkline;

namespace {

struct row {
    const char* name;
    double items;
    std::function<void()> run;
};

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "bench_live_counts: wrong result in %s\n", what);
        std::exit(1);
    }
}

long expected_sum(long n) { return n * (n - 1) / 2; }

std::vector<row> rows(double scale) {
    auto n_of = [&](double n) { return static_cast<long>(n * scale); };
    const long n3 = n_of(1e8), n8 = n_of(5e7), ns = n_of(1e7), nf = n_of(2e7);
    auto step = [](long i) { return i * 2 + 1; };
    auto inc = [](long i) { return i + 1; };
    auto eight = [=](const fl::options& o) {
        long r = fl::run(fl::iota(0L, n8) | fl::map(inc) | fl::map(inc) | fl::map(inc) | fl::map(inc) | fl::map(inc) |
                             fl::map(inc) | fl::reduce(0L, std::plus<>{}),
                         o);
        check(r == expected_sum(n8) + 6 * n8, "8 stages");
    };
    return {
        {"iota | map | reduce, 3 processes", double(n3),
         [=] {
             check(fl::run(fl::iota(0L, n3) | fl::map(step) | fl::reduce(0L, std::plus<>{}), fl::options{.fuse = false}) ==
                       n3 * n3,
                   "iota|map|reduce");
         }},
        {"8 stages, 8 processes", double(n8), [=] { eight(fl::options{.fuse = false}); }},
        {"8 stages, planner fuses", double(n8), [=] { eight(fl::options{}); }},
        {"64-byte strings, byte ring", double(ns),
         [=] { check(forkline::bench::sum_of_64_byte_strings(ns) == 64 * ns, "strings"); }},
        {"farm(2, filter), ordered", double(nf),
         [=] {
             auto v = fl::run(fl::iota(0L, nf) | fl::farm(2, fl::filter([](long i) { return i % 4 == 0; })) | fl::count());
             check(v == static_cast<std::size_t>((nf + 3) / 4), "farm");
         }},
    };
}

/// One run of each row: its seconds.
std::vector<double> once(const std::vector<row>& rs) {
    std::vector<double> out;
    for (const auto& r : rs) out.push_back(forkline::bench::best_of(1, r.run).seconds);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = false, child = false;
    for (int i = 1; i < argc; ++i) {
        quick = quick || std::strcmp(argv[i], "--quick") == 0;
        child = child || std::strcmp(argv[i], "--rows") == 0;
    }
    auto rs = rows(quick ? 0.05 : 1.0);
    if (child) {
        for (double s : once(rs)) std::printf("%.9f\n", s);
        return 0;
    }
#if FORKLINE_LIVE_COUNTS
    const int turns = quick ? 1 : 11;
    std::vector<double> on(rs.size(), 1e300), off(rs.size(), 1e300), on_worst(rs.size(), 0), off_worst(rs.size(), 0);
    std::string cmd = std::string(FORKLINE_UNCOUNTED) + " --rows" + (quick ? " --quick" : "");
    for (int t = 0; t < turns; ++t) {
        auto mine = once(rs);
        std::FILE* p = ::popen(cmd.c_str(), "r");
        check(p != nullptr, "starting the uncounted build");
        for (std::size_t i = 0; i < rs.size(); ++i) {
            double s = 0;
            check(std::fscanf(p, "%lf", &s) == 1, "reading the uncounted build's seconds");
            off[i] = std::min(off[i], s);
            off_worst[i] = std::max(off_worst[i], s);
            on[i] = std::min(on[i], mine[i]);
            on_worst[i] = std::max(on_worst[i], mine[i]);
        }
        check(::pclose(p) == 0, "the uncounted build");
    }
    std::printf("%-36s %10s %14s %14s %8s  %s\n", "row", "items", "counts on /s", "counts off /s", "on/off",
                "slowest run on, off (s)");
    for (std::size_t i = 0; i < rs.size(); ++i)
        std::printf("%-36s %10s %14s %14s %8.3f  %.3f, %.3f\n", rs[i].name, forkline::bench::human(rs[i].items).c_str(),
                    forkline::bench::human(rs[i].items / on[i]).c_str(), forkline::bench::human(rs[i].items / off[i]).c_str(),
                    on[i] / off[i], on_worst[i], off_worst[i]);
    std::printf("(best of %d runs of each build, in turns; on/off above 1 is what the counts cost)\n", turns);
#else
    std::fprintf(stderr, "bench_live_counts_off: run bench_live_counts, which runs this with --rows\n");
    return 2;
#endif
}
