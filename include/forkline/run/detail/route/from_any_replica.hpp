// from_any_replica: a collector that takes the items of several replicas as they come: a few from
// each in turn, waiting only when all are empty.
#pragma once

#include <forkline/run/detail/route/route.hpp>

#include <cstddef>
#include <utility>

namespace forkline::detail {

template <class End>
class from_any_replica {
public:
    explicit from_any_replica(end_set<End> ends) : ends_(std::move(ends)) {}

    template <class F>
    bool next(F&& f) {
        const std::size_t n = ends_.size();
        for (;;) {
            for (std::size_t k = 0; k < n; ++k) {
                std::size_t r = (cur_ + k) % n;
                if (ends_[r].has_item()) {
                    cur_ = r;
                    if (ends_[r].next(f)) return true;
                }
            }
            if (all_finished()) return false;
            release();
            ends_.wait([&] {
                bool done = true;
                for (End* e : ends_) {
                    if (e->has_item()) return true;
                    done = done && e->finished();
                }
                return done;
            });
        }
    }
    template <class F, class Out>
    void drain(F&& f, Out&) {
        if (ends_.size() == 1) {  // a farm or partition of one: nothing to interleave
            ends_[0].drain(f);
            return;
        }
        while (next(f)) {
        }
    }
    void release() noexcept { ends_.release(); }

private:
    bool all_finished() noexcept {
        for (End* e : ends_)
            if (!e->finished()) return false;
        return true;
    }

    end_set<End> ends_;
    std::size_t cur_ = 0;
};

}  // namespace forkline::detail
