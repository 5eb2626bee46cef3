#include <forkline/ipc/region.hpp>

#include <sys/mman.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace forkline::ipc {

shared_region::shared_region(std::size_t bytes) : size_(bytes) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        throw std::system_error(errno, std::generic_category(),
                                "forkline: cannot map " + std::to_string(bytes) + " bytes of shared memory");
    data_ = static_cast<std::byte*>(p);
}

shared_region& shared_region::operator=(shared_region&& o) noexcept {
    if (this != &o) {
        this->~shared_region();
        data_ = std::exchange(o.data_, nullptr);
        size_ = std::exchange(o.size_, 0);
    }
    return *this;
}

shared_region::~shared_region() {
    if (data_) ::munmap(data_, size_);
}

}  // namespace forkline::ipc
