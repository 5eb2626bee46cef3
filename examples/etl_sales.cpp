// The ETL example: read a CSV of sales into typed rows, report the rows that cannot be read on
// stderr with their file, line and reason (the run goes on), and print revenue per region and
// per month. On every core: read_csv is split, so each reader process reads and converts its own
// parts of the file (quoted fields, CRLF and all) and totals them by month; the months' totals are
// then merged by key. The checks are the fields' types: a date must be a date, a price a price.
//   etl_sales examples/data/sales.csv
#include <forkline/forkline.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace fl = forkline;

/// "2025-03-14": a day that exists.
struct date {
    std::string text;
    std::string month() const { return text.substr(0, 7); }
};
/// "41.18": at most two decimals, not negative; in cents.
struct price {
    long cents;
};
/// Not empty.
struct name {
    std::string text;
};
/// At least 1.
struct units {
    long n;
};

struct sale {
    date day;
    name region;
    name product;
    units quantity;
    price unit_price;
};

template <>
struct fl::csv_field<date> {
    static constexpr std::string_view expected = "a date (YYYY-MM-DD)";
    static bool parse(std::string_view s, date& d) {
        long y, m, day;
        if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
        if (!csv_field<long>::parse(s.substr(0, 4), y) || !csv_field<long>::parse(s.substr(5, 2), m) ||
            !csv_field<long>::parse(s.substr(8, 2), day))
            return false;
        static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        if (m < 1 || m > 12 || day < 1 || day > days[m - 1] + (m == 2 && leap)) return false;
        d.text.assign(s);
        return true;
    }
};

template <>
struct fl::csv_field<price> {
    static constexpr std::string_view expected = "a price (such as 12.50)";
    static bool parse(std::string_view s, price& p) {
        std::size_t dot = s.find('.');
        std::string_view f = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
        long whole = 0, frac = 0;
        if (s.empty() || s[0] == '-' || s[0] == '+' || !csv_field<long>::parse(s.substr(0, dot), whole) || f.size() > 2 ||
            (!f.empty() && !csv_field<long>::parse(f, frac)) || frac < 0)
            return false;
        p.cents = whole * 100 + (f.size() == 1 ? frac * 10 : frac);
        return true;
    }
};

template <>
struct fl::csv_field<name> {
    static constexpr std::string_view expected = "a name";
    static bool parse(std::string_view s, name& n) {
        n.text.assign(s);
        return !s.empty();
    }
};

template <>
struct fl::csv_field<units> {
    static constexpr std::string_view expected = "a quantity of at least 1";
    static bool parse(std::string_view s, units& c) { return csv_field<long>::parse(s, c.n) && c.n >= 1; }
};

namespace {

/// One month's revenue in cents, by region, and how many rows made it.
struct month_total {
    std::map<std::string, long long> by_region;
    long rows = 0;
};

void add_sale(month_total& t, const sale& s) {
    t.by_region[s.region.text] += static_cast<long long>(s.quantity.n) * s.unit_price.cents;
    ++t.rows;
}

month_total merged(month_total a, const month_total& b) {
    for (const auto& [region, cents] : b.by_region) a.by_region[region] += cents;
    a.rows += b.rows;
    return a;
}

void print_table(const char* title, const std::map<std::string, long long>& m) {
    std::printf("revenue by %s\n", title);
    for (const auto& [key, cents] : m) std::printf("  %-10s %14lld.%02lld\n", key.c_str(), cents / 100, cents % 100);
}

std::string base_name(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: etl_sales SALES.csv\n");
        return 2;
    }
    try {
        std::vector<fl::reject> rejects;
        auto months = fl::run(fl::read_csv<sale>(argv[1], {.rejects = &rejects})
                              | fl::reduce_by_key([](const sale& s) { return s.day.month(); }, month_total{}, add_sale,
                                                  merged));

        std::sort(rejects.begin(), rejects.end(), [](const auto& a, const auto& b) { return a.line < b.line; });
        for (auto& r : rejects) {
            r.file = base_name(r.file);
            std::fprintf(stderr, "%s\n", r.message().c_str());
        }
        std::map<std::string, long long> by_region, by_month;
        long rows = 0;
        for (const auto& [month, t] : months) {
            for (const auto& [region, cents] : t.by_region) {
                by_region[region] += cents;
                by_month[month] += cents;
            }
            rows += t.rows;
        }
        print_table("region", by_region);
        print_table("month", by_month);
        std::printf("%ld rows accepted, %zu rejected\n", rows, rejects.size());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "etl_sales: %s\n", e.what());
        return 1;
    }
}
