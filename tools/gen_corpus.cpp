// Writes a text corpus for the word-count example and its benchmark: lines of words drawn from a
// fixed vocabulary with a Zipf-like spread (a few words very common, most rare), deterministic
// for a seed.
//   gen_corpus [--lines N | --bytes N] [--seed S] [-o FILE]
#include "generator.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

/// 5000 made-up words built from syllables, so the vocabulary needs no data file.
std::vector<std::string> vocabulary() {
    const char* syllables[] = {"ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pen", "dar", "qu", "el", "ix", "om", "bra", "tel"};
    std::vector<std::string> words;
    for (int i = 0; words.size() < 5000; ++i) {
        std::string w;
        for (int k = i; ; k /= 16) {
            w += syllables[k % 16];
            if (k < 16) break;
        }
        words.push_back(w);
    }
    return words;
}

}  // namespace

int main(int argc, char** argv) {
    forkline::tools::generator_options o(argc, argv, "--lines", 2000, 7,
                                         "usage: gen_corpus [--lines N | --bytes N] [--seed S] [-o FILE]");
    auto words = vocabulary();
    // Zipf with exponent 1: word k has weight 1/(k+1); sample through the cumulative sums.
    std::vector<double> cumulative(words.size());
    double total = 0;
    for (std::size_t k = 0; k < words.size(); ++k) cumulative[k] = total += 1.0 / static_cast<double>(k + 1);
    forkline::tools::rng r{o.seed ? o.seed : 1};
    std::uint64_t written = 0;
    std::string line;
    for (std::uint64_t n = 0; o.more(n, written); ++n) {
        line.clear();
        int count = 4 + static_cast<int>(r.next() % 12);
        for (int k = 0; k < count; ++k) {
            double x = r.unit() * total;
            std::size_t lo = 0, hi = cumulative.size() - 1;
            while (lo < hi) {
                std::size_t mid = (lo + hi) / 2;
                if (cumulative[mid] < x) lo = mid + 1; else hi = mid;
            }
            if (k) line += ' ';
            line += words[lo];
        }
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), o.out);
        written += line.size();
    }
    return o.finish();
}
