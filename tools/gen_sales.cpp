// Writes a CSV of sales (date, region, product, quantity, unit price) for the ETL example and its
// benchmarks: deterministic for a seed, with a few deliberately malformed rows.
//   gen_sales [--rows N | --bytes N] [--seed S] [--bad-every K] [-o FILE]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

struct rng {  // xorshift64*: fast, and the same numbers on every machine
    std::uint64_t s;
    std::uint64_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 2685821657736338717ull;
    }
    std::uint64_t below(std::uint64_t n) { return next() % n; }
};

const char* const regions[] = {"north", "south", "east", "west", "central"};
const char* const products[] = {"widget", "gadget", "gizmo", "doohickey", "sprocket", "flange", "grommet", "bracket"};
const int days_in[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/// One malformed row; each kind exercises a different check of the parser.
int bad_row(rng& r, char* out, std::size_t size) {
    switch (r.below(6)) {
        case 0: return std::snprintf(out, size, "2025-03-14,north,widget,7\n");                 // a field missing
        case 1: return std::snprintf(out, size, "2025-03-14,south,gadget,seven,12.50\n");       // quantity not a number
        case 2: return std::snprintf(out, size, "2025-13-02,east,gizmo,3,4.25\n");              // month 13
        case 3: return std::snprintf(out, size, "2025-06-30,west,flange,2,-3.10\n");            // negative price
        case 4: return std::snprintf(out, size, "2025-01-09,,sprocket,1,9.99\n");               // empty region
        default: return std::snprintf(out, size, "2025-02-11,central,bracket,4,1.00,extra\n");  // a field too many
    }
}

int good_row(rng& r, char* out, std::size_t size) {
    int month = static_cast<int>(r.below(12));
    int day = 1 + static_cast<int>(r.below(static_cast<std::uint64_t>(days_in[month])));
    unsigned cents = 50 + static_cast<unsigned>(r.below(50000));
    return std::snprintf(out, size, "2025-%02d-%02d,%s,%s,%u,%u.%02u\n", month + 1, day, regions[r.below(5)],
                         products[r.below(8)], 1 + static_cast<unsigned>(r.below(50)), cents / 100, cents % 100);
}

[[noreturn]] void usage() {
    std::fprintf(stderr, "usage: gen_sales [--rows N | --bytes N] [--seed S] [--bad-every K] [-o FILE]\n");
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t rows = 10000, bytes = 0, seed = 20251124, bad_every = 997;
    const char* path = nullptr;
    for (int i = 1; i < argc; ++i) {
        auto value = [&] { return i + 1 < argc ? argv[++i] : (usage(), nullptr); };
        if (!std::strcmp(argv[i], "--rows")) rows = std::strtoull(value(), nullptr, 10);
        else if (!std::strcmp(argv[i], "--bytes")) bytes = std::strtoull(value(), nullptr, 10);
        else if (!std::strcmp(argv[i], "--seed")) seed = std::strtoull(value(), nullptr, 10);
        else if (!std::strcmp(argv[i], "--bad-every")) bad_every = std::strtoull(value(), nullptr, 10);
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
    rng r{seed ? seed : 1};
    const char header[] = "date,region,product,quantity,unit_price\n";
    std::fputs(header, out);
    std::uint64_t written = sizeof header - 1;
    char row[128];
    for (std::uint64_t n = 1; bytes ? written < bytes : n <= rows; ++n) {
        int len = bad_every && n % bad_every == 0 ? bad_row(r, row, sizeof row) : good_row(r, row, sizeof row);
        std::fwrite(row, 1, static_cast<std::size_t>(len), out);
        written += static_cast<std::uint64_t>(len);
    }
    if (std::fflush(out) != 0 || (path && std::fclose(out) != 0)) {
        std::perror(path ? path : "stdout");
        return 1;
    }
}
