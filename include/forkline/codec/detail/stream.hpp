// The byte cursors every codec writes and reads through (forkline::encoder, forkline::decoder),
// the customization point forkline::codec<T>, and the helpers that turn a bad record into a
// decode_error naming what failed and where.
#pragma once

#include <forkline/codec/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace forkline {

/// Customization point: specialize it to send a type no built-in rule covers (or to send one of
/// yours differently). A specialization needs exactly these three static members:
///
///     template <> struct forkline::codec<money> {
///         static std::size_t size(const money& m) { return 8 + m.currency().size() + 8; }
///         static void encode(const money& m, forkline::encoder& e) {
///             e.put(m.currency());
///             e.put(m.cents());
///         }
///         static money decode(forkline::decoder& d) {
///             auto currency = d.get<std::string>();   // one statement per field: order matters
///             return money(std::move(currency), d.get<long>());
///         }
///     };
///
/// size must return exactly the number of bytes encode writes. A specialization takes priority
/// over every built-in rule, so a trivially copyable type with one is no longer sent as raw bytes.
/// Errors: decode reports bad input by letting decoder's decode_error through (or throwing one).
template <class T>
struct codec {};

/// Writes an encoding into a buffer that is already large enough (sized with encoded_size); it
/// does not check bounds, which is what makes it fast.
/// Example: `fl::encoder e(buf); e.put(std::string("id")); e.put(42);`
/// Errors: put throws std::invalid_argument for a valueless std::variant; nothing else.
class encoder {
public:
    /// Starts writing at out.
    explicit encoder(std::byte* out) noexcept : pos_(out) {}

    /// Copies n raw bytes from p.
    void put_bytes(const void* p, std::size_t n) noexcept {
        if (n != 0) std::memcpy(pos_, p, n);  // memcpy's pointers must be valid even for n == 0
        pos_ += n;
    }

    /// Encodes v by the rules of forkline::transferable (a compile error names types it rejects).
    template <class T>
    void put(const T& v);

    /// Where the next byte goes; after the last put, the end of the encoding.
    std::byte* position() const noexcept { return pos_; }

private:
    std::byte* pos_;
};

/// Reads an encoding from [data, data + n); every read is checked against the bytes that remain.
/// Example: `fl::decoder d(p, n); auto id = d.get<std::string>(); auto qty = d.get<int>();`
/// Errors: decode_error when the bytes run out or hold something no value of the type encodes to.
class decoder {
public:
    /// Reads from the n bytes at data.
    decoder(const std::byte* data, std::size_t n) noexcept
        : begin_(data), pos_(data), end_(data + n), empty_left_(n + empty_allowance) {}

    /// Copies the next n bytes to p. Throws decode_error when fewer than n remain.
    void get_bytes(void* p, std::size_t n) {
        const std::byte* from = take_bytes(n);
        if (n != 0) std::memcpy(p, from, n);
    }

    /// Skips the next n bytes and returns where they start, to read them in place without a copy.
    /// Throws decode_error when fewer than n remain.
    const std::byte* take_bytes(std::size_t n);

    /// Decodes the next T (any forkline::transferable type).
    template <class T>
    T get();

    /// Bytes not read yet.
    std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - pos_); }

    /// Bytes read so far: where the next read starts, counted from data.
    std::size_t offset() const noexcept { return static_cast<std::size_t>(pos_ - begin_); }

    /// Elements that may encode to no bytes at all (std::monostate, std::tuple<>, user codecs)
    /// cannot be bounded by the bytes that remain: a record may hold at most its size plus 2^20
    /// of them, in all its containers together. Takes n of those; false when too few are left.
    bool take_empty(std::uint64_t n) noexcept {
        if (n > empty_left_) return false;
        empty_left_ -= n;
        return true;
    }
    static constexpr std::uint64_t empty_allowance = std::uint64_t{1} << 20;

private:
    const std::byte* begin_;
    const std::byte* pos_;
    const std::byte* end_;
    std::uint64_t empty_left_;
};

namespace detail {

// The failure paths build their messages out of line (cold, never inlined) so that the checks
// on the hot path stay a compare and a branch.
[[noreturn, gnu::cold, gnu::noinline]] inline void fail_decode(const std::string& message) {
    throw decode_error("forkline::decode: " + message);
}

[[noreturn, gnu::cold, gnu::noinline]]
inline void fail_truncated(const char* what, std::size_t wanted, std::size_t at, std::size_t left) {
    fail_decode("truncated record: " + std::to_string(wanted) + " bytes for " + what +
                " at offset " + std::to_string(at) + " but only " + std::to_string(left) + " remain");
}

[[noreturn, gnu::cold, gnu::noinline]]
inline void fail_corrupt(const char* what, std::uint64_t value, std::size_t at,
                         const std::string& expected) {
    fail_decode("corrupt record: " + std::string(what) + " " + std::to_string(value) +
                " at offset " + std::to_string(at) + " (" + expected + ")");
}

/// The next n bytes of d, or a decode_error that says they were to hold `what`.
inline const std::byte* take(decoder& d, std::size_t n, const char* what) {
    if (n > d.remaining()) fail_truncated(what, n, d.offset(), d.remaining());
    return d.take_bytes(n);
}

[[noreturn, gnu::cold, gnu::noinline]]
inline void fail_count(const char* what, std::uint64_t n, std::size_t at, std::size_t left,
                       std::size_t min_element) {
    if (min_element == 0) {
        fail_corrupt(what, n, at,
                     "more elements that encode to nothing than one record may hold: its size "
                     "plus 2^20, in all");
    }
    const std::string each =
        min_element > 1 ? " (each element takes at least " + std::to_string(min_element) + ")" : "";
    fail_decode("truncated record: " + std::string(what) + " " + std::to_string(n) + " at offset " +
                std::to_string(at) + " but only " + std::to_string(left) + " bytes remain" + each);
}

[[noreturn, gnu::cold, gnu::noinline]]
inline void fail_trailing(std::size_t end, std::size_t given) {
    fail_decode("trailing bytes: the record ends at offset " + std::to_string(end) + " but " +
                std::to_string(given) + " bytes were given");
}

/// Reads a u64 element count and rejects one the remaining bytes cannot hold, before anything
/// is allocated for it: each element takes at least min_element bytes.
inline std::size_t read_count(decoder& d, const char* what, std::size_t min_element) {
    const std::size_t at = d.offset();
    std::uint64_t n;
    std::memcpy(&n, take(d, sizeof n, what), sizeof n);
    const std::size_t left = d.remaining();
    const bool fits = min_element != 0 ? n <= left / min_element : d.take_empty(n);
    if (!fits) fail_count(what, n, at, left, min_element);
    return static_cast<std::size_t>(n);
}

/// Reads a one-byte 0/1 flag (an optional's flag, a bool).
inline bool read_flag(decoder& d, const char* what) {
    const std::size_t at = d.offset();
    const auto byte = std::to_integer<unsigned>(*take(d, 1, what));
    if (byte > 1) fail_corrupt(what, byte, at, "expected 0 or 1");
    return byte == 1;
}

/// How much to reserve for n decoded elements: never more than the remaining bytes could hold.
inline std::size_t safe_reserve(std::size_t n, std::size_t left, std::size_t min_element) {
    const std::size_t most = min_element != 0 ? left / min_element : left;
    return n < most ? n : most;
}

inline void put_count(encoder& e, std::size_t n) noexcept {
    const std::uint64_t count = n;
    e.put_bytes(&count, sizeof count);
}

}  // namespace detail

inline const std::byte* decoder::take_bytes(std::size_t n) {
    if (n > remaining()) detail::fail_truncated("raw bytes", n, offset(), remaining());
    const std::byte* at = pos_;
    pos_ += n;
    return at;
}

}  // namespace forkline
