// Where the errors of runs and pools used to be declared; kept so that code including it still
// builds. New code includes forkline/core/errors.hpp (stage_error, stage_crashed, process_crashed)
// or forkline/mp/errors.hpp (task_error).
#pragma once

#include <forkline/core/errors.hpp>
#include <forkline/mp/errors.hpp>
