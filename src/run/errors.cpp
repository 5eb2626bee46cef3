#include <forkline/run/errors.hpp>

#include <cstring>

namespace forkline {

stage_error::stage_error(std::string stage, std::string message)
    : std::runtime_error("forkline: stage '" + stage + "' failed: " + message),
      stage_(std::move(stage)),
      message_(std::move(message)) {}

namespace {
/// "<subject> was killed by signal 9 (SIGKILL)" or "<subject> exited with code 3 before it finished".
std::string crash_text(std::string s, int signal, int exit_code) {
    s += ' ';
    if (signal > 0) {
        const char* abbrev = sigabbrev_np(signal);
        s += "was killed by signal " + std::to_string(signal);
        if (abbrev) s += " (SIG" + std::string(abbrev) + ")";
    } else {
        s += "exited with code " + std::to_string(exit_code) + " before it finished";
    }
    return s;
}
}  // namespace

stage_crashed::stage_crashed(std::string stage, int pid, int signal, int exit_code)
    : stage_crashed(crash_text("forkline: stage '" + stage + "' (process " + std::to_string(pid) + ")", signal, exit_code),
                    stage, pid, signal, exit_code) {}

stage_crashed stage_crashed::in_task(std::string where, int pid, int signal, int exit_code) {
    return {crash_text("forkline: " + where + " (worker process " + std::to_string(pid) + ")", signal, exit_code),
            where, pid, signal, exit_code};
}

stage_crashed::stage_crashed(std::string what, std::string stage, int pid, int signal, int exit_code)
    : std::runtime_error(what),
      stage_(std::move(stage)),
      pid_(pid),
      signal_(signal),
      exit_code_(exit_code) {}

task_error::task_error(std::string where, std::string type, std::string message)
    : std::runtime_error("forkline: " + where + " threw " + type + ": " + message),
      where_(std::move(where)),
      type_(std::move(type)),
      message_(std::move(message)) {}

}  // namespace forkline
