// Line output for write_lines: large blocks, few system calls.
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
