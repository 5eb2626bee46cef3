// libFuzzer target for the CSV tokenizer (src/dsl/csv_input.cpp): the first byte of an input sets
// a part size, the others are a file. Read whole by one cursor and again in parts chained through
// the first pass as read_csv's readers do, it must give the same records, with the same lines and
// errors, for ',' and for ';'. Built and run by tests/fuzz/run.sh.
#include <forkline/dsl/detail/csv_input.hpp>
#include <forkline/dsl/detail/text_input.hpp>

#include "../dsl/csv_parts.hpp"
#include "seeds.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace d = forkline::detail;

namespace {

struct record {
    std::vector<std::string> fields;
    std::uint64_t line, offset;
    bool bad;
    bool operator==(const record&) const = default;
};

/// A field on one line: line ends, backslashes and bytes that would not show, escaped.
std::string shown(const std::string& f) {
    std::string out;
    for (unsigned char c : f) {
        if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\\') out += "\\\\";
        else if (c < 0x20 || c >= 0x7f) out += "\\x" + std::string{"0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]};
        else out += static_cast<char>(c);
    }
    return out;
}

void print(const char* title, const std::vector<record>& rs) {
    std::fprintf(stderr, "%s (%zu records):\n", title, rs.size());
    for (const auto& r : rs) {
        std::fprintf(stderr, "  line %llu offset %llu%s:", static_cast<unsigned long long>(r.line),
                     static_cast<unsigned long long>(r.offset), r.bad ? " (error)" : "");
        for (const auto& f : r.fields) std::fprintf(stderr, " <%s>", shown(f).c_str());
        std::fprintf(stderr, "\n");
    }
}

[[noreturn]] void fail(const char* what, const std::vector<record>& whole, const std::vector<record>& parts,
                       std::uint64_t chunk, char delimiter) {
    std::fprintf(stderr, "csv fuzz: %s (delimiter '%c', parts of %llu bytes)\n", what, delimiter,
                 static_cast<unsigned long long>(chunk));
    print("one cursor", whole);
    print("in parts", parts);
    __builtin_trap();
}

record copied(const d::csv_record& r) {
    return {{r.fields.begin(), r.fields.end()}, r.line, r.offset, r.error != nullptr};
}

std::vector<record> whole(d::text_files& files, d::csv_format fmt) {
    std::vector<record> out;
    forkline::test::csv_whole(files, fmt, [&](const d::csv_record& r) { out.push_back(copied(r)); });
    return out;
}

std::vector<record> in_parts(d::text_files& files, std::uint64_t chunk, d::csv_format fmt) {
    std::vector<record> out;
    forkline::test::csv_in_parts(files, chunk, fmt, [&](const d::csv_record& r) { out.push_back(copied(r)); });
    return out;
}

/// The input goes into one real file, made once and rewritten for every input. It is unlinked
/// at once and named through /proc/self/fd, so nothing is left in /tmp however the run ends.
const std::string& input_file(const std::uint8_t* data, std::size_t size) {
    static int fd = -1;
    static std::string path;
    if (fd < 0) {
        char name[] = "/tmp/forkline-fuzz-csv-XXXXXX";
        fd = ::mkstemp(name);
        if (fd < 0) {
            std::perror("csv fuzz: mkstemp");
            std::abort();
        }
        ::unlink(name);
        path = "/proc/self/fd/" + std::to_string(fd);
    }
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) {
        std::perror("csv fuzz: writing the input");
        std::abort();
    }
    return path;
}

}  // namespace

// Each text a few times, with parts of 1, 3, 7 and 32 bytes.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const std::vector<std::string> texts = {
        "a,b,c\n1,2,3\n",
        "a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\r\n",
        "id,text\n1,\"two\nlines\"\n2,\"three\r\nlines\r\nhere\"\n3,plain",
        "\"\"\"\",\"\",\"a\"\"\"\n,,\n\n\nlast,row,",
        "q;w\n\"unclosed;\nfield\n",
        "x,y\n\"closed\"tail,5\n12\"3,\"\"\"quoted\"\" start\"\n",
        "\n\r\n\"\n\",\"\r\n\"\n",
        "\"a;b\";\"c\"\"d\"\r\n;;\r\n\"\"",
    };
    std::vector<std::string> seeds;
    for (const auto& t : texts)
        for (char first : {'\x00', '\x02', '\x06', '\x1f'}) seeds.push_back(first + t);
    forkline::fuzz::write_seeds(seeds);
    return 0;
}

/// The first byte sets the size of the parts (1 to 64 bytes), the others are the file.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint64_t chunk = 1 + data[0] % 64;
    const std::uint8_t* text = data + 1;
    d::text_files files({input_file(text, size - 1)}, "csv fuzz");
    for (char delimiter : {',', ';'}) {
        const d::csv_format fmt{.delimiter = delimiter};
        const auto one = whole(files, fmt);
        // A record's line is one more than the line ends before it, and records come in order.
        std::uint64_t newlines = 0, at = 0;
        for (std::size_t i = 0; i < one.size(); ++i) {
            if (i > 0 && one[i].offset <= one[i - 1].offset) fail("records out of order", one, {}, chunk, delimiter);
            newlines += static_cast<std::uint64_t>(std::count(text + at, text + one[i].offset, '\n'));
            at = one[i].offset;
            if (one[i].line != newlines + 1) fail("a record's line is not its line ends + 1", one, {}, chunk, delimiter);
        }
        const auto parts = in_parts(files, chunk, fmt);
        if (parts != one) fail("the parts read other records than one cursor", one, parts, chunk, delimiter);
    }
    return 0;
}
