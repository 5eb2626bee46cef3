// Word count, the classic, on every core: read_lines is split, so each reader process reads its
// own parts of the file, cuts its lines into words (views into the block it read: no copy) and
// counts them in a map of its own; the counts are then added up by word. The caller prints the
// most frequent words.
//   word_count examples/data/corpus.txt [top]
#include <forkline/forkline.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <ranges>
#include <string>
#include <string_view>
#include <vector>

namespace fl = forkline;

namespace {

/// The words of a line, split at spaces: views into it.
auto words(std::string_view line) {
    return line | std::views::split(' ') | std::views::filter([](auto w) { return !w.empty(); }) |
           std::views::transform([](auto w) { return std::string_view(w.begin(), w.end()); });
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: word_count FILE [top]\n");
        return 2;
    }
    std::size_t top = argc > 2 ? std::stoul(argv[2]) : 10;
    try {
        auto counts = fl::run(fl::read_lines(argv[1]) | fl::flat_map(words) | fl::count_by(std::identity{}));

        std::vector<std::pair<std::string, std::size_t>> ranked(counts.begin(), counts.end());
        std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
            return a.second != b.second ? a.second > b.second : a.first < b.first;
        });
        std::size_t total = 0;
        for (const auto& [w, n] : ranked) total += n;
        std::printf("%zu words, %zu distinct\n", total, ranked.size());
        for (std::size_t i = 0; i < std::min(top, ranked.size()); ++i)
            std::printf("%8zu  %s\n", ranked[i].second, ranked[i].first.c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "word_count: %s\n", e.what());
        return 1;
    }
}
