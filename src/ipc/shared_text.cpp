#include <forkline/ipc/shared_text.hpp>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace forkline::ipc {

shared_text::shared_text() : fd_(::memfd_create("forkline-text", MFD_CLOEXEC)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "forkline: cannot make a memory file");
}

shared_text& shared_text::operator=(shared_text&& o) noexcept {
    if (this != &o) {
        this->~shared_text();
        fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
}

shared_text::~shared_text() {
    if (fd_ >= 0) ::close(fd_);
}

bool shared_text::write(std::string_view text) const noexcept {
    // The length is the file's: a reader never sees more than one write's bytes.
    if (::ftruncate(fd_, 0) != 0) return false;
    return write_at(0, text);
}

bool shared_text::write_at(std::uint64_t offset, std::string_view text) const noexcept {
    for (std::size_t at = 0; at < text.size();) {
        ssize_t n = ::pwrite(fd_, text.data() + at, text.size() - at, static_cast<off_t>(offset + at));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        at += static_cast<std::size_t>(n);
    }
    return true;
}

std::string shared_text::read() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return {};
    std::string out(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t at = 0;
    while (at < out.size()) {
        ssize_t n = ::pread(fd_, out.data() + at, out.size() - at, static_cast<off_t>(at));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        at += static_cast<std::size_t>(n);
    }
    out.resize(at);
    return out;
}

}  // namespace forkline::ipc
