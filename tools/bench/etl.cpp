// The ETL benchmark: one table, one run. A quoted CSV of sales made by tools/gen_sales --quoted
// (1 GiB by default: CRLF, names with commas, quotes and line ends, one row in 997 malformed) is
// totalled by month and region three ways: in one process as a good C++ programmer writes it
// (mmap, a quote-aware loop, std::from_chars, std::unordered_map: the baseline), by forkline on
// every core (examples/etl_sales.cpp: read_csv | reduce_by_key), and by Python's
// multiprocessing.Pool with the csv module (tools/bench/etl.py). Every row must find the same
// totals and the same number of rejects. A row of as many one-process runs at once as there are
// cores shows what this machine allows any parallel program (the cores of a shared virtual
// machine need not be equal). Then the parsing alone, on one core: each tokenizer reading every
// field, and the rows made into typed structs.
//   build/tools/bench/bench_etl [--quick] [--bytes N]
// Each C++ row runs three times (once with --quick, whose file is 64 MiB) and the fastest run is
// reported; Python runs once. The file is temporary, removed at the end and on Ctrl-C.
#include "best_of.hpp"
#include "programs.hpp"
#include "sales.hpp"

#ifdef FORKLINE_HAVE_LIBCSV
#include <csv.h>
#endif

#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

using forkline::bench::human;
using forkline::bench::mapped;
using forkline::bench::spawn;
using forkline::bench::temp_file;
using forkline::bench::wait_ok;

namespace {

/// Revenue in cents by month, then region; and how many rows were accepted and rejected.
struct totals {
    std::map<std::string, std::map<std::string, long long>> by_month;
    long accepted = 0, rejected = 0;
    bool operator==(const totals&) const = default;
};

/// The baseline's tokenizer, as one writes it by hand: one record at a time, quoted fields found
/// with memchr, doubled quotes unescaped into a scratch string, CRLF or LF.
class records {
public:
    records(const char* p, const char* end) : p_(p), end_(end) {}
    bool next(std::vector<std::string_view>& fields) {
        fields.clear();
        scratch_.clear();
        spans_.clear();
        if (p_ >= end_) return false;
        for (;;) {
            if (p_ < end_ && *p_ == '"') {
                const char* s = ++p_;
                std::size_t at = scratch_.size();
                bool copied = false;
                for (;;) {
                    const char* q = static_cast<const char*>(std::memchr(p_, '"', static_cast<std::size_t>(end_ - p_)));
                    if (!q) q = end_;
                    if (q + 1 < end_ && q[1] == '"') {
                        scratch_.append(s, static_cast<std::size_t>(q + 1 - s));
                        p_ = s = q + 2;
                        copied = true;
                        continue;
                    }
                    if (copied) {
                        scratch_.append(s, static_cast<std::size_t>(q - s));
                        spans_.push_back({fields.size(), at, scratch_.size() - at});
                        fields.emplace_back();
                    } else {
                        fields.emplace_back(s, static_cast<std::size_t>(q - s));
                    }
                    p_ = q < end_ ? q + 1 : end_;
                    break;
                }
                while (p_ < end_ && *p_ != ',' && *p_ != '\n') ++p_;  // text after the quote: ignored
            } else {
                const char* s = p_;
                while (p_ < end_ && *p_ != ',' && *p_ != '\n') ++p_;
                const char* e = p_;
                if (e > s && e[-1] == '\r' && (e == end_ || *e == '\n')) --e;
                fields.emplace_back(s, static_cast<std::size_t>(e - s));
            }
            if (p_ >= end_) break;
            if (*p_++ == '\n') break;
        }
        for (auto [index, at, length] : spans_) fields[index] = std::string_view(scratch_.data() + at, length);
        return true;
    }

private:
    const char* p_;
    const char* end_;
    std::string scratch_;
    struct span {
        std::size_t index, at, length;
    };
    std::vector<span> spans_;  ///< fields unescaped into scratch_
};

/// Checks one record as the example's types do; false for a reject.
bool to_sale(const std::vector<std::string_view>& f, sale& s) {
    return f.size() == 5 && fl::csv_field<date>::parse(f[0], s.day) && fl::csv_field<name>::parse(f[1], s.region) &&
           fl::csv_field<name>::parse(f[2], s.product) && fl::csv_field<units>::parse(f[3], s.quantity) &&
           fl::csv_field<price>::parse(f[4], s.unit_price);
}

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

/// One process: the file mapped, each record tokenized, checked and added to hash maps.
totals one_process(const std::string& path) {
    mapped m(path);
    records in(m.data, m.data + m.size);
    std::vector<std::string_view> fields;
    in.next(fields);  // the header
    std::unordered_map<std::string, std::unordered_map<std::string, long long, string_hash, std::equal_to<>>,
                       string_hash, std::equal_to<>>
        by_month;
    totals t;
    sale s;
    while (in.next(fields)) {
        if (fields.size() == 1 && fields[0].empty()) continue;  // an empty line
        if (!to_sale(fields, s)) {
            ++t.rejected;
            continue;
        }
        std::string_view month = fields[0].substr(0, 7);
        auto mi = by_month.find(month);
        if (mi == by_month.end()) mi = by_month.emplace(std::string(month), decltype(mi->second){}).first;
        auto ri = mi->second.find(s.region.text);
        if (ri == mi->second.end()) ri = mi->second.emplace(s.region.text, 0).first;
        ri->second += static_cast<long long>(s.quantity.n) * s.unit_price.cents;
        ++t.accepted;
    }
    for (auto& [month, regions] : by_month)
        for (auto& [region, cents] : regions) t.by_month[month][region] = cents;
    return t;
}

totals with_forkline(const std::string& path, fl::options o) {
    std::vector<fl::reject> rejects;
    auto months = totals_by_month(path, rejects, o);
    totals t;
    for (auto& [month, mt] : months) {
        for (auto& [region, cents] : mt.by_region) t.by_month[month][region] = cents;
        t.accepted += mt.rows;
    }
    t.rejected = static_cast<long>(rejects.size());
    return t;
}

/// Python's run: its own clock (the pool started), and its totals read back from its output
/// (a pipe: the benchmark's one temporary file is the input).
totals with_python(const std::string& path, unsigned processes, double& seconds) {
    forkline::bench::program_output python(
        {"/usr/bin/python3", std::string(FORKLINE_BENCH_DIR) + "/etl.py", path, std::to_string(processes)},
        "python3 etl.py");
    totals t;
    for (std::string_view l; python.next(l);) {
        auto word = l.substr(0, l.find_first_of(" \t"));
        std::string_view rest = l.substr(word.size() + 1);
        if (word == "seconds") seconds = std::stod(std::string(rest));
        if (word == "accepted") t.accepted = std::stol(std::string(rest));
        if (word == "rejected") t.rejected = std::stol(std::string(rest));
        if (word == "total") {
            // repr(region) TAB month TAB cents; the regions here are printable and quoted by repr.
            auto tab = rest.find('\t');
            std::string region(rest.substr(1, tab - 2));
            std::string unescaped;
            for (std::size_t i = 0; i < region.size(); ++i) unescaped += region[i] == '\\' ? region[++i] : region[i];
            auto tab2 = rest.find('\t', tab + 1);
            t.by_month[std::string(rest.substr(tab + 1, tab2 - tab - 1))][unescaped] = std::stoll(std::string(rest.substr(tab2 + 1)));
        }
    }
    python.finish();
    return t;
}

// --- parsing alone, one core ----------------------------------------------------------------

std::size_t fields_by_hand(const std::string& path) {
    mapped m(path);
    records in(m.data, m.data + m.size);
    std::vector<std::string_view> f;
    std::size_t n = 0;
    while (in.next(f)) n += f.size();
    return n;
}

std::size_t fields_by_forkline(const std::string& path) {
    fl::detail::text_files files({path}, "bench");
    fl::detail::csv_cursor c(files, 0, 0, files.size(0), 1, {});
    fl::detail::csv_record r;
    std::size_t n = 0;
    while (c.next(r)) n += r.fields.size();
    return n;
}

std::size_t rows_by_hand(const std::string& path) {
    mapped m(path);
    records in(m.data, m.data + m.size);
    std::vector<std::string_view> f;
    in.next(f);
    std::size_t n = 0;
    sale s;
    while (in.next(f)) n += to_sale(f, s);
    return n;
}

std::size_t rows_by_forkline(const std::string& path) {
    fl::detail::text_files files({path}, "bench");
    fl::detail::csv_cursor c(files, 0, 0, files.size(0), 1, {});
    fl::detail::csv_rows<sale> rows;
    fl::detail::csv_record r;
    c.next(r);
    rows.start_file(path, &r.fields);
    std::size_t n = 0;
    sale s;
    fl::reject why;
    while (c.next(r)) n += rows.fill(r, s, why);
    return n;
}

#ifdef FORKLINE_HAVE_LIBCSV
std::size_t fields_by_libcsv(const std::string& path) {
    mapped m(path);
    csv_parser p;
    csv_init(&p, CSV_APPEND_NULL);
    std::size_t n = 0;
    auto field = [](void*, std::size_t, void* count) { ++*static_cast<std::size_t*>(count); };
    csv_parse(&p, m.data, m.size, field, nullptr, &n);
    csv_fini(&p, field, nullptr, &n);
    csv_free(&p);
    return n;
}
#endif

// --- measuring and printing -------------------------------------------------------------------

struct row {
    std::string name;
    double seconds = 0, cpu = 0;
    std::string note;
    bool compare = false;
};

void check(const totals& want, const totals& got, const char* who) {
    if (got == want) return;
    char msg[256];
    std::snprintf(msg, sizeof msg, "%s disagrees with one process: %ld accepted, %ld rejected (expected %ld, %ld)", who,
                  got.accepted, got.rejected, want.accepted, want.rejected);
    throw std::runtime_error(msg);
}

int run(const forkline::bench::settings& s) {
    temp_file sales;
    const std::string path = sales.path();
    wait_ok(spawn({FORKLINE_GEN_SALES, "--quoted", "--bytes", std::to_string(s.bytes), "-o", path}), "gen_sales");
    const unsigned cores = fl::cpu_count();
    const double mb = static_cast<double>(s.bytes) / 1e6;

    std::vector<row> rows;
    totals one;
    auto t = forkline::bench::best_of(s.repeats, [&] { one = one_process(path); });
    rows.push_back({"one process: mmap, quote-aware loop, from_chars", t.seconds, t.cpu, "", true});

    fl::run_report report, fastest;
    t = forkline::bench::best_of(
        s.repeats, [&] { check(one, with_forkline(path, fl::options{.report = &report}), "forkline"); },
        1e300, [&] { fastest = report; });
    std::string note = std::to_string(fastest.processes.size()) + " processes; peak RSS MiB:";
    for (const auto& p : fastest.processes) {
        char b[32];
        std::snprintf(b, sizeof b, " %.0f", static_cast<double>(p.peak_rss_kib) / 1024);
        note += b;
    }
    rows.push_back({"forkline read_csv | reduce_by_key", t.seconds, t.cpu, note});

    double at_once = forkline::bench::runs_per_second_at_once(cores, s.repeats, [&] { one_process(path); });
    rows.push_back({"ceiling: " + std::to_string(cores) + " one-process runs at once", 1 / at_once, static_cast<double>(cores),
                    "1 / the sum of their speeds", true});

    double py = 0;
    check(one, with_python(path, cores, py), "python");
    rows.push_back({"python multiprocessing.Pool + csv", py, 0, std::to_string(cores) + " workers; 1 run", true});

    std::printf("%-50s %9s %9s %10s  %s\n", "ETL row", "seconds", "MB/s", "forkline/x", "cores busy, note");
    for (const auto& r : rows) {
        char ratio[32] = "-";
        if (r.compare) std::snprintf(ratio, sizeof ratio, "%.2f", r.seconds / rows[1].seconds);
        std::printf("%-50s %9.3f %9.1f %10s  %.2f, %s\n", r.name.c_str(), r.seconds, mb / r.seconds, ratio, r.cpu,
                    r.note.c_str());
    }
    std::printf("file: %.0f MB from gen_sales --quoted; %ld rows accepted, %ld rejected\n", mb, one.accepted, one.rejected);
    double speedup = rows[0].seconds / rows[1].seconds, ceiling = rows[0].seconds / rows[2].seconds,
           python = rows[3].seconds / rows[1].seconds;
    std::printf("cores: %u; target: forkline >= 0.9 x cores = %.2f x one process: %s (%.2f); >= 20 x python: %s (%.1f)\n",
                cores, 0.9 * cores, speedup >= 0.9 * cores ? "met" : "not met", speedup, python >= 20 ? "met" : "not met",
                python);
    std::printf("this machine's ceiling: %.2f x one process (%u of them at once); forkline reaches %.0f%% of it\n\n",
                ceiling, cores, 100 * speedup / ceiling);

    std::printf("%-50s %9s %9s %10s\n", "parsing alone, one core", "seconds", "MB/s", "x by hand");
    struct parse_row {
        const char* name;
        std::size_t (*fn)(const std::string&);
    };
    std::vector<parse_row> parsers = {{"fields: by hand (the baseline's tokenizer)", fields_by_hand},
                                      {"fields: forkline's tokenizer", fields_by_forkline},
#ifdef FORKLINE_HAVE_LIBCSV
                                      {"fields: libcsv 3.0 (csv_parse, a callback a field)", fields_by_libcsv},
#endif
                                      {"typed rows: by hand", rows_by_hand},
                                      {"typed rows: forkline read_csv<sale>", rows_by_forkline}};
    double by_hand_fields = 0, by_hand_rows = 0;
    std::size_t fields = 0;
    for (const auto& p : parsers) {
        std::size_t n = 0;
        auto pt = forkline::bench::best_of(s.repeats, [&] { n = p.fn(path); });
        bool typed = std::string_view(p.name).starts_with("typed");
        double& base = typed ? by_hand_rows : by_hand_fields;
        if (base == 0) base = pt.seconds;
        if (!typed && fields == 0) fields = n;
        if (!typed && n != fields) throw std::runtime_error(std::string(p.name) + " found another number of fields");
        std::printf("%-50s %9.3f %9.1f %10.2f\n", p.name, pt.seconds, mb / pt.seconds, base / pt.seconds);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return forkline::bench::main_of(argc, argv, "bench_etl", run); }
