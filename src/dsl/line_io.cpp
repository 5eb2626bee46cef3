// Line input and output for read_lines and write_lines: large blocks, few system calls.
#include <forkline/dsl/read_lines.hpp>
#include <forkline/dsl/write_lines.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

namespace forkline::detail {

namespace {
constexpr std::size_t block = 1 << 20;

[[noreturn]] void fail(const char* what, const std::string& path) {
    throw std::system_error(errno, std::generic_category(), std::string(what) + " '" + path + "'");
}

int open_or_throw(const std::string& path, int flags, const char* what) {
    int fd;
    while ((fd = ::open(path.c_str(), flags | O_CLOEXEC, 0666)) < 0 && errno == EINTR) {
    }
    if (fd < 0) fail(what, path);
    return fd;
}
}  // namespace

struct line_reader::impl {
    std::string path;
    int fd = -1;
    std::vector<char> buf = std::vector<char>(block);
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
        if (n < 0) fail("forkline::read_lines: cannot read", path);
        if (n == 0) eof = true;
        end += static_cast<std::size_t>(n);
        return n > 0;
    }
};

line_reader::line_reader(const std::string& path) : impl_(std::make_unique<impl>()) {
    impl_->path = path;
    impl_->fd = open_or_throw(path, O_RDONLY, "forkline::read_lines: cannot open");
}

line_reader::~line_reader() {
    if (impl_->fd >= 0) ::close(impl_->fd);
}

bool line_reader::next(std::string& line) {
    impl& s = *impl_;
    std::size_t scanned = s.begin;
    for (;;) {
        const char* base = s.buf.data();
        const void* nl = std::memchr(base + scanned, '\n', s.end - scanned);
        if (nl) {
            std::size_t at = static_cast<const char*>(nl) - base;
            std::size_t len = at - s.begin;
            if (len > 0 && base[at - 1] == '\r') --len;
            line.assign(base + s.begin, len);
            s.begin = at + 1;
            return true;
        }
        std::size_t offset = s.end - s.begin;
        if (!s.refill()) {
            if (s.begin == s.end) return false;
            std::size_t len = s.end - s.begin;
            if (s.buf[s.end - 1] == '\r') --len;
            line.assign(s.buf.data() + s.begin, len);
            s.begin = s.end;
            return true;
        }
        scanned = s.begin + offset;
    }
}

struct line_writer::impl {
    std::string path;
    int fd = -1;
    std::vector<char> buf;

    void drain() {
        std::size_t done = 0;
        while (done < buf.size()) {
            ssize_t n = ::write(fd, buf.data() + done, buf.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) fail("forkline::write_lines: cannot write", path);
            done += static_cast<std::size_t>(n);
        }
        buf.clear();
    }
};

line_writer::line_writer(const std::string& path) : impl_(std::make_unique<impl>()) {
    impl_->path = path;
    impl_->fd = open_or_throw(path, O_WRONLY | O_CREAT | O_TRUNC, "forkline::write_lines: cannot open");
    impl_->buf.reserve(block);
}

line_writer::line_writer(line_writer&&) noexcept = default;

line_writer::~line_writer() {
    if (impl_ && impl_->fd >= 0) ::close(impl_->fd);
}

void line_writer::write(std::string_view line) {
    auto& b = impl_->buf;
    b.insert(b.end(), line.begin(), line.end());
    b.push_back('\n');
    if (b.size() >= block) impl_->drain();
}

void line_writer::close() {
    impl_->drain();
    int fd = std::exchange(impl_->fd, -1);
    if (::close(fd) < 0) fail("forkline::write_lines: cannot close", impl_->path);
}

}  // namespace forkline::detail
