// fl::process: start, join (with and without a timeout), exit codes, signals, names, daemons,
// active_children, and vectors of processes.
#include "../support.hpp"

#include <forkline/forkline.hpp>

#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <stdexcept>
#include <vector>

namespace fl = forkline;
using namespace std::chrono_literals;

TEST_CASE("a process runs its function with its arguments in a child", "[mp][process]") {
    fl::raw_value<long> seen(0);
    fl::process p([&](long a, long b) { *seen = a * b + (::getpid() != 0 ? 0 : 1); }, 6L, 7L);
    CHECK(p.pid() == 0);
    CHECK_FALSE(p.is_alive());
    CHECK_FALSE(p.exit_code());
    p.start();
    CHECK(p.pid() > 0);
    CHECK(p.pid() != ::getpid());
    p.join();
    CHECK(*seen == 42);
    CHECK(p.exit_code() == 0);
    CHECK_FALSE(p.is_alive());
    CHECK_THROWS_AS(p.start(), std::logic_error);
}

TEST_CASE("move-only functions and arguments, and shared objects by std::ref", "[mp][process]") {
    fl::raw_value<int> seen(0);
    fl::queue<int> q;
    auto boxed = std::make_unique<int>(5);
    fl::process p([&seen, own = std::make_unique<int>(2)](std::unique_ptr<int>& b, fl::queue<int>& out) {
        *seen = *own * *b;
        out.put(*seen + 1);
    }, std::move(boxed), std::ref(q));
    p.start();
    CHECK(q.get() == 11);
    p.join();
    CHECK(*seen == 10);
    CHECK(p.exit_code() == 0);
}

TEST_CASE("exit codes follow Python: the status, or minus the signal", "[mp][process]") {
    fl::process exits([] { std::exit(3); });
    fl::process throws([] { throw std::runtime_error("no"); });
    fl::process killed([] { ::raise(SIGKILL); });
    for (auto* p : {&exits, &throws, &killed}) p->start();
    for (auto* p : {&exits, &throws, &killed}) p->join();
    CHECK(exits.exit_code() == 3);
    CHECK(throws.exit_code() == 1);
    CHECK(killed.exit_code() == -SIGKILL);
}

TEST_CASE("join with a timeout, terminate and kill", "[mp][process]") {
    fl::process sleeper([] {
        for (;;) ::pause();
    });
    CHECK_THROWS_AS(sleeper.join(), std::logic_error);  // not started
    sleeper.start();
    auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(sleeper.join(50ms));
    CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
    CHECK(sleeper.is_alive());
    sleeper.terminate();
    CHECK(sleeper.join(30s));
    CHECK(sleeper.exit_code() == -SIGTERM);

    fl::process stubborn([] {
        ::signal(SIGTERM, SIG_IGN);
        for (;;) ::pause();
    });
    stubborn.start();
    stubborn.kill();
    stubborn.join();
    CHECK(stubborn.exit_code() == -SIGKILL);
}

TEST_CASE("names, active_children and vectors of processes", "[mp][process]") {
    fl::event go;
    std::vector<fl::process> workers;
    for (int i = 0; i < 4; ++i) {
        workers.emplace_back([&go, i] {
            go.wait();
            std::exit(10 + i);
        });
        workers.back().name("worker-" + std::to_string(i));
    }
    for (auto& w : workers) w.start();
    auto active = fl::active_children();
    CHECK(active.size() == 4);
    CHECK(active.front().name == "worker-0");
    go.set();
    for (auto& w : workers) w.join();
    for (int i = 0; i < 4; ++i) CHECK(workers[static_cast<std::size_t>(i)].exit_code() == 10 + i);
    CHECK(fl::active_children().empty());
    CHECK(fl::test::no_children_left());
}

TEST_CASE("a process dropped while running is killed and reaped, never orphaned", "[mp][process]") {
    pid_t pid = 0;
    {
        fl::process p([] {
            for (;;) ::pause();
        });
        p.daemon(true);  // quietly: no line on stderr
        CHECK(p.daemon());
        p.start();
        pid = p.pid();
        CHECK_THROWS_AS(p.daemon(false), std::logic_error);  // too late
    }
    CHECK(::kill(pid, 0) != 0);  // gone, and reaped
    CHECK(fl::test::no_children_left());
}

TEST_CASE("a process can start processes of its own", "[mp][process]") {
    fl::raw_value<int> grandchild_ran(0);
    fl::process parent([&] {
        fl::process child([&] { *grandchild_ran = 1; });
        child.start();
        child.join();
        std::exit(*child.exit_code() == 0 && fl::active_children().empty() ? 0 : 5);
    });
    parent.start();
    parent.join();
    CHECK(parent.exit_code() == 0);
    CHECK(*grandchild_ran == 1);
}
