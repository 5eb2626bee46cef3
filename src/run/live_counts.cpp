// A run's counts as stage reports, and the sentence that names its bottleneck.
#include <forkline/run/detail/live_counts.hpp>

#include <algorithm>
#include <cmath>

namespace forkline::detail {

namespace {

constexpr double ns = 1e-9;

/// The shares below this are not a bottleneck: the busiest stage waits half its time or more.
constexpr double bottleneck_busy = 0.5;

/// The share of the run's time that `seconds` of stage s's processes are (each process counts
/// the whole run: one that ended early was idle since).
double share(double seconds, const stage_report& s, double run_seconds) {
    double all = run_seconds * static_cast<double>(std::max<std::size_t>(s.processes, 1));
    return all > 0 ? seconds / all : 0;
}

std::string percent(double x) { return std::to_string(std::lround(100 * std::clamp(x, 0.0, 1.0))) + "%"; }

/// True when some process runs both stages (fused: no ring between them).
bool fused(const pipeline_plan& plan, std::size_t a, std::size_t b) {
    for (const auto& g : plan.groups())
        if (std::find(g.stages.begin(), g.stages.end(), a) != g.stages.end() &&
            std::find(g.stages.begin(), g.stages.end(), b) != g.stages.end())
            return true;
    return false;
}

/// What would make stage s faster, for the sentence.
std::string advice(const pipeline_plan& plan, std::size_t s, const stage_report& r) {
    const stage_info& info = plan.stages()[s];
    switch (info.role) {
        case element_role::source:
            return info.split ? "give it more readers" : "a source runs in one process: make each item cheaper to make";
        case element_role::sink:
        case element_role::output:
            return "it runs in the caller: make it cheaper, or do its work in a stage before it";
        case element_role::stage:
            break;
    }
    if (info.spread != spread_kind::none)
        return r.processes < plan.cpus() ? "give it more replicas" : "it has a replica per core: make each item cheaper";
    if (info.combiner || info.late) return "make it cheaper";
    return "give it replicas with fl::parallel, if it keeps no state";
}

}  // namespace

std::vector<stage_report> live_counts::stages(std::uint64_t now_ns) const {
    const auto& infos = plan->stages();
    const auto& groups = plan->groups();
    const std::size_t n = infos.size();
    std::vector<stage_report> out(n);
    for (std::size_t s = 0; s < n; ++s) {
        out[s].name = infos[s].name;
        out[s].processes = 0;
    }
    for (std::size_t g = 0; g < groups.size(); ++g) {
        const group_record& r = records[g];
        const auto& stages = groups[g].stages;
        for (std::size_t s : stages) ++out[s].processes;
        std::uint64_t start = r.started_ns.load(std::memory_order_relaxed);
        std::uint64_t end = r.ended_ns.load(std::memory_order_relaxed);
        if (end == 0) end = now_ns;
        if (start != 0 && end > start) {
            double life = static_cast<double>(end - start) * ns;
            double in = std::min(life, static_cast<double>(r.input_wait_ns.load(std::memory_order_relaxed)) * ns);
            double wait_out = std::min(life - in, static_cast<double>(r.output_wait_ns.load(std::memory_order_relaxed)) * ns);
            for (std::size_t s : stages) {
                out[s].busy_seconds += life - in - wait_out;
                out[s].input_wait_seconds += in;
                out[s].output_wait_seconds += wait_out;
            }
        }
        for (std::size_t k = 0; k + 1 < stages.size(); ++k) {
            std::uint64_t handed = passed[g * n + stages[k]].load(std::memory_order_relaxed);
            out[stages[k]].items_out += handed;
            out[stages[k + 1]].items_in += handed;
        }
    }
    const auto& edges = plan->rings();
    for (std::size_t i = 0; i < edges.size(); ++i) {
        const ipc::ring_control& c = *rings[i];
        const ring_info& e = edges[i];
        std::uint64_t head = c.head.load(std::memory_order_relaxed), tail = c.tail.load(std::memory_order_relaxed);
        stage_report& from = out[e.from];
        stage_report& to = out[groups[e.to_group].stages.front()];
        std::uint64_t markers = records[e.from_group].markers.load(std::memory_order_relaxed);
        auto items = [markers](std::uint64_t records) { return records > markers ? records - markers : 0; };
        from.items_out += items(e.fixed_slots ? head : c.records_written.load(std::memory_order_relaxed));
        to.items_in += items(e.fixed_slots ? tail : c.records_read.load(std::memory_order_relaxed));
        from.bytes_out += head * e.unit;
        to.bytes_in += tail * e.unit;
    }
    return out;
}

std::string bottleneck_sentence(const pipeline_plan& plan, const std::vector<stage_report>& stages,
                                double run_seconds) {
    if (stages.empty()) return {};
    auto busy = [&](std::size_t s) { return share(stages[s].busy_seconds, stages[s], run_seconds); };
    std::size_t b = 0;
    for (std::size_t s = 1; s < stages.size(); ++s)
        if (busy(s) > busy(b)) b = s;
    const stage_report& r = stages[b];
    if (busy(b) < bottleneck_busy)
        return "no stage is a bottleneck: the busiest, " + r.name + ", was busy " + percent(busy(b)) + " of the run";
    std::string out = r.name + " is the bottleneck: busy " + percent(busy(b));
    // What its neighbours in other processes did meanwhile: the one before waited for room (its
    // input was full), the one after waited for items. The sentence says the larger.
    double full = -1, starved = -1;
    if (b > 0 && !fused(plan, b - 1, b)) full = share(stages[b - 1].output_wait_seconds, stages[b - 1], run_seconds);
    if (b + 1 < stages.size() && !fused(plan, b, b + 1))
        starved = share(stages[b + 1].input_wait_seconds, stages[b + 1], run_seconds);
    if (full >= 0 && full >= starved)
        out += ", its input full " + percent(full) + " of the time";
    else if (starved >= 0)
        out += ", the stage after it waiting for input " + percent(starved) + " of the time";
    return out + "; " + advice(plan, b, r);
}

}  // namespace forkline::detail
