// The anonymous shared region on its own: zero-filled, shared with the children forked after it,
// named nowhere in /dev/shm, released by its destructor and by a move.
#include "../support.hpp"

#include <forkline/ipc/region.hpp>

#include <catch2/catch.hpp>

#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <system_error>
#include <utility>

using namespace forkline;
using namespace forkline::test;

namespace {

/// True when [p, p + n) is mapped in this process (msync fails with ENOMEM on unmapped pages).
bool mapped(const std::byte* p, std::size_t n) {
    return ::msync(const_cast<std::byte*>(p), n, MS_ASYNC) == 0 || errno != ENOMEM;
}

}  // namespace

TEST_CASE("a region has the size asked for and starts zero-filled", "[ipc][region]") {
    constexpr std::size_t n = 3 * 4096 + 17;
    ipc::shared_region r(n);
    REQUIRE(r.data() != nullptr);
    CHECK(r.size() == n);
    std::size_t nonzero = 0;
    for (std::size_t i = 0; i < n; ++i) nonzero += r.data()[i] != std::byte{0};
    CHECK(nonzero == 0);
    std::memset(r.data(), 0xab, n);  // every byte is writable
    CHECK(r.data()[n - 1] == std::byte{0xab});
}

TEST_CASE("a default region holds nothing", "[ipc][region]") {
    ipc::shared_region r;
    CHECK(r.data() == nullptr);
    CHECK(r.size() == 0);
}

TEST_CASE("a region the system cannot map throws system_error saying so", "[ipc][region]") {
    try {
        ipc::shared_region r(std::size_t{1} << 62);  // beyond any address space
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(std::string(e.what()).find("cannot map") != std::string::npos);
    }
}

TEST_CASE("writes after the fork cross between parent and child both ways", "[ipc][region]") {
    ipc::shared_region r(4096);
    auto* to_child = new (r.data()) std::atomic<std::uint32_t>(0);
    auto* to_parent = new (r.data() + 64) std::atomic<std::uint32_t>(0);
    pid_t child = fork_child([&] {
        // The parent writes only after the fork: a private copy would never see it.
        if (!eventually([&] { return to_child->load() == 41; }, 60)) return 1;
        to_parent->store(42);
        return 0;
    });
    to_child->store(41);
    bool answered = eventually([&] { return to_parent->load() == 42; }, 60);
    if (!answered) ::kill(child, SIGKILL);
    CHECK(answered);
    CHECK(wait_child(child) == 0);
    CHECK(no_children_left());
}

TEST_CASE("a region appears nowhere in /dev/shm", "[ipc][region]") {
    auto before = shm_entries();
    ipc::shared_region r(1 << 20);
    r.data()[0] = std::byte{1};
    CHECK(shm_entries() == before);
}

TEST_CASE("the destructor and a move assignment unmap the region they drop", "[ipc][region]") {
    const std::byte* first = nullptr;
    {
        ipc::shared_region r(4096);
        first = r.data();
        CHECK(mapped(first, 4096));
    }
    CHECK_FALSE(mapped(first, 4096));

    ipc::shared_region a(4096), b(2 * 4096);
    const std::byte* old_a = a.data();
    std::byte* old_b = b.data();
    old_b[5] = std::byte{9};
    a = std::move(b);
    CHECK_FALSE(mapped(old_a, 4096));
    CHECK(a.data() == old_b);
    CHECK(a.size() == 2 * 4096);
    CHECK(a.data()[5] == std::byte{9});
    CHECK(b.data() == nullptr);
    CHECK(b.size() == 0);

    ipc::shared_region c(std::move(a));
    CHECK(c.data() == old_b);
    CHECK(c.size() == 2 * 4096);
    CHECK(a.data() == nullptr);
    CHECK(a.size() == 0);
    CHECK(mapped(c.data(), c.size()));
}
