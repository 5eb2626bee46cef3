// Where fl::stream_range used to be declared; kept so that code including it still builds.
// New code includes forkline/core/stream_range.hpp.
#pragma once

#include <forkline/core/stream_range.hpp>
