// Writes a text corpus for the word-count example and its benchmark: lines of words drawn from a
// fixed vocabulary with a Zipf-like spread (a few words very common, most rare), deterministic
// for a seed.
//   gen_corpus [--lines N | --bytes N] [--seed S] [-o FILE]
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct rng {  // xorshift64*: the same numbers on every machine
    std::uint64_t s;
    std::uint64_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 2685821657736338717ull;
    }
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

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

[[noreturn]] void usage() {
    std::fprintf(stderr, "usage: gen_corpus [--lines N | --bytes N] [--seed S] [-o FILE]\n");
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t lines = 2000, bytes = 0, seed = 7;
    const char* path = nullptr;
    for (int i = 1; i < argc; ++i) {
        auto value = [&] { return i + 1 < argc ? argv[++i] : (usage(), nullptr); };
        if (!std::strcmp(argv[i], "--lines")) lines = std::strtoull(value(), nullptr, 10);
        else if (!std::strcmp(argv[i], "--bytes")) bytes = std::strtoull(value(), nullptr, 10);
        else if (!std::strcmp(argv[i], "--seed")) seed = std::strtoull(value(), nullptr, 10);
        else if (!std::strcmp(argv[i], "-o")) path = value();
        else usage();
    }
    std::FILE* out = path ? std::fopen(path, "w") : stdout;
    if (!out) {
        std::perror(path);
        return 1;
    }
    static char buf[1 << 20];
    std::setvbuf(out, buf, _IOFBF, sizeof buf);
    auto words = vocabulary();
    // Zipf with exponent 1: word k has weight 1/(k+1); sample through the cumulative sums.
    std::vector<double> cumulative(words.size());
    double total = 0;
    for (std::size_t k = 0; k < words.size(); ++k) cumulative[k] = total += 1.0 / static_cast<double>(k + 1);
    rng r{seed ? seed : 1};
    std::uint64_t written = 0;
    std::string line;
    for (std::uint64_t n = 0; bytes ? written < bytes : n < lines; ++n) {
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
        std::fwrite(line.data(), 1, line.size(), out);
        written += line.size();
    }
    if (std::fflush(out) != 0 || (path && std::fclose(out) != 0)) {
        std::perror(path ? path : "stdout");
        return 1;
    }
}
