// fl::value<T> and fl::array<T>: numbers and plain structs in shared memory, with a lock each;
// fl::raw_value<T> and fl::raw_array<T> without one.
#pragma once

#include <forkline/ipc/region.hpp>
#include <forkline/mp/lock.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace forkline {

namespace detail {
template <class T>
constexpr bool shareable_v() {
    static_assert(std::is_trivially_copyable_v<T> && !std::is_pointer_v<T>,
                  "forkline::value<T> / array<T>: T must be trivially copyable and hold no pointer (a number, "
                  "an enum, a struct of them): shared memory cannot hold a std::string or a container; use "
                  "fl::queue<T> or a fl::manager for those");
    return true;
}
}  // namespace detail

/// A T in shared memory, seen by the processes forked after it was made; no lock (a
/// std::atomic<T> works too).
/// Example: `fl::raw_value<long> hits(0);` then `++*hits;` in one process at a time.
template <class T>
class raw_value {
    static_assert(detail::shareable_v<T>());

public:
    /// Constructs the T in shared memory from args (none: value-initialized).
    template <class... Args>
        requires std::is_constructible_v<T, Args...>
    explicit raw_value(Args&&... args) : region_(sizeof(T)) {
        new (region_.data()) T(std::forward<Args>(args)...);
    }
    raw_value(raw_value&&) noexcept = default;
    raw_value& operator=(raw_value&&) noexcept = default;

    T& operator*() const noexcept { return *get(); }
    T* operator->() const noexcept { return get(); }
    T* get() const noexcept { return std::launder(reinterpret_cast<T*>(region_.data())); }

private:
    ipc::shared_region region_;
};

/// A T in shared memory with a lock of its own (an fl::rlock, as Python's Value has): load() and
/// store() take it; `*v` and `v->` do not, so hold get_lock() around a read-modify-write.
/// Example:
///     fl::value<long> counter(0);
///     { std::scoped_lock g(counter.get_lock()); ++*counter; }   // in each of several processes
template <class T>
class value : public raw_value<T> {
public:
    template <class... Args>
        requires std::is_constructible_v<T, Args...>
    explicit value(Args&&... args) : raw_value<T>(std::forward<Args>(args)...), lock_(std::make_unique<rlock>()) {}
    T load() const {
        std::scoped_lock g(*lock_);
        return **this;
    }
    void store(const T& v) {
        std::scoped_lock g(*lock_);
        **this = v;
    }
    rlock& get_lock() const noexcept { return *lock_; }

private:
    std::unique_ptr<rlock> lock_;
};

/// n Ts in shared memory; no lock. A contiguous range: indexing, begin/end, std::span.
/// Example: `fl::raw_array<double> totals(8);` each of 8 workers writes `totals[i]`.
/// Errors: at(i) throws std::out_of_range.
template <class T>
class raw_array {
    static_assert(detail::shareable_v<T>());

public:
    /// n value-initialized elements (zeros), or n copies of `initial`.
    explicit raw_array(std::size_t n) : region_(std::max<std::size_t>(n, 1) * sizeof(T)), n_(n) {
        for (std::size_t i = 0; i < n; ++i) new (region_.data() + i * sizeof(T)) T();
    }
    raw_array(std::size_t n, const T& initial) : raw_array(n) { std::fill(begin(), end(), initial); }
    raw_array(raw_array&&) noexcept = default;
    raw_array& operator=(raw_array&&) noexcept = default;

    T* data() const noexcept { return std::launder(reinterpret_cast<T*>(region_.data())); }
    std::size_t size() const noexcept { return n_; }
    T& operator[](std::size_t i) const noexcept { return data()[i]; }
    T& at(std::size_t i) const {
        if (i >= n_)
            throw std::out_of_range("forkline::array::at(" + std::to_string(i) + "): the array has " +
                                    std::to_string(n_) + " elements");
        return data()[i];
    }
    T* begin() const noexcept { return data(); }
    T* end() const noexcept { return data() + n_; }
    std::span<T> span() const noexcept { return {data(), n_}; }

private:
    ipc::shared_region region_;
    std::size_t n_;
};

/// n Ts in shared memory with one lock (an fl::rlock) for the whole array: load(i) and store(i, v)
/// take it; indexing does not.
template <class T>
class array : public raw_array<T> {
public:
    explicit array(std::size_t n) : raw_array<T>(n), lock_(std::make_unique<rlock>()) {}
    array(std::size_t n, const T& initial) : raw_array<T>(n, initial), lock_(std::make_unique<rlock>()) {}
    T load(std::size_t i) const {
        std::scoped_lock g(*lock_);
        return this->at(i);
    }
    void store(std::size_t i, const T& v) {
        std::scoped_lock g(*lock_);
        this->at(i) = v;
    }
    rlock& get_lock() const noexcept { return *lock_; }

private:
    std::unique_ptr<rlock> lock_;
};

}  // namespace forkline
