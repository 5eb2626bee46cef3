// Pipelines that more than one benchmark times the same way.
#pragma once

#include <forkline/forkline.hpp>

#include <cstring>
#include <string>

namespace forkline::bench {

/// `iota | map(to a 64-byte string) | reduce(sum of sizes)` in three processes: items that
/// travel encoded, through byte rings. Returns 64 * n.
inline long sum_of_64_byte_strings(long n) {
    return forkline::run(forkline::iota(0L, n) | forkline::map([](long i) {
                             std::string s(64, 'a');
                             std::memcpy(s.data(), &i, sizeof i);
                             return s;
                         }) |
                             forkline::reduce(0L, [](long acc, const std::string& s) { return acc + static_cast<long>(s.size()); }),
                         forkline::options{.fuse = false});
}

}  // namespace forkline::bench
