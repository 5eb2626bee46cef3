// fl::cpu_count(): the cores this process may run on.
#pragma once

namespace forkline {

/// The number of cores in this process's affinity mask (what `taskset` or a container allows),
/// at least 1. Example: `fl::farm(fl::cpu_count(), stage)`.
unsigned cpu_count() noexcept;

}  // namespace forkline
