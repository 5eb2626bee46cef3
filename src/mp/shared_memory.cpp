// fl::shared_memory: shm_open'ed segments named forkline.NAME.
#include <forkline/mp/shared_memory.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace forkline {

namespace {

/// The name shm_open takes: "/forkline.NAME". Errors: std::invalid_argument for a bad name.
std::string shm_name(const std::string& name, const char* who) {
    if (name.empty()) throw std::invalid_argument(std::string(who) + ": the name is empty");
    if (name.find('/') != std::string::npos || name.size() > 200)
        throw std::invalid_argument(std::string(who) + ": the name '" + name +
                                    "' must have no '/' and at most 200 characters");
    return "/forkline." + name;
}

[[noreturn]] void fail(int err, const std::string& what) { throw std::system_error(err, std::generic_category(), what); }

/// Closes a descriptor at the end of a scope.
struct fd_guard {
    int fd;
    ~fd_guard() { ::close(fd); }
};

std::byte* map(int fd, std::size_t size, const std::string& what) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) fail(errno, what + ": cannot map it");
    return static_cast<std::byte*>(p);
}

}  // namespace

shared_memory::shared_memory(std::string name, std::size_t size) : name_(std::move(name)) {
    const char* who = "forkline::shared_memory(name, size)";
    std::string shm = shm_name(name_, who);
    if (size == 0) throw std::invalid_argument(std::string(who) + ": the size of '" + name_ + "' is 0");
    const std::string what = std::string(who) + ": '" + name_ + "' (" + path() + ")";
    int fd = ::shm_open(shm.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) fail(errno, errno == EEXIST ? what + " exists already" : what + ": cannot create it");
    fd_guard g{fd};
    try {
        // Reserved now (not on first touch), so a /dev/shm too small fails here, not with SIGBUS later.
        if (int err = ::posix_fallocate(fd, 0, static_cast<off_t>(size)))
            fail(err, what + ": cannot make it " + std::to_string(size) + " bytes");
        data_ = map(fd, size, what);
    } catch (...) {
        ::shm_unlink(shm.c_str());
        throw;
    }
    size_ = size;
}

shared_memory::shared_memory(std::string name) : name_(std::move(name)) {
    const char* who = "forkline::shared_memory(name)";
    std::string shm = shm_name(name_, who);
    const std::string what = std::string(who) + ": '" + name_ + "' (" + path() + ")";
    int fd = ::shm_open(shm.c_str(), O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) fail(errno, errno == ENOENT ? what + " does not exist" : what + ": cannot open it");
    fd_guard g{fd};
    struct stat st {};
    if (::fstat(fd, &st) < 0) fail(errno, what + ": cannot read its size");
    if (st.st_size == 0) fail(ENODATA, what + " is empty: its creator has not sized it (yet)");
    data_ = map(fd, static_cast<std::size_t>(st.st_size), what);
    size_ = static_cast<std::size_t>(st.st_size);
}

shared_memory::shared_memory(shared_memory&& o) noexcept
    : name_(std::move(o.name_)), data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

shared_memory& shared_memory::operator=(shared_memory&& o) noexcept {
    if (this != &o) {
        close();
        name_ = std::move(o.name_);
        data_ = std::exchange(o.data_, nullptr);
        size_ = std::exchange(o.size_, 0);
    }
    return *this;
}

shared_memory::~shared_memory() { close(); }

void shared_memory::close() noexcept {
    if (data_) ::munmap(data_, size_);
    data_ = nullptr;
    size_ = 0;
}

void shared_memory::unlink() {
    if (::shm_unlink(shm_name(name_, "forkline::shared_memory::unlink").c_str()) < 0)
        fail(errno, "forkline::shared_memory::unlink: '" + name_ + "' (" + path() + ")");
}

bool shared_memory::remove(const std::string& name) {
    if (::shm_unlink(shm_name(name, "forkline::shared_memory::remove").c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    fail(errno, "forkline::shared_memory::remove: '" + name + "' (" + path_of(name) + ")");
}

}  // namespace forkline
