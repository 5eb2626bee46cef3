#include <forkline/core/errors.hpp>

#include <cstring>

namespace forkline {

namespace {
/// "forkline: <where> (<process> <pid>) was killed by signal 9 (SIGKILL)", or
/// "... exited with code 3 before it finished".
std::string crash_text(const std::string& where, const std::string& process, int pid, int signal, int exit_code) {
    std::string s = "forkline: " + where + " (" + process + " " + std::to_string(pid) + ") ";
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

process_crashed::process_crashed(std::string where, const std::string& process, int pid, int signal, int exit_code)
    : std::runtime_error(crash_text(where, process, pid, signal, exit_code)),
      where_(std::move(where)),
      pid_(pid),
      signal_(signal),
      exit_code_(exit_code) {}

process_crashed::process_crashed(std::string where, const std::string& process, int pid, int signal, int exit_code,
                                 const std::string& more)
    : std::runtime_error(crash_text(where, process, pid, signal, exit_code) + more),
      where_(std::move(where)),
      pid_(pid),
      signal_(signal),
      exit_code_(exit_code) {}

stage_crashed::stage_crashed(std::string stage, int pid, int signal, int exit_code)
    : process_crashed("stage '" + stage + "'", "process", pid, signal, exit_code), stage_(std::move(stage)) {}

namespace {
std::string ordinal(unsigned n) {
    const char* suffix = (n % 100 >= 11 && n % 100 <= 13) ? "th" : n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
    return std::to_string(n) + suffix;
}
}  // namespace

stage_crashed::stage_crashed(std::string stage, int pid, int signal, int exit_code, std::uint64_t item,
                             unsigned times)
    : process_crashed("stage '" + stage + "'", "process", pid, signal, exit_code,
                      " on item " + std::to_string(item) + " of its input, the " + ordinal(times) +
                          " time in a row on that item"),
      stage_(std::move(stage)),
      item_(item) {}

stage_error::stage_error(std::string stage, std::string message)
    : std::runtime_error("forkline: stage '" + stage + "' failed: " + message),
      stage_(std::move(stage)),
      message_(std::move(message)) {}

}  // namespace forkline
