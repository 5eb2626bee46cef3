// The progress display (run/detail/progress.hpp): what a frame says from made-up numbers, when
// the display is on, and that a run showing it ends as it would without it. How it looks on a
// terminal is tests/run/progress_tmux.sh's, which watches the example under tmux.
#include <forkline/forkline.hpp>
#include <forkline/run/detail/progress.hpp>

#include <catch2/catch.hpp>

#include "../support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace fl = forkline;
using fl::detail::progress_view;
using fl::test::env_var;

namespace {

progress_view made_up(std::uint64_t total) {
    progress_view v;
    v.seconds = 12.4;
    v.total = total;
    v.done = 4'500'000;
    v.rate = 1'200'000;
    v.stages = {{"iota", 1, 4'500'000, 1'200'000, 0.03}, {"parse", 2, 4'400'000, 1'190'000, 0.97},
                {"reduce", 1, 4'400'000, 1'190'000, 0.02}};
    return v;
}

/// A pseudo-terminal: what is written to `tty` can be read from the master side.
struct pseudo_terminal {
    int master = -1, tty = -1;
    pseudo_terminal() {
        master = ::posix_openpt(O_RDWR | O_NOCTTY);
        if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) return;
        tty = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
    }
    ~pseudo_terminal() {
        if (tty >= 0) ::close(tty);
        if (master >= 0) ::close(master);
    }
    /// What was written so far.
    std::string read() const {
        std::string out;
        char buf[4096];
        pollfd p{master, POLLIN, 0};
        while (::poll(&p, 1, 100) == 1 && (p.revents & POLLIN)) {
            ssize_t n = ::read(master, buf, sizeof buf);
            if (n <= 0) break;
            out.append(buf, static_cast<std::size_t>(n));
        }
        return out;
    }
};

}  // namespace

TEST_CASE("the pool's bar: drawn in place on a terminal once half a second passed, erased at the end", "[run][progress]") {
    pseudo_terminal t;
    REQUIRE(t.tty >= 0);
    REQUIRE(::isatty(t.tty) == 1);
    {
        fl::detail::progress_bar bar("pool.map", 1000, t.tty);
        bar.update(10);  // too soon: a short call draws nothing
        CHECK(t.read().empty());
        std::this_thread::sleep_for(fl::detail::quiet_for + std::chrono::milliseconds(50));
        bar.update(450);
        std::string drawn = t.read();
        CHECK(drawn.rfind("\r\x1b[2K", 0) == 0);
        CHECK(drawn.find("forkline  pool.map  ") != std::string::npos);
        CHECK(drawn.find("]  45%  450 of 1.00 k items") != std::string::npos);
        CHECK(drawn.find('\n') == std::string::npos);  // one line, redrawn where it is
        bar.update(460);  // within a frame of the last: not drawn again
        CHECK(t.read().empty());
    }
    CHECK(t.read() == "\r\x1b[2K");
}

TEST_CASE("a pool's map with its bar returns what it returns without", "[run][progress]") {
    fl::pool pool(2);
    pool.show_progress();
    std::vector<int> in(1000);
    for (int i = 0; i < 1000; ++i) in[static_cast<std::size_t>(i)] = i;
    auto out = pool.map([](int x) { return 2 * x; }, in);
    REQUIRE(out.size() == 1000);
    CHECK(out[999] == 1998);
    long sum = 0;
    for (int r : pool.imap([](int x) { return x + 1; }, in)) sum += r;
    CHECK(sum == 1000L * 1001 / 2);
}

TEST_CASE("a frame shows the bar, the time left and a line per stage", "[run][progress]") {
    auto lines = fl::detail::progress_lines(made_up(10'000'000), 200);
    REQUIRE(lines.size() == 5);  // the bar, the header, three stages
    CHECK(lines[0] == "forkline  12 s  [##########--------------]  45%  4.50 M of 10.0 M items  1.20 M/s  5 s left");
    CHECK(lines[1].find("stage") != std::string::npos);
    CHECK(lines[1].find("busy") != std::string::npos);
    CHECK(lines[3].find("parse") == 2);
    CHECK(lines[3].find("97%") != std::string::npos);
    CHECK(lines[3].find("1.19 M") != std::string::npos);
    CHECK(lines[3].find(" 2 ") != std::string::npos);  // its processes
}

TEST_CASE("a frame fits the terminal's width", "[run][progress]") {
    for (std::size_t width : {20u, 40u, 79u})
        for (const auto& l : fl::detail::progress_lines(made_up(10'000'000), width)) CHECK(l.size() <= width);
}

TEST_CASE("without a known size there is no bar, and bytes are bytes", "[run][progress]") {
    auto v = made_up(0);
    CHECK(fl::detail::progress_lines(v, 200)[0] == "forkline  12 s  4.50 M items from iota  1.20 M/s");
    v.total = 9'000'000'000;
    v.done = 4'500'000'000;
    v.rate = 300'000'000;
    v.bytes = true;
    CHECK(fl::detail::progress_lines(v, 200)[0] ==
          "forkline  12 s  [############------------]  50%  4.50 GB of 9.00 GB  300 MB/s  15 s left");
}

TEST_CASE("the plain line, for a log", "[run][progress]") {
    CHECK(fl::detail::progress_line(made_up(10'000'000)) ==
          "forkline: 12 s, 45% (4.50 M of 10.0 M items), 1.20 M/s, 5 s left; busiest: parse 97%");
}

TEST_CASE("FORKLINE_PROGRESS turns the display on or off over the option", "[run][progress]") {
    {
        env_var e("FORKLINE_PROGRESS", nullptr);
        CHECK_FALSE(fl::detail::progress_wanted(false));
        CHECK(fl::detail::progress_wanted(true));
    }
    {
        env_var e("FORKLINE_PROGRESS", "1");
        CHECK(fl::detail::progress_wanted(false));
    }
    for (const char* off : {"0", "off", "no", "false"}) {
        env_var e("FORKLINE_PROGRESS", off);
        CHECK_FALSE(fl::detail::progress_wanted(true));
    }
}

TEST_CASE("a run that shows its progress ends as it would without it, also on an error", "[run][progress]") {
    // stderr is a file here: the display writes a line only every 5 seconds, so this short run
    // writes none, and the display's process is gone when fl::run returns or throws.
    char path[] = "/tmp/forkline-progress-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    int saved = ::dup(2);
    ::dup2(fd, 2);
    const long n = 200'000;
    long sum = fl::run(fl::iota(0L, n) | fl::parallel(fl::map([](long i) { return i; })) | fl::reduce(0L, std::plus<>{}),
                       fl::options{.progress = true});
    bool threw = false;
    try {
        fl::run(fl::iota(0, 1000) | fl::map([](int i) {
                    if (i == 500) throw std::runtime_error("five hundred");
                    return i;
                }) | fl::to_vector(),
                fl::options{.progress = true});
    } catch (const fl::stage_error&) {
        threw = true;
    }
    ::dup2(saved, 2);
    ::close(saved);
    off_t written = ::lseek(fd, 0, SEEK_END);
    ::close(fd);
    ::unlink(path);
    CHECK(sum == n * (n - 1) / 2);
    CHECK(threw);
    CHECK(written == 0);
    CHECK(::waitpid(-1, nullptr, WNOHANG) == -1);  // the display's process was reaped
}
