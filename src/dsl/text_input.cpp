// The text sources' input: globs expanded, files read in blocks with pread, splits found, streams
// read in blocks.
#include <forkline/dsl/detail/text_input.hpp>
#include <forkline/ipc/waiter.hpp>

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace forkline::detail {

namespace {

[[noreturn]] void fail(const char* who, const char* what, const std::string& path) {
    throw std::system_error(errno, std::generic_category(), std::string(who) + ": " + what + " '" + path + "'");
}

bool is_glob(const std::string& p) { return p.find_first_of("*?[") != std::string::npos; }

}  // namespace

text_files::text_files(const std::vector<std::string>& patterns, const char* who) : who_(who) {
    for (const auto& pattern : patterns) {
        if (!is_glob(pattern)) {
            files_.push_back({pattern});
            continue;
        }
        glob_t g{};
        int rc = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
        if (rc == GLOB_NOMATCH) {
            ::globfree(&g);
            throw std::runtime_error(std::string(who) + ": no file matches '" + pattern + "'");
        }
        if (rc != 0) {
            ::globfree(&g);
            fail(who, "cannot expand", pattern);
        }
        for (std::size_t i = 0; i < g.gl_pathc; ++i) files_.push_back({g.gl_pathv[i]});
        ::globfree(&g);
    }
    for (std::size_t i = 0; i < files_.size(); ++i) {
        auto& f = files_[i];
        // Streams (pipes) are opened only by the reader that reads them: opening a pipe waits
        // for its writer, and one that has come and gone would never return.
        struct stat st{};
        if (::stat(f.path.c_str(), &st) != 0) fail(who, "cannot open", f.path);
        if (S_ISDIR(st.st_mode)) {
            errno = EISDIR;
            fail(who, "cannot read", f.path);
        }
        if (S_ISREG(st.st_mode)) {
            descriptor(i);
            if (::fstat(f.fd, &st) != 0) fail(who, "cannot read", f.path);
        } else {
            seekable_ = false;
        }
        f.start = total_;
        f.size = S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0;
        total_ += f.size;
    }
}

std::optional<input_size> files_size(const std::vector<std::string>& patterns, const char* who) noexcept {
    try {
        text_files files(patterns, who);
        if (!files.seekable()) return std::nullopt;
        return input_size{files.total(), true};
    } catch (...) {
        return std::nullopt;
    }
}

text_files::~text_files() {
    for (auto& f : files_)
        if (f.fd >= 0) ::close(f.fd);
}

void file_span::load(text_files& files, std::size_t f, std::uint64_t from, std::size_t n) {
    std::uint64_t size = files.size(f);
    from = std::min(from, size);
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, size - from));
    if (n > capacity_) {
        buffer_.reset(new char[n]);
        capacity_ = n;
    }
    start_ = limit_ = from;
    int fd = files.descriptor(f);
    for (std::size_t got = 0; got < n;) {
        ssize_t r = ::pread(fd, buffer_.get() + got, n - got, static_cast<off_t>(from + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) fail("forkline", "cannot read", files.path(f));
        if (r == 0) throw std::runtime_error("forkline: '" + files.path(f) + "' became shorter while it was read");
        got += static_cast<std::size_t>(r);
    }
    limit_ = from + n;
}

int text_files::descriptor(std::size_t i) {
    file& f = files_[i];
    if (f.fd >= 0) return f.fd;
    while ((f.fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC)) < 0 && errno == EINTR) {
    }
    if (f.fd < 0) fail(who_, "cannot open", f.path);
    return f.fd;
}

std::uint64_t count_newlines(text_files& files, std::size_t f, std::uint64_t from, std::uint64_t to) {
    std::uint64_t n = 0;
    to = std::min(to, files.size(f));
    file_span span;
    for (std::uint64_t at = from; at < to; at = span.limit()) {
        span.load(files, f, at, static_cast<std::size_t>(std::min<std::uint64_t>(to - at, 1u << 20)));
        n += static_cast<std::uint64_t>(std::count(span.at(at), span.at(span.limit()), '\n'));
    }
    return n;
}

void count_part(text_files& files, split_part& slot, std::uint64_t begin, std::uint64_t end) {
    // The file that holds the part's last byte, and the part's line ends in it.
    std::size_t f = 0;
    while (f + 1 < files.count() && files.start(f) + files.size(f) < end) ++f;
    std::uint64_t from = std::max(begin, files.start(f)) - files.start(f);
    slot.lines = end > begin ? count_newlines(files, f, from, end - files.start(f)) : 0;
    slot.counted.store(1, std::memory_order_release);
}

std::uint64_t first_number(text_files& files, const split_part* table, std::uint64_t chunk, std::size_t part,
                           const line_cursor& in, const std::atomic<std::uint32_t>* abort) {
    text_position next = in.next_position();
    if (next.file >= files.count() || next.offset >= files.size(next.file)) return 1;  // no line of it here
    const std::uint64_t file_start = files.start(next.file), begin = part * chunk;
    // The line ends before the part in its file, then the one it skipped to reach its first line.
    std::uint64_t before = 0;
    for (std::size_t k = part; k-- > 0 && (k + 1) * chunk > file_start;) {
        for (std::uint64_t spins = 0; !table[k].counted.load(std::memory_order_acquire);) {
            if (abort && abort->load(std::memory_order_relaxed)) throw ipc::aborted{};
            if (++spins > 64) std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
        before += table[k].lines;
    }
    return 1 + before + (next.offset > begin - file_start ? 1 : 0);
}

void throw_at(const std::string& file, std::uint64_t line, const char* what) {
    throw std::runtime_error(file + ":" + std::to_string(line) + ": " + what);
}

line_cursor::line_cursor(text_files& files, std::uint64_t begin, std::uint64_t end) : files_(&files), end_(end) {
    block_ = block_for(begin, end);
    std::size_t f = 0;
    while (f < files.count() && files.start(f) + files.size(f) <= begin) ++f;
    enter(f, f < files.count() ? begin - files.start(f) : 0);
}

void line_cursor::enter(std::size_t f, std::uint64_t local) {
    file_ = f;
    span_.clear();
    at_ = last_ = size_ = number_ = 0;
    if (f >= files_->count() || files_->start(f) >= end_) return;
    size_ = files_->size(f);
    if (local >= size_) {
        at_ = size_;
        return;
    }
    if (local > 0) {
        // A split that starts inside a line leaves it to the split before: the first line of
        // this one starts after the first line end at or after the byte before `local`.
        std::uint64_t from = local - 1;
        for (;;) {
            span_.load(*files_, f, from, block_);
            const char* p = span_.at(from);
            if (const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(span_.limit() - from))) {
                local = from + static_cast<std::uint64_t>(static_cast<const char*>(nl) - p) + 1;
                break;
            }
            from = span_.limit();
            if (from >= size_) {
                local = size_;
                break;
            }
        }
    }
    at_ = local;
}

void line_cursor::more() { span_.load(*files_, file_, at_, std::max<std::size_t>(block_, 2 * (span_.limit() - at_))); }

std::uint64_t split_bytes(std::uint64_t total, std::size_t readers, std::uint64_t chunk) {
    if (chunk) return chunk;
    // Small enough that the readers end close together (the last part is the one a reader may
    // wait on), large enough that claiming one costs nothing next to reading it.
    std::uint64_t want = total / (32 * std::max<std::size_t>(readers, 1));
    return std::clamp<std::uint64_t>(want, 1u << 20, 16u << 20);
}

struct line_reader::impl {
    int fd;
    std::string path;
    std::vector<char> buf = std::vector<char>(1 << 20);
    std::size_t begin = 0, end = 0;
    std::uint64_t dropped = 0, last = 0;  // bytes of the stream before buf; the last line's offset
    bool eof = false;

    /// Moves the unread tail to the front and reads more; false when nothing more comes.
    bool refill() {
        if (eof) return false;
        if (begin > 0) {
            dropped += begin;
            std::memmove(buf.data(), buf.data() + begin, end - begin);
            end -= begin;
            begin = 0;
        }
        if (end == buf.size()) buf.resize(buf.size() * 2);  // a line longer than the buffer
        ssize_t n;
        while ((n = ::read(fd, buf.data() + end, buf.size() - end)) < 0 && errno == EINTR) {
        }
        if (n < 0) fail("forkline::read_lines", "cannot read", path);
        if (n == 0) eof = true;
        end += static_cast<std::size_t>(n);
        return n > 0;
    }
};

line_reader::line_reader(int fd, std::string path) : impl_(std::make_unique<impl>()) {
    impl_->fd = fd;
    impl_->path = std::move(path);
}

line_reader::~line_reader() = default;

std::uint64_t line_reader::offset() const noexcept { return impl_->last; }

bool line_reader::next(std::string_view& line) {
    impl& s = *impl_;
    std::size_t scanned = s.begin;
    for (;;) {
        const char* base = s.buf.data();
        const void* nl = std::memchr(base + scanned, '\n', s.end - scanned);
        if (nl) {
            std::size_t at = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
            std::size_t len = at - s.begin;
            if (len > 0 && base[at - 1] == '\r') --len;
            line = std::string_view(base + s.begin, len);
            s.last = s.dropped + s.begin;
            s.begin = at + 1;
            return true;
        }
        std::size_t offset = s.end - s.begin;
        if (!s.refill()) {
            if (s.begin == s.end) return false;
            std::size_t len = s.end - s.begin;
            if (s.buf[s.end - 1] == '\r') --len;
            line = std::string_view(s.buf.data() + s.begin, len);
            s.last = s.dropped + s.begin;
            s.begin = s.end;
            return true;
        }
        scanned = s.begin + offset;
    }
}

}  // namespace forkline::detail
