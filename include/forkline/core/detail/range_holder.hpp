// How whatever reads a range later keeps the range it was given (fl::from's source, a pool
// call): an lvalue by reference (the caller keeps it alive until the run or call ends, and a
// forked process sees it unchanged), an rvalue by value.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace forkline::detail {

template <class R>
class range_holder {
public:
    explicit range_holder(R&& r) : r_(std::move(r)) {}
    R& get() noexcept { return r_; }

private:
    R r_;
};

template <class R>
class range_holder<R&> {
public:
    explicit range_holder(R& r) noexcept : r_(std::addressof(r)) {}
    R& get() noexcept { return *r_; }

private:
    R* r_;
};

}  // namespace forkline::detail
