// The plan type: its queries (which groups run a stage, which rings leave a group, how errors
// name a process) and its printers, describe() and to_dot(). The planning is in planner.cpp.
#include <forkline/plan/plan.hpp>

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace forkline {

pipeline_plan::pipeline_plan(std::vector<stage_info> stages, std::vector<process_group> groups,
                             std::vector<ring_info> rings, unsigned cpus, std::uint32_t spin,
                             std::vector<std::string> reasons, restart_policy restarts)
    : stages_(std::move(stages)),
      groups_(std::move(groups)),
      rings_(std::move(rings)),
      cpus_(cpus),
      spin_(spin),
      reasons_(std::move(reasons)),
      restarts_(restarts) {}

std::vector<std::size_t> pipeline_plan::groups_of(std::size_t stage) const {
    std::vector<std::size_t> out;
    for (std::size_t g = 0; g < groups_.size(); ++g)
        if (std::find(groups_[g].stages.begin(), groups_[g].stages.end(), stage) != groups_[g].stages.end())
            out.push_back(g);
    if (out.empty()) throw std::out_of_range("forkline::pipeline_plan::groups_of: no such stage");
    return out;
}

std::size_t pipeline_plan::caller_group() const noexcept {
    for (std::size_t g = 0; g < groups_.size(); ++g)
        if (groups_[g].in_caller) return g;
    return groups_.size() - 1;
}

std::vector<std::size_t> pipeline_plan::rings_from(std::size_t group) const {
    std::vector<std::size_t> out;
    for (std::size_t r = 0; r < rings_.size(); ++r)
        if (rings_[r].from_group == group) out.push_back(r);
    return out;
}

std::vector<std::size_t> pipeline_plan::rings_to(std::size_t group) const {
    std::vector<std::size_t> out;
    for (std::size_t r = 0; r < rings_.size(); ++r)
        if (rings_[r].to_group == group) out.push_back(r);
    return out;
}

std::string pipeline_plan::label(std::size_t group, std::size_t stage) const {
    std::string s = stages_.at(stage).name;
    if (groups_.at(group).replica >= 0) s += "[" + std::to_string(groups_[group].replica) + "]";
    return s;
}

namespace {

std::string process_label(const process_group& g, std::size_t index) {
    std::string label = g.in_caller ? "caller" : "p";
    if (!g.in_caller) label += std::to_string(index);
    return label;
}

/// "p1", or "p2-p61@cpu2-61" for a run of replicas: compact even for many cores.
std::string process_list(const std::vector<process_group>& groups, const std::vector<std::size_t>& ids) {
    auto label = [&](std::size_t g) { return process_label(groups[g], g); };
    std::string s = label(ids.front());
    if (ids.size() > 1) s += "-" + label(ids.back());
    int first_cpu = groups[ids.front()].cpu, last_cpu = groups[ids.back()].cpu;
    if (first_cpu >= 0) {
        s += "@cpu" + std::to_string(first_cpu);
        if (ids.size() > 1) s += "-" + std::to_string(last_cpu);
    }
    return s;
}

std::string human_bytes(std::uint64_t n) {
    if (n >= (1u << 20) && n % (1u << 20) == 0) return std::to_string(n >> 20) + " MiB";
    if (n >= 1024 && n % 1024 == 0) return std::to_string(n >> 10) + " KiB";
    return std::to_string(n) + " B";
}

std::string ring_label(const ring_info& e) {
    if (e.fixed_slots)
        return std::to_string(e.capacity) + " slots x " + std::to_string(e.unit) + " B (" + human_bytes(e.bytes()) + ")";
    return human_bytes(e.bytes()) + " of records";
}

std::string dot_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '\\' || c == '"') out += '\\';
        out += c;
    }
    return out;
}

}  // namespace

std::string pipeline_plan::recovery_line() const {
    enum kind { replaced, resumed, fatal };
    struct entry {
        std::string name;
        kind how;
        unsigned restarts;
    };
    std::vector<entry> entries;
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        auto gs = groups_of(i);
        if (gs.empty() || groups_[gs.front()].in_caller) continue;  // the caller's: its own process
        bool all = std::all_of(gs.begin(), gs.end(), [&](std::size_t g) { return groups_[g].replaceable; });
        bool kept = std::any_of(gs.begin(), gs.end(), [&](std::size_t g) { return groups_[g].checkpointed; });
        entries.push_back({stages_[i].name, !all ? fatal : kept ? resumed : replaced, groups_[gs.front()].restarts});
    }
    // One count for all (options::restarts), or each stage's (fl::restart).
    std::optional<unsigned> one;
    bool differ = false;
    for (const auto& e : entries)
        if (e.how != fatal) {
            differ = differ || (one && *one != e.restarts);
            one = e.restarts;
        }
    auto list = [&](kind how) {
        std::string s;
        for (const auto& e : entries)
            if (e.how == how)
                s += (s.empty() ? "" : ", ") + e.name +
                     (differ && how != fatal ? " (up to " + std::to_string(e.restarts) + ")" : "");
        return s;
    };
    std::string line = differ ? std::string("restarts: per element")
                              : "restarts: up to " + std::to_string(one.value_or(restarts_.restarts)) + " per process";
    for (auto [how, says] : {std::pair{replaced, "; replaced after a crash: "},
                             std::pair{resumed, "; resumed from a checkpoint: "}, std::pair{fatal, "; a crash ends the run: "}})
        if (auto names = list(how); !names.empty()) line += says + names;
    return line;
}

std::string pipeline_plan::describe() const {
    std::vector<std::vector<std::string>> rows{{"stage", "processes", "input", "output", "output rings"}};
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        const auto& s = stages_[i];
        std::string procs = process_list(groups_, groups_of(i));
        std::size_t n = 0;
        const ring_info* any = nullptr;
        for (const auto& r : rings_)
            if (r.from == i) ++n, any = &r;
        std::string ring = any ? (n > 1 ? std::to_string(n) + " x " : "") + ring_label(*any) : "-";
        if (any && any->sequenced) ring += ", numbered";
        std::string name = s.name;
        if (s.split)
            name += s.ordered ? " (split, in order)" : " (split)";
        else if (s.spread != spread_kind::none)
            name += s.spread == spread_kind::farm ? (s.ordered ? " (farm)" : " (farm, unordered)") : " (partitioned)";
        rows.push_back({name, procs, s.input.empty() ? "-" : s.input, s.output.empty() ? "-" : s.output, ring});
    }
    std::vector<std::size_t> w(5, 0);
    for (const auto& r : rows)
        for (std::size_t k = 0; k < 5; ++k) w[k] = std::max(w[k], r[k].size());
    std::ostringstream out;
    out << stages_.size() << " stages in " << groups_.size() << " processes on " << cpus_ << " cores\n";
    for (const auto& r : rows) {
        std::string line;
        for (std::size_t k = 0; k < 5; ++k) {
            line += r[k];
            if (k < 4) line += std::string(w[k] - r[k].size() + 2, ' ');
        }
        out << line << '\n';
    }
    for (const auto& why : reasons_) out << "why: " << why << '\n';
    // Every process has its count once restarts were asked for, per run or per element.
    if (std::any_of(groups_.begin(), groups_.end(), [](const process_group& g) { return g.restarts > 0; }))
        out << recovery_line() << '\n';
    return out.str();
}


std::string pipeline_plan::to_dot() const { return dot(nullptr); }
std::string pipeline_plan::to_dot(const run_report& measured) const { return dot(&measured); }

namespace {

/// "1.2 M items/s, busy 97%": a stage's line in a measured graph (a source that read files: the
/// bytes it read a second, then the items it sent).
std::string measured_line(const stage_report& s, double seconds, std::uint64_t source_bytes) {
    auto per_second = [seconds](double v) { return detail::human_number(seconds > 0 ? v / seconds : 0); };
    std::string out;
    if (source_bytes > 0) out = per_second(static_cast<double>(source_bytes)) + "B/s read, ";
    double items = static_cast<double>(s.items_in > 0 ? s.items_in : s.items_out);
    out += per_second(items) + " items/s" + (source_bytes > 0 ? " out" : "") + ", busy ";
    return out + std::to_string(static_cast<long>(s.busy() * 100 + 0.5)) + "%";
}

}  // namespace

std::string pipeline_plan::dot(const run_report* measured) const {
    // A report of another pipeline (other stages) adds nothing rather than wrong numbers.
    if (measured && measured->stages.size() != stages_.size()) measured = nullptr;
    std::ostringstream out;
    out << "digraph forkline {\n  rankdir=LR;\n  node [shape=box];\n";
    if (measured)
        out << "  label=\"measured: " << std::setprecision(3) << measured->seconds << " s\";\n  labelloc=t;\n";
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        out << "  subgraph cluster_" << g << " {\n    label=\"" << process_label(groups_[g], g);
        if (groups_[g].cpu >= 0) out << " @cpu" << groups_[g].cpu;
        out << "\";\n";
        for (std::size_t s : groups_[g].stages) {
            out << "    g" << g << "s" << s << " [label=\"" << dot_escape(label(g, s));
            if (measured) out << "\\n" << dot_escape(measured_line(measured->stages[s], measured->seconds, s == 0 ? measured->source_bytes : 0));
            out << "\"];\n";
        }
        out << "  }\n";
    }
    for (const auto& r : rings_) {
        out << "  g" << r.from_group << "s" << r.from << " -> g" << r.to_group << "s" << r.from + 1 << " [label=\""
            << dot_escape(stages_[r.from].output) << "\\n" << dot_escape(ring_label(r));
        out << "\"];\n";
    }
    // Stages fused into one process follow each other inside its cluster.
    for (std::size_t g = 0; g < groups_.size(); ++g)
        for (std::size_t k = 1; k < groups_[g].stages.size(); ++k)
            out << "  g" << g << "s" << groups_[g].stages[k - 1] << " -> g" << g << "s" << groups_[g].stages[k]
                << " [style=dashed];\n";
    out << "}\n";
    return out.str();
}

}  // namespace forkline
