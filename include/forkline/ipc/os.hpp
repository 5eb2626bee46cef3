// OS facts, in one place and compiled in src/ipc/os.cpp: the cores of this process's affinity
// mask, the compiler's names for types, and the clocks the runtime reads (monotonic time, CPU
// time of a thread, of a process, of a reaped child).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

struct rusage;

namespace forkline::detail {

/// The cores in this process's affinity mask, in order.
std::vector<int> affinity_cores();

/// The compiler's spelling of a mangled type name, or `mangled` itself when it cannot be demangled.
std::string demangle(const char* mangled);
/// A readable name for a mangled type name ("std::string" rather than its full spelling).
std::string readable_type_name(const char* mangled);

/// Seconds on the monotonic clock, from some fixed point in the past.
double monotonic_seconds() noexcept;
/// Seconds since 1970 on the wall clock (what a person reads: when a run started).
double unix_seconds() noexcept;
/// The monotonic clock in nanoseconds (a run's live counts: when a process started, how long it waited).
std::uint64_t monotonic_ns() noexcept;
/// User + system seconds the calling thread has used.
double thread_cpu_seconds() noexcept;
/// User + system seconds in a getrusage or wait4 record.
double cpu_seconds(const ::rusage& usage) noexcept;
/// The most memory this process has had resident at once, in KiB.
long peak_rss_kib() noexcept;

/// The CPU-time clock of process `pid` (of thread `thread`), to read with cpu_seconds(clock);
/// false when it has none (it ended).
bool process_cpu_clock(pid_t pid, clockid_t& clock) noexcept;
bool thread_cpu_clock(pthread_t thread, clockid_t& clock) noexcept;
/// The seconds a CPU-time clock reads now; 0 for one whose process ended meanwhile.
double cpu_seconds(clockid_t clock) noexcept;

}  // namespace forkline::detail
