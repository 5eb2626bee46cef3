// from_in_order: the collector after an ordered farm. Replicas number their output by input
// (to_tagged), so the one holding the number it waits for is found by looking at each
// replica's next item; the items come out in input order.
#pragma once

#include <forkline/run/detail/route/route.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace forkline::detail {

/// End: a channel_receiver of sequenced<T>.
template <class T, class End>
class from_in_order {
public:
    explicit from_in_order(end_set<End> ends) : ends_(std::move(ends)), heads_(ends_.size()) {}

    template <class F>
    bool next(F&& f) {
        const std::size_t n = ends_.size();
        for (;;) {
            bool progress = false, all_done = true, pending = false;
            for (std::size_t k = 0; k < n; ++k) {
                std::size_t r = (cur_ + k) % n;
                fetch_head(r);
                while (heads_[r] && (heads_[r]->tag >> 1) == expected_) {
                    sequenced<T> s = std::move(*heads_[r]);
                    heads_[r].reset();
                    if (s.tag & 1) ++expected_;
                    progress = true;
                    cur_ = r;
                    if (s.value) {
                        f(std::move(*s.value));
                        return true;
                    }
                    fetch_head(r);
                }
                bool finished = ends_[r].finished();
                all_done = all_done && !heads_[r] && finished;
                pending = pending || !finished;
            }
            if (progress) continue;
            if (all_done) return false;
            if (!pending)  // every replica is done, and none holds the number we wait for
                throw std::logic_error("forkline: an ordered farm lost item " + std::to_string(expected_));
            release();
            ends_.wait([&] {
                bool done = true;
                for (std::size_t r = 0; r < n; ++r) {
                    if (!heads_[r] && ends_[r].has_item()) return true;
                    done = done && ends_[r].finished();
                }
                return done;
            });
        }
    }
    template <class F, class Out>
    void drain(F&& f, Out&) {
        while (next(f)) {
        }
    }
    void release() noexcept { ends_.release(); }

private:
    void fetch_head(std::size_t r) {
        if (!heads_[r] && ends_[r].has_item())
            ends_[r].next([&](sequenced<T>&& s) { heads_[r].emplace(std::move(s)); });
    }

    end_set<End> ends_;
    std::vector<std::optional<sequenced<T>>> heads_;  ///< each replica's next item, once looked at
    std::size_t cur_ = 0;
    std::uint64_t expected_ = 0;  ///< the number of the input whose items come next
};

}  // namespace forkline::detail
