// The ways work in other processes ends badly: a stage threw (stage_error), a stage process died
// (stage_crashed), a pool task threw (task_error).
#pragma once

#include <stdexcept>
#include <string>

namespace forkline {

/// An exception escaped a stage (in whatever process it ran). fl::run and fl::stream rethrow it as
/// this, after every process of the run has stopped. `what()` reads
/// "forkline: stage 'parse' failed: <original message>"; `stage()` is the stage's name and
/// `message()` the original what().
class stage_error : public std::runtime_error {
public:
    stage_error(std::string stage, std::string message);
    const std::string& stage() const noexcept { return stage_; }
    const std::string& message() const noexcept { return message_; }

private:
    std::string stage_, message_;
};

/// A stage's process died before it finished: killed by a signal (`signal()` > 0), or exited on
/// its own (`exit_code()`, for example a stage that called `_exit(3)` or `std::exit`).
/// `what()` reads "forkline: stage 'map' (process 1234) was killed by signal 9 (SIGKILL)".
/// A pool task whose worker died reports it as this too, with `stage()` naming the call and items
/// ("pool.map items 40 to 44") and `what()` reading
/// "forkline: pool.map items 40 to 44 (worker process 1234) was killed by signal 9 (SIGKILL)".
class stage_crashed : public std::runtime_error {
public:
    stage_crashed(std::string stage, int pid, int signal, int exit_code);
    /// The crash of a pool worker while it ran the items `where`.
    static stage_crashed in_task(std::string where, int pid, int signal, int exit_code);
    const std::string& stage() const noexcept { return stage_; }
    int pid() const noexcept { return pid_; }
    int signal() const noexcept { return signal_; }        ///< 0 when the process exited
    int exit_code() const noexcept { return exit_code_; }  ///< -1 when a signal killed it

private:
    stage_crashed(std::string what, std::string stage, int pid, int signal, int exit_code);
    std::string stage_;
    int pid_, signal_, exit_code_;
};

/// An exception escaped a task of a fl::pool in its worker process. The pool call, range or future
/// that waits for the task throws it in the caller. `what()` reads
/// "forkline: pool.map item 17 threw std::invalid_argument: <original message>"; `type()` is the
/// original exception's type, `message()` its what(). (The original object stays in the worker:
/// only its type's name and its message cross.)
class task_error : public std::runtime_error {
public:
    task_error(std::string where, std::string type, std::string message);
    const std::string& where() const noexcept { return where_; }
    const std::string& type() const noexcept { return type_; }
    const std::string& message() const noexcept { return message_; }

private:
    std::string where_, type_, message_;
};

}  // namespace forkline
