// forkline::decode_error: what decoding throws when the bytes it is given are not a whole,
// well-formed record of the type asked for.
#pragma once

#include <stdexcept>

namespace forkline {

/// Thrown by forkline::decode (and decoder::get / get_bytes) when a record is truncated, corrupt,
/// or followed by trailing bytes; what() names the part that failed and its offset, e.g.
/// "forkline::decode: truncated record: string length 1000000 at offset 8 but only 12 bytes remain".
/// Example: `try { fl::decode<int>(p, 3); } catch (const fl::decode_error& e) { log(e.what()); }`
/// Errors: none of its own; it is the error.
class decode_error : public std::runtime_error {
public:
    using runtime_error::runtime_error;
};

}  // namespace forkline
