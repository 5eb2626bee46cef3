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
    for (auto& f : files_) {
        if (f.map) ::munmap(const_cast<char*>(f.map), f.size);
        if (f.fd >= 0) ::close(f.fd);
    }
}

const char* text_files::data(std::size_t i) {
    file& f = files_[i];
    if (f.map || f.size == 0) return f.map;
    void* p = ::mmap(nullptr, f.size, PROT_READ, MAP_PRIVATE, f.fd, 0);
    if (p == MAP_FAILED) fail(who_, "cannot map", f.path);
    ::madvise(p, f.size, MADV_SEQUENTIAL);
    f.map = static_cast<const char*>(p);
    return f.map;
}

void text_files::release(std::size_t i, std::uint64_t from, std::uint64_t to) noexcept {
    const file& f = files_[i];
    if (!f.map) return;
    std::uint64_t a = (from + page() - 1) / page() * page(), b = std::min(to, f.size) / page() * page();
    if (b > a) ::madvise(const_cast<char*>(f.map) + a, b - a, MADV_DONTNEED);
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
    const char* p = files.data(f);
    std::uint64_t n = 1;
    if (!p) return n;
    offset = std::min(offset, files.size(f));
    for (const char* q = p; (q = static_cast<const char*>(std::memchr(q, '\n', static_cast<std::size_t>(p + offset - q)))); ++q)
        ++n;
    return n;
}

line_cursor::line_cursor(text_files& files, std::uint64_t begin, std::uint64_t end) : files_(&files), end_(end) {
    std::size_t f = 0;
    while (f < files.count() && files.start(f) + files.size(f) <= begin) ++f;
    enter(f, f < files.count() ? begin - files.start(f) : 0);
}

void line_cursor::enter(std::size_t f, std::uint64_t local) {
    release();
    file_ = f;
    at_ = released_ = last_ = 0;
    base_ = nullptr;
    size_ = 0;
    if (f >= files_->count() || files_->start(f) >= end_) return;
    size_ = files_->size(f);
    base_ = files_->data(f);
    if (local > 0 && local < size_) {
        // A split that starts inside a line leaves it to the split before: the first line of
        // this one starts after the first line end at or after the byte before `local`.
        const void* nl = std::memchr(base_ + local - 1, '\n', size_ - (local - 1));
        local = nl ? static_cast<std::uint64_t>(static_cast<const char*>(nl) - base_) + 1 : size_;
    }
    at_ = released_ = std::min(local, size_);
}

void line_cursor::release() noexcept {
    if (base_ && at_ > released_) {
        files_->release(file_, released_, at_);
        released_ = at_;
    }
}

std::uint64_t split_bytes(std::uint64_t total, std::size_t readers, std::uint64_t chunk) {
    if (chunk) return chunk;
    std::uint64_t want = total / (8 * std::max<std::size_t>(readers, 1));
    return std::clamp<std::uint64_t>(want, 1u << 20, 64u << 20);
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
