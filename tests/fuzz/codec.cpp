// libFuzzer target for forkline::decode (include/forkline/codec): any bytes, decoded as each of a
// few nested types, give a value or a decode_error and nothing else; a value encodes back to the
// same bytes (or, where the encoding has an order of its own, to a value equal to it). Built and
// run by tests/fuzz/run.sh.
#include <forkline/codec/codec.hpp>

#include "seeds.hpp"

#include <boost/hana/define_struct.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

namespace fl = forkline;

namespace {

/// An aggregate, sent through Boost.PFR.
struct row {
    std::string name;
    std::vector<int> values;
    bool operator==(const row&) const = default;
};

/// A Hana struct holding an ordered set, so its encoding is not the only one that decodes to it.
struct tagged {
    BOOST_HANA_DEFINE_STRUCT(tagged, (std::vector<std::optional<std::int64_t>>, ids), (std::set<long>, tags),
                             (std::tuple<bool, std::u32string, std::list<short>>, extra));
    bool operator==(const tagged&) const = default;
};

using strings = std::vector<std::string>;
using string_map = std::map<std::string, std::vector<int>>;
using maybe = std::optional<std::variant<int, std::string>>;
using mixed = std::tuple<bool, double, std::deque<std::vector<bool>>, std::array<std::optional<char>, 3>>;
using hashed = std::unordered_map<int, std::variant<std::monostate, std::string, std::vector<std::u16string>>>;

[[noreturn]] void fail(const char* type, const char* what) {
    std::fprintf(stderr, "codec fuzz: decoding as %s: %s\n", type, what);
    __builtin_trap();
}

/// Canonical: the type has one encoding per value, so a decoded value encodes to the very bytes.
template <class T>
void check(const char* type, const std::byte* data, std::size_t size, bool canonical) {
    try {
        const T v = fl::decode<T>(data, size);
        const std::vector<std::byte> bytes = fl::encode_to_vector(v);
        if (bytes.size() != size) fail(type, "the value encodes to another size than it was decoded from");
        if (canonical) {
            if (!std::equal(bytes.begin(), bytes.end(), data)) fail(type, "the value encodes to other bytes");
        } else if (!(fl::decode<T>(bytes.data(), bytes.size()) == v)) {
            fail(type, "the value's encoding decodes to another value");
        }
    } catch (const fl::decode_error&) {
    } catch (const std::exception& e) {
        fail(type, e.what());
    } catch (...) {
        fail(type, "an exception that is not a std::exception");
    }
}

/// decode_into reuses one object from input to input, as a reader does.
template <class T>
void check_into(const char* type, const std::byte* data, std::size_t size) {
    static T out;
    try {
        fl::decode_into(out, data, size);
        const std::vector<std::byte> bytes = fl::encode_to_vector(out);
        if (bytes.size() != size || !std::equal(bytes.begin(), bytes.end(), data))
            fail(type, "decode_into gave a value that encodes to other bytes");
    } catch (const fl::decode_error&) {
    } catch (const std::exception& e) {
        fail(type, e.what());
    }
}

template <class T>
std::string seed(const T& v) {
    const auto bytes = fl::encode_to_vector(v);
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    forkline::fuzz::write_seeds({
        seed(strings{"a", "", "bc"}),
        seed(string_map{{"k", {1, 2}}, {"l", {}}}),
        seed(maybe{std::variant<int, std::string>{std::string("text")}}),
        seed(maybe{7}),
        seed(row{"name", {3, 4, 5}}),
        seed(tagged{{std::nullopt, 9}, {1, 5}, {true, U"x", {2, 3}}}),
        seed(mixed{false, 1.5, {{true}, {}}, {std::nullopt, 'a', 'b'}}),
        seed(hashed{{1, std::monostate{}}, {2, std::string("two")}, {3, std::vector<std::u16string>{u"3"}}}),
    });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    const auto* data = reinterpret_cast<const std::byte*>(bytes);
    check<strings>("std::vector<std::string>", data, size, true);
    check<string_map>("std::map<std::string, std::vector<int>>", data, size, false);
    check<maybe>("std::optional<std::variant<int, std::string>>", data, size, true);
    check<row>("row {std::string, std::vector<int>}", data, size, true);
    check<tagged>("tagged (Hana) {ids, tags, extra}", data, size, false);
    check<mixed>("std::tuple<bool, double, std::deque<std::vector<bool>>, std::array<...>>", data, size, true);
    check<hashed>("std::unordered_map<int, std::variant<...>>", data, size, false);
    check_into<std::string>("std::string (decode_into)", data, size);
    check_into<std::vector<int>>("std::vector<int> (decode_into)", data, size);
    return 0;
}
