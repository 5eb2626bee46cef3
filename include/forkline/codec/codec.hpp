// Turning a value into bytes and back, for items that cross from one stage's process to the next:
// the concepts that say which types can cross (and which go as raw bytes in fixed-size slots),
// encoded_size / encode / decode / encode_to_vector, and the encoder, decoder and codec<T> they use.
#pragma once

#include <forkline/codec/detail/containers.hpp>
#include <forkline/codec/detail/families.hpp>
#include <forkline/codec/detail/stream.hpp>
#include <forkline/codec/detail/structs.hpp>
#include <forkline/codec/detail/values.hpp>
#include <forkline/codec/error.hpp>
#include <forkline/core/diagnostics.hpp>

#include <cstddef>
#include <exception>
#include <type_traits>
#include <vector>

namespace forkline {

/// A type whose values can cross a process boundary (cv-qualifiers are ignored). The first rule
/// that applies decides the encoding (native byte order, u64 counts):
///  1. a forkline::codec<T> specialization (size, encode, decode);
///  2. never: pointers of any kind, references, C arrays at top level, std::string_view, std::span,
///     std::reference_wrapper, smart pointers, std::function, trivially copyable classes that can
///     only hold an address (non-aggregates with begin()/end() such as initializer_list, iterators,
///     classes with element_type and operator->), and anything holding one of these;
///  3. trivially_transferable types: sizeof(T) raw bytes (a bool is checked to be 0 or 1);
///  4. std::basic_string and std::vector of raw elements: u64 count, then one block of bytes;
///     other sequences (std::vector<bool>, std::deque, std::list, ...): u64 count, then elements;
///     std::array of non-raw elements: the elements;
///  5. std::optional: u8 flag (0/1) + value; std::variant: u32 index + alternative;
///     std::monostate: nothing; std::pair, std::tuple: members in order;
///  6. maps and sets (anything with key_type, value_type and emplace_hint or emplace): u64 count,
///     then keys (and mapped values after each key);
///  7. Hana-adapted structs (BOOST_HANA_DEFINE_STRUCT, BOOST_HANA_ADAPT_STRUCT): members in order;
///  8. other aggregates, through Boost.PFR: fields in order.
/// Not covered, so not transferable without a codec: classes with base classes that are not
/// trivially copyable (Boost.PFR cannot reflect them), such aggregates with C array members (use
/// std::array), aggregates whose members are not all default-initializable, other classes that
/// are neither trivially copyable nor aggregates, std::forward_list, and types that contain
/// themselves (a tree of nodes needs a codec<node>: checking it would need itself, a hard error).
/// Example: `static_assert(fl::transferable<std::map<std::string, std::vector<double>>>);`
template <class T>
concept transferable = detail::encodable<T>;

/// A transferable type sent as its raw sizeof(T) bytes, in a fixed-size slot: a trivially copyable
/// type without a codec specialization, none of whose fields (looked into recursively, array
/// elements, the fields of aggregate bases and the insides of optionals, variants and tuples
/// included) is a pointer or a view or has a codec specialization. Top-level std::optional, std::variant, std::monostate, std::pair and
/// std::tuple are not, even when trivially copyable: they keep their checked encodings (rule 5).
/// Fields inside raw bytes are not validated on decode (a bool field is taken as it is). A
/// trivially copyable union, or class that is not an aggregate, cannot be looked into and is taken
/// as it is: it must not hold addresses.
/// Example: `struct tick { int id; double price; char venue[8]; };` is trivially transferable.
template <class T>
concept trivially_transferable =
    detail::family_v<std::remove_cv_t<T>> == detail::family::raw;

template <class T>
void encoder::put(const T& v) {
    static_assert(transferable<T>,
                  FORKLINE_NO_CODEC("forkline::encoder::put(v): the type of v"));
    if constexpr (transferable<T>) detail::coder<std::remove_cv_t<T>>::encode(v, *this);
}

template <class T>
T decoder::get() {
    static_assert(transferable<T>,
                  FORKLINE_NO_CODEC("forkline::decoder::get<T>(): T"));
    if constexpr (transferable<T>)
        return detail::coder<std::remove_cv_t<T>>::decode(*this);
    else
        std::terminate();
}

/// The exact number of bytes encode(v, out) writes; allocates nothing.
/// Example: `fl::encoded_size(std::string("abc")) == 11` (u64 length + 3 characters).
/// Errors: std::invalid_argument for a std::variant that is valueless_by_exception.
template <transferable T>
std::size_t encoded_size(const T& v) {
    return detail::coder<std::remove_cv_t<T>>::size(v);
}

/// Writes v to out, which must have room for encoded_size(v) bytes; returns the end of what it wrote.
/// Example: `std::vector<std::byte> buf(fl::encoded_size(v)); fl::encode(v, buf.data());`
/// Errors: std::invalid_argument for a valueless std::variant; whatever a user codec throws.
template <transferable T>
std::byte* encode(const T& v, std::byte* out) {
    encoder e(out);
    e.put(v);
    return e.position();
}

/// Decodes one whole record of type T from the n bytes at data.
/// Example: `auto s = fl::decode<sale>(bytes.data(), bytes.size());`
/// Errors: decode_error, naming what failed and its offset, when the record is truncated, holds an
/// impossible count, flag, bool or variant index, or is followed by trailing bytes. A corrupt
/// record never leads to undefined behaviour or to an allocation larger than the record allows.
template <transferable T>
T decode(const std::byte* data, std::size_t n) {
    decoder d(data, n);
    T v = d.get<T>();
    if (d.remaining() != 0) detail::fail_trailing(d.offset(), n);
    return v;
}

/// True for the types decode_into can decode without allocating each time: strings, and vectors of
/// trivially copyable, default-constructible elements.
template <class T>
concept decodes_in_place = transferable<T> && requires(T& out, decoder& d) {
    detail::coder<std::remove_cv_t<T>>::decode_into(out, d);
};

/// As decode, but into `out`, keeping its storage: a reader that decodes item after item into one
/// object allocates only when an item outgrows it. Errors as decode's; `out` then holds an
/// unspecified valid value.
template <decodes_in_place T>
void decode_into(T& out, const std::byte* data, std::size_t n) {
    decoder d(data, n);
    detail::coder<std::remove_cv_t<T>>::decode_into(out, d);
    if (d.remaining() != 0) detail::fail_trailing(d.offset(), n);
}

/// The encoding of v in a vector of exactly encoded_size(v) bytes.
/// Example: `auto bytes = fl::encode_to_vector(std::pair{1, std::string("one")});`
/// Errors: as encode, plus std::bad_alloc.
template <transferable T>
std::vector<std::byte> encode_to_vector(const T& v) {
    std::vector<std::byte> bytes(encoded_size(v));
    encode(v, bytes.data());
    return bytes;
}

}  // namespace forkline
