// fl::read_csv and fl::write_csv: RFC 4180 records, split at any offset without losing or
// inventing a row (also inside quoted fields with line ends), typed rows, rejects that say where.
#include "../support.hpp"
#include "csv_parts.hpp"

#include <forkline/forkline.hpp>

#include <boost/hana/define_struct.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace fl = forkline;
using forkline::test::temp_dir;
using forkline::test::temp_file;
namespace d = forkline::detail;

namespace {

struct record {
    std::vector<std::string> fields;
    std::uint64_t line;
    bool bad;
    bool operator==(const record&) const = default;
};

std::ostream& operator<<(std::ostream& os, const record& r) {
    os << r.line << (r.bad ? "!" : "") << "[";
    for (const auto& f : r.fields) os << "<" << f << ">";
    return os << "]";
}

record copied(const d::csv_record& r) { return {{r.fields.begin(), r.fields.end()}, r.line, r.error != nullptr}; }

/// Every record of the file, read by one cursor.
std::vector<record> whole(d::text_files& files, d::csv_format fmt = {}) {
    std::vector<record> out;
    forkline::test::csv_whole(files, fmt, [&](const d::csv_record& r) { out.push_back(copied(r)); });
    return out;
}

/// The same file cut into parts of `chunk` bytes: first pass, chained states, then the parts.
std::vector<record> in_parts(d::text_files& files, std::uint64_t chunk, d::csv_format fmt = {}) {
    std::vector<record> out;
    forkline::test::csv_in_parts(files, chunk, fmt, [&](const d::csv_record& r) { out.push_back(copied(r)); });
    return out;
}

const std::vector<std::string> tricky = {
    "a,b,c\n1,2,3\n",
    "a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\r\n",
    "id,text\n1,\"two\nlines\"\n2,\"three\r\nlines\r\nhere\"\n3,plain",
    "\"\"\"\",\"\",\"a\"\"\"\n,,\n\n\nlast,row,",
    "q,w\n\"unclosed,\nfield\n",
    "x,y\n\"closed\"tail,5\n12\"3,\"\"\"quoted\"\" start\"\n",
    "\n\r\n\"\n\",\"\r\n\"\n",
    std::string("\"") + std::string(300, ',') + "\"," + std::string(200, '"') + "\n\"a\"\"b\",c",
};

struct sale {
    std::string date, region, product;
    int quantity;
    double unit_price;
};

struct named_sale {
    BOOST_HANA_DEFINE_STRUCT(named_sale, (std::string, region), (int, quantity), (std::optional<double>, discount));
};

}  // namespace

TEST_CASE("csv records: quotes, doubled quotes, line ends inside quotes, CRLF, empty lines", "[dsl][read_csv]") {
    temp_file f("a,\"b, c\",\"d \"\"e\"\"\"\r\n\r\n\"multi\nline\",,last\n\"open");
    d::text_files files({f.path}, "test");
    auto got = whole(files);
    std::vector<record> expect = {{{"a", "b, c", "d \"e\""}, 1, false},
                                  {{"multi\nline", "", "last"}, 3, false},
                                  {{"open"}, 5, true}};
    CHECK(got == expect);
    temp_file semi("x;\"y;z\"\n1;2");
    d::text_files files2({semi.path}, "test");
    CHECK(whole(files2, {';', '"'}) == std::vector<record>{{{"x", "y;z"}, 1, false}, {{"1", "2"}, 2, false}});
}

TEST_CASE("a csv split at any offset reads the same records, with the same line numbers", "[dsl][read_csv][split]") {
    for (const auto& text : tricky) {
        temp_file f(text);
        d::text_files files({f.path}, "test");
        const auto expect = whole(files);
        for (std::uint64_t chunk = 1; chunk <= text.size(); ++chunk) {
            INFO("text '" << text << "' in parts of " << chunk);
            REQUIRE(in_parts(files, chunk) == expect);
        }
    }
}

TEST_CASE("a csv split reads the same where quotes settle near a part's start and where they do not",
          "[dsl][read_csv][split]") {
    // Quoted rows (a part starting among them learns its state from its first quotes), a quoted
    // field longer than the probe (parts inside it do not), a long stretch without quotes (nor
    // there), then quoted rows again, one of them with a doubled quote right where parts start.
    std::string text = "id,text\n";
    for (int i = 0; i < 3000; ++i) text += std::to_string(i) + ",\"a, \"\"b\"\"\nc\"\r\n";
    text += "big,\"" + std::string(3 * d::csv_probe_bytes, 'x') + "\n,\n" + std::string(1000, 'y') + "\"\n";
    for (int i = 0; i < 20000; ++i) text += std::to_string(i) + ",plain\n";
    for (int i = 0; i < 3000; ++i) text += "\"q\"\"" + std::to_string(i) + "\",\"\"\n";
    temp_file f(text);
    d::text_files files({f.path}, "test");
    const auto expect = whole(files);
    REQUIRE(expect.size() == 1 + 3000 + 1 + 20000 + 3000);
    for (std::uint64_t chunk : {4093u, 65536u, 65537u, 100003u, 262144u, 1000000u}) {
        INFO("parts of " << chunk);
        REQUIRE(in_parts(files, chunk) == expect);
    }
}

TEST_CASE("a csv record longer than a read block, or across one, is read whole", "[dsl][read_csv]") {
    // The cursor reads blocks of at most 1 MiB, and a record that runs past one again from its
    // start: a field of 3 MiB with doubled quotes and line ends in it, then a record of about a
    // block, then one that must come from the next block.
    std::string big;
    for (int i = 0; big.size() < (3u << 20); ++i) big += i % 7 ? "abc\n" : "\"\"";
    std::string text = "\"" + big + "\",tail\r\n";
    std::string filler(1u << 20, 'z');
    text += filler.substr(0, (1u << 20) - 3 - (text.size() % (1u << 20))) + ",1\n";
    text += "after,\"\"\"\"\n";
    temp_file f(text);
    d::text_files files({f.path}, "test");
    auto got = whole(files);
    REQUIRE(got.size() == 3);
    std::string unquoted;
    for (std::size_t i = 0; i < big.size(); ++i) unquoted += big[i], i += big[i] == '"';
    CHECK(got[0].fields == std::vector<std::string>{unquoted, "tail"});
    CHECK(got[1].line == 1 + static_cast<std::uint64_t>(std::count(big.begin(), big.end(), '\n')) + 1);
    CHECK(got[2].fields == std::vector<std::string>{"after", "\""});
    CHECK(in_parts(files, 1u << 20) == got);
}

TEST_CASE("read_csv makes aggregates by position and Hana structs by header name", "[dsl][read_csv]") {
    temp_file f("date,region,product,quantity,unit_price\r\n"
                "2024-01-02,\"Ile-de-France, Paris\",\"gadget \"\"34\"\"\",3,2.5\r\n"
                "2024-01-03,North,widget,+7,1e3\r\n");
    auto rows = fl::run(fl::read_csv<sale>(f.path) | fl::to_vector());
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].region == "Ile-de-France, Paris");
    CHECK(rows[0].product == "gadget \"34\"");
    CHECK(rows[0].quantity == 3);
    CHECK(rows[1].quantity == 7);
    CHECK(rows[1].unit_price == 1000.0);

    temp_file g("quantity,discount,region,unused\n4,,West,x\n5,0.5,East,y\n");
    auto named = fl::run(fl::read_csv<named_sale>(g.path) | fl::to_vector());
    REQUIRE(named.size() == 2);
    CHECK(named[0].region == "West");
    CHECK(named[0].quantity == 4);
    CHECK(!named[0].discount);
    CHECK(named[1].discount == 0.5);

    auto raw = fl::run(fl::read_csv<std::vector<std::string>>(g.path, {.header = false}) | fl::to_vector());
    CHECK(raw.size() == 3);
    CHECK(raw[0] == std::vector<std::string>{"quantity", "discount", "region", "unused"});
}

TEST_CASE("a row that does not convert fails the run, or is collected with where and why", "[dsl][read_csv]") {
    temp_file f("date,region,product,quantity,unit_price\n"
                "2024-01-02,North,\"two\nlines\",3,2.5\n"
                "2024-01-03,North,widget,seven,1.0\n"
                "2024-01-04,South,gizmo,1,2,3\n"
                "2024-01-05,East,thing,2,abc\n"
                "2024-01-06,West,fine,1,1\n");
    try {
        fl::run(fl::read_csv<sale>(f.path) | fl::count());
        FAIL("no exception");
    } catch (const fl::stage_error& e) {
        CHECK(e.stage() == "read_csv");
        CHECK(e.message() == f.path + ":4: column 'quantity': 'seven' is not an integer");
    }
    for (std::uint64_t chunk : {0, 1, 5, 17, 64}) {
        std::vector<fl::reject> rejects;
        fl::run_report report;
        auto n = fl::run(fl::read_csv<sale>(f.path, {.rejects = &rejects, .split_bytes = chunk}) |
                             fl::parallel(fl::map([](const sale& s) { return s.quantity; }), fl::unordered) |
                             fl::reduce(0, std::plus<>{}),
                         fl::options{.report = &report});
        INFO("parts of " << chunk);
        CHECK(n == 4);
        CHECK(report.rejected == 3);
        REQUIRE(rejects.size() == 3);
        std::sort(rejects.begin(), rejects.end(), [](const auto& a, const auto& b) { return a.line < b.line; });
        CHECK(rejects[0].message() == f.path + ":4: column 'quantity': 'seven' is not an integer");
        CHECK(rejects[0].column == 4);
        CHECK(rejects[1].message() == f.path + ":5: expected 5 fields, found 6");
        CHECK(rejects[2].message() == f.path + ":6: column 'unit_price': 'abc' is not a number");
    }
    // A stage of the readers that throws on a row: the error says which row.
    std::vector<fl::reject> skipped;
    try {
        fl::run(fl::read_csv<sale>(f.path, {.rejects = &skipped, .split_bytes = 16}) |
                fl::parallel(fl::map([](const sale& s) {
                    if (s.product == "fine") throw std::runtime_error("not so fine");
                    return s.quantity;
                })) |
                fl::count());
        FAIL("no exception");
    } catch (const fl::stage_error& e) {
        CHECK(e.message() == f.path + ":7: not so fine");
    }
    temp_file g("region,quantity\nNorth,1\n");
    try {
        fl::run(fl::read_csv<named_sale>(g.path) | fl::count());
        FAIL("no exception");
    } catch (const fl::stage_error& e) {
        CHECK(e.message() == "forkline::read_csv: '" + g.path + "' has no column 'discount'");
    }
    CHECK(forkline::test::no_children_left());
}

namespace {
struct cents {
    long value;
};
struct priced {
    std::string item;
    cents price;
};
}  // namespace

template <>
struct forkline::csv_field<cents> {
    static constexpr std::string_view expected = "an amount such as 12.50";
    static bool parse(std::string_view s, cents& c) {
        auto dot = s.find('.');
        if (dot == std::string_view::npos || s.size() - dot != 3) return false;
        long whole = 0, part = 0;
        if (!csv_field<long>::parse(s.substr(0, dot), whole) || !csv_field<long>::parse(s.substr(dot + 1), part)) return false;
        c.value = whole * 100 + part;
        return true;
    }
    static void write(const cents& c, std::string& out) {
        out += std::to_string(c.value / 100) + "." + (c.value % 100 < 10 ? "0" : "") + std::to_string(c.value % 100);
    }
};

TEST_CASE("user types convert through forkline::csv_field, and write_csv reads back", "[dsl][read_csv][write_csv]") {
    temp_dir dir;
    std::string in = dir.add("in.csv", "item,price\n\"chair, oak\",12.50\nlamp,3.05\nbad,3.5\n");
    std::vector<fl::reject> rejects;
    auto rows = fl::run(fl::read_csv<priced>(in, {.rejects = &rejects}) | fl::to_vector());
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].price.value == 1250);
    REQUIRE(rejects.size() == 1);
    CHECK(rejects[0].reason == "'3.5' is not an amount such as 12.50");

    std::string out = dir.path + "/out.csv";
    dir.files.push_back(out);
    std::vector<priced> odd = {{"a \"quoted\" one", {100}}, {"comma, and\nline end", {5}}, {" padded ", {0}}, {"", {7}}};
    CHECK(fl::run(fl::from(odd) | fl::write_csv(out, {.header = {"item", "price"}})) == 4);
    auto back = fl::run(fl::read_csv<priced>(out) | fl::to_vector());
    REQUIRE(back.size() == odd.size());
    for (std::size_t i = 0; i < odd.size(); ++i) {
        CHECK(back[i].item == odd[i].item);
        CHECK(back[i].price.value == odd[i].price.value);
    }
    std::string named = dir.path + "/named.csv";
    dir.files.push_back(named);
    std::vector<named_sale> ns = {{"West", 3, std::nullopt}, {"East", 4, 0.25}};
    fl::run(fl::from(ns) | fl::write_csv(named, {.delimiter = ';', .crlf = true}));
    auto again = fl::run(fl::read_csv<named_sale>(named, {.delimiter = ';'}) | fl::to_vector());
    REQUIRE(again.size() == 2);
    CHECK(again[1].discount == 0.25);
    CHECK(!again[0].discount);
}

TEST_CASE("read_csv splits over its readers and keeps rows whole across parts", "[dsl][read_csv][split]") {
    std::string text = "date,region,product,quantity,unit_price\r\n";
    long expect = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string region = i % 3 ? "\"Region, " + std::to_string(i % 7) + "\"" : "\"multi\nline " + std::to_string(i % 5) + "\"";
        text += "2024-01-01," + region + ",\"gadget \"\"" + std::to_string(i) + "\"\"\"," + std::to_string(i % 11) + ",1.5\r\n";
        expect += i % 11;
    }
    temp_file f(text);
    for (std::uint64_t chunk : {0, 1, 3, 64, 1000, 4096}) {
        auto p = fl::read_csv<sale>(f.path, {.split_bytes = chunk}) |
                 fl::reduce_by_key([](const sale& s) { return s.region.substr(0, 5); }, 0L,
                                   [](long t, const sale& s) { return t + s.quantity; }, std::plus<>{});
        INFO("parts of " << chunk);
        auto totals = fl::run(p, fl::options{.cpus = 3});
        long sum = 0;
        for (auto& [k, v] : totals) sum += v;
        CHECK(sum == expect);
        CHECK(totals.size() == 2);
    }
    CHECK(fl::plan(fl::read_csv<sale>(f.path) | fl::parallel(fl::map([](const sale& s) { return s.quantity; })) |
                   fl::count())
              .describe()
              .find("read_csv | map (split, in order)") != std::string::npos);
}
