// A run long enough to watch: the progress display on stderr while a parallel stage works.
//   build/examples/progress [ITEMS]        (FORKLINE_PROGRESS=0 turns the display off)
// On a terminal it draws a bar for the source (iota's size is known) and a line per stage, four
// times a second, and erases them when the run ends; the program then prints its result.
#include <forkline/forkline.hpp>

#include <cstdint>
#include <cstdlib>
#include <iostream>

namespace fl = forkline;

/// About 20 microseconds of arithmetic: one simulated trial, a hit or not.
std::uint64_t trial(std::uint64_t seed) {
    std::uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
    std::uint64_t hits = 0;
    for (int k = 0; k < 20000; ++k) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        hits += (x & 0xffff) < 0x8000;
    }
    return hits > 10000 ? 1 : 0;
}

int main(int argc, char** argv) {
    std::uint64_t items = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 300'000;
    std::uint64_t hits = fl::run(fl::iota(std::uint64_t{0}, items)                  // the source
                                     | fl::named("simulate", fl::parallel(fl::map(trial)))  // a replica per core
                                     | fl::named("tally", fl::reduce(std::uint64_t{0}, std::plus<>{})),
                                 fl::options{.progress = true});
    std::cout << hits << " of " << items << " trials were hits\n";
}
