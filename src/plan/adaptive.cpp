// options::adaptive's decision: how busy each process was, what the others leave free, and how
// many replicas each busy adaptive stage gets of it.
#include <forkline/plan/detail/adaptive.hpp>

#include <algorithm>
#include <cstdio>

namespace forkline::detail {

namespace {

bool adaptive(const stage_info& s) { return s.active != 0; }

std::string note(const stage_info& s, std::uint32_t fed, std::size_t want, double load, double others,
                 unsigned cpus) {
    char measured[160];
    std::snprintf(measured, sizeof measured, "replicas %.0f%% busy, the other processes %.2f of %u cores",
                  100 * load / fed, others, cpus);
    return "parallel " + s.name + ": " + std::to_string(fed) + " -> " + std::to_string(want) +
           (want == 1 ? " replica (" : " replicas (") + measured + ")";
}

}  // namespace

resize_decision resize_parallel(const pipeline_plan& plan, const warm_up_sample& sample) {
    const auto& groups = plan.groups();
    const auto& stages = plan.stages();
    std::vector<double> busy(groups.size());
    for (std::size_t g = 0; g < groups.size(); ++g) busy[g] = std::max(0.0, sample.cpu_seconds[g]) / sample.seconds;

    // What the processes that are not adaptive replicas use; the rest of the cores is free.
    double others = 0, demand = 0;
    for (std::size_t g = 0; g < groups.size(); ++g)
        if (!adaptive(stages[groups[g].stages.front()])) others += busy[g];
    double free = std::max(0.0, plan.cpus() - others);
    std::vector<double> load(stages.size(), 0);
    for (std::size_t s = 0; s < stages.size(); ++s) {
        if (!adaptive(stages[s])) continue;
        auto replicas = plan.groups_of(s);
        std::uint32_t fed = sample.fed[s];
        for (std::size_t r = 0; r < fed && r < replicas.size(); ++r) load[s] += busy[replicas[r]];
        if (load[s] / fed > adapt_busy) demand += load[s];
    }

    resize_decision d{sample.fed, {}};
    for (std::size_t s = 0; s < stages.size(); ++s) {
        if (!adaptive(stages[s])) continue;
        std::uint32_t fed = sample.fed[s];
        std::size_t want = fed;
        if (load[s] / fed > adapt_busy && demand > 0)
            want = std::clamp<std::size_t>(static_cast<std::size_t>(free * load[s] / demand + adapt_round_up), fed,
                                           plan.groups_of(s).size());
        d.fed[s] = static_cast<std::uint32_t>(want);
        d.notes.push_back(note(stages[s], fed, want, load[s], others, plan.cpus()));
    }
    return d;
}

}  // namespace forkline::detail
