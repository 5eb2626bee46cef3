// The CSV tokenizer of fl::read_csv (compiled in src/dsl): RFC 4180 records (quoted fields,
// doubled quotes, delimiters and line ends inside quotes, CRLF or LF), read from a part of a
// file that may start anywhere, even inside a quoted field.
//
// How a split stays correct: whether a byte is inside quotes depends on every quote before it.
// A first pass over each part follows only its quotes (memchr: fast when quotes are few) and
// records, for each state the part may start in, the state it ends in, and its line ends; the
// readers then chain those to learn the state and the line number at every part's start.
#pragma once

#include <forkline/dsl/detail/text_input.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace forkline::detail {

struct csv_format {
    char delimiter = ',';
    char quote = '"';
};

/// Where the tokenizer stands between two bytes: outside quotes, inside, or inside right after a
/// quote whose pair (a doubled quote) is the next byte.
enum class csv_state : std::uint8_t { outside, inside, pair };

/// The first pass over [begin, end) of file f: the state it ends in for each state it may start
/// in, and its line ends.
struct csv_part_scan {
    csv_state end_from[3];
    std::uint64_t newlines = 0;
};
csv_part_scan csv_scan(file_window& w, const text_files& files, std::size_t f, std::uint64_t begin,
                       std::uint64_t end, csv_format fmt);

/// One record: its fields (views into the file, or into the cursor for fields that had doubled
/// quotes or text after their closing quote), where it starts, and why it cannot be read.
struct csv_record {
    std::vector<std::string_view> fields;
    std::uint64_t line = 0;    ///< 1-based line of its file where it starts
    std::uint64_t offset = 0;  ///< its first byte in its file
    const char* error = nullptr;  ///< "a quote is never closed", or null
};

/// The records of file f that start in [begin, end), `state` and `line` being those at begin.
class csv_cursor {
public:
    csv_cursor(text_files& files, std::size_t f, std::uint64_t begin, std::uint64_t end, csv_state state,
               std::uint64_t line, csv_format fmt);
    csv_cursor(const csv_cursor&) = delete;
    csv_cursor& operator=(const csv_cursor&) = delete;
    /// The next record; false when none starts before `end`. Views are valid until the next call.
    bool next(csv_record& r);

private:
    file_window win_;
    std::uint64_t size_, at_, end_, line_;
    csv_format fmt_;
    std::string scratch_;
    struct built_field {
        std::size_t index, start, length;
    };
    std::vector<built_field> built_;  ///< the fields of the record that live in scratch_
    std::uint64_t released_ = 0;
};

}  // namespace forkline::detail
