// One anonymous shared mapping (MAP_SHARED|MAP_ANONYMOUS): visible to the children forked after it
// is made, invisible to everyone else, and gone with the last process that maps it, so nothing can
// be left behind in /dev/shm.
#pragma once

#include <cstddef>

namespace forkline::ipc {

/// An anonymous shared memory region, zero-filled. Movable, not copyable.
/// Throws std::system_error when the mapping fails.
class shared_region {
public:
    shared_region() = default;
    explicit shared_region(std::size_t bytes);
    shared_region(shared_region&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr; o.size_ = 0; }
    shared_region& operator=(shared_region&& o) noexcept;
    ~shared_region();

    std::byte* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }

private:
    std::byte* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace forkline::ipc
