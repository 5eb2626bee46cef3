// fl::read_csv<T>(path, options): a source of typed rows from CSV files (RFC 4180). A row that
// does not convert is a reject with its file, line, column and reason: the run fails at the first
// one, or collects them all. Followed by a parallel stage it is split as read_lines is, and the
// splits stay correct with quoted fields that hold line ends.
#pragma once

#include <forkline/dsl/csv_field.hpp>
#include <forkline/dsl/detail/csv_input.hpp>
#include <forkline/dsl/detail/element.hpp>
#include <forkline/dsl/detail/split.hpp>
#include <forkline/ipc/waiter.hpp>

#include <boost/hana/accessors.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/core/to.hpp>
#include <boost/pfr/core.hpp>

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace forkline {

/// A row of a CSV file that could not be read: where it is and why.
struct reject {
    std::string file;
    std::uint64_t line = 0;   ///< 1-based, in its file
    std::size_t column = 0;   ///< 1-based; 0 when the whole row is wrong (its field count)
    std::string column_name;  ///< from the header, when there is one
    std::string reason;       ///< "'seven' is not an integer"
    /// "sales.csv:4986: column 'quantity': 'seven' is not an integer"
    std::string message() const;
};

/// How fl::read_csv reads its files (designated initializers: `{.delimiter = ';'}`).
struct csv_options {
    char delimiter = ',';  ///< ',' ';' '\t' '|' or any other byte but the quote and line ends
    char quote = '"';
    /// The first row of each file names the columns (and is not a row): a Hana struct's fields
    /// are found by these names, an aggregate's are taken in order either way.
    bool header = true;
    /// Where the rows that cannot be read go, filled in the caller when the run ends. Null (the
    /// default): the first one ends the run with fl::stage_error, whose message says where and why.
    std::vector<reject>* rejects = nullptr;
    /// As text_options::split_bytes; a split has at most 1024 parts, so large inputs get larger ones.
    std::uint64_t split_bytes = 0;
};

/// Thrown (as the stage's failure) by a row that cannot be read when rejects are not collected.
class csv_error : public std::runtime_error {
public:
    explicit csv_error(const reject& r) : std::runtime_error(r.message()), reject_(r) {}
    const struct reject& where() const noexcept { return reject_; }

private:
    struct reject reject_;
};

namespace detail {

/// One line of the run's reject log, and back.
std::string encode_reject(const reject& r);
reject decode_reject(std::string_view line);

template <class T>
inline constexpr bool csv_raw_row = std::is_same_v<T, std::vector<std::string>>;

template <class T>
consteval bool csv_fields_convertible() {
    if constexpr (csv_raw_row<T>) {
        return true;
    } else if constexpr (boost::hana::Struct<T>::value) {
        bool ok = true;
        boost::hana::for_each(boost::hana::accessors<T>(), [&](auto p) {
            using F = std::remove_cvref_t<decltype(boost::hana::second(p)(std::declval<T&>()))>;
            ok = ok && csv_convertible<F>;
        });
        return ok;
    } else if constexpr (std::is_aggregate_v<T>) {
        return []<std::size_t... I>(std::index_sequence<I...>) {
            return (csv_convertible<boost::pfr::tuple_element_t<I, T>> && ...);
        }(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});
    } else {
        return false;
    }
}

/// Fills a T from records of one file: the field of each column, found from the header.
template <class T>
class csv_rows {
public:
    /// The columns of a file, from its header (or none): a Hana struct's fields by name.
    void start_file(const std::string& file, const std::vector<std::string_view>* header) {
        file_ = file;
        names_.clear();
        if (header)
            for (auto h : *header) names_.emplace_back(h);
        if constexpr (!csv_raw_row<T> && boost::hana::Struct<T>::value) {
            columns_.clear();
            boost::hana::for_each(boost::hana::accessors<T>(), [&](auto p) {
                std::string name = boost::hana::to<const char*>(boost::hana::first(p));
                std::size_t c = columns_.size();
                if (header) {
                    auto at = std::find(names_.begin(), names_.end(), name);
                    if (at == names_.end())
                        throw std::runtime_error("forkline::read_csv: '" + file + "' has no column '" + name + "'");
                    c = static_cast<std::size_t>(at - names_.begin());
                }
                columns_.push_back(c);
            });
        }
    }

    /// Fills t from r; false (and `why` set) when r cannot be a T.
    bool fill(const csv_record& r, T& t, reject& why) const {
        if (r.error) return fail(why, r, 0, r.error);
        if constexpr (csv_raw_row<T>) {
            t.assign(r.fields.begin(), r.fields.end());
            return true;
        } else if constexpr (boost::hana::Struct<T>::value) {
            bool ok = true;
            std::size_t k = 0;
            boost::hana::for_each(boost::hana::accessors<T>(), [&](auto p) {
                std::size_t c = columns_[k++];
                if (!ok) return;
                if (c >= r.fields.size()) {
                    ok = fail(why, r, 0, "expected at least " + std::to_string(c + 1) + " fields, found " +
                                             std::to_string(r.fields.size()));
                    return;
                }
                ok = field(boost::hana::second(p)(t), r, c, why);
            });
            return ok;
        } else {
            constexpr std::size_t n = boost::pfr::tuple_size_v<T>;
            if (r.fields.size() != n)
                return fail(why, r, 0, "expected " + std::to_string(n) + " fields, found " + std::to_string(r.fields.size()));
            bool ok = true;
            boost::pfr::for_each_field(t, [&](auto& f, std::size_t c) { ok = ok && field(f, r, c, why); });
            return ok;
        }
    }

private:
    template <class F>
    bool field(F& f, const csv_record& r, std::size_t c, reject& why) const {
        if (csv_field<F>::parse(r.fields[c], f)) return true;
        std::string text(r.fields[c].substr(0, 40));
        if (r.fields[c].size() > 40) text += "...";
        return fail(why, r, c + 1, "'" + text + "' is not " + std::string(csv_field<F>::expected));
    }
    bool fail(reject& why, const csv_record& r, std::size_t column, std::string reason) const {
        why.file = file_;
        why.line = r.line;
        why.column = column;
        why.column_name = column > 0 && column <= names_.size() ? names_[column - 1] : std::string();
        why.reason = std::move(reason);
        return false;
    }

    std::string file_;
    std::vector<std::string> names_;
    std::vector<std::size_t> columns_;  ///< Hana structs: the column of each field
};

}  // namespace detail

template <class T>
struct read_csv_source : detail::pipe_base {
    using role = detail::source_role;
    using output = T;
    using view_output = T;  // a row with string_view fields stays in the readers' processes
    static constexpr std::string_view default_name = "read_csv";

    static constexpr bool check() {
        constexpr bool ok = detail::csv_fields_convertible<T>();
        static_assert(ok, "forkline::read_csv<T>(path): T must be std::vector<std::string>, an aggregate or a Hana "
                          "struct whose fields all have a forkline::csv_field (strings, numbers, bool, "
                          "std::optional of those, or your own specialization)");
        return ok;
    }

    /// One reader: every row of every file, in order.
    template <class Out>
    void produce(Out& out, detail::source_context ctx) {
        detail::text_files files(paths_, "forkline::read_csv");
        seekable(files);
        detail::csv_rows<T> rows;
        for (std::size_t f = 0; f < files.count(); ++f) {
            start_file(files, f, rows);
            read_part(files, f, 0, files.size(f), 1, rows, [&](T&& row) { out.push(std::move(row)); },
                      [&](reject& why, const detail::csv_record&) {
                          if (!options_.rejects) throw csv_error(why);
                          ctx.rejects.add(detail::encode_reject(why));
                      });
            ctx.read(files.size(f));
        }
    }

    /// The readers of a split: each claims a part, learns where its records start and stop
    /// (csv_split: from the quotes near its start, in real files) and reads them. Lines are
    /// counted from the part's start; a reject waits for the parts before it to be read to learn
    /// its line, which it has by the end of the next part or so.
    template <class Line, class Sink>
    void read_split(detail::source_context ctx, Sink& sink) {
        detail::text_files files(paths_, "forkline::read_csv");
        seekable(files);
        detail::csv_split split(files, format(), ctx.readers, options_.split_bytes, ctx.table->parts,
                                detail::split_table::max_parts, ctx.abort);
        detail::csv_rows<T> rows;
        std::size_t file = files.count();
        struct waiting {
            std::size_t part;
            reject why;
        };
        std::vector<waiting> pending;
        auto deliver = [&](bool wait) {
            std::erase_if(pending, [&](waiting& w) {
                auto first = split.first_line(w.part);
                for (std::uint64_t spins = 0; !first && wait; first = split.first_line(w.part)) {
                    if (ctx.abort && ctx.abort->load(std::memory_order_relaxed)) throw ipc::aborted{};
                    if (++spins > 64) std::this_thread::sleep_for(std::chrono::microseconds(50));
                }
                if (!first) return false;
                w.why.line += *first;
                ctx.rejects.add(detail::encode_reject(w.why));
                return true;
            });
        };
        for (std::uint64_t p; (p = ctx.next->fetch_add(1, std::memory_order_relaxed)) < split.count();) {
            auto b = split.enter(p);
            const auto& x = split[p];
            if (file != x.file) start_file(files, file = x.file, rows);
            sink.begin(p);
            std::uint64_t lines = read_part(files, x.file, b.start, b.stop, 0, rows,
                                            [&](T&& row) { sink.line(std::move(row)); },
                                            [&](reject& why, const detail::csv_record& r) {
                                                if (!options_.rejects) {
                                                    why.line = detail::line_number(files, x.file, r.offset);
                                                    throw csv_error(why);
                                                }
                                                pending.push_back({p, why});
                                            });
            sink.end();
            split.read(p, lines);
            ctx.read(x.end - x.begin);
            deliver(false);
        }
        deliver(true);
        sink.done();
    }

    /// In the caller, after the run: the rejects the readers logged.
    void take_rejects(const std::vector<std::string>& lines) const {
        if (!options_.rejects) return;
        for (const auto& l : lines) options_.rejects->push_back(detail::decode_reject(l));
    }

    /// The files' bytes: one reader counts each file it finished, the readers of a split each part.
    std::optional<detail::input_size> input_bytes() const noexcept { return detail::files_size(paths_, "forkline::read_csv"); }
    /// Files (not streams) can be read again (options::restarts: a replacement starts over).
    bool resumable() const noexcept { return input_bytes().has_value(); }
    std::optional<detail::input_size> input_size() const noexcept { return input_bytes(); }

    std::vector<std::string> paths_;
    csv_options options_;

private:
    detail::csv_format format() const { return {options_.delimiter, options_.quote}; }

    static void seekable(const detail::text_files& files) {
        if (!files.seekable())
            throw std::runtime_error("forkline::read_csv: reads regular files only (not pipes or terminals)");
    }

    /// The file's header (its first record), for the rows' columns.
    void start_file(detail::text_files& files, std::size_t f, detail::csv_rows<T>& rows) const {
        if (!options_.header) {
            rows.start_file(files.path(f), nullptr);
            return;
        }
        detail::csv_cursor c(files, f, 0, 1, 1, format());
        detail::csv_record h;
        bool any = c.next(h);
        rows.start_file(files.path(f), any ? &h.fields : nullptr);
    }

    /// The rows of the records of file f that start in [start, stop), `line` being the line of
    /// the first (0 when counted from the part's start: errors then count the file's lines).
    /// Returns the line ends it went over.
    template <class Push, class Reject>
    std::uint64_t read_part(detail::text_files& files, std::size_t f, std::uint64_t start, std::uint64_t stop,
                            std::uint64_t line, detail::csv_rows<T>& rows, Push&& push, Reject&& rejected) const {
        detail::csv_cursor c(files, f, start, stop, line, format());
        detail::csv_record r;
        bool skip_header = options_.header && start == 0;
        reject why;
        // One row, filled again and again: stages that take it by reference leave its strings
        // to be reused, so a row costs no allocation; those that take it by value move it out.
        T row{};
        while (c.next(r)) {
            if (skip_header) {
                skip_header = false;
                continue;
            }
            if (rows.fill(r, row, why)) {
                try {
                    push(std::move(row));
                } catch (const std::exception& e) {
                    detail::throw_at(files.path(f), line ? r.line : detail::line_number(files, f, r.offset), e.what());
                }
            } else {
                rejected(why, r);
            }
        }
        return c.line() - line;
    }
};

template <class T>
struct read_csv_fn {
    /// A source of the rows of CSV files (a path, a glob, or several) as `T`s: an aggregate by
    /// column position (Boost.PFR), a Hana struct by header name, or `std::vector<std::string>`
    /// for every field as text. Fields convert with forkline::csv_field (strings, integers and
    /// floating point with std::from_chars, bool, std::optional for empty fields, your own).
    /// RFC 4180: quoted fields, doubled quotes, delimiters and line ends inside quotes, CRLF or
    /// LF; a quote inside an unquoted field is text, as is what follows a closing quote before
    /// the next delimiter. Empty lines are no rows. Split like fl::read_lines when a parallel
    /// stage follows.
    /// Example: `fl::read_csv<sale>("sales.csv") | fl::reduce_by_key(&sale::region, 0.0, add)`.
    /// Errors: a row that does not convert ends the run as fl::stage_error with
    /// "sales.csv:4986: column 'quantity': 'seven' is not an integer", unless
    /// `options.rejects` collects such rows; a missing file, a glob that matches nothing, or a
    /// header without a Hana struct's column ends it too.
    read_csv_source<T> operator()(std::string path, csv_options o = {}) const { return {{}, {std::move(path)}, o}; }
    read_csv_source<T> operator()(std::vector<std::string> paths, csv_options o = {}) const {
        return {{}, std::move(paths), o};
    }
};

template <class T>
inline constexpr read_csv_fn<T> read_csv{};

}  // namespace forkline
