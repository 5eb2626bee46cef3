// The planner: from the stages' descriptions and the machine to process groups, in named steps
// (names, blocks, fusion, replicas, groups, rings, pinning and spinning).
#include <forkline/ipc/cpu_count.hpp>
#include <forkline/plan/plan.hpp>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <map>

namespace forkline {

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
/// the supervisor can kill, and the caller is the user's own process. With `source_apart`
/// (options::restarts, fusion not forced) nothing is fused into the source either: a stage there
/// could not be replaced after a crash.
void fuse(std::vector<block>& blocks, const std::vector<stage_info>& stages, bool forced, unsigned cpus,
          bool source_apart, std::vector<std::string>& reasons) {
    std::size_t before = processes(blocks);
    for (;;) {
        if (!forced && processes(blocks) <= cpus) break;
        std::size_t best = blocks.size();
        for (std::size_t k = 0; k + 1 < blocks.size(); ++k) {
            if (blocks[k].spread || blocks[k + 1].spread || blocks[k + 1].caller) continue;
            if (source_apart && blocks[k].first == 0) continue;
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

/// Spin counts: how often a waiting process polls its ring before it sleeps. When every process
/// has a core of its own, polling costs no one anything and the other side's next batch usually
/// comes within it; when processes share cores, a waiting one should give its core to one that
/// has work almost at once.
constexpr std::uint32_t spin_own_cores = 4096;
constexpr std::uint32_t spin_shared_cores = 64;
/// Into an adaptive stage, rings get this fraction of ring_bytes (1/16).
constexpr std::size_t adaptive_ring_share = 16;
/// A byte ring holds at least this many bytes, whatever ring_bytes says.
constexpr std::uint64_t min_byte_ring = 64;

/// Names: stages that share a name ("map", "map") are told apart in plans and errors: "map#1", "map#2".
void tell_apart(std::vector<stage_info>& stages) {
    std::map<std::string, int> uses, seen;
    for (const auto& s : stages) ++uses[s.name];
    for (auto& s : stages)
        if (uses[s.name] > 1) s.name += "#" + std::to_string(++seen[s.name]);
}

/// Fusion: as options::fuse asks, by default only when there would be more processes than cores.
/// Parallel stages count as one process while deciding: they take what is left.
void fusion(std::vector<block>& blocks, const std::vector<stage_info>& stages, std::optional<bool> asked,
            unsigned cpus, bool restarts, std::vector<std::string>& reasons) {
    std::vector<block> counted = blocks;
    for (auto& b : counted)
        if (b.spread && b.replicas == 0) b.replicas = 1;
    if (asked.value_or(processes(counted) > cpus))
        fuse(blocks, stages, asked.value_or(false), cpus, restarts && !asked, reasons);
}

/// Replicas: fl::parallel stages get theirs from the cores left; with options::adaptive, all
/// the cores start and the planned share is fed.
void replicas(std::vector<block>& blocks, std::vector<stage_info>& stages, const options& opts, unsigned cpus,
              std::vector<std::string>& reasons) {
    std::vector<bool> open;
    for (const auto& b : blocks) open.push_back(b.spread && b.replicas == 0);
    size_parallel(blocks, stages, cpus, opts.parallel, reasons);
    if (opts.adaptive) adapt_parallel(blocks, open, stages, cpus, reasons);
}

/// Groups: one process per plain block, one per replica of a spread one; `of_block` gets the
/// groups of each block.
std::vector<process_group> groups_for(const std::vector<block>& blocks,
                                      std::vector<std::vector<std::size_t>>& of_block) {
    std::vector<process_group> groups;
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
        of_block.push_back(ids);
    }
    return groups;
}

/// Rings: one from every group of a block to every group of the next, sized by ring_bytes.
std::vector<ring_info> rings_for(const std::vector<block>& blocks, const std::vector<stage_info>& stages,
                                 const std::vector<std::vector<std::size_t>>& groups_of_block, std::size_t ring_bytes) {
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
        std::size_t bytes = stages[from + 1].active ? ring_bytes / adaptive_ring_share : ring_bytes;
        std::uint64_t units = std::max<std::uint64_t>(bytes / r.unit, r.fixed_slots ? 1 : min_byte_ring);
        r.capacity = std::bit_floor(units);
        for (std::size_t a : groups_of_block[k])
            for (std::size_t b : groups_of_block[k + 1]) {
                r.from_group = a;
                r.to_group = b;
                rings.push_back(r);
            }
    }
    return rings;
}

/// Processes that wait for the end of their input (a keyed aggregation's merge) take no core
/// while the others work.
bool waits(const std::vector<stage_info>& stages, const process_group& g) { return stages[g.stages.front()].late; }

/// The processes that work while the items flow, and how many of them are workers (not the caller).
struct working_processes {
    std::size_t children = 0, all = 0;
};

working_processes count_working(const std::vector<process_group>& groups, const std::vector<stage_info>& stages) {
    working_processes n;
    for (const auto& g : groups) {
        n.children += g.in_caller || waits(stages, g) ? 0 : 1;
        n.all += waits(stages, g) ? 0 : 1;
    }
    return n;
}

/// Pinning, when every working process can have a core. Pins are positions in the affinity mask
/// (cpu k: its k-th core), so a plan made for pretended cores reads the same on every machine;
/// the supervisor maps them onto the real mask.
void pin(std::vector<process_group>& groups, const std::vector<stage_info>& stages, working_processes working,
         unsigned cpus, std::vector<std::string>& reasons) {
    if (working.all > cpus) return;
    int c = 0;
    for (auto& g : groups)
        if (!g.in_caller && !waits(stages, g)) g.cpu = c++;
    reasons.push_back("pinned " + std::to_string(working.children) + " worker processes to cores of their own (" +
                      std::to_string(working.all) + " processes, " + std::to_string(cpus) + " cores)");
}

/// Spinning only pays when every process has a core of its own.
std::uint32_t spin_for(working_processes working, unsigned cpus, std::vector<std::string>& reasons) {
    if (working.all <= cpus) return spin_own_cores;
    reasons.push_back(std::to_string(working.all) + " processes share " + std::to_string(cpus) +
                      " cores: waiting processes sleep almost at once");
    return spin_shared_cores;
}

}  // namespace

/// options::restarts: the processes a fresh fork can replace. Their stages keep no state, and
/// they read one ring from a single process and write one ring to the next element, which is
/// neither a farm nor a partition (whose dispatchers write several).
/// A process restored from a checkpoint reads again what came after it: its input ring keeps
/// that, so it is at least this large (a checkpoint is due when half of it waits for one).
constexpr std::size_t checkpointed_ring_bytes = std::size_t{16} << 20;

void mark_replaceable(std::vector<process_group>& groups, const std::vector<stage_info>& stages,
                      std::vector<ring_info>& rings, unsigned restarts) {
    auto count = [&](std::size_t g, bool from) {
        return std::count_if(rings.begin(), rings.end(),
                             [&](const ring_info& r) { return (from ? r.from_group : r.to_group) == g; });
    };
    auto groups_running = [&](std::size_t s) {
        return std::count_if(groups.begin(), groups.end(), [&](const process_group& g) {
            return std::find(g.stages.begin(), g.stages.end(), s) != g.stages.end();
        });
    };
    for (std::size_t g = 0; g < groups.size(); ++g) {
        auto& grp = groups[g];
        std::size_t first = grp.stages.front(), last = grp.stages.back();
        // fl::restart's count where an element has one (the largest in a fused chain).
        int own = -1;
        for (std::size_t s : grp.stages) own = std::max(own, stages[s].restarts);
        grp.restarts = own >= 0 ? static_cast<unsigned>(own) : restarts;
        if (grp.restarts == 0 || grp.in_caller || last + 1 >= stages.size()) continue;
        // A source that can make its items again is started over (with what is fused to it,
        // state or not); any other process goes on from where its input stands.
        const bool source = first == 0;
        if (source && (!stages[0].resumable || stages[0].split || groups_running(0) != 1)) continue;
        bool stages_only = std::all_of(grp.stages.begin() + source, grp.stages.end(),
                                       [&](std::size_t s) { return stages[s].role == element_role::stage; });
        bool stateless = std::all_of(grp.stages.begin(), grp.stages.end(), [&](std::size_t s) {
            return stages[s].stateless && !stages[s].late && !stages[s].combiner;
        });
        bool one_in = source ? count(g, false) == 0
                             : stages[first - 1].spread == spread_kind::none && groups_running(first - 1) == 1 &&
                                   count(g, false) == 1;
        bool one_out = stages[last + 1].spread == spread_kind::none;
        grp.replaceable = stages_only && one_in && one_out && count(g, true) == 1;
        grp.checkpointed = grp.replaceable && !source && !stateless;
    }
    for (auto& r : rings)
        if (groups[r.to_group].checkpointed && r.bytes() < checkpointed_ring_bytes)
            r.capacity = std::bit_floor(std::max<std::uint64_t>(checkpointed_ring_bytes / r.unit, 1));
}

pipeline_plan make_plan(std::vector<stage_info> stages, const options& opts) {
    unsigned cpus = opts.cpus ? opts.cpus : cpu_count();
    std::vector<std::string> reasons;
    tell_apart(stages);
    auto blocks = initial_blocks(stages);
    const bool restarts_asked = opts.restarts > 0 || std::any_of(stages.begin(), stages.end(), [](const stage_info& s) {
                                    return s.restarts > 0;
                                });
    fusion(blocks, stages, opts.fuse, cpus, restarts_asked, reasons);
    replicas(blocks, stages, opts, cpus, reasons);
    std::vector<std::vector<std::size_t>> groups_of_block;
    auto groups = groups_for(blocks, groups_of_block);
    auto rings = rings_for(blocks, stages, groups_of_block, opts.ring_bytes);
    auto working = count_working(groups, stages);
    if (opts.pin) pin(groups, stages, working, cpus, reasons);
    std::uint32_t spin = spin_for(working, cpus, reasons);
    restart_policy restarts{opts.restarts, std::max(opts.poison_after, 1u), opts.poison, opts.checkpoint_ms,
                            opts.checkpoint_items};
    if (restarts_asked) mark_replaceable(groups, stages, rings, opts.restarts);
    return pipeline_plan(std::move(stages), std::move(groups), std::move(rings), cpus, spin, std::move(reasons),
                         restarts);
}

}  // namespace detail

}  // namespace forkline
