// A run's stats segment (options::stats, run/detail/stats.hpp): what a reader from outside finds
// while the run goes, that only this user can read it, and that it is gone when the run ends, also
// when the caller is killed. forkline-top and forkline-shm reading it on a terminal are
// tests/run/top_tmux.sh's.
#include "../support.hpp"

#include <forkline/forkline.hpp>
#include <forkline/mp/detail/segment.hpp>
#include <forkline/run/detail/stats.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace fl = forkline;
using fl::detail::run_stats;
using namespace forkline::test;

namespace {

/// The stats of the run `pid` runs, once its display process has written them.
std::optional<run_stats> stats_of(pid_t pid) {
    for (auto& r : fl::detail::all_stats())
        if (r.pid == pid && r.updated != 0) return r;
    return std::nullopt;
}

/// True when /dev/shm holds a stats segment of a run in `pid`.
bool segment_of(pid_t pid) {
    const std::string first = "forkline.stats-" + std::to_string(pid) + "-";
    for (const auto& e : shm_entries())
        if (e.rfind(first, 0) == 0) return true;
    return false;
}

/// A pipeline that stops at its first item until `gate` is set, so that a run can be read
/// while it goes.
long gated_run(fl::event& gate, fl::options opts) {
    return fl::run(fl::iota(0L, 2000L) | fl::named("wait", fl::map([&gate](long i) {
                       if (i == 0) gate.wait();
                       return i;
                   })) | fl::named("add", fl::reduce(0L, std::plus<>{})),
                   opts);
}

}  // namespace

TEST_CASE("a run with options::stats publishes its stages where only this user can read them, until it ends",
          "[run][stats]") {
    env_var no_env("FORKLINE_STATS", nullptr);
    fl::event gate;
    const pid_t me = ::getpid();
    // The reader is a process of its own, as forkline-top is; it lets the run go on once it has
    // read it (or given up), and says what it found in its exit code.
    pid_t reader = fork_child([&] {
        std::optional<run_stats> r;
        eventually([&] { return (r = stats_of(me)).has_value(); }, 60);
        struct stat st {};
        bool private_mode = r && ::stat(("/dev/shm/forkline." + r->name).c_str(), &st) == 0 && (st.st_mode & 0777) == 0600;
        gate.set();
        if (!r) return 1;
        if (!private_mode) return 2;
        if (!r->alive || r->command.find("test_run_stats") == std::string::npos) return 3;
        std::vector<std::string> names;
        for (const auto& s : r->view.stages) names.push_back(s.name);
        if (names != std::vector<std::string>{"iota", "wait", "add"}) return 4;
        if (r->view.total != 2000 || r->view.bytes) return 5;  // iota's size: a bar
        if (r->bottleneck.empty()) return 6;
        if (r->name.rfind("stats-" + std::to_string(me) + "-", 0) != 0) return 7;
        return 0;
    });
    long sum = gated_run(gate, fl::options{.stats = true});
    CHECK(wait_child(reader) == 0);
    CHECK(sum == 2000L * 1999 / 2);
    CHECK_FALSE(segment_of(me));
    CHECK(no_children_left());
}

TEST_CASE("a run's stats segment is removed when the run fails", "[run][stats]") {
    env_var no_env("FORKLINE_STATS", nullptr);
    CHECK_THROWS_WITH(fl::run(fl::iota(0, 1000) | fl::map([](int i) {
                                  // The run's segment is there (its display makes it soon after
                                  // the workers start), then the stage fails.
                                  if (i == 500)
                                      throw std::runtime_error(eventually([] { return segment_of(::getppid()); }, 60)
                                                                   ? "five hundred"
                                                                   : "no segment");
                                  return i;
                              }) | fl::to_vector(),
                              fl::options{.stats = true}),
                      Catch::Contains("five hundred"));
    CHECK_FALSE(segment_of(::getpid()));
    CHECK(no_children_left());
}

TEST_CASE("a run's stats segment is removed when its caller is killed", "[run][stats]") {
    env_var no_env("FORKLINE_STATS", nullptr);
    orphans adopted;
    REQUIRE(adopted.adopting());
    fl::event gate;  // never set: the run waits until its caller is killed
    pid_t caller = fork_child([&] {
        gated_run(gate, fl::options{.stats = true});
        return 0;
    });
    bool published = eventually([&] { return stats_of(caller).has_value(); }, 60);
    CHECK(published);
    ::kill(caller, SIGKILL);
    // The caller, its two workers (the wait stage, the source) and its display process end; the
    // display removes the segment first.
    bool gone = eventually([&] { return !segment_of(caller); }, 60);
    CHECK(gone);
    CHECK(wait_child(caller) == 128 + SIGKILL);
    adopted.clean_up(-1);  // the caller's other processes, adopted: reaped as they end
    CHECK(no_children_left());
}

TEST_CASE("FORKLINE_STATS turns the stats on or off over the option; a run nested in a stage has none",
          "[run][stats]") {
    {
        env_var e("FORKLINE_STATS", nullptr);
        CHECK_FALSE(fl::detail::stats_wanted(false));
        CHECK(fl::detail::stats_wanted(true));
    }
    {
        env_var e("FORKLINE_STATS", "1");
        CHECK(fl::detail::stats_wanted(false));
    }
    {
        env_var e("FORKLINE_STATS", "0");
        CHECK_FALSE(fl::detail::stats_wanted(true));
    }
}

TEST_CASE("a segment that is not a run's stats is not read as one", "[run][stats]") {
    const std::string name = "stats-not-a-run-" + std::to_string(::getpid());
    {
        fl::shared_memory shm(name, 4096);
        CHECK_FALSE(fl::detail::read_stats(name).has_value());
        for (const auto& r : fl::detail::all_stats()) CHECK(r.name != name);
        shm.unlink();
    }
    CHECK_FALSE(fl::detail::read_stats("stats-none-such").has_value());
}

namespace {

/// Writes a file of `bytes` as /dev/shm/forkline.NAME; removes it at the end of the scope.
struct shm_file {
    std::string path;
    shm_file(const std::string& name, const std::vector<unsigned char>& bytes) : path("/dev/shm/forkline." + name) {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        CHECK(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
        ::close(fd);
    }
    ~shm_file() { ::unlink(path.c_str()); }
};

/// A stats head as src/run/stats.cpp lays it out: magic, seq, pid, stages, then doubles and
/// counts (32 to 88), the command (88, 256 bytes), the bottleneck (344, 512 bytes).
std::vector<unsigned char> head(std::uint64_t seq, std::int64_t pid, std::uint64_t stages, const std::string& command) {
    std::vector<unsigned char> b(856, 0);
    auto put = [&](std::size_t at, auto v) { std::memcpy(b.data() + at, &v, sizeof v); };
    put(0, fl::detail::stats_magic);
    put(8, seq);
    put(16, pid);
    put(24, stages);
    std::memcpy(b.data() + 88, command.data(), std::min<std::size_t>(command.size(), 255));
    return b;
}

}  // namespace

TEST_CASE("a stats segment with garbage in it is refused or shown as gone, its text made harmless", "[run][stats]") {
    const std::string me = std::to_string(::getpid());
    {
        shm_file f("stats-test-" + me + "-0", head(0, ::getpid(), 1'000'000'000, "x"));
        CHECK_FALSE(fl::detail::read_stats("stats-test-" + me + "-0").has_value());  // more stages than bytes
    }
    {
        shm_file f("stats-test-" + me + "-1", head(0, 0, 0, "x"));
        CHECK_FALSE(fl::detail::read_stats("stats-test-" + me + "-1").has_value());  // pid 0 is no process
    }
    {
        shm_file f("stats-test-" + me + "-2", head(3, ::getpid(), 0, "x"));
        auto r = fl::detail::read_stats("stats-test-" + me + "-2");  // a writer died half-way
        REQUIRE(r.has_value());
        CHECK_FALSE(r->alive);
    }
    {
        shm_file f("stats-test-" + me + "-3", head(2, ::getpid(), 0, "run \x1b[2J\nnow"));
        auto r = fl::detail::read_stats("stats-test-" + me + "-3");
        REQUIRE(r.has_value());
        CHECK(r->alive);
        CHECK(r->command == "run ?[2J?now");
    }
    const std::string fifo = "/dev/shm/forkline.stats-test-" + me + "-4";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_FALSE(fl::detail::read_stats("stats-test-" + me + "-4").has_value());  // and does not wait for a writer
    ::unlink(fifo.c_str());
}
