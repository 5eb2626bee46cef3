// forkline-top: every running forkline pipeline of this user that publishes its stats
// (fl::options::stats, or FORKLINE_STATS=1 in its environment), live, like top: per run its
// command, the source's progress, per stage its processes, items/s, busy share and items, and the
// bottleneck so far.
//   forkline-top [-d SECONDS] [-n FRAMES] [-b]
//     -d SECONDS  between frames (default 1, at least 0.1)
//     -n FRAMES   stop after this many frames (default: until quit)
//     -b          batch: plain frames one after another, for a log or a pipe (the default when
//                 stdout is not a terminal)
// On a terminal it draws on a screen of its own (the alternate screen) and gives the screen back
// as it was when it ends: q or Ctrl-C quits. It reads the runs' segments (/dev/shm/
// forkline.stats-PID-N) and writes nothing to them. Exit status: 0; 1 when it cannot go on (why, on
// stderr); 2 for bad arguments. Ctrl-Z gives the terminal back while it is stopped.
#include <forkline/ipc/os.hpp>
#include <forkline/run/detail/stats.hpp>

#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

namespace fl = forkline;
using fl::detail::run_stats;

namespace {

volatile sig_atomic_t stop_now = 0, suspend_now = 0;
void on_signal(int) { stop_now = 1; }
void on_suspend(int) { suspend_now = 1; }

std::string clock_time(double unix_seconds) {
    if (!(unix_seconds > 0 && unix_seconds < 1e11)) return "??:??:??";  // not a time a run could have
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
    return buf;
}

/// `text` broken at spaces into lines of at most `width` columns, each starting with `indent`
/// (a word longer than a line is cut).
std::vector<std::string> wrapped(const std::string& text, const std::string& indent, std::size_t width) {
    std::vector<std::string> out;
    std::string line = indent;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find(' ', pos);
        if (end == std::string::npos) end = text.size();
        const std::string word = text.substr(pos, end - pos);
        if (line.size() > indent.size() && line.size() + 1 + word.size() > width) {
            out.push_back(fl::detail::fit(line, width));
            line = indent;
        }
        line += (line.size() > indent.size() ? " " : "") + word;
        pos = end + 1;
    }
    if (line.size() > indent.size()) out.push_back(fl::detail::fit(line, width));
    return out;
}

/// The lines of one frame, each at most `width` columns.
std::vector<std::string> frame(const std::vector<run_stats>& runs, std::size_t width, bool interactive) {
    using fl::detail::fit;
    std::vector<std::string> out;
    const double now = fl::detail::unix_seconds();
    std::size_t live = 0, stale = 0;
    for (const auto& r : runs) (r.alive ? live : stale) += 1;
    out.push_back(fit("forkline-top  " + clock_time(now) + "  " + std::to_string(live) + (live == 1 ? " run" : " runs") +
                          (interactive ? "  (q quits)" : ""),
                      width));
    out.emplace_back();
    if (live == 0)
        out.push_back(fit("no forkline run of this user publishes its stats (fl::options{.stats = true}, or "
                          "FORKLINE_STATS=1 in its environment)",
                          width));
    for (const auto& r : runs) {
        if (!r.alive) continue;
        std::string head = "pid " + std::to_string(r.pid) + "  " + r.command + "  started " + clock_time(r.started);
        if (r.updated == 0)
            head += "  (starting)";
        else if (now - r.updated > 5)
            head += "  (no news for " + std::to_string(std::lround(now - r.updated)) + " s)";
        out.push_back(fit(head, width));
        if (r.updated != 0) {
            for (auto& l : fl::detail::progress_lines(r.view, width)) out.push_back(std::move(l));
            for (auto& l : wrapped(r.bottleneck, "  ", width)) out.push_back(std::move(l));
        }
        out.emplace_back();
    }
    if (stale > 0)
        out.push_back(fit(std::to_string(stale) + (stale == 1 ? " stats segment" : " stats segments") +
                              " of runs that are gone: forkline-shm remove --stale",
                          width));
    return out;
}

int usage() {
    std::fprintf(stderr, "usage: forkline-top [-d SECONDS] [-n FRAMES] [-b]\n");
    return 2;
}

/// The terminal as it was, given back at the end.
struct terminal_mode {
    termios saved{};
    bool changed = false;
    void raw() {
        if (::tcgetattr(0, &saved) != 0) return;
        termios t = saved;
        t.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 0;
        changed = ::tcsetattr(0, TCSANOW, &t) == 0;
    }
    void restore() {
        if (changed) ::tcsetattr(0, TCSANOW, &saved);
        changed = false;
    }
    ~terminal_mode() { restore(); }
};

}  // namespace

int main(int argc, char** argv) {
    double delay = 1;
    long frames = -1;
    bool batch = ::isatty(1) != 1;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-b") {
            batch = true;
        } else if ((a == "-d" || a == "-n") && i + 1 < argc) {
            char* end = nullptr;
            const char* v = argv[++i];
            if (a == "-d") {
                delay = std::strtod(v, &end);
                if (end == v || *end != '\0' || !(delay >= 0.1 && delay <= 86400)) return usage();
            } else {
                frames = std::strtol(v, &end, 10);
                if (end == v || *end != '\0' || frames < 1) return usage();
            }
        } else {
            return usage();
        }
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(sig, &sa, nullptr);
    struct sigaction suspend {};
    suspend.sa_handler = on_suspend;
    ::sigaction(SIGTSTP, &suspend, nullptr);

    const bool keys = !batch && ::isatty(0) == 1;
    terminal_mode mode;
    auto enter = [&] {
        if (batch) return;
        if (keys) mode.raw();
        fl::detail::write_all(1, "\x1b[?1049h\x1b[?25l");  // the alternate screen, no cursor
    };
    auto leave = [&] {
        if (batch) return;
        fl::detail::write_all(1, "\x1b[?25h\x1b[?1049l");
        mode.restore();
    };
    enter();
    try {
        for (long shown = 0; !stop_now && (frames < 0 || shown < frames); ++shown) {
            std::size_t cols = 80, rows = 24;
            if (!batch) fl::detail::terminal_size(1, cols, rows);
            auto lines = frame(fl::detail::all_stats(), batch ? 200 : cols - 1, keys);
            std::string out;
            if (batch) {
                for (const auto& l : lines) out += l + "\n";
                if (frames != 1) out += "\n";
            } else {
                if (lines.size() > rows) lines.resize(rows);
                out = "\x1b[H";  // no newline after the last line: a full screen would scroll
                for (std::size_t k = 0; k < lines.size(); ++k) out += (k ? "\r\n" : "") + lines[k] + "\x1b[K";
                out += "\x1b[J";
            }
            fl::detail::write_all(1, out);
            if (frames >= 0 && shown + 1 >= frames) break;
            // Sleep until the next frame, or until q; Ctrl-Z gives the terminal back while stopped.
            auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(delay);
            while (!stop_now) {
                if (suspend_now) {
                    suspend_now = 0;
                    leave();
                    ::signal(SIGTSTP, SIG_DFL);
                    ::raise(SIGTSTP);  // stopped here until fg
                    ::sigaction(SIGTSTP, &suspend, nullptr);
                    enter();
                    break;  // draw again at once
                }
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
                if (left.count() <= 0) break;
                pollfd p{0, POLLIN, 0};
                if (::poll(&p, keys ? 1 : 0, static_cast<int>(left.count())) != 1) continue;
                char c = 0;
                if ((p.revents & (POLLHUP | POLLERR)) ||
                    ((p.revents & POLLIN) && ::read(0, &c, 1) == 1 && (c == 'q' || c == 'Q')))
                    stop_now = 1;
            }
        }
    } catch (const std::exception& e) {
        leave();
        std::fprintf(stderr, "forkline-top: %s\n", e.what());
        return 1;
    }
    leave();
    return 0;
}

