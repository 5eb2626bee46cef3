// The two ways a run ends badly: a stage threw (stage_error) or a stage process died (stage_crashed).
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
class stage_crashed : public std::runtime_error {
public:
    stage_crashed(std::string stage, int pid, int signal, int exit_code);
    const std::string& stage() const noexcept { return stage_; }
    int pid() const noexcept { return pid_; }
    int signal() const noexcept { return signal_; }        ///< 0 when the process exited
    int exit_code() const noexcept { return exit_code_; }  ///< -1 when a signal killed it

private:
    std::string stage_;
    int pid_, signal_, exit_code_;
};

}  // namespace forkline
