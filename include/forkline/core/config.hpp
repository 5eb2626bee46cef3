// forkline's configuration macros, in one place: how the hot paths are compiled.
#pragma once

/// The per-item paths of the rings must inline into the stage loops; their rare paths must not.
#define FORKLINE_HOT [[gnu::always_inline]] inline
#define FORKLINE_COLD [[gnu::noinline, gnu::cold]]

/// 0 compiles the live counts out (ring records, items handed on inside a process, the times
/// processes wait: run/detail/live_counts.hpp), so a benchmark can measure what they cost. The
/// library and everything that includes forkline must agree on it.
#ifndef FORKLINE_LIVE_COUNTS
#define FORKLINE_LIVE_COUNTS 1
#endif
