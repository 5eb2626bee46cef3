// The sales rows of the ETL example and its benchmark: each field a type whose forkline::csv_field
// checks it (a date must be a day that exists, a price is in cents and not negative, a name is
// not empty, a quantity at least 1), and the totals by month and region.
#pragma once

#include <forkline/forkline.hpp>

#include <map>
#include <unordered_map>
#include <string>
#include <string_view>
#include <vector>

namespace fl = forkline;

/// "2025-03-14": a day that exists.
struct date {
    std::string text;
    /// "2025-03": a view of the text, so a key made of it costs no copy (reduce_by_key stores the
    /// keys it has not seen as strings of their own).
    std::string_view month() const { return std::string_view(text).substr(0, 7); }
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

/// One month's revenue in cents, by region, and how many rows made it.
struct month_total {
    std::unordered_map<std::string, long long> by_region;
    long rows = 0;
};

inline void add_sale(month_total& t, const sale& s) {
    t.by_region[s.region.text] += static_cast<long long>(s.quantity.n) * s.unit_price.cents;
    ++t.rows;
}

inline month_total merged(month_total a, const month_total& b) {
    for (const auto& [region, cents] : b.by_region) a.by_region[region] += cents;
    a.rows += b.rows;
    return a;
}

/// The ETL on every core: read_csv split over a reader per core, each totalling its rows by
/// month; the months' totals merged by key. The rows that cannot be read go to `rejects`.
inline auto sales_by_month(const std::string& path, std::vector<fl::reject>& rejects) {
    return fl::read_csv<sale>(path, {.rejects = &rejects})
           | fl::reduce_by_key([](const sale& s) { return s.day.month(); }, month_total{}, add_sale, merged);
}
inline auto totals_by_month(const std::string& path, std::vector<fl::reject>& rejects, fl::options o = {}) {
    return fl::run(sales_by_month(path, rejects), o);
}
