// Word count, the classic, on every core: lines are split into words in parallel, and each word
// is counted by the replica its hash picks (partition_by, keyed by the word itself: std::identity),
// so no two replicas count the same word. The caller merges the replicas' counts and prints the
// most frequent words.
//   word_count examples/data/corpus.txt [top]
#include <forkline/forkline.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace fl = forkline;

using counts = std::map<std::string, long>;

namespace {

std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> words;
    for (std::size_t at = 0; at < line.size();) {
        std::size_t end = line.find(' ', at);
        if (end == std::string::npos) end = line.size();
        if (end > at) words.emplace_back(line, at, end - at);
        at = end + 1;
    }
    return words;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: word_count FILE [top]\n");
        return 2;
    }
    std::size_t top = argc > 2 ? std::stoul(argv[2]) : 10;
    try {
        counts total = fl::run(
            fl::read_lines(argv[1])
            | fl::parallel(fl::flat_map(split), fl::unordered)
            | fl::partition_by(fl::cpu_count(), std::identity{},
                               fl::reduce(counts{}, [](counts& c, const std::string& w) { ++c[w]; }))
            | fl::reduce(counts{}, [](counts& all, counts part) { all.merge(part); }));

        std::vector<std::pair<std::string, long>> ranked(total.begin(), total.end());
        std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
            return a.second != b.second ? a.second > b.second : a.first < b.first;
        });
        long words = 0;
        for (const auto& [w, n] : ranked) words += n;
        std::printf("%ld words, %zu distinct\n", words, ranked.size());
        for (std::size_t i = 0; i < std::min(top, ranked.size()); ++i)
            std::printf("%8ld  %s\n", ranked[i].second, ranked[i].first.c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "word_count: %s\n", e.what());
        return 1;
    }
}
