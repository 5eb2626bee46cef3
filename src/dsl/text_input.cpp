// The text sources' input: globs expanded, files mapped, splits found, streams read in blocks.
#include <forkline/dsl/detail/text_input.hpp>

#include <fcntl.h>
#include <glob.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace forkline::detail {

namespace {

[[noreturn]] void fail(const char* who, const char* what, const std::string& path) {
    throw std::system_error(errno, std::generic_category(), std::string(who) + ": " + what + " '" + path + "'");
}

bool is_glob(const std::string& p) { return p.find_first_of("*?[") != std::string::npos; }

std::uint64_t page() {
    static const std::uint64_t size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

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
            mappable_ = false;
        }
        f.start = total_;
        f.size = S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0;
        total_ += f.size;
    }
}

text_files::~text_files() {
    for (auto& f : files_)
        if (f.fd >= 0) ::close(f.fd);
}

file_window::file_window(text_files& files, std::size_t f, std::uint64_t from) {
    start_ = from / page() * page();
    if (start_ >= files.size(f)) return;
    length_ = files.size(f) - start_;
    void* p = ::mmap(nullptr, length_, PROT_READ, MAP_PRIVATE, files.descriptor(f), static_cast<off_t>(start_));
    if (p == MAP_FAILED) {
        length_ = 0;
        fail("forkline", "cannot map", files.path(f));
    }
    ::madvise(p, length_, MADV_SEQUENTIAL);
    map_ = static_cast<const char*>(p);
}

file_window::~file_window() {
    if (map_) ::munmap(const_cast<char*>(map_), length_);
}

void file_window::release(std::uint64_t from, std::uint64_t to) noexcept {
    if (!map_ || to <= from) return;
    // Whole pages, from the one `from` is in to the last that ends by `to`.
    std::uint64_t a = (std::max(from, start_) - start_) / page() * page(), b = (to - start_) / page() * page();
    if (b > a) ::madvise(const_cast<char*>(map_) + a, b - a, MADV_DONTNEED);
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

std::uint64_t line_number(text_files& files, std::size_t f, std::uint64_t offset) {
    std::uint64_t n = 1;
    offset = std::min(offset, files.size(f));
    if (offset == 0) return n;
    file_window w(files, f, 0);
    const char* p = w.at(0);
    for (const char* q = p; (q = static_cast<const char*>(std::memchr(q, '\n', static_cast<std::size_t>(p + offset - q)))); ++q)
        ++n;
    return n;
}

void throw_at(const std::string& file, std::uint64_t line, const char* what) {
    throw std::runtime_error(file + ":" + std::to_string(line) + ": " + what);
}

line_cursor::line_cursor(text_files& files, std::uint64_t begin, std::uint64_t end) : files_(&files), end_(end) {
    std::size_t f = 0;
    while (f < files.count() && files.start(f) + files.size(f) <= begin) ++f;
    enter(f, f < files.count() ? begin - files.start(f) : 0);
}

void line_cursor::enter(std::size_t f, std::uint64_t local) {
    win_ = file_window();  // unmapped: its pages go
    file_ = f;
    at_ = released_ = last_ = size_ = 0;
    if (f >= files_->count() || files_->start(f) >= end_) return;
    size_ = files_->size(f);
    if (local >= size_) {
        at_ = size_;
        return;
    }
    win_ = file_window(*files_, f, local > 0 ? local - 1 : 0);
    if (local > 0) {
        // A split that starts inside a line leaves it to the split before: the first line of
        // this one starts after the first line end at or after the byte before `local`.
        const char* p = win_.at(local - 1);
        const void* nl = std::memchr(p, '\n', size_ - (local - 1));
        local = nl ? local + static_cast<std::uint64_t>(static_cast<const char*>(nl) - p) : size_;
    }
    at_ = released_ = local;
}

void line_cursor::release() noexcept {
    win_.release(released_, at_);
    released_ = at_;
}

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
    bool eof = false;

    /// Moves the unread tail to the front and reads more; false when nothing more comes.
    bool refill() {
        if (eof) return false;
        if (begin > 0) {
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
            s.begin = at + 1;
            return true;
        }
        std::size_t offset = s.end - s.begin;
        if (!s.refill()) {
            if (s.begin == s.end) return false;
            std::size_t len = s.end - s.begin;
            if (s.buf[s.end - 1] == '\r') --len;
            line = std::string_view(s.buf.data() + s.begin, len);
            s.begin = s.end;
            return true;
        }
        scanned = s.begin + offset;
    }
}

}  // namespace forkline::detail
