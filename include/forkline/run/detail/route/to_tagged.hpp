// to_tagged: the output of one replica of an ordered farm (or one reader of an ordered split).
// Each item carries the number of the input it came from, and the last one made from an input is
// marked, so the collector (from_in_order) knows when to move on; an input that made nothing
// sends a marker alone.
#pragma once

#include <forkline/run/detail/route/route.hpp>

#include <cstdint>
#include <optional>
#include <utility>

namespace forkline::detail {

/// End: a channel_sender of sequenced<T>.
template <class T, class End>
class to_tagged {
public:
    template <class... Args>
    explicit to_tagged(std::in_place_t, Args&&... args) : end_(std::forward<Args>(args)...) {}

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
        end_.push(sequenced<T>{seq_ << 1 | 1, std::move(held_)});
        held_.reset();
    }
    void nudge() noexcept { end_.nudge(); }
    void flush() { end_.flush(); }
    void close() { end_.close(); }

private:
    End end_;
    std::uint64_t seq_ = 0;
    std::optional<T> held_;
};

}  // namespace forkline::detail
