// The pipeline the planner's tests plan on pretended machines: a source, a plain stage, a
// parallel one ("score"), a filter and a sink.
#pragma once

#include <forkline/forkline.hpp>

#include <functional>

namespace forkline::test {

inline auto scored_pipeline() {
    return iota(0L, 10L) | named("parse", map([](long i) { return i; })) |
           named("score", parallel(map([](long i) { return i * 2; }))) | filter([](long i) { return i > 0; }) |
           reduce(0L, std::plus<>{});
}

/// Its plan on `cores` cores.
inline pipeline_plan on(unsigned cores, options o = {}) {
    o.cpus = cores;
    return plan(scored_pipeline(), o);
}

}  // namespace forkline::test
