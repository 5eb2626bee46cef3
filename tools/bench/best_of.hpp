// What the benchmarks share: timing a run in wall time and CPU time (this process and its reaped
// children), keeping the fastest of several runs; writing a count or rate short.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

namespace forkline::bench {

/// User + system seconds of this process and of the children it has reaped.
inline double cpu_seconds() {
    rusage self{}, kids{};
    ::getrusage(RUSAGE_SELF, &self);
    ::getrusage(RUSAGE_CHILDREN, &kids);
    auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
    return s(self.ru_utime) + s(self.ru_stime) + s(kids.ru_utime) + s(kids.ru_stime);
}

/// The fastest run: its wall seconds, and its cores busy on average (CPU time over wall time).
struct timing {
    double seconds = 0, cpu = 0;
    int runs = 0;
};

/// Runs fn up to `repeats` times (stopping after a run longer than `enough` seconds) and keeps
/// the fastest; `on_best` is called after each run that is the fastest so far.
inline timing best_of(int repeats, const std::function<void()>& fn, double enough = 1e300,
                      const std::function<void()>& on_best = {}) {
    timing t;
    for (int k = 0; k < repeats; ++k) {
        ++t.runs;
        double cpu0 = cpu_seconds();
        auto t0 = std::chrono::steady_clock::now();
        fn();
        double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (t.seconds == 0 || wall < t.seconds) {
            t.seconds = wall;
            t.cpu = (cpu_seconds() - cpu0) / wall;
            if (on_best) on_best();
        }
        if (wall > enough) break;
    }
    return t;
}

/// v with three significant digits and a k, M or G suffix: "1.31 M".
inline std::string human(double v) {
    char buf[32];
    if (v >= 1e9) std::snprintf(buf, sizeof buf, "%.2f G", v / 1e9);
    else if (v >= 1e6) std::snprintf(buf, sizeof buf, "%.2f M", v / 1e6);
    else if (v >= 1e3) std::snprintf(buf, sizeof buf, "%.2f k", v / 1e3);
    else std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
}

}  // namespace forkline::bench
