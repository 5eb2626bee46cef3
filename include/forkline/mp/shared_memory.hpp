// fl::shared_memory: a block of memory with a name, which separately started programs attach to,
// as Python's multiprocessing.shared_memory.SharedMemory.
#pragma once

#include <forkline/mp/detail/segment.hpp>

#include <cstddef>
#include <span>
#include <string>

namespace forkline {

/// A named block of shared memory: /dev/shm/forkline.NAME, mode 0600 (the creating user only).
/// fl::shared_memory(name, size) creates it, zero-filled, its memory reserved at once;
/// fl::shared_memory(name) attaches to one that exists, made by this program or another. Like a file, it lasts until unlink() (or
/// fl::shared_memory::remove(name), or `forkline-shm remove`), whoever made it and whether or not
/// anyone still maps it; close() only unmaps it here (the destructor does that). Holds bytes: put
/// only trivially copyable data without pointers in it (another program maps it elsewhere).
/// Movable, not copyable.
///
/// Example:
///     fl::shared_memory shm("frame", 1 << 20);               // program A
///     std::memcpy(shm.data(), pixels, n);
///     fl::shared_memory view("frame");                       // program B
///     use(view.buf());  ... view.close(); view.unlink();
/// Errors: std::invalid_argument for an empty name, one with '/', or a size of 0;
/// std::system_error with std::errc::file_exists when creating a name that exists,
/// std::errc::no_such_file_or_directory when attaching one that doesn't, std::errc::no_message_
/// available (ENODATA) when attaching one whose creator has not sized it yet, others from the system.
class shared_memory {
public:
    shared_memory(std::string name, std::size_t size);
    explicit shared_memory(std::string name);
    shared_memory(shared_memory&& o) noexcept;
    shared_memory& operator=(shared_memory&& o) noexcept;
    ~shared_memory();

    std::byte* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    std::span<std::byte> buf() const noexcept { return {data_, size_}; }
    const std::string& name() const noexcept { return name_; }
    /// Where the system keeps it: "/dev/shm/forkline.NAME".
    std::string path() const { return path_of(name_); }

    /// Unmaps it in this process (data() is then null); the segment stays.
    void close() noexcept;
    /// Removes the name: nobody can attach any more, and the memory goes once nobody maps it.
    /// Errors: std::system_error when it was removed already.
    void unlink();
    /// Removes the segment with this name; false when there was none.
    static bool remove(const std::string& name);
    static std::string path_of(const std::string& name) {
        return std::string(detail::shm_dir) + std::string(detail::segment_prefix) + name;
    }

private:
    std::string name_;
    std::byte* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace forkline
