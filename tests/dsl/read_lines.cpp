// fl::read_lines: one reader, or split over its readers; every line exactly once, whatever the
// split sizes, the line ends, the files and the globs.
#include "../support.hpp"

#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace fl = forkline;
using forkline::test::temp_dir;
using forkline::test::temp_file;

namespace {

/// The lines of `text` as the README defines them, computed the obvious way.
std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t nl = text.find('\n', at);
        std::string line = text.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        out.push_back(line);
        at = nl == std::string::npos ? text.size() : nl + 1;
    }
    return out;
}

/// The lines that start in [begin, end) of the files, as the split readers see them.
std::vector<std::string> split_lines(fl::detail::text_files& files, std::uint64_t begin, std::uint64_t end) {
    std::vector<std::string> out;
    std::string_view line;
    for (fl::detail::line_cursor in(files, begin, end); in.next(line);) out.emplace_back(line);
    return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

const std::vector<std::string> awkward = {
    "",
    "\n",
    "\n\n\n",
    "one line, no newline",
    "alpha\nbeta\r\n\ngamma",
    "crlf\r\nonly\r\nhere\r\n",
    "a\nbb\nccc\n\n\ndddd\n",
    "\r\n\r\nx\r",
    "short\n" + std::string(300, 'L') + "\nafter the long one\n" + std::string(70, 'M'),
};

}  // namespace

TEST_CASE("read_lines sends every line, with or without a final newline", "[dsl][read_lines]") {
    temp_file f("alpha\nbeta\r\n\ngamma");
    CHECK(fl::run(fl::read_lines(f.path) | fl::to_vector()) == std::vector<std::string>{"alpha", "beta", "", "gamma"});
    temp_file empty("");
    CHECK(fl::run(fl::read_lines(empty.path) | fl::count()) == 0);
}

TEST_CASE("read_lines handles lines longer than its buffer and many lines", "[dsl][read_lines]") {
    std::string big(3'000'000, 'x');
    std::string text = "short\n" + big + "\n";
    for (int i = 0; i < 100'000; ++i) text += std::to_string(i) + "\n";
    temp_file f(text);
    auto lines = fl::run(fl::read_lines(f.path) | fl::to_vector());
    REQUIRE(lines.size() == 100'002);
    CHECK(lines[0] == "short");
    CHECK(lines[1] == big);
    CHECK(lines[100'001] == "99999");
}

TEST_CASE("a split at any byte offset loses, repeats and cuts no line", "[dsl][read_lines][split]") {
    for (const auto& text : awkward) {
        temp_file f(text);
        fl::detail::text_files files({f.path}, "test");
        const auto expect = lines_of(text);
        REQUIRE(split_lines(files, 0, files.total()) == expect);
        for (std::uint64_t b = 0; b <= text.size(); ++b) {
            auto got = split_lines(files, 0, b);
            auto rest = split_lines(files, b, text.size());
            got.insert(got.end(), rest.begin(), rest.end());
            INFO("text '" << text << "' split at " << b);
            CHECK(got == expect);
        }
        // Three splits, both cuts anywhere.
        for (std::uint64_t a = 0; a <= text.size(); ++a)
            for (std::uint64_t b = a; b <= text.size(); ++b) {
                auto got = split_lines(files, 0, a);
                for (auto& part : {split_lines(files, a, b), split_lines(files, b, text.size())})
                    got.insert(got.end(), part.begin(), part.end());
                INFO("text '" << text << "' split at " << a << " and " << b);
                REQUIRE(got == expect);
            }
    }
}

TEST_CASE("several files are one input, split over their concatenation", "[dsl][read_lines][split]") {
    temp_dir d;
    std::vector<std::string> texts = {"a1\na2", "", "b1\r\nb2\r\n", "\n", "c1\nc2\n" + std::string(40, 'c')};
    std::vector<std::string> paths, expect;
    for (std::size_t k = 0; k < texts.size(); ++k) {
        paths.push_back(d.add("part" + std::to_string(k) + ".txt", texts[k]));
        for (auto& l : lines_of(texts[k])) expect.push_back(l);
    }
    fl::detail::text_files files(paths, "test");
    REQUIRE(files.total() == 60);
    for (std::uint64_t chunk = 1; chunk <= files.total() + 1; ++chunk) {
        std::vector<std::string> got;
        for (std::uint64_t at = 0; at < files.total(); at += chunk)
            for (auto& l : split_lines(files, at, std::min(files.total(), at + chunk))) got.push_back(l);
        INFO("parts of " << chunk << " bytes");
        CHECK(got == expect);
    }
    CHECK(fl::run(fl::read_lines(paths) | fl::to_vector()) == expect);
    CHECK(fl::run(fl::read_lines(d.path + "/part*.txt") | fl::to_vector()) == expect);  // globs sort by name
    CHECK(fl::run(fl::read_lines({paths[4], paths[0]}) | fl::to_vector()) ==
          std::vector<std::string>{"c1", "c2", std::string(40, 'c'), "a1", "a2"});
    auto split = fl::run(fl::read_lines(d.path + "/*.txt", {.split_bytes = 5}) |
                         fl::parallel(fl::map([](std::string_view l) { return std::string(l); })) | fl::to_vector());
    CHECK(split == expect);
}

namespace {

/// A numbered line as a tuple, for comparing and sorting.
auto key(const fl::numbered_line& l) { return std::tie(l.file, l.number, l.offset, l.text); }

/// The numbered lines of the files, computed the obvious way.
std::vector<fl::numbered_line> numbered_lines_of(const std::vector<std::string>& paths,
                                                 const std::vector<std::string>& texts) {
    std::vector<fl::numbered_line> out;
    for (std::size_t k = 0; k < texts.size(); ++k) {
        std::uint64_t at = 0, number = 0;
        for (auto& l : lines_of(texts[k])) {
            out.push_back({l, paths[k], at, ++number});
            at = texts[k].find('\n', at) + 1;
        }
    }
    return out;
}

}  // namespace

TEST_CASE("numbered lines carry their file, offset and number, split or not", "[dsl][read_lines][split]") {
    temp_dir d;
    std::vector<std::string> texts = {"a1\na2", "", "b1\r\nb2\r\n\n", "\n", "c1\nc2\n" + std::string(40, 'c') + "\nc4"};
    std::vector<std::string> paths;
    for (std::size_t k = 0; k < texts.size(); ++k) paths.push_back(d.add("part" + std::to_string(k) + ".txt", texts[k]));
    const auto expect = numbered_lines_of(paths, texts);
    auto same = [](const std::vector<fl::numbered_line>& a, const std::vector<fl::numbered_line>& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](auto& x, auto& y) { return key(x) == key(y); });
    };
    CHECK(same(fl::run(fl::read_lines(paths).numbered() | fl::to_vector()), expect));
    CHECK(expect[6].where() == paths[4] + ":1");
    for (std::uint64_t chunk : {1, 2, 3, 5, 7, 11, 64, 1000}) {
        auto got = fl::run(fl::read_lines(paths, {.split_bytes = chunk}).numbered() |
                           fl::parallel(fl::map([](const fl::numbered_line_view& l) {
                                            return fl::numbered_line{std::string(l.text), std::string(l.file), l.offset,
                                                                     l.number};
                                        }),
                                        fl::unordered) |
                           fl::to_vector());
        std::sort(got.begin(), got.end(), [](auto& x, auto& y) { return key(x) < key(y); });
        auto want = expect;
        std::sort(want.begin(), want.end(), [](auto& x, auto& y) { return key(x) < key(y); });
        INFO("parts of " << chunk << " bytes");
        CHECK(same(got, want));
    }
}

TEST_CASE("a stage in another process names the line of a numbered line", "[dsl][read_lines]") {
    temp_file f("1\n2\r\nx\n4\n");
    try {
        fl::run(fl::read_lines(f.path).numbered() | fl::map([](const fl::numbered_line& l) {
                    if (l.text == "x") throw std::runtime_error(l.where() + ": not a number");
                    return std::stoi(l.text);
                }) |
                fl::count());
        FAIL("no exception");
    } catch (const fl::stage_error& e) {
        CHECK(e.message() == f.path + ":3: not a number");
    }
}

TEST_CASE("split readers hand every line once to an unordered farm, at any split size", "[dsl][read_lines][split]") {
    std::string text;
    for (int i = 0; i < 40; ++i) text += (i % 7 == 3 ? "" : "line " + std::to_string(i)) + (i % 3 ? "\n" : "\r\n");
    text += "last line without a newline";
    temp_file f(text);
    const auto expect = lines_of(text);
    for (std::uint64_t chunk : {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 1000}) {
        auto got = fl::run(fl::read_lines(f.path, {.split_bytes = chunk}) |
                           fl::farm(2, fl::map([](std::string_view l) { return std::string(l); }), fl::unordered) |
                           fl::to_vector());
        INFO("parts of " << chunk << " bytes");
        CHECK(sorted(got) == sorted(expect));
        // An ordered farm after a split keeps the file's order.
        auto ordered = fl::run(fl::read_lines(f.path, {.split_bytes = chunk}) |
                               fl::farm(3, fl::map([](const std::string& l) { return l; })) | fl::to_vector());
        CHECK(ordered == expect);
    }
    CHECK(forkline::test::no_children_left());
}

TEST_CASE("split readers hand views to stages that take them, strings to the others", "[dsl][read_lines][split]") {
    temp_file f("one\ntwo\nthree\n");
    auto is_view = [](const auto& l) { return std::is_same_v<std::remove_cvref_t<decltype(l)>, std::string_view>; };
    // Split (a farm follows): the first stage is generic, so it gets views into the file.
    auto split = fl::run(fl::read_lines(f.path) | fl::map(is_view) | fl::parallel(fl::map([](bool b) { return b; })) |
                         fl::to_vector());
    CHECK(split == std::vector<bool>{true, true, true});
    // Not split (nothing parallel follows): lines cross to the next process as strings.
    auto whole = fl::run(fl::read_lines(f.path) | fl::map(is_view) | fl::to_vector());
    CHECK(whole == std::vector<bool>{false, false, false});
    // A stage that wants a std::string gets one, split or not.
    auto strings = fl::run(fl::read_lines(f.path) |
                           fl::parallel(fl::map([](std::string s) { return s + "!"; }), fl::unordered) | fl::to_vector());
    CHECK(sorted(strings) == std::vector<std::string>{"one!", "three!", "two!"});
    // Views may flow between the stages of the readers; what leaves them is owned.
    auto words = fl::run(fl::read_lines(f.path) | fl::map([](std::string_view l) { return l.substr(1); }) |
                         fl::parallel(fl::map([](std::string_view l) { return std::string(l); })) | fl::to_vector());
    CHECK(words == std::vector<std::string>{"ne", "wo", "hree"});
}

TEST_CASE("the plan says when read_lines is split, and when not", "[dsl][read_lines][split]") {
    auto split = fl::plan(fl::read_lines("x.txt") | fl::filter([](std::string_view l) { return !l.empty(); }) |
                              fl::parallel(fl::map([](std::string_view l) { return l.size(); }), fl::unordered) |
                              fl::count(),
                          fl::options{.cpus = 4});
    CHECK(split.stages().size() == 2);
    CHECK(split.describe().find("read_lines | filter | map (split)") != std::string::npos);
    CHECK(split.describe().find("why: split read_lines | filter | map: 4 readers") != std::string::npos);
    CHECK(split.groups_of(0).size() == 4);
    // A stage with state between the source and the farm keeps one reader.
    auto stateful = fl::plan(fl::read_lines("x.txt") | fl::map([n = 0](std::string_view) mutable { return ++n; }) |
                             fl::parallel(fl::map([](int i) { return i; }), fl::unordered) | fl::count());
    CHECK(stateful.stages().size() == 4);
    CHECK(stateful.stages()[0].name == "read_lines");
    CHECK(!stateful.stages()[0].split);
    // Nothing parallel after it: one reader.
    auto plain = fl::plan(fl::read_lines("x.txt") | fl::map([](const std::string& l) { return l.size(); }) | fl::count());
    CHECK(plain.stages().size() == 3);
    CHECK(plain.describe().find("split") == std::string::npos);
}

TEST_CASE("split readers feed a partition_by", "[dsl][read_lines][split]") {
    std::string text;
    std::map<char, long> expect;
    for (int i = 0; i < 2000; ++i) {
        std::string line = std::string(1, static_cast<char>('a' + i % 7)) + std::to_string(i);
        expect[line[0]] += i;
        text += line + "\n";
    }
    temp_file f(text);
    using totals = std::map<char, long>;
    auto p = fl::read_lines(f.path, {.split_bytes = 97}) |
             fl::partition_by(2, [](const std::string& l) { return l[0]; },
                              fl::reduce(totals{}, [](totals& t, const std::string& l) { t[l[0]] += std::stol(l.substr(1)); })) |
             fl::reduce(totals{}, [](totals all, const totals& part) {
                 for (auto& [k, v] : part) all[k] += v;
                 return all;
             });
    CHECK(fl::plan(p, fl::options{.cpus = 4}).describe().find("read_lines (split)") != std::string::npos);
    CHECK(fl::run(p, fl::options{.cpus = 4}) == expect);
}

TEST_CASE("a failure in a split reader names its stages and the line, and leaves nothing behind",
          "[dsl][read_lines][split]") {
    std::string text;
    for (int i = 0; i < 5000; ++i) text += std::to_string(i) + "\n";
    temp_file f(text);
    try {
        fl::run(fl::read_lines(f.path, {.split_bytes = 1000}) | fl::parallel(fl::map([](std::string_view l) {
                    if (l == "4321") throw std::runtime_error("bad line");
                    return l.size();
                }), fl::unordered) |
                fl::count());
        FAIL("no exception");
    } catch (const fl::stage_error& e) {
        CHECK(e.stage().rfind("read_lines | map[", 0) == 0);
        CHECK(e.message() == f.path + ":4322: bad line");  // "4321" is the 4322nd line
    }
    CHECK(forkline::test::no_children_left());
}

TEST_CASE("a file that becomes shorter while it is read ends the run naming it", "[dsl][read_lines][split]") {
    std::string text;
    for (int i = 0; text.size() < (8u << 20); ++i) text += "line " + std::to_string(i) + "\n";
    temp_file f(text);
    // The first line a reader hands on cuts the file: the blocks read after it come up short.
    const std::string path = f.path;
    auto cut = fl::map([path](std::string_view l) {
        if (::truncate(path.c_str(), 0) != 0) throw std::runtime_error("cannot truncate");
        return l.size();
    });
    try {
        fl::run(fl::read_lines(f.path, {.split_bytes = 1 << 20}) | fl::parallel(cut, fl::unordered) | fl::count());
        FAIL("no exception");
    } catch (const fl::stage_error& e) {
        CHECK(std::string(e.what()).find("'" + f.path + "' became shorter while it was read") != std::string::npos);
    }
    CHECK(forkline::test::no_children_left());
}

TEST_CASE("read_lines fails naming the path or the glob", "[dsl][read_lines]") {
    try {
        fl::run(fl::read_lines("/nonexistent/forkline.csv") | fl::count());
        FAIL("no exception");
    } catch (const fl::stage_error& e) {
        CHECK(e.stage() == "read_lines");
        CHECK(e.message().find("/nonexistent/forkline.csv") != std::string::npos);
        CHECK(e.message().find("No such file") != std::string::npos);
    }
    temp_dir d;
    try {
        fl::run(fl::read_lines(d.path + "/*.csv") | fl::parallel(fl::map([](std::string_view l) { return l.size(); })) |
                fl::count());
        FAIL("no exception");
    } catch (const fl::stage_error& e) {
        CHECK(e.message() == "forkline::read_lines: no file matches '" + d.path + "/*.csv'");
    }
    CHECK(forkline::test::no_children_left());
}

TEST_CASE("a pipe is read whole by one of the split readers", "[dsl][read_lines][split]") {
    temp_dir d;
    std::string fifo = d.path + "/fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    pid_t writer = forkline::test::fork_child([&] {
        std::ofstream out(fifo);
        for (int i = 0; i < 10'000; ++i) out << i << '\n';
        return 0;
    });
    auto n = fl::run(fl::read_lines(fifo) | fl::parallel(fl::map([](std::string_view l) { return std::stol(std::string(l)); }),
                                                         fl::unordered) |
                     fl::reduce(0L, std::plus<>{}));
    CHECK(n == 9999L * 10000 / 2);
    CHECK(forkline::test::wait_child(writer) == 0);
    ::unlink(fifo.c_str());
}

TEST_CASE("split readers hold a block of the file, not the file: memory stays flat", "[dsl][read_lines][split]") {
    std::string block;
    for (int i = 0; i < 1000; ++i) block += "a line of text that is about sixty bytes long, number " + std::to_string(i) + "\n";
    temp_file f("");
    {
        std::ofstream out(f.path, std::ios::binary);
        for (std::size_t written = 0; written < (96u << 20); written += block.size()) out << block;
    }
    fl::run_report report;
    auto n = fl::run(fl::read_lines(f.path, {.split_bytes = 1 << 20}) |
                         fl::parallel(fl::map([](std::string_view l) { return l.size(); }), fl::unordered) | fl::count(),
                     fl::options{.cpus = 2, .report = &report});
    CHECK(n > 1'000'000);
    if (forkline::test::address_sanitized) WARN("the memory bound is not checked under AddressSanitizer");
    for (const auto& p : report.processes)
        if (p.pid && !forkline::test::address_sanitized) {
            INFO(p.stages.front() << " peaked at " << p.peak_rss_kib << " KiB");
            CHECK(p.peak_rss_kib < 48 * 1024);  // a quarter of the 192 MiB a copy of the whole file would take
        }
}
