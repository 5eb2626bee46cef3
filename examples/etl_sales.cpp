// The ETL example: read a CSV of sales into typed rows, report the rows that cannot be read on
// stderr with their file, line and reason (the run goes on), and print revenue per region and
// per month. On every core: read_csv is split, so each reader process reads and converts its own
// parts of the file (quoted fields, CRLF and all) and totals them by month; the months' totals are
// then merged by key. The checks are the fields' types: a date must be a date, a price a price.
//   etl_sales examples/data/sales.csv
//   etl_sales --dot plan.dot SALES.csv   (also writes the plan, with what the run measured, for
//                                          Graphviz: tools/render_plan makes the README's picture)
#include "sales.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string_view>
#include <vector>

namespace {

void print_table(const char* title, const std::map<std::string, long long>& m) {
    std::printf("revenue by %s\n", title);
    for (const auto& [key, cents] : m) std::printf("  %-10s %14lld.%02lld\n", key.c_str(), cents / 100, cents % 100);
}

std::string base_name(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

}  // namespace

int main(int argc, char** argv) {
    const char* dot = nullptr;
    if (argc == 4 && std::string_view(argv[1]) == "--dot") {
        dot = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc != 2) {
        std::fprintf(stderr, "usage: etl_sales [--dot PLAN.dot] SALES.csv\n");
        return 2;
    }
    try {
        std::vector<fl::reject> rejects;
        fl::run_report report;
        fl::options o{.report = &report};
        auto months = totals_by_month(argv[1], rejects, o);  // sales.hpp: read_csv | reduce_by_key
        if (dot) {
            std::vector<fl::reject> unused;
            std::ofstream(dot) << fl::plan(sales_by_month(argv[1], unused), o).to_dot(report);
        }

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
