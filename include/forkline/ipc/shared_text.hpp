// Text of any length that a process writes and the processes forked before or after it read: an
// error message from a worker that may die right after, for instance. A memory file (memfd), so
// no length is fixed in advance and nothing appears in /dev/shm.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace forkline::ipc {

/// A memory file shared with the children forked after it is made. Movable, not copyable.
/// Throws std::system_error when the file cannot be made.
class shared_text {
public:
    shared_text();
    shared_text(shared_text&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    shared_text& operator=(shared_text&& o) noexcept;
    ~shared_text();

    /// Replaces the text. One writer at a time (the caller arranges that); readers read after it
    /// returned. False when not all of it could be written (no memory left).
    bool write(std::string_view text) const noexcept;
    /// Writes `text` at byte `offset`, leaving the rest (several writers, each at offsets of its
    /// own, build one text). False when not all of it could be written.
    bool write_at(std::uint64_t offset, std::string_view text) const noexcept;
    /// The text as last written ("" before any write).
    std::string read() const;

private:
    int fd_ = -1;
};

}  // namespace forkline::ipc
