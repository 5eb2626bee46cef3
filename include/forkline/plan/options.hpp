// fl::options: how a run may use the machine. Designated initializers read best:
// `fl::run(p, fl::options{.ring_bytes = 1 << 20})`.
#pragma once

#include <cstddef>

namespace forkline {

/// Settings for fl::run, fl::stream and fl::plan; every field has a sensible default.
struct options {
    /// Bytes of shared memory for each ring between two processes (rounded down to a power of
    /// two; at least one item). Memory does not grow with the input: it is this times the edges.
    std::size_t ring_bytes = 256 * 1024;
    /// Cores the planner may assume; 0 means fl::cpu_count() (the cores this process may run on).
    unsigned cpus = 0;
};

}  // namespace forkline
