// to_tagged: the output of one replica of an ordered farm (or one reader of an ordered split).
// Each item carries the number of the input it came from, and the last one made from an input is
// marked, so the collector (from_in_order) knows when to move on; an input that made nothing
// sends a marker alone. Markers are not items: their number goes to the group's record, for the
// live counts to leave out of the ring's.
#pragma once

#include <forkline/run/detail/route/route.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <utility>

namespace forkline::detail {

/// End: a channel_sender of sequenced<T>.
template <class T, class End>
class to_tagged {
public:
    /// `markers` (may be null) counts the markers sent, published at each flush and close.
    template <class... Args>
    explicit to_tagged(std::atomic<std::uint64_t>* markers, std::in_place_t, Args&&... args)
        : end_(std::forward<Args>(args)...), markers_(markers) {}

    /// The number of the input whose output follows.
    void begin_item(std::uint64_t seq) noexcept { seq_ = seq; }
    /// Holds each item until the next one comes (or the input's end), to know which one is last.
    template <class U>
    void push(U&& v) {
        if (held_) end_.push(sequenced<T>{seq_ << 1, std::move(held_)});
        held_.emplace(std::forward<U>(v));
    }
    /// The end of the input's output: the held item goes out marked last (or a marker alone).
    void end_item() {
        if constexpr (FORKLINE_LIVE_COUNTS) sent_markers_ += !held_;
        end_.push(sequenced<T>{seq_ << 1 | 1, std::move(held_)});
        held_.reset();
    }
    void nudge() noexcept { end_.nudge(); }
    void flush() {
        publish();
        end_.flush();
    }
    void close() {
        publish();
        end_.close();
    }
    End& end() noexcept { return end_; }

private:
    void publish() noexcept {
        if (markers_) markers_->store(sent_markers_, std::memory_order_relaxed);
    }

    End end_;
    std::atomic<std::uint64_t>* markers_;
    std::uint64_t seq_ = 0, sent_markers_ = 0;
    std::optional<T> held_;
};

}  // namespace forkline::detail
