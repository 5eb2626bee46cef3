// The ETL example: read a CSV of sales, parse each row into a struct, report malformed rows on
// stderr with their line number and reason (the run goes on), and print revenue per region and
// per month. On every core: rows are parsed by parallel replicas, each region is totalled by the
// replica its name picks (partition_by), and the caller merges the partial reports.
//   etl_sales examples/data/sales.csv
#include <forkline/forkline.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace fl = forkline;

struct line {
    long number;
    std::string text;
};

struct sale {
    std::string month;  // "2025-03"
    std::string region;
    std::string product;
    long quantity;
    long unit_cents;
};

struct rejected {
    long line;
    std::string reason;
};

using row = std::variant<sale, rejected>;

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    for (std::size_t from = 0;;) {
        std::size_t at = s.find(sep, from);
        out.push_back(s.substr(from, at - from));
        if (at == std::string_view::npos) return out;
        from = at + 1;
    }
}

bool to_long(std::string_view s, long& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
}

/// "41.18" -> 4118; at most two decimals, no sign.
bool to_cents(std::string_view s, long& out) {
    std::size_t dot = s.find('.');
    long whole = 0, frac = 0;
    std::string_view f = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
    if (!to_long(s.substr(0, dot), whole) || whole < 0 || f.size() > 2 || (!f.empty() && !to_long(f, frac)) || frac < 0)
        return false;
    out = whole * 100 + (f.size() == 1 ? frac * 10 : frac);
    return true;
}

bool valid_date(std::string_view d) {
    long y, m, day;
    if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
    if (!to_long(d.substr(0, 4), y) || !to_long(d.substr(5, 2), m) || !to_long(d.substr(8, 2), day)) return false;
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m >= 1 && m <= 12 && day >= 1 && day <= days[m - 1] + (m == 2 && leap);
}

row parse(const line& l) {
    auto f = split(l.text, ',');
    auto reject = [&](std::string why) { return row{rejected{l.number, std::move(why)}}; };
    if (f.size() != 5) return reject("expected 5 fields, found " + std::to_string(f.size()));
    if (!valid_date(f[0])) return reject("bad date '" + std::string(f[0]) + "'");
    if (f[1].empty()) return reject("empty region");
    if (f[2].empty()) return reject("empty product");
    sale s{std::string(f[0].substr(0, 7)), std::string(f[1]), std::string(f[2]), 0, 0};
    if (!to_long(f[3], s.quantity) || s.quantity <= 0) return reject("bad quantity '" + std::string(f[3]) + "'");
    if (!to_cents(f[4], s.unit_cents)) return reject("bad unit price '" + std::string(f[4]) + "'");
    return s;
}

/// Totals in cents, and the rejected rows; one per partition replica, merged in the caller.
struct report {
    std::map<std::string, long long> by_region, by_month;
    long accepted = 0;
    std::vector<rejected> rejections;

    void add(row&& r) {
        if (auto* s = std::get_if<sale>(&r)) {
            long long cents = static_cast<long long>(s->quantity) * s->unit_cents;
            by_region[s->region] += cents;
            by_month[s->month] += cents;
            ++accepted;
        } else {
            rejections.push_back(std::move(std::get<rejected>(r)));
        }
    }
    void merge(report&& part) {
        for (const auto& [k, v] : part.by_region) by_region[k] += v;
        for (const auto& [k, v] : part.by_month) by_month[k] += v;
        accepted += part.accepted;
        rejections.insert(rejections.end(), part.rejections.begin(), part.rejections.end());
    }
};

/// Rows of one region meet in one replica; rejected rows all go to one replica too.
std::string region_of(const row& r) {
    auto* s = std::get_if<sale>(&r);
    return s ? s->region : std::string();
}

void print_table(const char* title, const std::map<std::string, long long>& m) {
    std::printf("revenue by %s\n", title);
    for (const auto& [key, cents] : m) std::printf("  %-10s %14lld.%02lld\n", key.c_str(), cents / 100, cents % 100);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: etl_sales SALES.csv\n");
        return 2;
    }
    try {
        report r = fl::run(
            fl::read_lines(argv[1])
            | fl::named("number", fl::map([n = 0L](std::string text) mutable { return line{++n, std::move(text)}; }))
            | fl::named("skip header", fl::filter([](const line& l) { return l.number > 1; }))
            | fl::named("parse", fl::parallel(fl::map(parse), fl::unordered))
            | fl::named("total", fl::partition_by(fl::cpu_count(), region_of,
                                                  fl::reduce(report{}, [](report& acc, row x) { acc.add(std::move(x)); })))
            | fl::reduce(report{}, [](report& all, report part) { all.merge(std::move(part)); }));
        std::sort(r.rejections.begin(), r.rejections.end(),
                  [](const rejected& a, const rejected& b) { return a.line < b.line; });
        for (const auto& bad : r.rejections) std::fprintf(stderr, "line %ld: rejected: %s\n", bad.line, bad.reason.c_str());
        print_table("region", r.by_region);
        print_table("month", r.by_month);
        std::printf("%ld rows accepted, %zu rejected\n", r.accepted, r.rejections.size());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "etl_sales: %s\n", e.what());
        return 1;
    }
}
