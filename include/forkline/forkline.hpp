// forkline: typed pipelines whose stages run as OS processes joined by shared-memory rings.
// `namespace fl = forkline;` then compose sources, stages and sinks with `|` and call fl::run.
#pragma once

#include <forkline/codec/codec.hpp>
#include <forkline/core/core.hpp>
#include <forkline/dsl/dsl.hpp>
#include <forkline/ipc/cpu_count.hpp>
#include <forkline/mp/mp.hpp>
#include <forkline/plan/options.hpp>
#include <forkline/plan/plan.hpp>
#include <forkline/run/plan.hpp>
#include <forkline/run/run.hpp>
#include <forkline/run/stream.hpp>
