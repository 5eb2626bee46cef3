// The errors more than one layer reports: a process doing forkline's work died (process_crashed,
// which the pool throws as it is), a stage's process died (stage_crashed), a stage threw
// (stage_error).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace forkline {

/// A process that did work for the caller died before it finished: killed by a signal
/// (`signal()` > 0), or exited on its own (`exit_code()`, for example code that called `_exit(3)`
/// or `std::exit`). `where()` names the work it was doing and `what()` reads
/// "forkline: <where> (<process> <pid>) was killed by signal 9 (SIGKILL)" or
/// "... exited with code 3 before it finished".
/// A fl::pool throws it when a worker dies in a task, from the call, range or future that waits
/// for the task: `where()` is "pool.map items 40 to 44" and `what()`
/// "forkline: pool.map items 40 to 44 (worker process 1234) was killed by signal 9 (SIGKILL)".
/// A pipeline throws the derived fl::stage_crashed; `catch (const fl::process_crashed&)` catches
/// both.
/// Example: `try { pool.map(f, items); } catch (const fl::process_crashed& e) { log(e.pid()); }`
class process_crashed : public std::runtime_error {
public:
    /// `process` is how the text names the process ("process", "worker process").
    process_crashed(std::string where, const std::string& process, int pid, int signal, int exit_code);
    /// The same, with `more` after the text.
    process_crashed(std::string where, const std::string& process, int pid, int signal, int exit_code,
                    const std::string& more);
    const std::string& where() const noexcept { return where_; }
    int pid() const noexcept { return pid_; }
    int signal() const noexcept { return signal_; }        ///< 0 when the process exited
    int exit_code() const noexcept { return exit_code_; }  ///< -1 when a signal killed it

private:
    std::string where_;
    int pid_, signal_, exit_code_;
};

/// A stage's process died before it finished. fl::run and fl::stream throw it after every other
/// process of the run has stopped. `stage()` is the stage's name ("parse", or "parse[2]" for a
/// farm's replica), `where()` reads "stage 'parse'", and `what()`
/// "forkline: stage 'map' (process 1234) was killed by signal 9 (SIGKILL)".
/// With options::restarts, a stage that crashes options::poison_after times in a row on one item
/// (and options::poison says fail) throws it with `item()`, the item's index in its process's
/// input: "forkline: stage 'parse' (process 1234) was killed by signal 11 (SIGSEGV) on item 5 of
/// its input, the 2nd time in a row on that item".
/// Example: `catch (const fl::stage_crashed& e) { if (e.signal() == SIGKILL) retry(); }`
class stage_crashed : public process_crashed {
public:
    stage_crashed(std::string stage, int pid, int signal, int exit_code);
    stage_crashed(std::string stage, int pid, int signal, int exit_code, std::uint64_t item, unsigned times);
    const std::string& stage() const noexcept { return stage_; }
    /// The poison item's index in its process's input, or -1 (all bits set) for none.
    std::uint64_t item() const noexcept { return item_; }

private:
    std::string stage_;
    std::uint64_t item_ = ~std::uint64_t{0};
};

/// An exception escaped a stage (in whatever process it ran). fl::run and fl::stream rethrow it as
/// this, after every process of the run has stopped. `what()` reads
/// "forkline: stage 'parse' failed: <original message>"; `stage()` is the stage's name and
/// `message()` the original what().
/// Example: `catch (const fl::stage_error& e) { std::cerr << e.stage() << ": " << e.message(); }`
class stage_error : public std::runtime_error {
public:
    stage_error(std::string stage, std::string message);
    const std::string& stage() const noexcept { return stage_; }
    const std::string& message() const noexcept { return message_; }

private:
    std::string stage_, message_;
};

}  // namespace forkline
