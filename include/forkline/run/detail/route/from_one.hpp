// from_one: a collector that reads one edge.
#pragma once

#include <forkline/run/detail/route/route.hpp>

#include <utility>

namespace forkline::detail {

template <class End>
class from_one {
public:
    template <class... Args>
    explicit from_one(std::in_place_t, Args&&... args) : end_(std::forward<Args>(args)...) {}

    template <class F>
    bool next(F&& f) {
        return end_.next(f);
    }
    template <class F, class Out>
    void drain(F&& f, Out&) {
        end_.drain(f);
    }
    void release() noexcept { end_.release(); }
    /// Reads the next item and drops it (an item set aside); false at the end of the stream.
    template <class Out>
    bool skip_one(Out&) {
        return end_.next([](auto&&) {});
    }
    End& end() noexcept { return end_; }

private:
    End end_;
};

}  // namespace forkline::detail
