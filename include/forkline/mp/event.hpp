// fl::event: a flag that processes wait for.
#pragma once

#include <forkline/ipc/region.hpp>

#include <chrono>

namespace forkline {

/// A flag shared by the processes forked after it was made: set() wakes everyone waiting, clear()
/// lowers it again. Example: `fl::event ready;` a worker `ready.wait();`, the parent `ready.set();`.
/// Errors: std::system_error when the shared memory cannot be made.
class event {
public:
    event();
    event(event&&) noexcept = default;
    event& operator=(event&&) noexcept = default;

    void set();
    void clear();
    bool is_set() const noexcept;
    /// Waits until set.
    void wait();
    /// Waits at most `timeout`; true when set.
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> timeout) {
        return wait_within(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count());
    }

private:
    bool wait_within(long long ns);
    ipc::shared_region region_;
};

}  // namespace forkline
