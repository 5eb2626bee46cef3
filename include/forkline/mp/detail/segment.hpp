// What fl::shared_memory, fl::manager and the forkline-shm tool agree on about named segments.
#pragma once

#include <cstdint>
#include <string_view>

namespace forkline::detail {

/// A segment named NAME is the file /dev/shm/forkline.NAME (shm_open's "/forkline.NAME").
inline constexpr std::string_view shm_dir = "/dev/shm/";
inline constexpr std::string_view segment_prefix = "forkline.";

/// The first eight bytes of a manager's segment once it is ready ("forkmgr1": layout 1).
inline constexpr std::uint64_t manager_magic = 0x666f726b6d677231ull;

}  // namespace forkline::detail
