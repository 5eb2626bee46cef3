// How progress is worded and drawn: a run's display and the pool's bar share it.
#include <forkline/core/detail/progress_text.hpp>
#include <forkline/ipc/spawn.hpp>

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace forkline::detail {

namespace {

constexpr std::size_t bar_width = 24;

/// An amount of the input: "4.50 M items", "1.20 GB"; `unit` false for the number alone.
std::string amount(double v, bool bytes, bool unit = true) {
    if (!unit) return human_number(v) + (bytes ? "B" : "");
    return human_number(v) + (bytes ? "B" : " items");
}
std::string rate_of(double v, bool bytes) { return human_number(v) + (bytes ? "B/s" : "/s"); }

/// "7 s", "2 min 05 s", "1 h 02 min".
std::string duration(double s) {
    long t = std::lround(std::max(s, 0.0));
    char buf[32];
    if (t < 60) std::snprintf(buf, sizeof buf, "%ld s", t);
    else if (t < 3600) std::snprintf(buf, sizeof buf, "%ld min %02ld s", t / 60, t % 60);
    else std::snprintf(buf, sizeof buf, "%ld h %02ld min", t / 3600, t / 60 % 60);
    return buf;
}

std::string percent(double x) { return std::to_string(std::lround(100 * std::clamp(x, 0.0, 1.0))) + "%"; }

/// What the first line says of the input: its bar and percent, or how much came so far.
std::string input_part(const progress_view& v, bool plain) {
    std::string out;
    if (v.total > 0) {
        double f = std::min(1.0, static_cast<double>(v.done) / static_cast<double>(v.total));
        if (!plain) {
            std::size_t full = static_cast<std::size_t>(f * bar_width);
            out += "[" + std::string(full, '#') + std::string(bar_width - full, '-') + "]  ";
        }
        out += percent(f) + (plain ? " (" : "  ") + amount(static_cast<double>(v.done), v.bytes, false) + " of " +
               amount(static_cast<double>(v.total), v.bytes) + (plain ? ")" : "");
    } else {
        out += amount(static_cast<double>(v.done), v.bytes);
        if (!v.stages.empty()) out += " from " + v.stages.front().name;
    }
    out += (plain ? ", " : "  ") + rate_of(v.rate, v.bytes);
    if (v.total > 0 && v.rate > 0 && v.done < v.total)
        out += (plain ? ", " : "  ") + duration(static_cast<double>(v.total - v.done) / v.rate) + " left";
    return out;
}

std::string column(const std::string& s, std::size_t width, bool right) {
    std::string t = s.size() > width ? s.substr(0, width) : s;
    std::string pad(width - t.size(), ' ');
    return right ? pad + t : t + pad;
}

}  // namespace

std::string fit(std::string s, std::size_t width) {
    if (s.size() > width) s.resize(width);
    return s;
}

std::string human_number(double v) {
    static constexpr struct {
        double scale;
        const char* suffix;
    } units[] = {{1e9, " G"}, {1e6, " M"}, {1e3, " k"}};
    char buf[32];
    for (const auto& u : units) {
        if (v < u.scale) continue;
        double x = v / u.scale;
        std::snprintf(buf, sizeof buf, x >= 100 ? "%.0f%s" : x >= 10 ? "%.1f%s" : "%.2f%s", x, u.suffix);
        return buf;
    }
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
}

/// Writes all of `s` to fd (a terminal may take it in pieces); gives up on an error.
void write_all(int fd, std::string_view s) noexcept {
    while (!s.empty()) {
        ssize_t n = ::write(fd, s.data(), s.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        s.remove_prefix(static_cast<std::size_t>(n));
    }
}

/// The terminal's columns and rows (80 x 24 when it does not say).
void terminal_size(int fd, std::size_t& cols, std::size_t& rows) noexcept {
    winsize w{};
    cols = 80;
    rows = 24;
    if (::ioctl(fd, TIOCGWINSZ, &w) == 0 && w.ws_col > 0) {
        cols = w.ws_col;
        rows = w.ws_row > 0 ? w.ws_row : rows;
    }
}

bool progress_wanted(bool option) noexcept { return switched_on("FORKLINE_PROGRESS", option); }

bool switched_on(const char* name, bool option) noexcept {
    if (ipc::in_worker()) return false;
    const char* env = std::getenv(name);
    if (!env) return option;
    std::string_view e(env);
    return !(e == "0" || e == "off" || e == "no" || e == "false");
}

std::vector<std::string> progress_lines(const progress_view& v, std::size_t width) {
    std::vector<std::string> out;
    std::string label = v.label.empty() ? "" : v.label + "  ";
    out.push_back(fit("forkline  " + label + duration(v.seconds) + "  " + input_part(v, false), width));
    if (v.stages.empty()) return out;
    constexpr std::size_t name_w = 28;
    out.push_back(fit("  " + column("stage", name_w, false) + column("procs", 6, true) + column("items/s", 12, true) +
                          column("busy", 7, true) + column("items", 12, true),
                      width));
    for (const auto& s : v.stages)
        out.push_back(fit("  " + column(s.name, name_w, false) + column(std::to_string(s.processes), 6, true) +
                              column(human_number(s.rate), 12, true) + column(percent(s.busy), 7, true) +
                              column(human_number(static_cast<double>(s.items)), 12, true),
                          width));
    return out;
}

std::string progress_line(const progress_view& v) {
    std::string label = v.label.empty() ? "" : " " + v.label;
    std::string out = "forkline" + label + ": " + duration(v.seconds) + ", " + input_part(v, true);
    const progress_view::stage* busiest = nullptr;
    for (const auto& s : v.stages)
        if (!busiest || s.busy > busiest->busy) busiest = &s;
    if (busiest) out += "; busiest: " + busiest->name + " " + percent(busiest->busy);
    return out;
}


progress_bar::progress_bar(std::string label, std::uint64_t total, int fd)
    : started_(clock::now()), fd_(fd), tty_(::isatty(fd) == 1) {
    view_.label = std::move(label);
    view_.total = total;
    next_ = started_ + (tty_ ? std::chrono::duration_cast<clock::duration>(quiet_for)
                             : std::chrono::duration_cast<clock::duration>(line_every));
}

progress_bar::~progress_bar() {
    if (shown_) write_all(fd_, "\r\x1b[2K");
}

void progress_bar::update(std::uint64_t done) noexcept {
    auto now = clock::now();
    if (now < next_) return;
    try {
        view_.seconds = std::chrono::duration<double>(now - started_).count();
        view_.done = view_.total > 0 ? std::min(done, view_.total) : done;
        view_.rate = view_.seconds > 0 ? static_cast<double>(done) / view_.seconds : 0;
        if (!tty_) {
            next_ = now + line_every;
            write_all(fd_, progress_line(view_) + "\n");
            return;
        }
        next_ = now + frame_every;
        std::size_t cols = 80, rows = 24;
        terminal_size(fd_, cols, rows);
        write_all(fd_, "\r\x1b[2K" + progress_lines(view_, cols > 1 ? cols - 1 : 1).front());
        shown_ = true;
    } catch (...) {
    }
}

}  // namespace forkline::detail
