// The SPSC rings on their own: one process, two processes under stress, both slot kinds.
#include "../support.hpp"

#include <forkline/ipc/region.hpp>
#include <forkline/ipc/ring.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <new>
#include <random>
#include <vector>

using namespace forkline;
using namespace forkline::test;

namespace {

/// A ring and its data in an anonymous shared region, as a run lays it out.
struct shared_ring {
    ipc::shared_region region;
    ipc::ring_control* control;
    std::byte* data;
    explicit shared_ring(std::uint64_t capacity, std::size_t unit)
        : region(4096 + capacity * unit),
          control(new (region.data()) ipc::ring_control(capacity)),
          data(region.data() + 4096) {}
};

/// The payload of record i in the byte-ring tests: its length and bytes follow from i.
std::size_t record_size(std::uint64_t i, std::size_t max) { return (i * 2654435761u) % (max + 1); }
std::byte record_byte(std::uint64_t i, std::size_t k) { return std::byte((i * 31 + k * 7) & 0xff); }

}  // namespace

TEST_CASE("slot ring keeps order across wrap-around in one process", "[ipc][ring]") {
    shared_ring r(8, sizeof(std::uint64_t));
    ipc::wait_policy policy;
    ipc::slot_producer<std::uint64_t> out(*r.control, r.data, policy);
    ipc::slot_consumer<std::uint64_t> in(*r.control, r.data, policy);
    std::mt19937 rng(7);
    std::uint64_t pushed = 0, popped = 0;
    while (popped < 10000) {
        std::uint64_t burst = rng() % (8 - (pushed - popped) + 1);
        for (std::uint64_t k = 0; k < burst; ++k) out.push(pushed++);
        out.flush();
        std::uint64_t take = rng() % (pushed - popped + 1);
        for (std::uint64_t k = 0; k < take; ++k) {
            std::uint64_t v = 0;
            REQUIRE(in.pop(v));
            REQUIRE(v == popped++);
        }
        in.release();
    }
    out.close();
    std::uint64_t v = 0;
    while (popped < pushed) {
        REQUIRE(in.pop(v));
        REQUIRE(v == popped++);
    }
    CHECK_FALSE(in.pop(v));
}

TEST_CASE("slot ring carries 10^7 items between two processes with random bursts", "[ipc][ring]") {
    constexpr std::uint64_t n = 10'000'000;
    shared_ring r(1024, sizeof(std::uint64_t));
    pid_t pid = fork_child([&] {
        ipc::wait_policy policy;
        ipc::slot_producer<std::uint64_t> out(*r.control, r.data, policy);
        std::mt19937 rng(1);
        for (std::uint64_t i = 0; i < n;) {
            std::uint64_t burst = std::min<std::uint64_t>(rng() % 3000, n - i);
            for (std::uint64_t k = 0; k < burst; ++k, ++i) out.push(i * 3 + 1);
            if (rng() % 4 == 0) out.flush();
        }
        out.close();
        return 0;
    });
    ipc::wait_policy policy;
    ipc::slot_consumer<std::uint64_t> in(*r.control, r.data, policy);
    std::uint64_t count = 0, sum = 0, in_order = 0, v = 0;
    while (in.pop(v)) {
        in_order += v == count * 3 + 1;
        sum += v;
        ++count;
    }
    CHECK(wait_child(pid) == 0);
    CHECK(count == n);
    CHECK(in_order == n);
    CHECK(sum == 3 * (n * (n - 1) / 2) + n);
}

TEST_CASE("slot ring of capacity 1 hands items over one at a time", "[ipc][ring]") {
    constexpr std::uint64_t n = 100'000;
    shared_ring r(1, sizeof(std::uint32_t));
    pid_t pid = fork_child([&] {
        ipc::wait_policy policy;
        policy.spin = 16;
        ipc::slot_producer<std::uint32_t> out(*r.control, r.data, policy);
        for (std::uint32_t i = 0; i < n; ++i) out.push(i);
        out.close();
        return 0;
    });
    ipc::wait_policy policy;
    policy.spin = 16;
    ipc::slot_consumer<std::uint32_t> in(*r.control, r.data, policy);
    std::uint32_t v = 0, expect = 0;
    bool ordered = true;
    while (in.pop(v)) ordered = ordered && v == expect++;
    CHECK(wait_child(pid) == 0);
    CHECK(ordered);
    CHECK(expect == n);
}

TEST_CASE("slot ring spans expose contiguous runs up to the wrap", "[ipc][ring]") {
    shared_ring r(16, sizeof(int));
    ipc::wait_policy policy;
    ipc::slot_producer<int> out(*r.control, r.data, policy);
    ipc::slot_consumer<int> in(*r.control, r.data, policy);
    for (int i = 0; i < 12; ++i) out.push(i);
    out.flush();
    auto s = in.peek();
    REQUIRE(s.size() == 12);
    in.consume(12);
    in.release();
    auto w = out.claim();
    CHECK(w.size() == 4);  // up to the end of the buffer, then it wraps
    for (std::size_t k = 0; k < w.size(); ++k) w[k] = 100 + static_cast<int>(k);
    out.commit(w.size());
    out.push(200);
    out.close();
    CHECK(in.peek().size() == 4);
    in.consume(4);
    auto t = in.peek();
    REQUIRE(t.size() == 1);
    CHECK(t[0] == 200);
    in.consume(1);
    CHECK(in.peek().empty());
}

namespace {

/// Sends n records of random sizes up to `max` bytes through a byte ring of `capacity` bytes
/// between two processes; checks every byte.
void byte_ring_round(std::uint64_t n, std::size_t max, std::uint64_t capacity) {
    shared_ring r(capacity, 1);
    pid_t pid = fork_child([&] {
        ipc::wait_policy policy;
        ipc::byte_producer out(*r.control, r.data, policy);
        for (std::uint64_t i = 0; i < n; ++i) {
            std::size_t len = record_size(i, max);
            out.write(len, [&](std::byte* p) {
                for (std::size_t k = 0; k < len; ++k) p[k] = record_byte(i, k);
            });
        }
        out.close();
        return 0;
    });
    ipc::wait_policy policy;
    ipc::byte_consumer in(*r.control, r.data, policy);
    std::uint64_t i = 0, bad = 0;
    while (in.read([&](const std::byte* p, std::size_t len) {
        bad += len != record_size(i, max);
        for (std::size_t k = 0; k < len && k < record_size(i, max); ++k) bad += p[k] != record_byte(i, k);
        ++i;
    })) {
    }
    CHECK(wait_child(pid) == 0);
    CHECK(i == n);
    CHECK(bad == 0);
}

}  // namespace

TEST_CASE("byte ring carries 10^7 small records between two processes", "[ipc][ring]") {
    byte_ring_round(10'000'000, 24, 1 << 16);
}

TEST_CASE("byte ring streams records larger than itself", "[ipc][ring]") {
    byte_ring_round(2000, 5000, 1024);  // many records exceed half the ring and stream in pieces
}

TEST_CASE("byte ring of 64 bytes still carries every record", "[ipc][ring]") {
    byte_ring_round(20000, 100, 64);
}

TEST_CASE("byte ring reports a corrupt header instead of reading past it", "[ipc][ring]") {
    shared_ring r(256, 1);
    ipc::wait_policy policy;
    ipc::byte_producer out(*r.control, r.data, policy);
    out.write(4, [](std::byte* p) { std::fill(p, p + 4, std::byte{1}); });
    out.close();
    std::uint64_t garbage = 200;  // a length that cannot fit a 256-byte ring as one record
    std::memcpy(r.data, &garbage, sizeof garbage);
    ipc::byte_consumer in(*r.control, r.data, policy);
    CHECK_THROWS_AS(in.read([](const std::byte*, std::size_t) {}), ipc::ring_corrupt);
}

TEST_CASE("a wait on an aborted ring throws instead of sleeping", "[ipc][ring]") {
    shared_ring r(4, sizeof(int));
    std::atomic<std::uint32_t> abort{1};
    ipc::wait_policy policy;
    policy.abort = &abort;
    policy.spin = 10;
    ipc::slot_consumer<int> in(*r.control, r.data, policy);
    int v;
    CHECK_THROWS_AS(in.pop(v), ipc::aborted);
}
