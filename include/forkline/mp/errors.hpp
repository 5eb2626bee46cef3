// The toolbox's own error: a pool task threw (task_error). A pool worker that dies is reported as
// fl::process_crashed, which lives in core/errors.hpp because pipelines report their crashes too.
#pragma once

#include <forkline/core/errors.hpp>

#include <stdexcept>
#include <string>

namespace forkline {

/// An exception escaped a task of a fl::pool in its worker process. The pool call, range or future
/// that waits for the task throws it in the caller. `what()` reads
/// "forkline: pool.map item 17 threw std::invalid_argument: <original message>"; `type()` is the
/// original exception's type, `message()` its what(). (The original object stays in the worker:
/// only its type's name and its message cross.)
/// Example: `try { pool.map(parse, lines); } catch (const fl::task_error& e) { log(e.where()); }`
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
