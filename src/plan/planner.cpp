// Planner v1 and the plan's printers: one process per stage, the last element in the caller.
#include <forkline/ipc/cpu_count.hpp>
#include <forkline/plan/plan.hpp>

#include <cxxabi.h>
#include <sched.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace forkline {

pipeline_plan::pipeline_plan(std::vector<stage_info> stages, std::vector<process_group> groups,
                             std::vector<ring_info> rings, unsigned cpus, std::uint32_t spin,
                             std::vector<std::string> reasons)
    : stages_(std::move(stages)),
      groups_(std::move(groups)),
      rings_(std::move(rings)),
      cpus_(cpus),
      spin_(spin),
      reasons_(std::move(reasons)) {}

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

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    // Builds a new string rather than replacing in place, which GCC 12 misreads as overlapping copies.
    std::string out;
    std::size_t at = 0;
    for (std::size_t p; (p = s.find(from, at)) != std::string::npos; at = p + from.size()) out.append(s, at, p - at) += to;
    s = out.append(s, at);
}

std::string dot_escape(std::string s) {
    replace_all(s, "\\", "\\\\");
    replace_all(s, "\"", "\\\"");
    return s;
}

}  // namespace

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
    return out.str();
}

std::string pipeline_plan::to_dot() const {
    std::ostringstream out;
    out << "digraph forkline {\n  rankdir=LR;\n  node [shape=box];\n";
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        out << "  subgraph cluster_" << g << " {\n    label=\"" << process_label(groups_[g], g);
        if (groups_[g].cpu >= 0) out << " @cpu" << groups_[g].cpu;
        out << "\";\n";
        for (std::size_t s : groups_[g].stages)
            out << "    g" << g << "s" << s << " [label=\"" << dot_escape(label(g, s)) << "\"];\n";
        out << "  }\n";
    }
    for (const auto& r : rings_)
        out << "  g" << r.from_group << "s" << r.from << " -> g" << r.to_group << "s" << r.from + 1 << " [label=\""
            << dot_escape(stages_[r.from].output) << "\\n" << dot_escape(ring_label(r)) << "\"];\n";
    // Stages fused into one process follow each other inside its cluster.
    for (std::size_t g = 0; g < groups_.size(); ++g)
        for (std::size_t k = 1; k < groups_[g].stages.size(); ++k)
            out << "  g" << g << "s" << groups_[g].stages[k - 1] << " -> g" << g << "s" << groups_[g].stages[k]
                << " [style=dashed];\n";
    out << "}\n";
    return out.str();
}

namespace detail {

namespace {

/// A run of consecutive elements that will share one process (or, for a spread element, its replicas).
struct block {
    std::size_t first, last;  // element indices, inclusive
    bool spread;
    std::size_t replicas;     // 0: fl::parallel, to be decided
    bool caller;
};

/// One block an element, but a combiner joins the block before it (in a farm's replicas, it
/// combines each replica's items; a farm's order means nothing to it, so it is not kept).
std::vector<block> initial_blocks(std::vector<stage_info>& stages) {
    std::vector<block> blocks;
    for (std::size_t i = 0; i < stages.size(); ++i) {
        const auto& s = stages[i];
        bool spread = s.spread != spread_kind::none;
        bool caller = i + 1 == stages.size();
        if (s.combiner && !blocks.empty() && !blocks.back().caller) {
            blocks.back().last = i;
            stages[blocks.back().first].ordered = false;
            continue;
        }
        blocks.push_back({i, i, spread, spread ? s.replicas : 1, caller});
    }
    return blocks;
}

bool late(const std::vector<stage_info>& stages, const block& b) { return stages[b.first].late; }

std::size_t processes(const std::vector<block>& blocks) {
    std::size_t n = 0;
    for (const auto& b : blocks) n += b.spread ? std::max<std::size_t>(b.replicas, 1) : 1;
    return n;
}

std::string names(const std::vector<stage_info>& stages, const block& b) {
    std::string s;
    for (std::size_t i = b.first; i <= b.last; ++i) s += (s.empty() ? "" : " + ") + stages[i].name;
    return s;
}

double cost_of(const std::vector<stage_info>& stages, std::size_t first, std::size_t last) {
    double c = 0;
    for (std::size_t i = first; i <= last; ++i) c += stages[i].cost;
    return c;
}

/// Fuses neighbouring plain blocks: all of them when forced, otherwise the cheapest pair (by
/// fl::cost, 1 a stage by default) at a time until there are no more processes than cores.
/// Nothing is fused into the caller's block: a stage stuck in its own code must be in a process
/// the supervisor can kill, and the caller is the user's own process.
void fuse(std::vector<block>& blocks, const std::vector<stage_info>& stages, bool forced, unsigned cpus,
          std::vector<std::string>& reasons) {
    std::size_t before = processes(blocks);
    for (;;) {
        if (!forced && processes(blocks) <= cpus) break;
        std::size_t best = blocks.size();
        for (std::size_t k = 0; k + 1 < blocks.size(); ++k) {
            if (blocks[k].spread || blocks[k + 1].spread || blocks[k + 1].caller) continue;
            double c = cost_of(stages, blocks[k].first, blocks[k + 1].last);
            if (best == blocks.size() || c < cost_of(stages, blocks[best].first, blocks[best + 1].last)) best = k;
        }
        if (best == blocks.size()) break;
        blocks[best].last = blocks[best + 1].last;
        blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    }
    if (processes(blocks) == before) return;
    std::string fused;
    for (const auto& b : blocks)
        if (!b.spread && b.last > b.first) fused += (fused.empty() ? "" : "; ") + names(stages, b);
    reasons.push_back((forced ? "fused as asked (options.fuse): " : "fused " + std::to_string(before) +
                                                                        " processes to fit " + std::to_string(cpus) +
                                                                        " cores: ") +
                      fused);
}

void size_open(std::vector<block>& blocks, const std::vector<stage_info>& stages, unsigned cpus, std::size_t fixed,
               std::size_t open, parallel_sizing sizing, std::vector<std::string>& reasons);

/// Gives fl::parallel stages the cores nothing else needs (each at least one replica).
/// The readers of a split do not count the caller, which only collects what they send; blocks
/// that work only once their input ended (a keyed aggregation's merge) count for nothing and get
/// as many replicas as the block before them.
void size_parallel(std::vector<block>& blocks, const std::vector<stage_info>& stages, unsigned cpus,
                   parallel_sizing sizing, std::vector<std::string>& reasons) {
    std::size_t fixed = 0, callers = 0, open = 0;
    bool split = false;
    for (const auto& b : blocks) {
        if (late(stages, b)) continue;
        if (b.spread && b.replicas == 0) {
            ++open;
            split = split || stages[b.first].split;
        } else if (b.spread || sizing == spare_cores) {
            // Every core: only the replicas of farms and partitions of a fixed size count.
            fixed += b.spread ? b.replicas : 1;
            callers += b.caller ? 1 : 0;
        }
    }
    if (split) fixed -= callers;
    size_open(blocks, stages, cpus, fixed, open, sizing, reasons);
    for (std::size_t k = 1; k < blocks.size(); ++k)
        if (late(stages, blocks[k]) && blocks[k].replicas == 0)
            blocks[k].replicas = blocks[k - 1].spread ? blocks[k - 1].replicas : 1;
}

void size_open(std::vector<block>& blocks, const std::vector<stage_info>& stages, unsigned cpus, std::size_t fixed,
               std::size_t open, parallel_sizing sizing, std::vector<std::string>& reasons) {
    if (open == 0) return;
    std::size_t spare = cpus > fixed ? cpus - fixed : 0;
    // Shares by cost; the cores left by rounding down go to the largest fractions, first first.
    std::vector<std::size_t> parallel;
    double total = 0;
    for (std::size_t k = 0; k < blocks.size(); ++k)
        if (blocks[k].spread && blocks[k].replicas == 0 && !late(stages, blocks[k])) {
            parallel.push_back(k);
            total += cost_of(stages, blocks[k].first, blocks[k].last);
        }
    std::vector<std::pair<double, std::size_t>> fractions;  // (fraction, block)
    std::size_t given = 0;
    for (std::size_t k : parallel) {
        double exact = static_cast<double>(spare) * cost_of(stages, blocks[k].first, blocks[k].last) / total;
        blocks[k].replicas = static_cast<std::size_t>(exact);
        given += blocks[k].replicas;
        fractions.push_back({exact - static_cast<double>(blocks[k].replicas), k});
    }
    std::stable_sort(fractions.begin(), fractions.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
    for (std::size_t i = 0; given < spare && i < fractions.size(); ++i, ++given) ++blocks[fractions[i].second].replicas;
    bool weighed = total != static_cast<double>(parallel.size());
    for (std::size_t k : parallel) {
        auto& b = blocks[k];
        b.replicas = std::max<std::size_t>(1, b.replicas);
        std::string by_cost;
        if (weighed) {
            char c[64];
            std::snprintf(c, sizeof c, ", cost %g of %g", cost_of(stages, b.first, b.last), total);
            by_cost = c;
        }
        std::string what = stages[b.first].split
                               ? "split " + stages[b.first].name + ": " + std::to_string(b.replicas) +
                                     (b.replicas == 1 ? " reader (" : " readers, each reading its own parts of the input (")
                               : "parallel " + stages[b.first].name + ": " + std::to_string(b.replicas) +
                                     (b.replicas == 1 ? " replica (" : " replicas (");
        std::string why;
        if (sizing == every_core)
            why = fixed ? std::to_string(spare) + " of " + std::to_string(cpus) + " cores left by " +
                              std::to_string(fixed) + " replicas of fixed farms"
                        : "a replica per core; the other processes share the cores";
        else if (stages[b.first].split)
            why = std::to_string(spare) + " of " + std::to_string(cpus) +
                  " cores left by the other workers; the caller only collects";
        else
            why = std::to_string(spare) + " of " + std::to_string(cpus) + " cores left by the other " +
                  std::to_string(fixed) + " processes";
        reasons.push_back(what + why + by_cost + ")");
    }
}

/// options::adaptive: a parallel stage starts as many replicas as there are cores, and is fed by
/// as many as planned until the run has measured what the other processes leave idle.
void adapt_parallel(std::vector<block>& blocks, const std::vector<bool>& open, std::vector<stage_info>& stages,
                    unsigned cpus, std::vector<std::string>& reasons) {
    for (std::size_t k = 0; k < blocks.size(); ++k) {
        auto& b = blocks[k];
        if (!open[k] || b.replicas >= cpus || stages[b.first].split || stages[b.first].late) continue;
        stages[b.first].active = b.replicas;
        reasons.push_back("adaptive " + stages[b.first].name + ": " + std::to_string(cpus) + " replicas start, " +
                          std::to_string(b.replicas) + " fed until a warm-up has measured the others; its "
                          "input rings are 1/16 of ring_bytes");
        b.replicas = cpus;
    }
}

}  // namespace

pipeline_plan make_plan(std::vector<stage_info> stages, const options& opts) {
    unsigned cpus = opts.cpus ? opts.cpus : cpu_count();
    // Stages that share a name ("map", "map") are told apart in plans and errors: "map#1", "map#2".
    std::map<std::string, int> uses, seen;
    for (const auto& s : stages) ++uses[s.name];
    for (auto& s : stages)
        if (uses[s.name] > 1) s.name += "#" + std::to_string(++seen[s.name]);
    std::vector<std::string> reasons;
    auto blocks = initial_blocks(stages);
    // Parallel stages count as one process while deciding on fusion: they take what is left.
    std::vector<block> counted = blocks;
    for (auto& b : counted)
        if (b.spread && b.replicas == 0) b.replicas = 1;
    bool fuse_on = opts.fuse.value_or(processes(counted) > cpus);
    if (fuse_on) fuse(blocks, stages, opts.fuse.value_or(false), cpus, reasons);
    std::vector<bool> open_before;
    for (const auto& b : blocks) open_before.push_back(b.spread && b.replicas == 0);
    size_parallel(blocks, stages, cpus, opts.parallel, reasons);
    if (opts.adaptive) adapt_parallel(blocks, open_before, stages, cpus, reasons);

    std::vector<process_group> groups;
    std::vector<std::vector<std::size_t>> groups_of_block;
    for (const auto& b : blocks) {
        std::vector<std::size_t> ids;
        std::vector<std::size_t> members;
        for (std::size_t i = b.first; i <= b.last; ++i) members.push_back(i);
        if (b.spread) {
            for (std::size_t r = 0; r < b.replicas; ++r) {
                ids.push_back(groups.size());
                groups.push_back({members, false, static_cast<int>(r), -1});
            }
        } else {
            ids.push_back(groups.size());
            groups.push_back({members, b.caller, -1, -1});
        }
        groups_of_block.push_back(ids);
    }

    std::vector<ring_info> rings;
    for (std::size_t k = 0; k + 1 < blocks.size(); ++k) {
        std::size_t from = blocks[k].last;
        const auto& s = stages[from];
        bool seq = (blocks[k].spread && stages[from].ordered) || (blocks[k + 1].spread && stages[from + 1].ordered);
        ring_info r;
        r.from = from;
        r.sequenced = seq;
        r.fixed_slots = seq ? s.seq_fixed_slots : s.fixed_slots;
        r.unit = r.fixed_slots ? std::max<std::size_t>(seq ? s.seq_item_size : s.item_size, 1) : 1;
        // Into an adaptive stage, rings are short: what one replica has queued when the stage is
        // re-sized stays little, so the new replicas get work at once.
        std::size_t bytes = stages[from + 1].active ? opts.ring_bytes / 16 : opts.ring_bytes;
        std::uint64_t units = std::max<std::uint64_t>(bytes / r.unit, r.fixed_slots ? 1 : 64);
        r.capacity = std::bit_floor(units);
        for (std::size_t a : groups_of_block[k])
            for (std::size_t b : groups_of_block[k + 1]) {
                r.from_group = a;
                r.to_group = b;
                rings.push_back(r);
            }
    }

    // Processes that wait for the end of their input (a keyed aggregation's merge) take no core
    // while the others work.
    auto waits = [&](const process_group& g) { return stages[g.stages.front()].late; };
    std::size_t children = 0, working = 0;
    for (const auto& g : groups) {
        children += g.in_caller || waits(g) ? 0 : 1;
        working += waits(g) ? 0 : 1;
    }
    // Pins are positions in the affinity mask (cpu k: its k-th core), so a plan made for pretended
    // cores reads the same on every machine; the supervisor maps them onto the real mask.
    if (opts.pin && working <= cpus) {
        int c = 0;
        for (auto& g : groups)
            if (!g.in_caller && !waits(g)) g.cpu = c++;
        reasons.push_back("pinned " + std::to_string(children) + " worker processes to cores of their own (" +
                          std::to_string(working) + " processes, " + std::to_string(cpus) + " cores)");
    }
    // Spinning only pays when every process has a core of its own; otherwise a waiting process
    // should give its core to one that has work.
    std::uint32_t spin = working <= cpus ? 4096 : 64;
    if (spin == 64)
        reasons.push_back(std::to_string(working) + " processes share " + std::to_string(cpus) +
                          " cores: waiting processes sleep almost at once");
    return pipeline_plan(std::move(stages), std::move(groups), std::move(rings), cpus, spin, std::move(reasons));
}

std::vector<int> affinity_cores() {
    std::vector<int> out;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &set)) out.push_back(c);
    return out;
}

std::string readable_type_name(const char* mangled) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
    std::string s = status == 0 && d ? d.get() : mangled;
    replace_all(s, "std::__cxx11::", "std::");
    replace_all(s, "std::basic_string<char, std::char_traits<char>, std::allocator<char> >", "std::string");
    // Drop default allocators and comparators, which only add noise.
    for (const char* noise : {", std::allocator<", ", std::less<", ", std::hash<", ", std::equal_to<"}) {
        for (std::size_t p; (p = s.find(noise)) != std::string::npos;) {
            std::size_t q = p + std::string(noise).size();
            int depth = 1;
            while (q < s.size() && depth > 0) {
                if (s[q] == '<') ++depth;
                if (s[q] == '>') --depth;
                ++q;
            }
            while (q < s.size() && s[q] == ' ') ++q;
            s.erase(p, q - p);
        }
    }
    replace_all(s, "> >", ">>");
    replace_all(s, "> >", ">>");
    return s;
}

}  // namespace detail

}  // namespace forkline
