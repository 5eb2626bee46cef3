// The vocabulary every layer may use: the errors shared by runs and pools, and the input range
// over items made in other processes.
#pragma once

#include <forkline/core/errors.hpp>
#include <forkline/core/stream_range.hpp>
