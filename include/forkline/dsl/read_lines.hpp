// fl::read_lines(path or glob): a source of the lines of text files. Followed by a parallel stage
// it is split: every replica reads its own parts of the files (pread, in blocks), and hands the
// lines to the stages it runs as std::string_views into its block, with no copy.
#pragma once

#include <forkline/dsl/detail/element.hpp>
#include <forkline/dsl/detail/split.hpp>
#include <forkline/dsl/detail/text_input.hpp>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace forkline {

/// How a text source reads its files (designated initializers: `{.split_bytes = 1 << 20}`).
struct text_options {
    /// The size of the parts a split source is cut into, claimed one at a time by its readers;
    /// 0 chooses from the input: about 32 parts a reader, from 1 MiB to 16 MiB each.
    std::uint64_t split_bytes = 0;
};

/// A line with where it is: fl::read_lines(...).numbered() sends these. `Text` is std::string for
/// a line that crosses to another process (fl::numbered_line), std::string_view for one handed
/// to stages in a split reader's own process (fl::numbered_line_view, valid while it is handled).
template <class Text>
struct basic_numbered_line {
    Text text;                 ///< without its "\n" or "\r\n"
    Text file;                 ///< the path of its file, as the source was given it or the glob found it
    std::uint64_t offset = 0;  ///< of its first byte in its file
    std::uint64_t number = 0;  ///< its line in its file, from 1
    /// "logs/a.txt:4986": for error messages.
    std::string where() const { return std::string(file) + ":" + std::to_string(number); }
};
using numbered_line = basic_numbered_line<std::string>;
using numbered_line_view = basic_numbered_line<std::string_view>;

template <bool Numbered>
struct basic_read_lines : detail::pipe_base {
    using role = detail::source_role;
    /// A line that crosses to another process, and one handed to stages in the reader's process.
    using output = std::conditional_t<Numbered, numbered_line, std::string>;
    using view_output = std::conditional_t<Numbered, numbered_line_view, std::string_view>;
    static constexpr std::string_view default_name = "read_lines";

    static constexpr bool check() { return true; }

    /// The same lines, each with its file, offset and number: fl::numbered_line items. A split
    /// reader counts the line ends of each part it claims before it reads it: one more pass over
    /// the bytes (from the cache), and a wait for the parts before it to be counted.
    /// Example: `fl::read_lines("logs/*.txt").numbered() | fl::parallel(fl::map(parse))`, with
    /// parse throwing `std::runtime_error(l.where() + ": no date")`.
    basic_read_lines<true> numbered() const
        requires(!Numbered)
    {
        return {{}, paths_, options_};
    }

    /// One reader, every line in order, owned.
    template <class Out>
    void produce(Out& out) {
        detail::text_files files(paths_, "forkline::read_lines");
        output buf;
        each_line(files, 0, files.total(), [&](std::string_view line, const auto& at) {
            if constexpr (Numbered) {
                buf.text.assign(line);
                buf.file.assign(files.path(at.file));
                buf.offset = at.offset;
                buf.number = at.number;
            } else {
                buf.assign(line);
            }
            out.push(buf);
        });
    }

    /// The readers of a split: each claims parts until none is left and hands their lines to
    /// `sink.line(Line)`, announcing each part with `sink.begin(part)` and `sink.end()` (an
    /// ordered farm numbers its output by part), and calls `sink.done()` at the end.
    template <class Line, class Sink>
    void read_split(detail::source_context claims, Sink& sink) {
        detail::text_files files(paths_, "forkline::read_lines");
        // A stream that cannot be read at an offset is one part, read whole by whoever claims it.
        std::uint64_t chunk = files.seekable() ? detail::split_bytes(files.total(), claims.readers, options_.split_bytes)
                                               : files.total() + 1;
        // Numbered parts count their lines in the split's table, which has a slot for each.
        constexpr std::uint64_t slots = detail::split_table::max_parts;
        if (Numbered) chunk = std::max<std::uint64_t>(chunk, (files.total() + slots - 1) / slots);
        std::uint64_t parts = files.seekable() ? (files.total() + chunk - 1) / chunk : 1;
        for (std::uint64_t p; (p = claims.next->fetch_add(1, std::memory_order_relaxed)) < parts;) {
            std::uint64_t begin = p * chunk, end = std::min(files.total(), begin + chunk);
            if (Numbered && files.seekable()) detail::count_part(files, claims.table->parts[p], begin, end);
            sink.begin(p);
            auto hand_on = [&](std::string_view line, const auto& at) {
                view_output v = view_of(files, line, at);
                if constexpr (std::is_same_v<Line, view_output>)
                    sink.line(std::move(v));
                else
                    sink.line(owned(v));
            };
            if (!files.seekable()) {
                each_line(files, begin, end, hand_on);
            } else {
                detail::line_cursor in(files, begin, end);
                if (Numbered) in.number_from(detail::first_number(files, claims.table->parts, chunk, p, in, claims.abort));
                std::string_view line;
                detail::naming_line(files, [&] { return in.position(); }, [&] {
                    while (in.next(line)) hand_on(line, at_cursor{in});
                });
            }
            sink.end();
            claims.read(end - begin);
        }
        sink.done();
    }

    /// The files' bytes, which the readers of a split count as they finish parts (one reader
    /// reading them whole does not: no input_size() of its own).
    std::optional<detail::input_size> input_bytes() const noexcept { return detail::files_size(paths_, "forkline::read_lines"); }
    /// Files (not streams) can be read again (options::restarts: a replacement starts over).
    bool resumable() const noexcept { return input_bytes().has_value(); }

    std::vector<std::string> paths_;
    text_options options_;

private:
    /// Where a line is, from the cursor or the stream reader that gave it.
    struct at_cursor {
        const detail::line_cursor& in;
    };
    struct at_line {
        std::size_t file;
        std::uint64_t offset, number;
    };

    static view_output view_of(const detail::text_files& files, std::string_view line, const at_line& at) {
        if constexpr (Numbered)
            return {line, files.path(at.file), at.offset, at.number};
        else
            return line;
    }
    static view_output view_of(const detail::text_files& files, std::string_view line, const at_cursor& at) {
        auto p = at.in.position();
        return view_of(files, line, at_line{p.file, p.offset, at.in.number()});
    }
    static output owned(const view_output& v) {
        if constexpr (Numbered)
            return {std::string(v.text), std::string(v.file), v.offset, v.number};
        else
            return output(v);
    }

    template <class F>
    static void each_line(detail::text_files& files, std::uint64_t begin, std::uint64_t end, F&& f) {
        std::string_view line;
        if (files.seekable()) {
            for (detail::line_cursor in(files, begin, end); in.next(line);) {
                auto p = in.position();
                f(line, at_line{p.file, p.offset, in.number()});
            }
            return;
        }
        for (std::size_t k = 0; k < files.count(); ++k) {
            std::uint64_t number = 0;
            for (detail::line_reader in(files.descriptor(k), files.path(k)); in.next(line);)
                f(line, at_line{k, in.offset(), ++number});
        }
    }
};

/// fl::read_lines(...): lines as std::string (std::string_view in a split reader's own stages).
using read_lines_source = basic_read_lines<false>;

struct read_lines_fn {
    /// A source of the lines of the file at `path`, or of every file a glob matches
    /// (`"logs/*.txt"`, in name order), or of several: one input, their lines in order. A final
    /// line without "\n" counts; a "\r\n" ending loses its "\r". The files are opened by the
    /// processes that read them, when the run starts.
    ///
    /// Followed by a parallel stage (fl::parallel, fl::farm, fl::partition_by, fl::count_by,
    /// fl::reduce_by_key), with only stateless stages between, the source is **split**: each
    /// replica reads parts of the files itself (`text_options::split_bytes` each, claimed one at
    /// a time), runs the stages between and the parallel stage on their lines in its own process,
    /// and hands the first of them `std::string_view` lines (valid while the item is handled)
    /// when it takes one (else `std::string`). An ordered farm still sends its output in file order.
    /// `.numbered()` makes the items fl::numbered_line: each line with its file, offset and number.
    /// Example: `fl::run(fl::read_lines("sales.csv") | fl::count())`;
    /// `fl::read_lines("logs/*.txt") | fl::parallel(fl::map(parse), fl::unordered)`.
    /// Errors: a file that cannot be opened or read, or a glob that matches nothing, ends the run
    /// as fl::stage_error naming the path and the reason, as does a file that becomes shorter
    /// while it is read.
    read_lines_source operator()(std::string path, text_options o = {}) const { return {{}, {std::move(path)}, o}; }
    read_lines_source operator()(std::vector<std::string> paths, text_options o = {}) const {
        return {{}, std::move(paths), o};
    }
    read_lines_source operator()(std::initializer_list<std::string> paths, text_options o = {}) const {
        return {{}, std::vector<std::string>(paths), o};
    }
};

inline constexpr read_lines_fn read_lines{};

}  // namespace forkline
