// The input of the text sources (read_lines, read_csv): files named by paths and globs, mapped
// read-only and seen as one byte range, their concatenation. A split is a range [begin, end) of
// it; it owns the records that *start* in it, so splits of any size lose, repeat or cut none.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

namespace forkline::detail {

/// The files of a text source, expanded once (globs sorted by name), stat'ed and mapped on first
/// use. Compiled in src/dsl.
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
    /// mapped or split, and is read as a stream by one reader.
    bool mappable() const noexcept { return mappable_; }
    /// The file descriptor of file f, opened on first call (for streams that cannot be mapped).
    int descriptor(std::size_t f);

private:
    struct file {
        std::string path;
        std::uint64_t start = 0, size = 0;
        int fd = -1;
    };
    std::vector<file> files_;
    std::uint64_t total_ = 0;
    bool mappable_ = true;
    const char* who_;
};

/// Where a record starts: its file and its byte offset there.
struct text_position {
    std::size_t file = 0;
    std::uint64_t offset = 0;
};

/// The bytes of a file from an offset to its end, mapped read-only while this lives. Unmapping
/// gives every page back, also those the kernel mapped ahead of what was read; `release` lets
/// the pages already read go before that (they are read again if touched).
class file_window {
public:
    file_window() = default;
    /// Maps [from, end of file) of file f (from the page `from` is in); throws naming the file.
    file_window(text_files& files, std::size_t f, std::uint64_t from);
    file_window(file_window&& o) noexcept { swap(o); }
    file_window& operator=(file_window&& o) noexcept {
        swap(o);
        return *this;
    }
    ~file_window();
    /// Byte `offset` of the file (offset >= the `from` it was made with).
    const char* at(std::uint64_t offset) const noexcept { return map_ + (offset - start_); }
    void release(std::uint64_t from, std::uint64_t to) noexcept;

private:
    void swap(file_window& o) noexcept {
        std::swap(map_, o.map_);
        std::swap(start_, o.start_);
        std::swap(length_, o.length_);
    }
    const char* map_ = nullptr;
    std::uint64_t start_ = 0, length_ = 0;
};


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

private:
    std::unique_ptr<char[]> buffer_;
    std::size_t capacity_ = 0;
    std::uint64_t start_ = 0, limit_ = 0;
};

/// The 1-based line of `offset` in file f (counts the line ends before it: for error reports).
std::uint64_t line_number(text_files& files, std::size_t f, std::uint64_t offset);

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
/// a last line without "\n" counts. Views into the mapped file, valid until the cursor moves to
/// another file or goes.
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
            const char* p = win_.at(at_);
            const void* nl = std::memchr(p, '\n', size_ - at_);
            std::uint64_t stop = nl ? at_ + static_cast<std::uint64_t>(static_cast<const char*>(nl) - p) : size_;
            std::uint64_t len = stop - at_;
            if (len > 0 && p[len - 1] == '\r') --len;
            line = std::string_view(p, len);
            last_ = at_;
            at_ = nl ? stop + 1 : size_;
            if (at_ - released_ >= release_every) [[unlikely]]
                release();
            return true;
        }
    }
    /// Where the line last returned starts.
    text_position position() const noexcept { return {file_, last_}; }
    line_cursor(const line_cursor&) = delete;
    line_cursor& operator=(const line_cursor&) = delete;

private:
    static constexpr std::uint64_t release_every = 8u << 20;
    /// Moves to file f, at the first line start at or after `local`.
    void enter(std::size_t f, std::uint64_t local);
    void release() noexcept;

    text_files* files_;
    std::uint64_t end_;
    std::size_t file_ = 0;
    file_window win_;
    std::uint64_t size_ = 0, at_ = 0, last_ = 0, released_ = 0;
};

/// Reads a stream that cannot be mapped (a pipe) in large blocks and splits it into lines.
class line_reader {
public:
    line_reader(int fd, std::string path);
    line_reader(const line_reader&) = delete;
    line_reader& operator=(const line_reader&) = delete;
    ~line_reader();
    /// The next line, valid until the next call; false at the end of the stream.
    bool next(std::string_view& line);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
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

/// How a text source is cut into splits: `chunk` bytes each (the last one shorter), claimed one
/// at a time by the readers. `chunk` 0: about 32 parts a reader, from 1 MiB to 16 MiB each.
std::uint64_t split_bytes(std::uint64_t total, std::size_t readers, std::uint64_t chunk);

}  // namespace forkline::detail
