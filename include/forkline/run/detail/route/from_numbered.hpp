// from_numbered: the collector of one replica of an ordered farm. Its items carry their input's
// number (to_free_replica, numbered), which it hands to the replica's router (to_tagged) around
// each item, so the replica's output is numbered the same way.
#pragma once

#include <forkline/run/detail/route/route.hpp>

#include <stdexcept>
#include <utility>

namespace forkline::detail {

/// End: a channel_receiver of sequenced<T>.
template <class T, class End>
class from_numbered {
public:
    template <class... Args>
    explicit from_numbered(std::in_place_t, Args&&... args) : end_(std::forward<Args>(args)...) {}

    template <class F>
    bool next(F&& f) {
        return end_.next([&](sequenced<T>&& s) { f(std::move(*s.value)); });
    }
    template <class F, class Out>
    void drain(F&& f, Out& out) {
        if constexpr (requires { out.begin_item(0); }) {
            while (end_.next([&](sequenced<T>&& s) {
                out.begin_item(s.tag >> 1);
                f(std::move(*s.value));
                out.end_item();
            })) {
            }
        } else {
            throw std::logic_error("forkline: a replica of an ordered farm must number what it sends on");
        }
    }
    void release() noexcept { end_.release(); }
    /// Reads the next item and drops it (an item set aside): its number goes on with no output,
    /// so the collector after the farm does not wait for it.
    template <class Out>
    bool skip_one(Out& out) {
        return end_.next([&](sequenced<T>&& s) {
            if constexpr (requires { out.begin_item(0); }) {
                out.begin_item(s.tag >> 1);
                out.end_item();
            }
        });
    }
    End& end() noexcept { return end_; }

private:
    End end_;
};

}  // namespace forkline::detail
