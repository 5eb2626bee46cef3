// A point in time a wait must not pass, in the forms the waits of src/mp need: a futex timeout in
// milliseconds and a CLOCK_MONOTONIC timespec for pthread_mutex_clocklock.
#pragma once

#include <time.h>

#include <algorithm>
#include <chrono>
#include <climits>

namespace forkline::detail {

struct deadline {
    using clock_type = std::chrono::steady_clock;

    /// `ns` from now; negative: no limit; 0: passed already. Only a positive one reads the clock
    /// (a queue makes one per put and get).
    explicit deadline(long long ns)
        : forever(ns < 0), at(ns > 0 ? clock_type::now() + std::chrono::nanoseconds(ns) : clock_type::time_point{}) {}

    bool passed() const { return !forever && (at == clock_type::time_point{} || clock_type::now() >= at); }

    /// Milliseconds left, rounded up so that a wait never ends early; -1 for no limit.
    int ms_left() const {
        if (forever) return -1;
        auto left = std::chrono::ceil<std::chrono::milliseconds>(at - clock_type::now()).count();
        return static_cast<int>(std::clamp<long long>(left, 0, INT_MAX));
    }

    /// The deadline on CLOCK_MONOTONIC (steady_clock's clock on Linux).
    timespec monotonic() const {
        timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long long ns = std::max<long long>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(at - clock_type::now()).count());
        long long total = t.tv_nsec + ns % 1'000'000'000;
        t.tv_sec += static_cast<time_t>(ns / 1'000'000'000 + total / 1'000'000'000);
        t.tv_nsec = static_cast<long>(total % 1'000'000'000);
        return t;
    }

    bool forever;
    clock_type::time_point at;
};

}  // namespace forkline::detail
