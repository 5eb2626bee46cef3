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

private:
    End end_;
};

}  // namespace forkline::detail
