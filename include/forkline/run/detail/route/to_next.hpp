// to_next: a router that hands items to the next element in the same process, a small batch at a
// time, so the next element's loop runs over a batch compiled for its own types. Its counterpart
// inside an element is a fused chain's link (dsl/detail/fused.hpp), which calls the next runner at
// once: there the chain is fixed at compile time, here the plan says at run time where a process
// group ends, and each element's router is a variant best visited once a batch, not once an item.
#pragma once

#include <forkline/run/detail/route/route.hpp>

#include <cstddef>
#include <utility>
#include <vector>

namespace forkline::detail {

/// Next: `take(std::vector<T>&)` runs the next element on a batch (and may leave it moved from);
/// `finish()` ends its input.
template <class T, class Next>
class to_next {
public:
    static constexpr std::size_t batch = 64;

    explicit to_next(Next next) : next_(next) { items_.reserve(batch); }

    template <class U>
    FORKLINE_HOT void push(U&& v) {
        items_.push_back(std::forward<U>(v));
        if (items_.size() >= batch) [[unlikely]]
            flush();
    }
    /// True when it holds no item.
    bool empty() const noexcept { return items_.empty(); }
    /// Nothing waits on this process's own batch: the group nudges its edges.
    void nudge() noexcept {}
    void flush() {
        if (items_.empty()) return;
        next_.take(items_);
        items_.clear();
    }
    void close() {
        flush();
        next_.finish();
    }

private:
    Next next_;
    std::vector<T> items_;
};

template <class R>
inline constexpr bool is_to_next = false;
template <class T, class Next>
inline constexpr bool is_to_next<to_next<T, Next>> = true;

}  // namespace forkline::detail
