// forkline's configuration macros, in one place: how the hot paths are compiled.
#pragma once

/// The per-item paths of the rings must inline into the stage loops; their rare paths must not.
#define FORKLINE_HOT [[gnu::always_inline]] inline
#define FORKLINE_COLD [[gnu::noinline, gnu::cold]]
