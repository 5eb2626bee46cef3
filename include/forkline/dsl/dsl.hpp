// Every source, stage and sink.
#pragma once

#include <forkline/dsl/batch.hpp>
#include <forkline/dsl/cost.hpp>
#include <forkline/dsl/count.hpp>
#include <forkline/dsl/count_by.hpp>
#include <forkline/dsl/filter.hpp>
#include <forkline/dsl/flat_map.hpp>
#include <forkline/dsl/for_each.hpp>
#include <forkline/dsl/from.hpp>
#include <forkline/dsl/generate.hpp>
#include <forkline/dsl/iota.hpp>
#include <forkline/dsl/map.hpp>
#include <forkline/dsl/named.hpp>
#include <forkline/dsl/read_csv.hpp>
#include <forkline/dsl/read_lines.hpp>
#include <forkline/dsl/reduce.hpp>
#include <forkline/dsl/reduce_by_key.hpp>
#include <forkline/dsl/restart.hpp>
#include <forkline/dsl/to_vector.hpp>
#include <forkline/dsl/unbatch.hpp>
#include <forkline/dsl/write_csv.hpp>
#include <forkline/dsl/write_lines.hpp>
#include <forkline/dsl/farm.hpp>
#include <forkline/dsl/partition_by.hpp>
