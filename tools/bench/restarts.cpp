// What options::restarts costs: rows of bench_pipeline run with restarts off and on, in turns, on
// the same data (the journal and the edge that keeps what is not yet done cost nothing per item,
// only per batch), and a word count over a corpus from tools/gen_corpus (1 GiB by default) run
// without crashes and with a counting process killed (SIGKILL) every second.
//   build/tools/bench/bench_restarts [--quick] [--bytes N]
// Each row's fastest run is reported (best of 7 for the small rows, of 3 for the word count; one
// run with --quick, whose corpus is 64 MiB). "on/off" above 1 is what restarts cost. The word
// count here is one a crash cannot end: the file is cut into 4 MiB chunks at line ends, a
// parallel map counts each chunk's words (those replicas are replaceable), and the caller adds
// the chunks' counts up; every row must find the same counts as one process over the mapping.
#include <forkline/forkline.hpp>

#include "best_of.hpp"
#include "programs.hpp"
#include "../../tests/support.hpp"  // children_named

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fl = forkline;
using forkline::bench::best_of;
using forkline::bench::mapped;
using forkline::bench::human;
using forkline::bench::spawn;
using forkline::bench::temp_file;
using forkline::bench::wait_ok;

namespace {

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("wrong result in ") + what);
}

using word_counts = std::unordered_map<std::string, std::uint64_t>;

/// Adds the words of [p, end) (separated by spaces and newlines) to m.
template <class Map>
void count_words(const char* p, const char* end, Map& m) {
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r')) ++p;
        const char* start = p;
        while (p < end && *p != ' ' && *p != '\n' && *p != '\r') ++p;
        if (p > start) ++m[std::string_view(start, static_cast<std::size_t>(p - start))];
    }
}

/// The baseline: one process over the mapping, views into it as keys.
word_counts one_process(const mapped& f) {
    std::unordered_map<std::string_view, std::uint64_t> m;
    count_words(f.data, f.data + f.size, m);
    word_counts out;
    for (const auto& [w, n] : m) out.emplace(std::string(w), n);
    return out;
}

constexpr std::size_t chunk = std::size_t{4} << 20;

/// Chunk i of the file: from the line start at or after i * chunk to the one at or after the next.
std::pair<const char*, const char*> chunk_of(const mapped& f, std::size_t i) {
    auto line_start = [&](std::size_t at) {
        if (at == 0) return f.data;
        if (at >= f.size) return f.data + f.size;
        const void* nl = std::memchr(f.data + at - 1, '\n', f.size - at + 1);
        return nl ? static_cast<const char*>(nl) + 1 : f.data + f.size;
    };
    return {line_start(i * chunk), line_start((i + 1) * chunk)};
}

/// iota(chunks) | parallel(count a chunk's words) | reduce(add them up), in the caller.
word_counts with_forkline(const mapped& f, const fl::options& o) {
    const std::size_t chunks = (f.size + chunk - 1) / chunk;
    auto count_chunk = fl::named("count", fl::map([&f](std::size_t i) {
        auto [p, end] = chunk_of(f, i);
        std::unordered_map<std::string_view, std::uint64_t> m;
        count_words(p, end, m);
        std::vector<std::pair<std::string, std::uint64_t>> v;
        v.reserve(m.size());
        for (const auto& [w, n] : m) v.emplace_back(std::string(w), n);
        return v;
    }));
    return fl::run(fl::iota(std::size_t{0}, chunks) | fl::parallel(count_chunk, fl::unordered) |
                       fl::reduce(word_counts{},
                                  [](word_counts acc, const std::vector<std::pair<std::string, std::uint64_t>>& v) {
                                      for (const auto& [w, n] : v) acc[w] += n;
                                      return acc;
                                  }),
                   o);
}

/// Kills one of this run's "count" replicas every `every`, while it lives.
class killer {
public:
    explicit killer(std::chrono::milliseconds every)
        : thread_([this, every] {
              unsigned turn = 0;
              while (!done_.load()) {
                  auto until = std::chrono::steady_clock::now() + every;
                  while (!done_.load() && std::chrono::steady_clock::now() < until)
                      std::this_thread::sleep_for(std::chrono::milliseconds(5));
                  if (done_.load()) break;
                  auto pids = forkline::test::children_named("fl:count[");
                  if (!pids.empty() && ::kill(pids[turn++ % pids.size()], SIGKILL) == 0) ++kills_;
              }
          }) {}
    ~killer() { stop(); }
    int stop() {
        done_ = true;
        if (thread_.joinable()) thread_.join();
        return kills_;
    }

private:
    std::atomic<bool> done_{false};
    int kills_ = 0;
    std::thread thread_;
};

struct row {
    const char* name;
    double items;
    std::function<void(const fl::options&)> run;
};

int run(const forkline::bench::settings& s) {
    const bool quick = s.repeats == 1;
    const double scale = quick ? 0.1 : 1;
    const int repeats = quick ? 1 : 7;
    const long n3 = static_cast<long>(1e8 * scale), nf = static_cast<long>(2e7 * scale),
               np = static_cast<long>(5e7 * scale);
    std::vector<row> rows{
        {"iota | map | reduce, 3 processes", double(n3),
         [=](const fl::options& o) {
             auto step = [](long i) { return i * 2 + 1; };
             check(fl::run(fl::iota(0L, n3) | fl::map(step) | fl::reduce(0L, std::plus<>{}), o) == n3 * n3,
                   "iota|map|reduce");
         }},
        {"farm(2, filter), ordered", double(nf),
         [=](const fl::options& o) {
             auto v = fl::run(fl::iota(0L, nf) | fl::farm(2, fl::filter([](long i) { return i % 4 == 0; })) | fl::count(), o);
             check(v == static_cast<std::size_t>((nf + 3) / 4), "farm");
         }},
        // The replicas keep state: with restarts they are checkpointed (a fork every 200 ms or
        // half an input ring of 16 MiB).
        {"partition_by(2, reduce), checkpoints", double(np),
         [=](const fl::options& o) {
             auto v = fl::run(fl::iota(0L, np) | fl::partition_by(2, [](long i) { return i & 1; }, fl::reduce(0L, std::plus<>{})) |
                                  fl::reduce(0L, std::plus<>{}),
                              o);
             check(v == np * (np - 1) / 2, "partition_by");
         }},
    };
    const fl::options off{.fuse = false}, on{.fuse = false, .restarts = 1000};
    std::printf("restarts off and on, no crash: best of %d turns each, in turns\n", repeats);
    std::printf("%-36s %10s %14s %14s %8s\n", "row", "items", "off /s", "on /s", "on/off");
    for (const auto& r : rows) {
        double best_off = 0, best_on = 0;
        for (int k = 0; k < repeats; ++k) {
            double a = best_of(1, [&] { r.run(off); }).seconds;
            double b = best_of(1, [&] { r.run(on); }).seconds;
            if (best_off == 0 || a < best_off) best_off = a;
            if (best_on == 0 || b < best_on) best_on = b;
        }
        std::printf("%-36s %10s %14s %14s %8.3f\n", r.name, human(r.items).c_str(), human(r.items / best_off).c_str(),
                    human(r.items / best_on).c_str(), best_on / best_off);
        std::fflush(stdout);
    }

    temp_file corpus;
    wait_ok(spawn({FORKLINE_GEN_CORPUS, "--bytes", std::to_string(s.bytes), "-o", corpus.path()}), "gen_corpus");
    mapped f(corpus.path());
    const word_counts want = one_process(f);
    const int wc_repeats = quick ? 1 : 3;
    std::printf("\nword count, %.0f MiB in %zu chunks of 4 MiB, %zu distinct words: best of %d\n",
                static_cast<double>(f.size) / (1 << 20), (f.size + chunk - 1) / chunk, want.size(), wc_repeats);
    std::printf("%-44s %9s %9s %9s\n", "row", "seconds", "vs none", "restarts");
    double base = 0;
    auto wc_row = [&](const char* name, const fl::options& o, bool crash) {
        double best = 0;
        std::size_t restarts = 0;
        for (int k = 0; k < wc_repeats; ++k) {
            fl::run_report report;
            fl::options with = o;
            with.report = &report;
            word_counts got;
            double secs = best_of(1, [&] {
                              std::optional<killer> k9;
                              if (crash) k9.emplace(std::chrono::milliseconds(1000));
                              got = with_forkline(f, with);
                          }).seconds;
            check(got == want, name);
            if (best == 0 || secs < best) best = secs, restarts = report.restarts.size();
        }
        if (base == 0) base = best;
        std::printf("%-44s %9.2f %9.3f %9zu\n", name, best, best / base, restarts);
        std::fflush(stdout);
    };
    double one = best_of(wc_repeats, [&] { check(one_process(f) == want, "one process"); }).seconds;
    wc_row("forkline, restarts off", fl::options{}, false);
    wc_row("forkline, restarts on", fl::options{.restarts = 1000}, false);
    wc_row("forkline, restarts on, a SIGKILL every second", fl::options{.restarts = 1000}, true);
    std::printf("%-44s %9.2f %9.3f %9s\n", "one process (mmap, unordered_map)", one, one / base, "-");
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return forkline::bench::main_of(argc, argv, "bench_restarts", run); }
