// forkline: typed pipelines whose stages run as OS processes joined by shared-memory rings.
// `namespace fl = forkline;` then compose sources, stages and sinks with `|` and call fl::run.
#pragma once

#include <forkline/codec/codec.hpp>
#include <forkline/dsl/dsl.hpp>
#include <forkline/ipc/cpu_count.hpp>
#include <forkline/mp/barrier.hpp>
#include <forkline/mp/condition.hpp>
#include <forkline/mp/event.hpp>
#include <forkline/mp/lock.hpp>
#include <forkline/mp/pool.hpp>
#include <forkline/mp/process.hpp>
#include <forkline/mp/queue.hpp>
#include <forkline/mp/semaphore.hpp>
#include <forkline/mp/value.hpp>
#include <forkline/plan/options.hpp>
#include <forkline/plan/plan.hpp>
#include <forkline/run/errors.hpp>
#include <forkline/run/plan.hpp>
#include <forkline/run/run.hpp>
#include <forkline/run/stream.hpp>
