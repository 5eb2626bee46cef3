// to_one: a router that sends every item into one edge.
#pragma once

#include <forkline/run/detail/route/route.hpp>

#include <utility>

namespace forkline::detail {

template <class End>
class to_one {
public:
    /// Makes its end in place from `args`.
    template <class... Args>
    explicit to_one(std::in_place_t, Args&&... args) : end_(std::forward<Args>(args)...) {}

    template <class U>
    FORKLINE_HOT void push(U&& v) {
        end_.push(v);
    }
    FORKLINE_HOT void nudge() noexcept { end_.nudge(); }
    void flush() { end_.flush(); }
    void close() { end_.close(); }

    /// The edge itself, for sources that fill a ring's slots in bulk.
    End& end() noexcept { return end_; }

private:
    End end_;
};

}  // namespace forkline::detail
