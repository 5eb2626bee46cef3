// to_free_replica: a farm's dispatcher. It feeds one replica for a few items, then moves on to the
// next one with room, and waits only when none has; numbered (for an ordered farm), each item
// carries its input's sequence number. With options::adaptive, only the first replicas are fed.
#pragma once

#include <forkline/run/detail/route/route.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace forkline::detail {

/// End: a channel_sender of T, or of sequenced<T> when Numbered.
template <class T, class End, bool Numbered>
class to_free_replica {
public:
    /// `active` (options::adaptive): how many replicas to feed, which may change as it runs.
    explicit to_free_replica(end_set<End> ends, const std::atomic<std::uint32_t>* active = nullptr)
        : ends_(std::move(ends)), active_(active) {}

    template <class U>
    void push(U&& v) {
        const std::size_t n = fed();
        if (left_ == 0 || !ends_[cur_].has_room()) {
            cur_ = pick(n);
            left_ = chunk;
        }
        --left_;
        if constexpr (Numbered)
            ends_[cur_].push(sequenced<T>{next_seq_++ << 1, std::forward<U>(v)});
        else
            ends_[cur_].push(v);
    }
    void nudge() noexcept { ends_.nudge(); }
    void flush() { ends_.flush(); }
    void close() { ends_.close(); }

private:
    static constexpr std::size_t chunk = 16;  ///< items in a row to one replica

    /// How many replicas are fed now.
    std::size_t fed() noexcept {
        std::size_t n = ends_.size();
        if (active_) {
            n = std::min<std::size_t>(n, std::max<std::uint32_t>(1, active_->load(std::memory_order_relaxed)));
            if (cur_ >= n) cur_ = 0, left_ = 0;
        }
        return n;
    }
    /// The next of the first n replicas after the current one with room; when none has, hands
    /// on what it holds and sleeps until one has.
    std::size_t pick(std::size_t n) {
        if (std::size_t k = with_room(n); k < n) return k;
        flush();
        ends_.wait([&] {
            for (std::size_t k = 0; k < n; ++k)
                if (ends_[k].has_room()) return true;
            return false;
        });
        if (std::size_t k = with_room(n); k < n) return k;
        return (cur_ + 1) % n;
    }
    std::size_t with_room(std::size_t n) noexcept {
        for (std::size_t k = 1; k <= n; ++k)
            if (ends_[(cur_ + k) % n].has_room()) return (cur_ + k) % n;
        return n;
    }

    end_set<End> ends_;
    const std::atomic<std::uint32_t>* active_;
    std::size_t cur_ = 0, left_ = 0;
    std::uint64_t next_seq_ = 0;
};

}  // namespace forkline::detail
