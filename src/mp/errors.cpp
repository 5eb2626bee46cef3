#include <forkline/mp/errors.hpp>

namespace forkline {

task_error::task_error(std::string where, std::string type, std::string message)
    : std::runtime_error("forkline: " + where + " threw " + type + ": " + message),
      where_(std::move(where)),
      type_(std::move(type)),
      message_(std::move(message)) {}

}  // namespace forkline
