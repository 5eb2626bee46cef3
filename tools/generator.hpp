// What the data generators share: a deterministic random source, their command line
// ([--COUNT N | --bytes N] [--seed S] [-o FILE]) and a large-buffered output.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace forkline::tools {

/// xorshift64*: fast, and the same numbers on every machine.
struct rng {
    std::uint64_t s;
    std::uint64_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 2685821657736338717ull;
    }
    std::uint64_t below(std::uint64_t n) { return next() % n; }
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

/// How much to write (`count` records, or `bytes` when non-zero), from which seed, and where.
struct generator_options {
    std::uint64_t count, bytes = 0, seed;
    bool quoted = false;  ///< --quoted: the generator's variant that needs quoting (CSV)
    const char* path = nullptr;
    std::FILE* out = stdout;

    /// Parses the command line; `count_flag` names the count ("--rows", "--lines"). Exits with a
    /// usage message on anything else, or with the reason when the output cannot be opened.
    generator_options(int argc, char** argv, const char* count_flag, std::uint64_t count_default,
                      std::uint64_t seed_default, const char* usage)
        : count(count_default), seed(seed_default) {
        for (int i = 1; i < argc; ++i) {
            if (!std::strcmp(argv[i], "--quoted")) {
                quoted = true;
                continue;
            }
            const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
            auto number = [&] { return value ? std::strtoull(value, nullptr, 10) : fail(usage); };
            if (!std::strcmp(argv[i], count_flag)) count = number();
            else if (!std::strcmp(argv[i], "--bytes")) bytes = number();
            else if (!std::strcmp(argv[i], "--seed")) seed = number();
            else if (!std::strcmp(argv[i], "-o") && value) path = value;
            else fail(usage);
            ++i;
        }
        if (path && !(out = std::fopen(path, "w"))) {
            std::perror(path);
            std::exit(1);
        }
        static char buf[1 << 20];
        std::setvbuf(out, buf, _IOFBF, sizeof buf);
    }
    /// True while more should be written, given what was written so far.
    bool more(std::uint64_t records, std::uint64_t written) const { return bytes ? written < bytes : records < count; }
    /// Flushes and closes; the exit status for main.
    int finish() const {
        if (std::fflush(out) != 0 || (path && std::fclose(out) != 0)) {
            std::perror(path ? path : "stdout");
            return 1;
        }
        return 0;
    }

private:
    [[noreturn]] static std::uint64_t fail(const char* usage) {
        std::fprintf(stderr, "%s\n", usage);
        std::exit(2);
    }
};

}  // namespace forkline::tools
