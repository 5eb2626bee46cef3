// The word-count benchmark: one table, one run. A corpus made by tools/gen_corpus (1 GiB by
// default) is counted three ways: in one process as a good C++ programmer writes it (mmap,
// std::string_view words, a std::unordered_map: the baseline), by forkline on every core
// (examples/word_count.cpp: read_lines | flat_map(words) | count_by), and by
// `tr | sort | uniq -c`, the Unix baseline. Every row must find the same counts. A row of as
// many one-process runs at once as there are cores shows what this machine allows any parallel
// program (the cores of a shared virtual machine need not be equal).
//   build/tools/bench/bench_word_count [--quick] [--bytes N]
// Each row runs three times (once with --quick, whose corpus is 64 MiB) and its fastest run is
// reported; the Unix row runs once when one run takes more than a minute. The corpus is a
// temporary file, removed at the end, on an error, and on SIGINT, SIGTERM or SIGHUP.
#include <forkline/forkline.hpp>

#include "best_of.hpp"
#include "programs.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string_view>
#include <unordered_map>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

extern char** environ;

namespace fl = forkline;
using forkline::bench::human;
using forkline::bench::spawn;
using forkline::bench::temp_file;
using forkline::bench::wait_ok;

namespace {

using counts = std::unordered_map<std::string, std::size_t>;

/// The words of a line (runs of characters other than ' '), as views into it. Both programs
/// split with this, so they do the same work per word.
struct words_of {
    std::string_view line;
    struct sentinel {};
    struct iterator {
        using value_type = std::string_view;
        using difference_type = std::ptrdiff_t;
        const char* at;
        const char* end;
        std::string_view word;
        void find() {
            while (at < end && *at == ' ') ++at;
            const char* start = at;
            while (at < end && *at != ' ') ++at;
            word = std::string_view(start, static_cast<std::size_t>(at - start));
        }
        std::string_view operator*() const { return word; }
        iterator& operator++() {
            find();
            return *this;
        }
        iterator operator++(int) {
            iterator before = *this;
            find();
            return before;
        }
        bool operator==(sentinel) const { return word.empty(); }
    };
    iterator begin() const {
        iterator i{line.data(), line.data() + line.size(), {}};
        i.find();
        return i;
    }
    sentinel end() const { return {}; }
};

// --- the three versions -------------------------------------------------------------------------

struct tally {
    counts words;
    double lines = 0;
};

/// One process, as a good C++ programmer writes it: the file mapped, each line found with
/// memchr, its words counted in a std::unordered_map keyed by views into the mapping.
tally one_process(const std::string& path) {
    forkline::bench::mapped f(path);
    const char* p = f.data;
    const char* end = p + f.size;
    std::unordered_map<std::string_view, std::size_t> m;
    tally t;
    while (p < end) {
        const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        const char* stop = nl ? nl : end;
        std::string_view line(p, static_cast<std::size_t>(stop - p));
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        for (std::string_view w : words_of{line}) ++m[w];
        ++t.lines;
        p = stop + 1;
    }
    for (const auto& [w, n] : m) t.words.emplace(std::string(w), n);
    return t;
}

/// examples/word_count.cpp's pipeline: read_lines is split over a reader per core, each counts
/// the words of its parts in a map of its own, and the counts are added up by word.
counts with_forkline(const std::string& path, const fl::options& o) {
    return fl::run(fl::read_lines(path) | fl::flat_map([](std::string_view line) { return words_of{line}; }) |
                       fl::count_by(std::identity{}),
                   o);
}

/// The Unix way, in the C locale (bytes compared as the other two compare them): the counts
/// read back from `uniq -c`, whose lines are "<count> <word>".
counts with_unix_tools(const std::string& path) {
    forkline::bench::program_output uniq(
        {"/bin/sh", "-c", "export LC_ALL=C; tr -s ' ' '\\n' < \"$1\" | sort | uniq -c", "sh", path},
        "tr | sort | uniq -c");
    counts c;
    bool well_formed = true;
    for (std::string_view line; uniq.next(line);) {
        // "<spaces><count> <word>"; an empty word (a line that was empty) counts no word.
        std::size_t k = 0, digits = std::min(line.find_first_not_of(' '), line.size());
        const char* stop = line.data() + line.size();
        auto [end, ec] = std::from_chars(line.data() + digits, stop, k);
        if (ec != std::errc{} || end == stop || *end != ' ') well_formed = false;
        else if (end + 1 != stop) c[std::string(end + 1, stop)] += k;
    }
    uniq.finish();
    if (!well_formed) throw std::runtime_error("uniq -c wrote a line that is not '<count> <word>'");
    return c;
}

// --- measuring and printing ---------------------------------------------------------------------

using clock_type = std::chrono::steady_clock;

struct row {
    std::string name;
    double lines = 0, seconds = 0, cpu = 0;  // cpu: cores busy on average (children + self)
    int runs = 0;
    bool compare = false;  // show the forkline row's rate over this one's
    std::string note;
    double rate() const { return seconds > 0 ? lines / seconds : 0; }
};

/// Runs fn up to `repeats` times (once when a run takes over `enough` seconds) and keeps the
/// fastest run's wall time and cores busy; `best` is called after a run that is the fastest so far.
row measure(std::string name, double lines, int repeats, double enough, const std::function<void()>& fn,
            const std::function<void()>& best = {}) {
    auto t = forkline::bench::best_of(repeats, fn, enough, best);
    return row{std::move(name), lines, t.seconds, t.cpu, t.runs, false, ""};
}

std::size_t total_words(const counts& c) {
    std::size_t n = 0;
    for (const auto& [w, k] : c) n += k;
    return n;
}

/// " read_lines | flat_map | count_by 0.98 + 0.97, count_by.merge 0.00 + 0.00, caller 0.00":
/// each stage's processes' CPU time over the run's wall time, replicas joined by " + ".
std::string busy_per_stage(const fl::run_report& report) {
    std::string out, last;
    for (const auto& p : report.processes) {
        std::string name = p.pid ? p.stages.front() : "caller";
        char share[32];
        std::snprintf(share, sizeof share, "%.2f", report.seconds > 0 ? p.cpu_seconds / report.seconds : 0.0);
        out += (name == last ? " + " : (out.empty() ? " " : ", ") + name + " ") + share;
        last = name;
    }
    return out;
}

/// "peak RSS per process: 9.1, 9.0 (readers), 6.2, 6.2 (merge), 45.0 (caller) MiB"
std::string peak_memory(const fl::run_report& report) {
    std::string out, last;
    for (const auto& p : report.processes) {
        std::string name = p.pid ? p.stages.front() : "caller";
        char mib[32];
        std::snprintf(mib, sizeof mib, "%.1f", static_cast<double>(p.peak_rss_kib) / 1024);
        if (name != last && !last.empty()) out += " (" + last + "), ";
        else if (!last.empty()) out += ", ";
        out += mib;
        last = name;
    }
    return "peak RSS per process, MiB: " + out + " (" + last + ")";
}

/// Throws unless `got` equals the one-process counts.
void check_same(const counts& want, const counts& got, const char* who) {
    if (got == want) return;
    char msg[256];
    std::snprintf(msg, sizeof msg, "%s disagrees with one process: %zu words, %zu distinct (expected %zu, %zu)", who,
                  total_words(got), got.size(), total_words(want), want.size());
    throw std::runtime_error(msg);
}

int run(const forkline::bench::settings& s) {
    temp_file corpus;
    const std::string path = corpus.path();
    wait_ok(spawn({FORKLINE_GEN_CORPUS, "--bytes", std::to_string(s.bytes), "-o", path}), "gen_corpus");

    const unsigned cores = fl::cpu_count();
    const double mib = static_cast<double>(s.bytes) / (1 << 20);
    std::vector<row> rows;

    tally one;
    rows.push_back(measure("one process: mmap, string_view, unordered_map", 0, s.repeats, 1e9,
                           [&] { one = one_process(path); }));
    const double lines = one.lines;
    rows.back().lines = lines;
    rows.back().compare = true;

    fl::run_report report, fastest;
    rows.push_back(measure(
        "forkline read_lines | flat_map | count_by", lines, s.repeats, 1e9,
        [&] { check_same(one.words, with_forkline(path, fl::options{.report = &report}), "forkline"); },
        [&] { fastest = report; }));
    rows.back().note = std::to_string(fastest.processes.size()) + " processes:" + busy_per_stage(fastest);

    double at_once = forkline::bench::runs_per_second_at_once(cores, s.repeats, [&] { one_process(path); });
    rows.push_back(row{"ceiling: " + std::to_string(cores) + " one-process runs at once", lines, 1 / at_once, static_cast<double>(cores), 1, true,
                       "1 / the sum of their speeds"});

    rows.push_back(measure("tr -s ' ' '\\n' | sort | uniq -c", lines, s.repeats, 60,
                           [&] { check_same(one.words, with_unix_tools(path), "tr | sort | uniq -c"); }));
    rows.back().compare = true;
    rows.back().note = "LC_ALL=C; sort picks its own threads";
    if (rows.back().runs < s.repeats) rows.back().note += "; 1 run (over a minute)";

    std::printf("%-46s %9s %9s %10s %11s %10s  %s\n", "row", "lines", "seconds", "MB/s", "MB/s a core", "forkline/x",
                "cores busy, note");
    for (const auto& r : rows) {
        char ratio[32] = "-";
        if (r.compare) std::snprintf(ratio, sizeof ratio, "%.2f", rows[1].rate() / r.rate());
        double mbs = static_cast<double>(s.bytes) / 1e6 / r.seconds;
        std::printf("%-46s %9s %9.3f %10.1f %11.1f %10s  %.2f%s%s\n", r.name.c_str(), human(r.lines).c_str(), r.seconds,
                    mbs, mbs / std::max(r.cpu, 1e-9), ratio, r.cpu, r.note.empty() ? "" : ", ", r.note.c_str());
    }
    double speedup = rows[1].rate() / rows[0].rate();
    std::printf("corpus: %.2f MiB from gen_corpus, %s lines, %s words, %zu distinct\n", mib, human(lines).c_str(),
                human(static_cast<double>(total_words(one.words))).c_str(), one.words.size());
    std::printf("forkline %s\n", peak_memory(fastest).c_str());
    std::printf("cores: %u; target: forkline/one process >= 0.9 x cores = %.2f: %s (%.2f)\n", cores, 0.9 * cores,
                speedup >= 0.9 * cores ? "met" : "not met", speedup);
    double ceiling = rows[2].rate() / rows[0].rate();
    std::printf("this machine's ceiling: %.2f x one process (%u of them at once); forkline reaches %.0f%% of it\n",
                ceiling, cores, 100 * speedup / ceiling);
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return forkline::bench::main_of(argc, argv, "bench_word_count", run); }
