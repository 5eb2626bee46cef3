// Writes a CSV of sales (date, region, product, quantity, unit price) for the ETL example and its
// benchmarks: deterministic for a seed, with a few deliberately malformed rows. With --quoted it
// writes what Python's csv module writes: CRLF line ends, and names with commas, quotes and line
// ends, quoted (only those) with their quotes doubled.
//   gen_sales [--rows N | --bytes N] [--seed S] [--quoted] [-o FILE]
#include "generator.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

const char* const regions[] = {"north", "south", "east", "west", "central"};
const char* const products[] = {"widget", "gadget", "gizmo", "doohickey", "sprocket", "flange", "grommet", "bracket"};
// --quoted: the same five regions and eight products under names that need quoting.
const char* const quoted_regions[] = {"north", "\"south\", the deep one", "Ile-de-France, Paris", "west", "central"};
const char* const quoted_products[] = {"widget", "gadget \"34\"", "gizmo, large", "doohickey", "two-line\nsprocket",
                                       "flange", "grommet \"g\"", "bracket"};

/// A field as Python's csv.writer writes it (QUOTE_MINIMAL): quoted when it holds a comma, a
/// quote or a line end, its quotes doubled.
std::string field(const char* s) {
    std::string f(s);
    if (f.find_first_of(",\"\r\n") == std::string::npos) return f;
    std::string q = "\"";
    for (char c : f) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}
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

int good_row(forkline::tools::rng& r, char* out, std::size_t size, bool quoted) {
    int month = static_cast<int>(r.below(12));
    int day = 1 + static_cast<int>(r.below(static_cast<std::uint64_t>(days_in[month])));
    unsigned cents = 50 + static_cast<unsigned>(r.below(50000));
    // Drawn in this order, the order in which the first version of this generator drew them,
    // so that its files stay the same.
    unsigned quantity = 1 + static_cast<unsigned>(r.below(50));
    auto product = r.below(8);
    auto region = r.below(5);
    return std::snprintf(out, size, "2025-%02d-%02d,%s,%s,%u,%u.%02u%s", month + 1, day,
                         quoted ? field(quoted_regions[region]).c_str() : regions[region],
                         quoted ? field(quoted_products[product]).c_str() : products[product], quantity, cents / 100,
                         cents % 100, quoted ? "\r\n" : "\n");
}

/// A malformed row; with --quoted, with CRLF and a quoted field.
int bad(forkline::tools::rng& r, char* out, std::size_t size, bool quoted) {
    int n = bad_row(r, out, size);
    if (!quoted) return n;
    std::string row(out, static_cast<std::size_t>(n - 1));
    row = row.substr(0, 11) + "\"" + row.substr(11, row.find(',', 11) - 11) + "\"" + row.substr(row.find(',', 11)) + "\r\n";
    return std::snprintf(out, size, "%s", row.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    forkline::tools::generator_options o(
        argc, argv, "--rows", 10000, 20251124,
        "usage: gen_sales [--rows N | --bytes N] [--seed S] [--quoted] [-o FILE]  (one row in 997 is malformed)");
    forkline::tools::rng r{o.seed ? o.seed : 1};
    const char* header = o.quoted ? "date,region,product,quantity,unit_price\r\n" : "date,region,product,quantity,unit_price\n";
    std::fputs(header, o.out);
    std::uint64_t written = std::strlen(header);
    char row[256];
    for (std::uint64_t n = 1; o.more(n - 1, written); ++n) {
        int len = n % bad_every == 0 ? bad(r, row, sizeof row, o.quoted) : good_row(r, row, sizeof row, o.quoted);
        std::fwrite(row, 1, static_cast<std::size_t>(len), o.out);
        written += static_cast<std::uint64_t>(len);
    }
    return o.finish();
}
