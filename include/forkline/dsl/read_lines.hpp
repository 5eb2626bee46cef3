// fl::read_lines(path): a source that sends each line of a text file as a std::string.
#pragma once

#include <forkline/dsl/detail/element.hpp>

#include <memory>
#include <string>

namespace forkline {

namespace detail {
/// Reads a file in large blocks and splits it into lines (compiled in src/dsl).
class line_reader {
public:
    explicit line_reader(const std::string& path);  // throws std::system_error naming the path
    line_reader(const line_reader&) = delete;
    line_reader& operator=(const line_reader&) = delete;
    ~line_reader();
    /// The next line without its "\n" (and without a "\r" before it); false at the end of the file.
    bool next(std::string& line);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};
}  // namespace detail

struct read_lines_source : detail::pipe_base {
    using role = detail::source_role;
    using output = std::string;
    static constexpr std::string_view default_name = "read_lines";

    static constexpr bool check() { return true; }

    template <class Out>
    void produce(Out& out) {
        detail::line_reader in(path_);
        std::string line;
        while (in.next(line)) out.push(line);
    }

    std::string path_;
};

struct read_lines_fn {
    /// A source of the lines of the file at `path` (a final line without "\n" counts; a "\r\n"
    /// ending loses its "\r"). The file is opened by the source's process when the run starts.
    /// Example: `fl::run(fl::read_lines("sales.csv") | fl::count())`.
    /// Errors: a file that cannot be opened or read ends the run as fl::stage_error("read_lines")
    /// whose message names the path and the reason.
    read_lines_source operator()(std::string path) const { return {{}, std::move(path)}; }
};

inline constexpr read_lines_fn read_lines{};

}  // namespace forkline
