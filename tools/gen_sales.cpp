// Writes a CSV of sales (date, region, product, quantity, unit price) for the ETL example and its
// benchmarks: deterministic for a seed, with a few deliberately malformed rows.
//   gen_sales [--rows N | --bytes N] [--seed S] [-o FILE]
#include "generator.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

const char* const regions[] = {"north", "south", "east", "west", "central"};
const char* const products[] = {"widget", "gadget", "gizmo", "doohickey", "sprocket", "flange", "grommet", "bracket"};
constexpr std::uint64_t bad_every = 997;
const int days_in[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/// One malformed row; each kind exercises a different check of the parser.
int bad_row(forkline::tools::rng& r, char* out, std::size_t size) {
    switch (r.below(6)) {
        case 0: return std::snprintf(out, size, "2025-03-14,north,widget,7\n");                 // a field missing
        case 1: return std::snprintf(out, size, "2025-03-14,south,gadget,seven,12.50\n");       // quantity not a number
        case 2: return std::snprintf(out, size, "2025-13-02,east,gizmo,3,4.25\n");              // month 13
        case 3: return std::snprintf(out, size, "2025-06-30,west,flange,2,-3.10\n");            // negative price
        case 4: return std::snprintf(out, size, "2025-01-09,,sprocket,1,9.99\n");               // empty region
        default: return std::snprintf(out, size, "2025-02-11,central,bracket,4,1.00,extra\n");  // a field too many
    }
}

int good_row(forkline::tools::rng& r, char* out, std::size_t size) {
    int month = static_cast<int>(r.below(12));
    int day = 1 + static_cast<int>(r.below(static_cast<std::uint64_t>(days_in[month])));
    unsigned cents = 50 + static_cast<unsigned>(r.below(50000));
    return std::snprintf(out, size, "2025-%02d-%02d,%s,%s,%u,%u.%02u\n", month + 1, day, regions[r.below(5)],
                         products[r.below(8)], 1 + static_cast<unsigned>(r.below(50)), cents / 100, cents % 100);
}

}  // namespace

int main(int argc, char** argv) {
    forkline::tools::generator_options o(
        argc, argv, "--rows", 10000, 20251124,
        "usage: gen_sales [--rows N | --bytes N] [--seed S] [-o FILE]  (one row in 997 is malformed)");
    forkline::tools::rng r{o.seed ? o.seed : 1};
    const char header[] = "date,region,product,quantity,unit_price\n";
    std::fputs(header, o.out);
    std::uint64_t written = sizeof header - 1;
    char row[128];
    for (std::uint64_t n = 1; o.more(n - 1, written); ++n) {
        int len = n % bad_every == 0 ? bad_row(r, row, sizeof row) : good_row(r, row, sizeof row);
        std::fwrite(row, 1, static_cast<std::size_t>(len), o.out);
        written += static_cast<std::uint64_t>(len);
    }
    return o.finish();
}
