// The starting corpus of a fuzz target, written by the target itself when run.sh asks for it
// (FORKLINE_FUZZ_SEEDS names a directory): seeds made from the code stay valid when it changes.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace forkline::fuzz {

/// Writes each seed to its own file in $FORKLINE_FUZZ_SEEDS; does nothing when it is not set.
inline void write_seeds(const std::vector<std::string>& seeds) {
    const char* dir = std::getenv("FORKLINE_FUZZ_SEEDS");
    if (!dir) return;
    for (std::size_t i = 0; i < seeds.size(); ++i) {
        const std::string path = std::string(dir) + "/seed-" + std::to_string(i);
        std::FILE* f = std::fopen(path.c_str(), "wb");
        if (!f || std::fwrite(seeds[i].data(), 1, seeds[i].size(), f) != seeds[i].size() || std::fclose(f) != 0) {
            std::perror(path.c_str());
            std::exit(1);
        }
    }
}

}  // namespace forkline::fuzz
