// Tests for include/forkline/codec: which types may cross a process boundary (and which go as raw
// bytes), round trips for every family of types and their combinations, user codecs, and decode
// on truncated, corrupt and oversized input.
#include <forkline/codec/codec.hpp>

#include <boost/hana/adapt_struct.hpp>
#include <boost/hana/define_struct.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <initializer_list>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

namespace fl = forkline;

namespace codec_test {

struct point {
    int x;
    int y;
    bool operator==(const point&) const = default;
};

struct tick {
    int id;
    char venue[8];
    double price;
    bool operator==(const tick&) const = default;
};

enum class side : std::uint8_t { buy, sell };

struct nothing {
    bool operator==(const nothing&) const = default;
};

struct sale {
    std::string region;
    double amount;
    bool operator==(const sale&) const = default;
};

// Trivially copyable with an optional inside: sent as raw bytes, like any field.
struct reading {
    int sensor;
    std::optional<double> value;
    bool operator==(const reading&) const = default;
};

// Decoded with one braced initialization, so a const member is no obstacle.
struct labelled {
    const int id;
    std::string name;
    bool operator==(const labelled&) const = default;
};

struct holds_pointer {
    int* p;
};
struct holds_view {
    std::string_view name;
};
struct holds_views_deep {
    point where;
    std::vector<const char*> names;
};
struct labelled_point {
    int a;
    int b;
    const char* label;
};
struct nested_pointer {
    int id;
    labelled_point where;
};
struct array_of_pointers {
    int id;
    const char* names[2];
};
struct optional_pointer {
    int id;
    std::optional<const char*> name;
};
// A trivially copyable struct with an aggregate base: its fields and the base's are looked into.
struct point3 : point {
    int z;
    bool operator==(const point3&) const = default;
};
struct counted_pointer : holds_pointer {
    int n;
};
// Boost.PFR cannot reflect a class with a base, so this one needs a codec.
struct priced_sale : sale {
    double price;
};
struct strings_array {
    std::string names[2];
};
class opaque {
public:
    explicit opaque(int v) : text_(std::to_string(v)) {}

private:
    std::string text_;
};

// A Hana struct that is not an aggregate (it has constructors).
struct account {
    BOOST_HANA_DEFINE_STRUCT(account, (std::string, owner), (long, cents));
    account() = default;
    account(std::string o, long c) : owner(std::move(o)), cents(c) {}
    bool operator==(const account&) const = default;
};

// A Hana struct holding a tuple, inside a plain aggregate.
struct quote {
    BOOST_HANA_DEFINE_STRUCT(quote, (std::tuple<int, std::string, double>, legs),
                             (std::optional<std::string>, note));
    bool operator==(const quote&) const = default;
};
struct order {
    std::uint64_t id;
    quote q;
    std::vector<sale> sales;
    bool operator==(const order&) const = default;
};

// An aggregate adapted with only some of its members: Hana decides what is sent.
struct cached {
    std::string label;
    std::string cache;
    int id;
};

// A class only a codec specialization can send.
class money {
public:
    money() = default;
    money(std::string currency, long cents) : currency_(std::move(currency)), cents_(cents) {}
    const std::string& currency() const { return currency_; }
    long cents() const { return cents_; }
    bool operator==(const money&) const = default;

private:
    std::string currency_;
    long cents_ = 0;
};

// Trivially copyable, yet sent by its codec (as a float) rather than as raw bytes.
struct celsius {
    double degrees;
    bool operator==(const celsius&) const = default;
};

// A type that contains itself needs a codec: the rules cannot look into it while defining it.
struct tree {
    int value;
    std::vector<tree> children;
    bool operator==(const tree&) const = default;
};

// Copying it throws, which leaves a variant it is copied into valueless.
struct fragile {
    fragile() = default;
    fragile(const fragile&) { throw std::runtime_error("no copies"); }
    fragile(fragile&&) = default;
};

}  // namespace codec_test

BOOST_HANA_ADAPT_STRUCT(codec_test::cached, label, id);

template <>
struct forkline::codec<codec_test::money> {
    static std::size_t size(const codec_test::money& m) { return fl::encoded_size(m.currency()) + 8; }
    static void encode(const codec_test::money& m, fl::encoder& e) {
        e.put(m.currency());
        e.put(static_cast<std::int64_t>(m.cents()));
    }
    static codec_test::money decode(fl::decoder& d) {
        auto currency = d.get<std::string>();
        return codec_test::money(std::move(currency), static_cast<long>(d.get<std::int64_t>()));
    }
};

template <>
struct forkline::codec<codec_test::celsius> {
    static std::size_t size(const codec_test::celsius&) { return sizeof(float); }
    static void encode(const codec_test::celsius& c, fl::encoder& e) {
        e.put(static_cast<float>(c.degrees));
    }
    static codec_test::celsius decode(fl::decoder& d) { return {d.get<float>()}; }
};

template <>
struct forkline::codec<codec_test::tree> {
    static std::size_t size(const codec_test::tree& t) {
        return sizeof t.value + fl::encoded_size(t.children);
    }
    static void encode(const codec_test::tree& t, fl::encoder& e) {
        e.put(t.value);
        e.put(t.children);
    }
    static codec_test::tree decode(fl::decoder& d) {
        codec_test::tree t;
        t.value = d.get<int>();
        t.children = d.get<std::vector<codec_test::tree>>();
        return t;
    }
};

template <>
struct forkline::codec<codec_test::fragile> {
    static std::size_t size(const codec_test::fragile&) { return 0; }
    static void encode(const codec_test::fragile&, fl::encoder&) {}
    static codec_test::fragile decode(fl::decoder&) { return {}; }
};

namespace {

using namespace codec_test;

/// Encodes v both ways, checks the size and the returned end, and decodes it back.
template <class T>
T round_trip(const T& v) {
    const std::vector<std::byte> bytes = fl::encode_to_vector(v);
    REQUIRE(bytes.size() == fl::encoded_size(v));
    std::vector<std::byte> again(bytes.size());
    REQUIRE(fl::encode(v, again.data()) == again.data() + again.size());
    REQUIRE(again == bytes);
    return fl::decode<T>(bytes.data(), bytes.size());
}

template <class T>
void check_round_trip(const T& v) {
    CHECK(round_trip(v) == v);
}

template <class... Ts>
std::vector<std::byte> bytes_of(const Ts&... parts) {
    std::vector<std::byte> out;
    (out.insert(out.end(), reinterpret_cast<const std::byte*>(&parts),
                reinterpret_cast<const std::byte*>(&parts) + sizeof parts),
     ...);
    return out;
}

template <class T>
std::string decode_message(const std::vector<std::byte>& bytes) {
    try {
        (void)fl::decode<T>(bytes.data(), bytes.size());
    } catch (const fl::decode_error& e) {
        return e.what();
    }
    return "(no error)";
}

/// Every strict prefix of a record must be rejected; each is copied to a buffer of exactly its
/// size so that a read past it would be caught by the address sanitizer.
template <class T>
void check_every_prefix_throws(const T& v) {
    const std::vector<std::byte> bytes = fl::encode_to_vector(v);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        const std::vector<std::byte> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
        CHECK_THROWS_AS(fl::decode<T>(prefix.data(), prefix.size()), fl::decode_error);
    }
}

/// Overwrites each byte with a few telling values and decodes: the result may be a value or a
/// decode_error, but nothing else may escape (no bad_alloc, no length_error, no crash).
template <class T>
std::size_t rejected_corruptions(const T& v) {
    const std::vector<std::byte> bytes = fl::encode_to_vector(v);
    std::size_t rejected = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        for (unsigned value : {0x00u, 0x01u, 0x02u, 0x7fu, 0x80u, 0xffu}) {
            std::vector<std::byte> copy = bytes;
            copy[i] = static_cast<std::byte>(value);
            try {
                (void)fl::decode<T>(copy.data(), copy.size());
            } catch (const fl::decode_error&) {
                ++rejected;
            }
        }
    }
    return rejected;
}

using nested_map = std::map<std::string, std::vector<std::optional<std::variant<int, std::string>>>>;

nested_map sample_nested_map() {
    return {{"alpha", {1, std::nullopt, std::string("one")}},
            {"", {}},
            {"beta", {std::nullopt, std::string(""), -7}}};
}

order sample_order() {
    return {42,
            {{3, "leg", 1.5}, std::string("firm")},
            {{"north", 12.5}, {"", -1.0}, {"south-west", 0.0}}};
}

}  // namespace

TEST_CASE("trivially copyable types without pointers are sent as raw bytes", "[codec]") {
    STATIC_REQUIRE(fl::trivially_transferable<int>);
    STATIC_REQUIRE(fl::trivially_transferable<double>);
    STATIC_REQUIRE(fl::trivially_transferable<bool>);
    STATIC_REQUIRE(fl::trivially_transferable<const int>);
    STATIC_REQUIRE(fl::trivially_transferable<side>);
    STATIC_REQUIRE(fl::trivially_transferable<std::byte>);
    STATIC_REQUIRE(fl::trivially_transferable<point>);
    STATIC_REQUIRE(fl::trivially_transferable<point3>);
    STATIC_REQUIRE(fl::trivially_transferable<tick>);
    STATIC_REQUIRE(fl::trivially_transferable<nothing>);
    STATIC_REQUIRE(fl::trivially_transferable<std::array<int, 4>>);
    STATIC_REQUIRE(fl::trivially_transferable<std::array<point, 2>>);
    STATIC_REQUIRE(fl::transferable<point>);
}

TEST_CASE("owning types are transferable but not trivially", "[codec]") {
    STATIC_REQUIRE(fl::transferable<std::string>);
    STATIC_REQUIRE(!fl::trivially_transferable<std::string>);
    STATIC_REQUIRE(fl::transferable<sale>);
    STATIC_REQUIRE(!fl::trivially_transferable<sale>);
    STATIC_REQUIRE(fl::transferable<std::map<std::string, std::vector<int>>>);
    STATIC_REQUIRE(!fl::trivially_transferable<std::map<std::string, std::vector<int>>>);
    STATIC_REQUIRE(fl::transferable<std::vector<int>>);
    STATIC_REQUIRE(fl::transferable<std::vector<bool>>);
    STATIC_REQUIRE(fl::transferable<std::deque<std::string>>);
    STATIC_REQUIRE(fl::transferable<std::list<point>>);
    STATIC_REQUIRE(fl::transferable<std::array<std::string, 3>>);
    STATIC_REQUIRE(fl::transferable<std::unordered_multimap<int, sale>>);
    STATIC_REQUIRE(fl::transferable<std::set<std::string>>);
    STATIC_REQUIRE(fl::transferable<nested_map>);
    STATIC_REQUIRE(fl::transferable<account>);
    STATIC_REQUIRE(fl::transferable<order>);
    STATIC_REQUIRE(fl::transferable<labelled>);
    STATIC_REQUIRE(fl::transferable<money>);
}

TEST_CASE("vocabulary types keep their checked encodings even when trivially copyable", "[codec]") {
    STATIC_REQUIRE(fl::transferable<std::optional<int>>);
    STATIC_REQUIRE(!fl::trivially_transferable<std::optional<int>>);
    STATIC_REQUIRE(!fl::trivially_transferable<std::variant<int, float>>);
    STATIC_REQUIRE(!fl::trivially_transferable<std::monostate>);
    STATIC_REQUIRE(!fl::trivially_transferable<std::pair<int, int>>);
    STATIC_REQUIRE(!fl::trivially_transferable<std::vector<std::optional<int>>>);
    CHECK(fl::encoded_size(std::monostate{}) == 0);
    CHECK(fl::encoded_size(std::optional<int>{}) == 1);
    CHECK(fl::encoded_size(std::vector<std::optional<int>>{std::nullopt, 3}) == 8 + 1 + 5);
    // Inside a trivially copyable struct they travel in its bytes.
    STATIC_REQUIRE(fl::trivially_transferable<reading>);
    STATIC_REQUIRE(fl::trivially_transferable<std::array<std::optional<int>, 2>>);
    CHECK(fl::encoded_size(reading{1, 2.0}) == sizeof(reading));
}

TEST_CASE("a codec specialization takes priority over raw bytes", "[codec]") {
    STATIC_REQUIRE(fl::transferable<celsius>);
    STATIC_REQUIRE(!fl::trivially_transferable<celsius>);
    CHECK(fl::encoded_size(celsius{21.5}) == sizeof(float));
}

TEST_CASE("pointers, views and types holding them cannot cross a process boundary", "[codec]") {
    STATIC_REQUIRE(!fl::transferable<int*>);
    STATIC_REQUIRE(!fl::transferable<const char*>);
    STATIC_REQUIRE(!fl::transferable<void (*)()>);
    STATIC_REQUIRE(!fl::transferable<int point::*>);
    STATIC_REQUIRE(!fl::transferable<std::nullptr_t>);
    STATIC_REQUIRE(!fl::transferable<int&>);
    STATIC_REQUIRE(!fl::transferable<int[4]>);
    STATIC_REQUIRE(!fl::transferable<void>);
    STATIC_REQUIRE(!fl::transferable<std::string_view>);
    STATIC_REQUIRE(!fl::transferable<std::span<int>>);
    STATIC_REQUIRE(!fl::transferable<std::span<const int, 4>>);
    STATIC_REQUIRE(!fl::transferable<std::initializer_list<int>>);
    STATIC_REQUIRE(!fl::transferable<std::reference_wrapper<int>>);
    STATIC_REQUIRE(!fl::transferable<std::vector<int>::iterator>);
    STATIC_REQUIRE(!fl::transferable<std::string::const_iterator>);
    STATIC_REQUIRE(!fl::transferable<std::unique_ptr<int>>);
    STATIC_REQUIRE(!fl::transferable<std::shared_ptr<int>>);
    STATIC_REQUIRE(!fl::transferable<std::function<void()>>);
    STATIC_REQUIRE(!fl::transferable<holds_pointer>);
    STATIC_REQUIRE(!fl::transferable<holds_view>);
    STATIC_REQUIRE(!fl::transferable<holds_views_deep>);
    STATIC_REQUIRE(!fl::transferable<nested_pointer>);
    STATIC_REQUIRE(!fl::transferable<array_of_pointers>);
    STATIC_REQUIRE(!fl::transferable<optional_pointer>);
    STATIC_REQUIRE(!fl::transferable<counted_pointer>);
    STATIC_REQUIRE(!fl::transferable<std::array<const char*, 2>>);
    STATIC_REQUIRE(!fl::transferable<std::vector<int*>>);
    STATIC_REQUIRE(!fl::transferable<std::optional<std::string_view>>);
    STATIC_REQUIRE(!fl::transferable<std::map<std::string, int*>>);
    STATIC_REQUIRE(!fl::transferable<std::pair<int, const char*>>);
    STATIC_REQUIRE(!fl::transferable<std::tuple<int, std::span<int>>>);
    STATIC_REQUIRE(!fl::transferable<std::variant<int, std::string_view>>);
    STATIC_REQUIRE(!fl::transferable<std::vector<std::unique_ptr<int>>>);
}

TEST_CASE("classes that no rule covers are not transferable", "[codec]") {
    STATIC_REQUIRE(!fl::transferable<opaque>);
    STATIC_REQUIRE(!fl::transferable<priced_sale>);
    STATIC_REQUIRE(!fl::transferable<strings_array>);
    STATIC_REQUIRE(!fl::transferable<std::vector<opaque>>);
}

TEST_CASE("the byte layout is counts and values in native order", "[codec]") {
    CHECK(fl::encode_to_vector(0x01020304) == bytes_of(0x01020304));
    CHECK(fl::encode_to_vector(std::string("ab")) == bytes_of(std::uint64_t{2}, 'a', 'b'));
    CHECK(fl::encode_to_vector(std::optional<short>(7)) == bytes_of(std::uint8_t{1}, short{7}));
    CHECK(fl::encode_to_vector(std::variant<int, char>('z')) == bytes_of(std::uint32_t{1}, 'z'));
    CHECK(fl::encode_to_vector(std::vector<bool>{true, false}) ==
          bytes_of(std::uint64_t{2}, true, false));
    CHECK(fl::encode_to_vector(std::map<char, short>{{'k', 9}}) ==
          bytes_of(std::uint64_t{1}, 'k', short{9}));
    CHECK(fl::encode_to_vector(sale{"n", 2.0}) == bytes_of(std::uint64_t{1}, 'n', 2.0));
    CHECK(fl::encode_to_vector(std::tuple<>{}).empty());
}

TEST_CASE("raw values round trip byte for byte", "[codec]") {
    check_round_trip(-123456);
    check_round_trip(3.25);
    check_round_trip(true);
    check_round_trip(false);
    check_round_trip('x');
    check_round_trip(side::sell);
    check_round_trip(point{-1, 2});
    check_round_trip(point3{{1, 2}, 3});
    check_round_trip(tick{7, "XNYS", 101.5});
    check_round_trip(nothing{});
    check_round_trip(std::array<int, 4>{1, 2, 3, 4});
    CHECK(fl::decode<const int>(fl::encode_to_vector(5).data(), sizeof(int)) == 5);
}

TEST_CASE("strings round trip with their length first", "[codec]") {
    check_round_trip(std::string());
    check_round_trip(std::string("hello"));
    check_round_trip(std::string("with\0nul", 8));
    check_round_trip(std::string(64, 'q'));
    check_round_trip(std::u16string(u"wide"));
    check_round_trip(std::u32string(U"wider"));
    check_round_trip(std::wstring(L"w"));
}

TEST_CASE("vectors and sequences round trip", "[codec]") {
    check_round_trip(std::vector<int>{1, -2, 3});
    check_round_trip(std::vector<point>{{1, 2}, {3, 4}});
    check_round_trip(std::vector<std::byte>{std::byte{0}, std::byte{255}});
    check_round_trip(std::vector<bool>{true, false, true, true});
    check_round_trip(std::vector<std::string>{"a", "", "ccc"});
    check_round_trip(std::vector<std::vector<int>>{{1}, {}, {2, 3}});
    check_round_trip(std::deque<int>{5, 6});
    check_round_trip(std::deque<std::string>{"x", "y"});
    check_round_trip(std::list<sale>{{"east", 1.0}, {"west", 2.0}});
    check_round_trip(std::array<std::string, 3>{"p", "", "r"});
    check_round_trip(std::vector<std::monostate>(5));
    check_round_trip(std::vector<nothing>(3));
}

TEST_CASE("decode_into reuses a string's or a raw vector's storage", "[codec]") {
    STATIC_REQUIRE(fl::decodes_in_place<std::string>);
    STATIC_REQUIRE(fl::decodes_in_place<std::u32string>);
    STATIC_REQUIRE(fl::decodes_in_place<std::vector<int>>);
    STATIC_REQUIRE_FALSE(fl::decodes_in_place<std::vector<std::string>>);
    STATIC_REQUIRE_FALSE(fl::decodes_in_place<sale>);

    std::string s;
    auto long_one = fl::encode_to_vector(std::string(100, 'x'));
    fl::decode_into(s, long_one.data(), long_one.size());
    CHECK(s == std::string(100, 'x'));
    const char* storage = s.data();
    auto short_one = fl::encode_to_vector(std::string("word"));
    fl::decode_into(s, short_one.data(), short_one.size());
    CHECK(s == "word");
    CHECK(s.data() == storage);  // no new allocation for an item that fits

    std::u32string wide;
    auto wide_bytes = fl::encode_to_vector(std::u32string(U"wider"));
    fl::decode_into(wide, wide_bytes.data(), wide_bytes.size());
    CHECK(wide == U"wider");

    std::vector<int> v{9, 9, 9, 9, 9};
    auto three = fl::encode_to_vector(std::vector<int>{1, 2, 3});
    fl::decode_into(v, three.data(), three.size());
    CHECK(v == std::vector<int>{1, 2, 3});

    short_one.push_back(std::byte{0});  // trailing bytes, as decode
    CHECK_THROWS_AS(fl::decode_into(s, short_one.data(), short_one.size()), fl::decode_error);
    CHECK_THROWS_AS(fl::decode_into(s, long_one.data(), long_one.size() - 1), fl::decode_error);
}

TEST_CASE("optional, variant, monostate, pair and tuple round trip", "[codec]") {
    check_round_trip(std::optional<int>{});
    check_round_trip(std::optional<int>{4});
    check_round_trip(std::optional<std::string>{"some"});
    check_round_trip(std::optional<std::optional<int>>{std::optional<int>{}});
    check_round_trip(std::variant<int, std::string, std::monostate>{7});
    check_round_trip(std::variant<int, std::string, std::monostate>{"text"});
    check_round_trip(std::variant<int, std::string, std::monostate>{std::monostate{}});
    const std::variant<int, int> second{std::in_place_index<1>, 9};
    CHECK(round_trip(second).index() == 1);
    check_round_trip(std::monostate{});
    check_round_trip(std::pair<int, std::string>{1, "one"});
    check_round_trip(std::pair<const std::string, int>{"key", 2});
    check_round_trip(std::tuple<>{});
    check_round_trip(std::tuple<int, std::string, double>{1, "two", 3.0});
}

TEST_CASE("maps and sets round trip", "[codec]") {
    check_round_trip(std::map<std::string, int>{{"a", 1}, {"b", 2}});
    check_round_trip(std::multimap<int, std::string>{{1, "x"}, {1, "y"}, {2, "z"}});
    check_round_trip(std::unordered_map<std::string, std::vector<int>>{{"k", {1, 2}}, {"l", {}}});
    check_round_trip(std::unordered_multimap<int, int>{{1, 1}, {1, 2}});
    check_round_trip(std::set<std::string>{"p", "q"});
    check_round_trip(std::multiset<int>{3, 3, 4});
    check_round_trip(std::unordered_set<int>{10, 20, 30});
    check_round_trip(std::map<int, std::monostate>{{1, {}}, {2, {}}});
}

TEST_CASE("Hana-adapted structs round trip member by member", "[codec]") {
    check_round_trip(account{"ada", 1200});
    check_round_trip(quote{{1, "leg", 2.5}, std::nullopt});

    // Only the adapted members are sent: Hana takes priority over reflecting every field.
    const cached c{"label", "not sent", 7};
    CHECK(fl::encoded_size(c) == 8 + 5 + sizeof(int));
    const cached back = round_trip(c);
    CHECK(back.label == "label");
    CHECK(back.cache.empty());
    CHECK(back.id == 7);
}

TEST_CASE("aggregates round trip field by field", "[codec]") {
    check_round_trip(sale{"north", 12.5});
    check_round_trip(reading{3, std::nullopt});
    check_round_trip(reading{4, 0.5});
    check_round_trip(labelled{9, "nine"});
}

TEST_CASE("nested combinations round trip", "[codec]") {
    check_round_trip(sample_nested_map());
    check_round_trip(sample_order());
    check_round_trip(std::vector<std::map<int, std::set<std::string>>>{{{1, {"a", "b"}}}, {}});
    check_round_trip(std::tuple<std::vector<sale>, std::optional<account>, std::list<quote>>{
        {{"s", 1.0}}, account{"o", 2}, {quote{{0, "", 0.0}, "n"}}});
    check_round_trip(std::map<std::string, money>{{"fee", money("EUR", 250)}});
}

TEST_CASE("empty containers round trip", "[codec]") {
    check_round_trip(std::string());
    check_round_trip(std::vector<int>());
    check_round_trip(std::vector<std::string>());
    check_round_trip(std::vector<bool>());
    check_round_trip(std::deque<point>());
    check_round_trip(std::map<int, std::string>());
    check_round_trip(std::unordered_set<std::string>());
    check_round_trip(nested_map());
    check_round_trip(order{});
}

TEST_CASE("large values round trip", "[codec]") {
    std::string megabyte(1 << 20, '\0');
    for (std::size_t i = 0; i < megabyte.size(); ++i) megabyte[i] = static_cast<char>(i * 31);
    check_round_trip(megabyte);
    std::vector<int> many(1 << 18);
    for (std::size_t i = 0; i < many.size(); ++i) many[i] = static_cast<int>(i);
    check_round_trip(many);
    check_round_trip(std::vector<std::string>(100000, "item"));
}

TEST_CASE("user codec specializations encode their types", "[codec]") {
    check_round_trip(money("USD", -5));
    check_round_trip(std::vector<money>{money("EUR", 1), money()});
    CHECK(round_trip(celsius{21.5}) == celsius{21.5});
    CHECK(fl::encode_to_vector(celsius{1.0}) == bytes_of(1.0f));
    check_round_trip(tree{1, {{2, {}}, {3, {{4, {}}}}}});
}

TEST_CASE("encoder and decoder read and write values by hand", "[codec]") {
    std::vector<std::byte> buf(fl::encoded_size(std::string("id")) + fl::encoded_size(42));
    fl::encoder e(buf.data());
    e.put(std::string("id"));
    e.put(42);
    CHECK(e.position() == buf.data() + buf.size());

    fl::decoder d(buf.data(), buf.size());
    CHECK(d.get<std::string>() == "id");
    CHECK(d.offset() == 10);
    CHECK(d.remaining() == 4);
    CHECK(d.get<int>() == 42);
    CHECK(d.remaining() == 0);
    std::byte one;
    CHECK_THROWS_AS(d.get_bytes(&one, 1), fl::decode_error);
}

TEST_CASE("every truncated prefix of a record throws decode_error", "[codec]") {
    check_every_prefix_throws(123);
    check_every_prefix_throws(tick{1, "X", 2.0});
    check_every_prefix_throws(std::string("hello"));
    check_every_prefix_throws(std::vector<int>{1, 2});
    check_every_prefix_throws(std::vector<bool>{true});
    check_every_prefix_throws(std::optional<int>{5});
    check_every_prefix_throws(std::variant<int, std::string>{"v"});
    check_every_prefix_throws(std::vector<std::monostate>(4));
    check_every_prefix_throws(sample_nested_map());
    check_every_prefix_throws(sample_order());
    check_every_prefix_throws(account{"ada", 1});
    check_every_prefix_throws(money("GBP", 3));
}

TEST_CASE("bad flags, indices, bools and counts throw decode_error", "[codec]") {
    CHECK_THROWS_AS(fl::decode<bool>(bytes_of(std::uint8_t{2}).data(), 1), fl::decode_error);
    CHECK_THROWS_AS(fl::decode<std::optional<int>>(bytes_of(std::uint8_t{2}, 0).data(), 5),
                    fl::decode_error);
    const auto bad_index = bytes_of(std::uint32_t{2}, 0);
    CHECK_THROWS_AS((fl::decode<std::variant<int, float>>(bad_index.data(), bad_index.size())),
                    fl::decode_error);
    const auto bad_bool = bytes_of(std::uint64_t{2}, std::uint8_t{1}, std::uint8_t{3});
    CHECK_THROWS_AS(fl::decode<std::vector<bool>>(bad_bool.data(), bad_bool.size()), fl::decode_error);

    auto longer = fl::encode_to_vector(std::string("hello"));
    longer[0] = std::byte{6};
    CHECK_THROWS_AS(fl::decode<std::string>(longer.data(), longer.size()), fl::decode_error);
    auto shorter = longer;
    shorter[0] = std::byte{4};
    CHECK_THROWS_AS(fl::decode<std::string>(shorter.data(), shorter.size()), fl::decode_error);

    // The same bytes as a vector of pairs with a repeated key: a map cannot hold them.
    const auto repeated = fl::encode_to_vector(std::vector<std::pair<int, int>>{{1, 1}, {1, 2}});
    CHECK_THROWS_AS((fl::decode<std::map<int, int>>(repeated.data(), repeated.size())), fl::decode_error);
    CHECK((fl::decode<std::multimap<int, int>>(repeated.data(), repeated.size())).size() == 2);
}

TEST_CASE("trailing bytes after a record throw decode_error", "[codec]") {
    auto bytes = fl::encode_to_vector(sale{"x", 1.0});
    bytes.push_back(std::byte{0});
    CHECK_THROWS_AS(fl::decode<sale>(bytes.data(), bytes.size()), fl::decode_error);
    CHECK_THROWS_AS(fl::decode<std::monostate>(bytes.data(), 1), fl::decode_error);
}

TEST_CASE("an impossible count throws decode_error before anything is allocated", "[codec]") {
    const auto huge = bytes_of(std::uint64_t{1} << 60, std::uint64_t{0});
    CHECK_THROWS_AS(fl::decode<std::string>(huge.data(), huge.size()), fl::decode_error);
    CHECK_THROWS_AS(fl::decode<std::u32string>(huge.data(), huge.size()), fl::decode_error);
    CHECK_THROWS_AS(fl::decode<std::vector<int>>(huge.data(), huge.size()), fl::decode_error);
    CHECK_THROWS_AS(fl::decode<std::vector<std::string>>(huge.data(), huge.size()), fl::decode_error);
    CHECK_THROWS_AS(fl::decode<std::vector<bool>>(huge.data(), huge.size()), fl::decode_error);
    CHECK_THROWS_AS(fl::decode<std::list<int>>(huge.data(), huge.size()), fl::decode_error);
    CHECK_THROWS_AS((fl::decode<std::map<int, int>>(huge.data(), huge.size())), fl::decode_error);
    CHECK_THROWS_AS((fl::decode<std::unordered_map<int, int>>(huge.data(), huge.size())), fl::decode_error);
    CHECK_THROWS_AS(fl::decode<std::vector<std::monostate>>(huge.data(), huge.size()), fl::decode_error);
    CHECK_THROWS_AS(fl::decode<std::vector<std::tuple<>>>(huge.data(), huge.size()), fl::decode_error);
    CHECK_THROWS_AS(fl::decode<std::vector<nothing>>(huge.data(), huge.size()), fl::decode_error);
    CHECK_THROWS_AS(fl::decode<std::set<std::monostate>>(huge.data(), huge.size()), fl::decode_error);
    CHECK_THROWS_AS(fl::decode<std::vector<money>>(huge.data(), huge.size()), fl::decode_error);
}

TEST_CASE("elements that encode to nothing are bounded by the record's size plus 2^20, in all", "[codec]") {
    const auto many = bytes_of((std::uint64_t{1} << 20) + 8);  // the record is the 8-byte count
    CHECK(fl::decode<std::vector<std::monostate>>(many.data(), many.size()).size() == (1u << 20) + 8);
    const auto too_many = bytes_of((std::uint64_t{1} << 20) + 9);
    CHECK_THROWS_AS(fl::decode<std::vector<std::monostate>>(too_many.data(), too_many.size()),
                    fl::decode_error);
    // Nested: 400 inner counts of 2^20 each in 3208 bytes would make 400 Mi elements; the budget
    // is shared by the whole record, so the second one fails.
    std::vector<std::byte> nested = bytes_of(std::uint64_t{400});
    for (int i = 0; i < 400; ++i) {
        auto inner = bytes_of(std::uint64_t{1} << 20);
        nested.insert(nested.end(), inner.begin(), inner.end());
    }
    CHECK_THROWS_AS(fl::decode<std::vector<std::vector<std::monostate>>>(nested.data(), nested.size()),
                    fl::decode_error);
}

TEST_CASE("decode errors name what failed and where", "[codec]") {
    CHECK(decode_message<std::string>(bytes_of(std::uint64_t{1000000}, std::uint32_t{0})) ==
          "forkline::decode: truncated record: string length 1000000 at offset 0 but only 4 bytes remain");
    CHECK(decode_message<std::vector<std::int64_t>>(bytes_of(std::uint64_t{2}, std::uint64_t{0})) ==
          "forkline::decode: truncated record: vector length 2 at offset 0 but only 8 bytes remain "
          "(each element takes at least 8)");
    CHECK(decode_message<std::list<std::string>>(bytes_of(std::uint64_t{3}, std::uint64_t{0})) ==
          "forkline::decode: truncated record: sequence length 3 at offset 0 but only 8 bytes remain "
          "(each element takes at least 8)");
    CHECK(decode_message<std::map<int, int>>(bytes_of(std::uint64_t{2}, 1, 1, 1, 2)) ==
          "forkline::decode: corrupt record: map size 2 at offset 0 (repeated keys: only 1 distinct)");
    CHECK(decode_message<std::vector<std::monostate>>(bytes_of(std::uint64_t{1} << 60)) ==
          "forkline::decode: corrupt record: sequence length 1152921504606846976 at offset 0 (more "
          "elements that encode to nothing than one record may hold: its size plus 2^20, in all)");
    CHECK(decode_message<std::pair<int, std::optional<int>>>(bytes_of(1, std::uint8_t{7})) ==
          "forkline::decode: corrupt record: optional flag 7 at offset 4 (expected 0 or 1)");
    CHECK(decode_message<std::variant<int, char>>(bytes_of(std::uint32_t{5})) ==
          "forkline::decode: corrupt record: variant index 5 at offset 0 (expected less than 2)");
    CHECK(decode_message<std::pair<short, int>>(bytes_of(short{1}, short{2})) ==
          "forkline::decode: truncated record: 4 bytes for integer at offset 2 but only 2 remain");
    CHECK(decode_message<int>(bytes_of(1, 2)) ==
          "forkline::decode: trailing bytes: the record ends at offset 4 but 8 bytes were given");
}

TEST_CASE("no overwritten byte makes decode misbehave", "[codec]") {
    CHECK(rejected_corruptions(sample_nested_map()) > 0);
    CHECK(rejected_corruptions(sample_order()) > 0);
    CHECK(rejected_corruptions(std::unordered_map<std::string, std::set<int>>{{"a", {1, 2}}, {"b", {}}}) > 0);
    CHECK(rejected_corruptions(std::vector<std::variant<std::monostate, bool, std::string>>{
              std::monostate{}, true, std::string("s")}) > 0);
}

TEST_CASE("random corruption yields a value or a decode_error", "[codec]") {
    const std::vector<std::byte> bytes = fl::encode_to_vector(sample_order());
    std::mt19937 random(12345);
    std::size_t rejected = 0;
    for (int round = 0; round < 3000; ++round) {
        std::vector<std::byte> copy = bytes;
        const int flips = 1 + static_cast<int>(random() % 4);
        for (int f = 0; f < flips; ++f)
            copy[random() % copy.size()] ^= static_cast<std::byte>(1u << (random() % 8));
        copy.resize(copy.size() - random() % 3);
        try {
            (void)fl::decode<order>(copy.data(), copy.size());
        } catch (const fl::decode_error&) {
            ++rejected;
        }
    }
    CHECK(rejected > 0);
}

TEST_CASE("encoding a valueless variant throws invalid_argument", "[codec]") {
    std::variant<int, fragile> v;
    const fragile original;
    CHECK_THROWS_AS(v.emplace<1>(original), std::runtime_error);
    REQUIRE(v.valueless_by_exception());
    CHECK_THROWS_AS(fl::encoded_size(v), std::invalid_argument);
    std::vector<std::byte> buf(64);
    CHECK_THROWS_AS(fl::encode(v, buf.data()), std::invalid_argument);
}
