// The CSV tokenizer of fl::read_csv (compiled in src/dsl): RFC 4180 records (quoted fields,
// doubled quotes, delimiters and line ends inside quotes, CRLF or LF), read from a part of a
// file that may start anywhere, even inside a quoted field.
//
// How a split stays correct: whether a byte is inside quotes depends on every quote before it.
// A reader follows the quotes at the start of its part from each state the part may start in
// (outside quotes, inside, or inside right after the first quote of a pair); in real files these
// ways meet within a record or two, and from there on the state is known without looking back.
// The records of a part start at the first line end outside quotes after that point, and the part
// before reads up to there. A part whose quotes do not settle near its start (a file without
// quotes, a field longer than the probe) gets a first pass over all its quotes instead, and its
// state is chained from the parts before it, back to one that settled or to the file's start.
#pragma once

#include <forkline/dsl/detail/text_input.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
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

/// The first pass over [begin, end) of file f: the state it ends in for each state it may start in.
struct csv_part_scan {
    csv_state end_from[3];
};
csv_part_scan csv_scan(text_files& files, std::size_t f, std::uint64_t begin, std::uint64_t end, csv_format fmt);

/// Where the quotes after `begin` settle: from `after` on, the state is `state` whichever state
/// the file had at `begin`. Looks no further than csv_probe_bytes or `end`; `met` false if they
/// do not settle there.
struct csv_settled {
    bool met = false;
    std::uint64_t after = 0;
    csv_state state = csv_state::outside;
};
inline constexpr std::uint64_t csv_probe_bytes = 64u << 10;
csv_settled csv_settle(text_files& files, std::size_t f, std::uint64_t begin, std::uint64_t end, csv_format fmt);

/// The state at `end`, the state at `from` being `state`.
csv_state csv_follow(text_files& files, std::size_t f, std::uint64_t from, std::uint64_t end, csv_state state,
                     csv_format fmt);

/// The first record that starts at or after `from` (the state there being `state`): its offset,
/// and the line ends before it from `from`. The file's size when none does.
struct csv_start {
    std::uint64_t offset = 0, newlines = 0;
};
csv_start csv_record_start(text_files& files, std::size_t f, std::uint64_t from, csv_state state, csv_format fmt);

/// One record: its fields (views into the cursor's buffer, or into its scratch for fields that
/// had doubled quotes or text after their closing quote), where it starts, and why it cannot be read.
struct csv_record {
    std::vector<std::string_view> fields;
    std::uint64_t line = 0;    ///< the cursor's count of line ends before it, plus the line it began with
    std::uint64_t offset = 0;  ///< its first byte in its file
    const char* error = nullptr;  ///< "a quote is never closed", or null
};

/// The records of file f from `start` (the start of a record) that start before `end`. The file
/// is read with pread in blocks; a record that runs past a block is read again from its start.
class csv_cursor {
public:
    csv_cursor(text_files& files, std::size_t f, std::uint64_t start, std::uint64_t end, std::uint64_t line,
               csv_format fmt);
    csv_cursor(const csv_cursor&) = delete;
    csv_cursor& operator=(const csv_cursor&) = delete;
    /// The next record; false when none starts before `end`. Views are valid until the next call.
    bool next(csv_record& r);
    /// `line` plus the line ends of the records read so far.
    std::uint64_t line() const noexcept { return line_; }
    /// Where the next record starts (past `end` once next has said false).
    std::uint64_t offset() const noexcept { return at_; }

private:
    enum class parsed { record, more };
    parsed parse(csv_record& r);

    text_files* files_;
    std::size_t file_;
    file_span span_;
    std::uint64_t size_, at_, end_, line_;
    std::size_t block_;
    csv_format fmt_;
    std::string scratch_;
    struct built_field {
        std::size_t index, start, length;
    };
    std::vector<built_field> built_;  ///< the fields of the record that live in scratch_
};

/// The parts of a split of CSV files (none spans two files, each file having its own header and
/// lines), and what their readers learn of them through the run's split table.
class csv_split {
public:
    struct part {
        std::size_t file;
        std::uint64_t begin, end;
    };
    /// Where a part's records are: those that start in [start, stop).
    struct bounds {
        std::uint64_t start, stop;
    };

    /// Parts of `chunk` bytes (0: about 32 for each reader, 1 to 4 MiB), at most `slots`.
    csv_split(text_files& files, csv_format fmt, std::size_t readers, std::uint64_t chunk, split_part* table,
              std::size_t slots, const std::atomic<std::uint32_t>* abort);
    std::size_t count() const noexcept { return parts_.size(); }
    const part& operator[](std::size_t p) const noexcept { return parts_[p]; }

    /// The first thing a reader does with the part it claimed: where its records start (which
    /// it tells the others) and stop. Waits only for parts before it whose quotes do not settle.
    bounds enter(std::size_t p);
    /// The part's records are read, with `lines` line ends between its start and stop.
    void read(std::size_t p, std::uint64_t lines);
    /// The line (1-based, in its file) of the part's start, once the parts before it are read.
    std::optional<std::uint64_t> first_line(std::size_t p) const;

private:
    std::uint64_t stop_of(std::size_t next);
    csv_state state_at(std::size_t p);
    void wait_known(std::size_t p) const;

    text_files* files_;
    csv_format fmt_;
    std::vector<part> parts_;
    split_part* table_;
    const std::atomic<std::uint32_t>* abort_;
};

}  // namespace forkline::detail
