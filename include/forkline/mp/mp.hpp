// The multiprocessing toolbox: processes, queues and pipes, shared values and arrays, locks,
// semaphores, conditions, events, barriers, shared memory, managers and pools.
#pragma once

#include <forkline/ipc/cpu_count.hpp>
#include <forkline/mp/barrier.hpp>
#include <forkline/mp/condition.hpp>
#include <forkline/mp/errors.hpp>
#include <forkline/mp/event.hpp>
#include <forkline/mp/lock.hpp>
#include <forkline/mp/manager.hpp>
#include <forkline/mp/pipe.hpp>
#include <forkline/mp/pool.hpp>
#include <forkline/mp/process.hpp>
#include <forkline/mp/queue.hpp>
#include <forkline/mp/semaphore.hpp>
#include <forkline/mp/shared_memory.hpp>
#include <forkline/mp/value.hpp>
