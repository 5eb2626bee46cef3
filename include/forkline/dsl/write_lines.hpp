// fl::write_lines(path): a sink that writes each item as one line of a text file.
#pragma once

#include <forkline/dsl/detail/diagnostics.hpp>
#include <forkline/dsl/detail/element.hpp>

#include <memory>
#include <ostream>
#include <sstream>
#include <string>

namespace forkline {

namespace detail {
/// A buffered file writer (compiled in src/dsl). Throws std::system_error naming the path.
class line_writer {
public:
    explicit line_writer(const std::string& path);
    line_writer(const line_writer&) = delete;
    line_writer& operator=(const line_writer&) = delete;
    line_writer(line_writer&&) noexcept;
    ~line_writer();
    void write(std::string_view line);  // appends line and "\n"
    void close();                       // flushes; errors surface here, not in the destructor

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

template <class T>
concept streamable = requires(std::ostream& os, const T& v) { os << v; };
}  // namespace detail

struct write_lines_sink : detail::pipe_base {
    using role = detail::sink_role;
    static constexpr std::string_view default_name = "write_lines";

    template <class In>
    static constexpr bool check() {
        constexpr bool ok = std::convertible_to<const In&, std::string_view> || detail::streamable<In>;
        static_assert(ok, "forkline::write_lines(path): the items must be strings or printable with operator<< "
                          FORKLINE_IN_OF_CHECK);
        return ok;
    }
    template <class In>
    using result = std::size_t;

    template <class In>
    struct runner {
        detail::line_writer out;
        std::size_t n = 0;
        void push(In&& x) {
            if constexpr (std::convertible_to<const In&, std::string_view>) {
                out.write(std::string_view(x));
            } else {
                std::ostringstream s;
                s << x;
                out.write(s.view());
            }
            ++n;
        }
        std::size_t finish() {
            out.close();
            return n;
        }
    };
    template <class In>
    runner<In> make_runner() { return {detail::line_writer(path_)}; }

    std::string path_;
};

struct write_lines_fn {
    /// A sink that writes each item and a "\n" to the file at `path` (created or truncated when the
    /// run starts); the result is the number of lines written.
    /// Example: `fl::run(fl::read_lines("in.txt") | fl::map(upper) | fl::write_lines("out.txt"))`.
    /// Errors: a file that cannot be opened or written ends the run as fl::stage_error("write_lines").
    write_lines_sink operator()(std::string path) const { return {{}, std::move(path)}; }
};

inline constexpr write_lines_fn write_lines{};

}  // namespace forkline
