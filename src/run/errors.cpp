#include <forkline/run/errors.hpp>

#include <cstring>

namespace forkline {

stage_error::stage_error(std::string stage, std::string message)
    : std::runtime_error("forkline: stage '" + stage + "' failed: " + message),
      stage_(std::move(stage)),
      message_(std::move(message)) {}

namespace {
std::string crash_text(const std::string& stage, int pid, int signal, int exit_code) {
    std::string s = "forkline: stage '" + stage + "' (process " + std::to_string(pid) + ") ";
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
    : std::runtime_error(crash_text(stage, pid, signal, exit_code)),
      stage_(std::move(stage)),
      pid_(pid),
      signal_(signal),
      exit_code_(exit_code) {}

}  // namespace forkline
