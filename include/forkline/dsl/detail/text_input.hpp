// The input of the text sources (read_lines, read_csv): files named by paths and globs, read
// with pread in blocks and seen as one byte range, their concatenation. A split is a range [begin, end) of
// it; it owns the records that *start* in it, so splits of any size lose, repeat or cut none.
#pragma once

#include <forkline/dsl/detail/protocol.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

namespace forkline::detail {

/// The files of a text source, expanded once (globs sorted by name), opened and stat'ed. Compiled in src/dsl.
class text_files {
public:
    /// Throws std::system_error naming the path for a file that cannot be opened, and
    /// std::runtime_error for a glob that matches nothing.
    text_files(const std::vector<std::string>& patterns, const char* who);
    text_files(const text_files&) = delete;
    text_files& operator=(const text_files&) = delete;
    ~text_files();

    std::size_t count() const noexcept { return files_.size(); }
    const std::string& path(std::size_t f) const noexcept { return files_[f].path; }
    /// Where file f starts in the concatenation, and its size.
    std::uint64_t start(std::size_t f) const noexcept { return files_[f].start; }
    std::uint64_t size(std::size_t f) const noexcept { return files_[f].size; }
    std::uint64_t total() const noexcept { return total_; }
    /// False when one of them is not a regular file (a pipe, a terminal): such input cannot be
    /// read at an offset or split, and is read as a stream by one reader.
    bool seekable() const noexcept { return seekable_; }
    /// The file descriptor of file f, opened on first call (streams are opened by their reader).
    int descriptor(std::size_t f);

private:
    struct file {
        std::string path;
        std::uint64_t start = 0, size = 0;
        int fd = -1;
    };
    std::vector<file> files_;
    std::uint64_t total_ = 0;
    bool seekable_ = true;
    const char* who_;
};

/// The bytes of the files `patterns` name, for the progress display: none when one cannot be
/// opened (the source says so when it runs) or is a stream.
std::optional<input_size> files_size(const std::vector<std::string>& patterns, const char* who) noexcept;

/// Where a record starts: its file and its byte offset there.
struct text_position {
    std::size_t file = 0;
    std::uint64_t offset = 0;
};

/// What the readers of a split share about one of its parts besides the claim counter
/// (read_csv: how its quotes stand and how many lines it had). Each field is written by one
/// reader before the flag that says so; `exit` by any, all of them finding the same.
struct split_part {
    std::atomic<std::uint8_t> known{0};  ///< 1: its quotes settle (settled_*); 2: scanned (end_from)
    std::uint8_t settled_state = 0;
    std::uint8_t end_from[3] = {};
    std::uint64_t settled_after = 0;
    std::atomic<std::uint8_t> exit{0};     ///< 0, or 1 + the state at its end once someone found it
    std::atomic<std::uint8_t> counted{0};  ///< `lines` is written
    std::uint64_t lines = 0;               ///< the line ends of the records read for it
};
struct split_table {
    static constexpr std::size_t max_parts = 1024;
    split_part parts[max_parts];
};

/// The block a cursor reads of the part [begin, end): up to 1 MiB (it stays in the core's cache),
/// smaller for a small part, at least 64 KiB.
inline std::size_t block_for(std::uint64_t begin, std::uint64_t end) noexcept {
    std::uint64_t want = end > begin ? end - begin + 4096 : 0;
    return static_cast<std::size_t>(want < (64u << 10) ? (64u << 10) : want > (1u << 20) ? (1u << 20) : want);
}

/// Bytes of a file read into a buffer of its own with pread, [start, limit): cheaper than
/// mapping the pages (no page faults, no page tables to fill and tear down), and the memory it
/// takes is its buffer, reused from one load to the next.
class file_span {
public:
    /// Holds [from, from + n) of file f, or what the file has of it; throws naming the file when
    /// it cannot be read or is shorter than it was when the source started.
    void load(text_files& files, std::size_t f, std::uint64_t from, std::size_t n);
    /// Byte `offset` of the file, for start() <= offset <= limit().
    const char* at(std::uint64_t offset) const noexcept { return buffer_.get() + (offset - start_); }
    std::uint64_t start() const noexcept { return start_; }
    std::uint64_t limit() const noexcept { return limit_; }
    /// Holds nothing (its buffer stays): for a move to another file.
    void clear() noexcept { start_ = limit_ = 0; }

private:
    std::unique_ptr<char[]> buffer_;
    std::size_t capacity_ = 0;
    std::uint64_t start_ = 0, limit_ = 0;
};

/// The line ends in [from, to) of file f.
std::uint64_t count_newlines(text_files& files, std::size_t f, std::uint64_t from, std::uint64_t to);

/// The 1-based line of `offset` in file f (counts the line ends before it: for error reports).
inline std::uint64_t line_number(text_files& files, std::size_t f, std::uint64_t offset) {
    return 1 + count_newlines(files, f, 0, offset);
}

/// "logs/a.txt:4986: " + what: an exception from the stages a reader runs, told where it was.
[[noreturn]] void throw_at(const std::string& file, std::uint64_t line, const char* what);

/// Runs body (which hands records to the stages of a split reader); an exception from those
/// stages comes out naming the file and line of the record being handled, from where().
template <class Where, class Body>
void naming_line(text_files& files, Where&& where, Body&& body) {
    try {
        body();
    } catch (const std::exception& e) {
        text_position p = where();
        throw_at(files.path(p.file), line_number(files, p.file, p.offset), e.what());
    }
}

/// The lines that start in [begin, end) of the concatenation, each without its "\n" (or "\r\n");
/// a last line without "\n" counts. The files are read with pread in blocks of up to 1 MiB; a
/// line is a view into the block, valid until the next call.
class line_cursor {
public:
    line_cursor(text_files& files, std::uint64_t begin, std::uint64_t end);

    bool next(std::string_view& line) {
        for (;;) {
            if (file_ >= files_->count() || files_->start(file_) + at_ >= end_) return false;
            if (at_ >= size_) {
                enter(file_ + 1, 0);
                continue;
            }
            if (at_ >= span_.limit()) [[unlikely]]
                span_.load(*files_, file_, at_, block_);
            const char* p = span_.at(at_);
            const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(span_.limit() - at_));
            if (!nl && span_.limit() < size_) [[unlikely]] {
                more();  // the line goes on past the block
                continue;
            }
            std::uint64_t stop = nl ? at_ + static_cast<std::uint64_t>(static_cast<const char*>(nl) - p) : size_;
            std::uint64_t len = stop - at_;
            if (len > 0 && p[len - 1] == '\r') --len;
            line = std::string_view(p, len);
            last_ = at_;
            at_ = nl ? stop + 1 : size_;
            ++number_;
            return true;
        }
    }
    /// Where the line last returned starts.
    text_position position() const noexcept { return {file_, last_}; }
    /// The number in its file of the line last returned: from 1 in each file the cursor enters
    /// at its start, and from `first` (number_from, before the first next) in the one it starts in.
    std::uint64_t number() const noexcept { return number_; }
    void number_from(std::uint64_t first) noexcept { number_ = first - 1; }
    /// Where the next line starts (the file's size when none of it is left).
    text_position next_position() const noexcept { return {file_, at_}; }
    line_cursor(const line_cursor&) = delete;
    line_cursor& operator=(const line_cursor&) = delete;

private:
    /// Moves to file f, at the first line start at or after `local`.
    void enter(std::size_t f, std::uint64_t local);
    /// Reads the line at at_ again from its start, in a block at least twice what it had.
    void more();

    text_files* files_;
    std::uint64_t end_;
    std::size_t file_ = 0, block_;
    file_span span_;
    std::uint64_t size_ = 0, at_ = 0, last_ = 0, number_ = 0;
};

/// Reads a stream that cannot be read at an offset (a pipe) in large blocks and splits it into lines.
class line_reader {
public:
    line_reader(int fd, std::string path);
    line_reader(const line_reader&) = delete;
    line_reader& operator=(const line_reader&) = delete;
    ~line_reader();
    /// The next line, valid until the next call; false at the end of the stream.
    bool next(std::string_view& line);
    /// The offset in the stream of the line last returned.
    std::uint64_t offset() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Numbering the lines of a split read_lines: a reader that claims a part of the concatenation
/// first counts its line ends in the last file it reaches into (count_part) and publishes them;
/// a part's first line is numbered from those of the parts before it in its file, which were
/// claimed, so counted, first (first_number waits for them).
void count_part(text_files& files, split_part& slot, std::uint64_t begin, std::uint64_t end);
std::uint64_t first_number(text_files& files, const split_part* table, std::uint64_t chunk, std::size_t part,
                           const line_cursor& in, const std::atomic<std::uint32_t>* abort);

/// How a text source is cut into splits: `chunk` bytes each (the last one shorter), claimed one
/// at a time by the readers. `chunk` 0: about 32 parts a reader, from 1 MiB to 16 MiB each.
std::uint64_t split_bytes(std::uint64_t total, std::size_t readers, std::uint64_t chunk);

}  // namespace forkline::detail
