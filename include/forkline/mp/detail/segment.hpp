// What fl::shared_memory, fl::manager and the forkline-shm tool agree on about named segments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace forkline::detail {

/// A segment named NAME is the file /dev/shm/forkline.NAME (shm_open's "/forkline.NAME").
inline constexpr std::string_view shm_dir = "/dev/shm/";
inline constexpr std::string_view segment_prefix = "forkline.";

/// The first eight bytes of a manager's segment once it is ready ("forkmgr2": layout 2, the heap
/// that checks what it reads; a program of layout 1 sees such a segment as no manager, and back).
inline constexpr std::uint64_t manager_magic = 0x666f726b6d677232ull;

/// The first eight bytes of a run's stats segment once it is filled in ("forkstt1": layout 1 of
/// run/detail/stats.hpp), named stats-PID-N.
inline constexpr std::uint64_t stats_magic = 0x666f726b73747431ull;

/// A manager's segment starts with this many bytes of header (the magic, its lock); its heap
/// fills the rest.
inline constexpr std::size_t manager_header_bytes = 256;

}  // namespace forkline::detail
