// The offsets of a run's shared region, part after part, each part on lines of its own.
#include <forkline/dsl/detail/text_input.hpp>
#include <forkline/ipc/ring.hpp>
#include <forkline/ipc/waiter.hpp>
#include <forkline/run/detail/failures.hpp>
#include <forkline/run/detail/journal.hpp>
#include <forkline/run/detail/live_counts.hpp>
#include <forkline/run/detail/region_layout.hpp>

#include <atomic>
#include <cstdint>

namespace forkline::detail {

namespace {

/// Lays parts out one after the other from offset 0 (the region's start, which is page-aligned).
class cursor {
public:
    /// Room for `count` objects of type T, `stride` bytes apart, from the next line on; its offset.
    template <class T>
    std::size_t take(std::size_t count, std::size_t stride = sizeof(T)) {
        static_assert(alignof(T) <= region_layout::line,
                      "forkline: a part of the run's region needs more alignment than a cache line");
        static_assert(region_layout::line % alignof(T) == 0);
        std::size_t at = align(end_);
        end_ = at + count * stride;
        return at;
    }
    /// Room for `bytes` bytes from the next line on (a ring's data).
    std::size_t take_bytes(std::size_t bytes) { return take<std::byte>(bytes); }
    std::size_t size() const noexcept { return align(end_); }

private:
    static constexpr std::size_t align(std::size_t n) {
        return (n + region_layout::line - 1) / region_layout::line * region_layout::line;
    }
    std::size_t end_ = 0;
};

}  // namespace

region_layout::region_layout(const pipeline_plan& plan) {
    std::size_t groups = plan.groups().size(), stage_count = plan.stages().size();
    cursor c;
    control = c.take<control_block>(1);
    states = c.take<std::atomic<std::uint32_t>>(groups);
    records = c.take<group_record>(groups);
    journals = c.take<group_journal>(groups);
    passed = c.take<std::atomic<std::uint64_t>>(groups * stage_count);
    waiters = c.take<ipc::waiter>(2 * groups);
    actives = c.take<std::atomic<std::uint32_t>>(stage_count);
    claims = c.take<std::atomic<std::uint64_t>>(stage_count);
    rejects = c.take<std::atomic<std::uint64_t>>(2);
    progress = c.take<source_progress>(1);
    has_table = stage_count > 0 && plan.stages().front().split;
    table = c.take<split_table>(has_table ? 1 : 0);
    for (const auto& e : plan.rings()) {
        rings.push_back(c.take<ipc::ring_control>(1));
        data.push_back(c.take_bytes(e.bytes()));
    }
    size = c.size();
}

}  // namespace forkline::detail
