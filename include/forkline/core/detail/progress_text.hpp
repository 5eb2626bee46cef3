// How forkline words progress on a terminal, shared by a run's display (run/detail/progress.hpp)
// and the pool's bar: a frame from numbers (pure, for tests), when a display is wanted, and a
// one-line bar that a caller's own loop redraws (the pool's map and imap). Compiled in
// src/core/progress_text.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace forkline::detail {

/// Whether to show progress: FORKLINE_PROGRESS when it is set ("0", "off", "no" or "false" for
/// no, anything else for yes), else `option`; never in a process forkline forked (a run nested
/// in a stage, a pool's task), whose parent's display owns the terminal.
bool progress_wanted(bool option) noexcept;
/// The same for any such switch: the environment variable `name` when it is set, else `option`.
bool switched_on(const char* name, bool option) noexcept;

/// v with three significant digits and a k, M or G suffix: "1.31 M", "234 k", "512".
std::string human_number(double v);

/// What one frame shows: the input's progress and each stage's recent rates.
struct progress_view {
    std::string label;              ///< what runs, after "forkline" ("pool.map"); may be empty
    double seconds = 0;             ///< since it started
    std::uint64_t total = 0;        ///< the input's size (0: not known)
    std::uint64_t done = 0;         ///< of it so far
    bool bytes = false;             ///< total and done count bytes, not items
    double rate = 0;                ///< done per second, lately
    struct stage {
        std::string name;
        std::size_t processes = 0;
        std::uint64_t items = 0;  ///< items it took in so far (a source: sent)
        double rate = 0;          ///< of those per second, lately
        double busy = 0;          ///< the share of its processes' time spent working, lately
    };
    std::vector<stage> stages;
};

/// The lines of a terminal frame, each at most `width` columns: the bar, then (with stages) a
/// header and a line per stage.
std::vector<std::string> progress_lines(const progress_view& v, std::size_t width);
/// The one line written every few seconds when stderr is not a terminal.
std::string progress_line(const progress_view& v);

/// Writes all of `s` to fd (a terminal may take it in pieces); gives up on an error.
void write_all(int fd, std::string_view s) noexcept;
/// The terminal's columns and rows (80 x 24 when it does not say).
void terminal_size(int fd, std::size_t& cols, std::size_t& rows) noexcept;
/// s cut to `width` columns.
std::string fit(std::string s, std::size_t width);

/// How often a terminal frame is redrawn, how long a run stays quiet first, how often a plain
/// line is written off a terminal.
inline constexpr std::chrono::milliseconds frame_every{250}, quiet_for{500};
inline constexpr std::chrono::seconds line_every{5};

/// A one-line bar on stderr that its owner's loop updates (the pool's calls): drawn at most every
/// frame_every once quiet_for has passed (a plain line every line_every off a terminal), erased
/// by the destructor.
class progress_bar {
public:
    /// `total` 0: not known (a count and a rate, no bar).
    progress_bar(std::string label, std::uint64_t total, int fd = 2);
    progress_bar(const progress_bar&) = delete;
    progress_bar& operator=(const progress_bar&) = delete;
    ~progress_bar();
    /// `done` items so far; draws when a frame is due.
    void update(std::uint64_t done) noexcept;

private:
    using clock = std::chrono::steady_clock;
    progress_view view_;
    clock::time_point started_, next_;
    int fd_;
    bool tty_, shown_ = false;
};

}  // namespace forkline::detail
