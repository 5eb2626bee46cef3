// fl::read_lines(path or glob): a source of the lines of text files. Followed by a parallel stage
// it is split: every replica reads its own parts of the files, mapped, and hands the lines to the
// stages it runs as std::string_views, with no copy.
#pragma once

#include <forkline/dsl/detail/element.hpp>
#include <forkline/dsl/detail/split.hpp>
#include <forkline/dsl/detail/text_input.hpp>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace forkline {

/// How a text source reads its files (designated initializers: `{.split_bytes = 1 << 20}`).
struct text_options {
    /// The size of the parts a split source is cut into, claimed one at a time by its readers;
    /// 0 chooses from the input: about 32 parts a reader, from 1 MiB to 16 MiB each.
    std::uint64_t split_bytes = 0;
};

struct read_lines_source : detail::pipe_base {
    using role = detail::source_role;
    using output = std::string;            ///< a line that crosses to another process
    using view_output = std::string_view;  ///< a line handed to stages in the reader's process
    static constexpr std::string_view default_name = "read_lines";

    static constexpr bool check() { return true; }

    /// One reader, every line in order, as std::string.
    template <class Out>
    void produce(Out& out) {
        detail::text_files files(paths_, "forkline::read_lines");
        std::string buf;
        each_line(files, 0, files.total(), [&](std::string_view line) {
            buf.assign(line);
            out.push(buf);
        });
    }

    /// The readers of a split: each claims parts until none is left and hands their lines to
    /// `sink.line(Line)`, announcing each part with `sink.begin(part)` and `sink.end()` (an
    /// ordered farm numbers its output by part), and calls `sink.done()` at the end.
    template <class Line, class Sink>
    void read_split(detail::source_context claims, Sink& sink) {
        detail::text_files files(paths_, "forkline::read_lines");
        // A stream that cannot be mapped is one part, read whole by whoever claims it.
        std::uint64_t chunk = files.mappable() ? detail::split_bytes(files.total(), claims.readers, options_.split_bytes)
                                               : files.total() + 1;
        std::uint64_t parts = files.mappable() ? (files.total() + chunk - 1) / chunk : 1;
        for (std::uint64_t p; (p = claims.next->fetch_add(1, std::memory_order_relaxed)) < parts;) {
            sink.begin(p);
            std::uint64_t begin = p * chunk, end = std::min(files.total(), begin + chunk);
            auto hand_on = [&](std::string_view line) {
                if constexpr (std::is_same_v<Line, std::string_view>)
                    sink.line(std::string_view(line));
                else
                    sink.line(Line(line));
            };
            if (!files.mappable()) {
                each_line(files, begin, end, hand_on);
            } else {
                detail::line_cursor in(files, begin, end);
                std::string_view line;
                detail::naming_line(files, [&] { return in.position(); }, [&] {
                    while (in.next(line)) hand_on(line);
                });
            }
            sink.end();
        }
        sink.done();  // while the files are mapped: what the stages hold may point into them
    }

    std::vector<std::string> paths_;
    text_options options_;

private:
    template <class F>
    static void each_line(detail::text_files& files, std::uint64_t begin, std::uint64_t end, F&& f) {
        std::string_view line;
        if (files.mappable()) {
            for (detail::line_cursor in(files, begin, end); in.next(line);) f(line);
            return;
        }
        for (std::size_t k = 0; k < files.count(); ++k)
            for (detail::line_reader in(files.descriptor(k), files.path(k)); in.next(line);) f(line);
    }
};

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
    /// and hands the first of them `std::string_view` lines into the mapped file when it takes
    /// one (else `std::string`). An ordered farm still sends its output in file order.
    /// Example: `fl::run(fl::read_lines("sales.csv") | fl::count())`;
    /// `fl::read_lines("logs/*.txt") | fl::parallel(fl::map(parse), fl::unordered)`.
    /// Errors: a file that cannot be opened or read, or a glob that matches nothing, ends the run
    /// as fl::stage_error naming the path and the reason. A file that shrinks while it is read is
    /// a crash of the reader (SIGBUS), as for any mapped file.
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
