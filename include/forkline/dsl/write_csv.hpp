// fl::write_csv(path, options): a sink that writes each row as a CSV record (RFC 4180), quoting
// the fields that need it, so that fl::read_csv reads back what was written.
#pragma once

#include <forkline/dsl/detail/diagnostics.hpp>
#include <forkline/dsl/read_csv.hpp>
#include <forkline/dsl/write_lines.hpp>

#include <string>
#include <string_view>

namespace forkline {

namespace detail {

/// Appends `field` to `out`, quoted when it holds the delimiter, a quote or a line end (or
/// starts or ends with a space, which some readers would drop), its quotes doubled.
inline void csv_quote(std::string& out, std::string_view field, csv_format fmt) {
    const char special[] = {fmt.delimiter, fmt.quote, '\n', '\r'};
    bool quote = field.find_first_of(std::string_view(special, sizeof special)) != std::string_view::npos ||
                 (!field.empty() && (field.front() == ' ' || field.back() == ' '));
    if (!quote) {
        out += field;
        return;
    }
    out += fmt.quote;
    for (char c : field) {
        if (c == fmt.quote) out += fmt.quote;
        out += c;
    }
    out += fmt.quote;
}

/// The fields of a row, as csv_field writes them, each handed to f(std::string_view).
template <class T, class F>
void csv_fields(const T& row, std::string& buf, F&& f) {
    auto one = [&](const auto& v) {
        buf.clear();
        csv_field<std::remove_cvref_t<decltype(v)>>::write(v, buf);
        f(std::string_view(buf));
    };
    if constexpr (csv_raw_row<T>) {
        for (const auto& s : row) f(std::string_view(s));
    } else if constexpr (boost::hana::Struct<T>::value) {
        boost::hana::for_each(boost::hana::accessors<T>(), [&](auto p) { one(boost::hana::second(p)(row)); });
    } else {
        boost::pfr::for_each_field(row, one);
    }
}

/// The header: a Hana struct's field names, or an aggregate's given ones.
template <class T>
std::vector<std::string> csv_names() {
    std::vector<std::string> names;
    if constexpr (!csv_raw_row<T> && boost::hana::Struct<T>::value)
        boost::hana::for_each(boost::hana::accessors<T>(),
                              [&](auto p) { names.emplace_back(boost::hana::to<const char*>(boost::hana::first(p))); });
    return names;
}

}  // namespace detail

/// How fl::write_csv writes (designated initializers: `{.delimiter = ';'}`).
struct csv_write_options {
    char delimiter = ',';
    char quote = '"';
    /// The first line: these names, or (when empty) a Hana struct's field names; none for an
    /// aggregate without names.
    std::vector<std::string> header{};
    bool crlf = false;  ///< end records with "\r\n" (RFC 4180's) rather than "\n"
};

struct write_csv_sink : detail::pipe_base {
    using role = detail::sink_role;
    static constexpr std::string_view default_name = "write_csv";

    template <class In>
    static constexpr bool check() {
        constexpr bool ok = detail::csv_fields_convertible<In>();
        static_assert(ok, "forkline::write_csv(path): the items must be std::vector<std::string>, aggregates or Hana "
                          "structs whose fields all have a forkline::csv_field " FORKLINE_IN_OF_CHECK);
        return ok;
    }
    template <class In>
    using result = std::size_t;

    template <class In>
    struct runner {
        detail::line_writer out;
        csv_write_options opts;
        std::size_t n = 0;
        std::string line{}, buf{};
        bool started = false;

        void record(const auto& fields_of) {
            line.clear();
            bool first = true;
            fields_of([&](std::string_view f) {
                if (!first) line += opts.delimiter;
                first = false;
                detail::csv_quote(line, f, {opts.delimiter, opts.quote});
            });
            if (opts.crlf) line += '\r';
            out.write(line);
        }
        void header() {
            started = true;
            auto names = opts.header.empty() ? detail::csv_names<In>() : opts.header;
            if (names.empty()) return;
            record([&](auto&& f) {
                for (const auto& s : names) f(std::string_view(s));
            });
        }
        void push(In&& x) {
            if (!started) header();
            record([&](auto&& f) { detail::csv_fields(x, buf, f); });
            ++n;
        }
        std::size_t finish() {
            if (!started) header();
            out.close();
            return n;
        }
    };
    template <class In>
    runner<In> make_runner() { return {detail::line_writer(path_), options_}; }

    std::string path_;
    csv_write_options options_;
};

struct write_csv_fn {
    /// A sink that writes each row to the file at `path` (created or truncated when the run
    /// starts) as a CSV record, after a header line; the result is the number of rows. Fields
    /// that hold the delimiter, a quote or a line end are quoted, so fl::read_csv reads back
    /// the same rows. Example: `fl::run(fl::read_csv<sale>("in.csv") | fl::map(fix) |
    /// fl::write_csv("out.csv"))`.
    /// Errors: a file that cannot be opened or written ends the run as fl::stage_error("write_csv").
    write_csv_sink operator()(std::string path, csv_write_options o = {}) const { return {{}, std::move(path), std::move(o)}; }
};

inline constexpr write_csv_fn write_csv{};

}  // namespace forkline
