// fl::process: a function run in a child process of its own, as Python's multiprocessing.Process;
// fl::active_children(): the processes started here that have not been joined.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace forkline {

namespace detail {
struct process_state;
}

/// A function and its arguments, run by a child process that start() forks. The child sees the
/// parent's memory as it was at start() (objects made before it, such as fl::lock or fl::queue,
/// are shared); it ends when the function returns (exit code 0), calls std::exit(n) (n), or throws
/// (its type and message go to stderr, exit code 1).
///
/// Movable, not copyable, so `std::vector<fl::process>` works. Destroying a process that was
/// started and not joined is an error you see, never a silent orphan: the destructor kills the
/// child (SIGKILL), reaps it, and writes a line naming it to stderr; a `daemon` process is killed
/// without the line. At normal exit (std::exit, or the end of main) the children still running
/// are joined, and daemon children killed. A child dies with its parent (SIGKILL, however the
/// parent ends: see the README's "Watching").
///
/// Example:
///     fl::process p([](int n) { std::printf("worker %d\n", n); }, 7);
///     p.start();
///     p.join();                       // p.exit_code() == 0
/// Errors: std::logic_error for start() twice, join() before start(); std::system_error when fork fails.
class process {
public:
    process() = default;

    /// A process that will run fn(args...): fn and the arguments are copied (or moved) now, so
    /// move-only ones work. Pass std::ref(x) for an object the child must share rather than copy,
    /// such as an fl::queue or fl::lock (they cannot be copied).
    template <class Fn, class... Args>
        requires(!std::is_same_v<std::remove_cvref_t<Fn>, process>)
    explicit process(Fn&& fn, Args&&... args)
        : process(std::in_place, body_of(std::forward<Fn>(fn), std::forward<Args>(args)...)) {}

    process(process&&) noexcept;
    process& operator=(process&&) noexcept;
    ~process();

    /// Forks the child. Errors: std::logic_error when already started.
    void start();
    /// Waits for the child to end. Errors: std::logic_error when not started.
    void join();
    /// Waits at most `timeout`; true when the child has ended.
    template <class Rep, class Period>
    bool join(std::chrono::duration<Rep, Period> timeout) {
        return join_for(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
    }
    /// Started and not ended yet.
    bool is_alive();
    /// The exit status once ended, or minus the signal that killed it (Python's convention);
    /// nothing while it runs or before start().
    std::optional<int> exit_code();
    /// Asks the child to stop (SIGTERM) / stops it (SIGKILL); nothing once it has ended.
    void terminate();
    void kill();
    /// The child's pid after start(), else 0.
    pid_t pid() const noexcept;
    /// "process-1", "process-2"... unless named; the child's name in ps and in error lines.
    const std::string& name() const noexcept;
    void name(std::string n);
    /// A daemon is killed, not joined, when its parent exits. Set before start().
    bool daemon() const noexcept;
    void daemon(bool d);

private:
    template <class Fn, class... Args>
    static std::function<void()> body_of(Fn&& fn, Args&&... args) {
        constexpr bool storable = std::is_constructible_v<std::decay_t<Fn>, Fn&&> &&
                                  (std::is_constructible_v<std::decay_t<Args>, Args&&> && ...);
        static_assert(storable, "forkline::process(fn, args...): fn or an argument cannot be copied or moved into "
                                "the process (pass std::move(fn) for a move-only one); pass std::ref(x) for a "
                                "queue, lock or other shared object");
        constexpr bool callable = std::is_invocable_v<std::decay_t<Fn>&, std::decay_t<Args>&...>;
        static_assert(callable, "forkline::process(fn, args...): fn cannot be called with these arguments (each "
                                "is passed as an lvalue of its decayed type; use std::ref(x) for a reference)");
        if constexpr (storable && callable) {
            // Held by a shared_ptr so that std::function, which must be copyable, takes move-only ones.
            auto call = std::make_shared<std::tuple<std::decay_t<Fn>, std::decay_t<Args>...>>(
                std::forward<Fn>(fn), std::forward<Args>(args)...);
            return [call] { std::apply([](auto& f, auto&... a) { std::invoke(f, a...); }, *call); };
        } else {
            return {};
        }
    }
    process(std::in_place_t, std::function<void()> body);
    bool join_for(long long ms);
    std::shared_ptr<detail::process_state> s_;
};

/// What fl::active_children() tells about a child.
struct child_info {
    pid_t pid;
    std::string name;
    bool daemon;
};

/// The processes started in this process (by fl::process) that are still running; reaps those
/// that ended, as Python's active_children() does.
std::vector<child_info> active_children();

}  // namespace forkline
