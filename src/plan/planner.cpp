// Planner v1 and the plan's printers: one process per stage, the last element in the caller.
#include <forkline/ipc/cpu_count.hpp>
#include <forkline/plan/plan.hpp>

#include <cxxabi.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace forkline {

pipeline_plan::pipeline_plan(std::vector<stage_info> stages, std::vector<process_group> groups,
                             std::vector<edge_info> edges, unsigned cpus, std::uint32_t spin)
    : stages_(std::move(stages)), groups_(std::move(groups)), edges_(std::move(edges)), cpus_(cpus), spin_(spin) {}

std::size_t pipeline_plan::group_of(std::size_t stage) const {
    for (std::size_t g = 0; g < groups_.size(); ++g)
        if (std::find(groups_[g].stages.begin(), groups_[g].stages.end(), stage) != groups_[g].stages.end()) return g;
    throw std::out_of_range("forkline::pipeline_plan::group_of: no such stage");
}

namespace {

std::string process_label(const process_group& g, std::size_t index) {
    std::string label = g.in_caller ? "caller" : "p";
    if (!g.in_caller) label += std::to_string(index);
    return label;
}

std::string human_bytes(std::uint64_t n) {
    if (n >= (1u << 20) && n % (1u << 20) == 0) return std::to_string(n >> 20) + " MiB";
    if (n >= 1024 && n % 1024 == 0) return std::to_string(n >> 10) + " KiB";
    return std::to_string(n) + " B";
}

std::string ring_label(const edge_info& e) {
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
    struct row {
        std::string stage, process, input, output, ring;
    };
    std::vector<row> rows{{"stage", "process", "input", "output", "output ring"}};
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        const auto& s = stages_[i];
        std::size_t g = group_of(i);
        std::string ring = "-";
        for (const auto& e : edges_)
            if (e.from == i) ring = ring_label(e);
        rows.push_back({s.name, process_label(groups_[g], g), s.input.empty() ? "-" : s.input,
                        s.output.empty() ? "-" : s.output, ring});
    }
    std::size_t w[5] = {};
    for (const auto& r : rows) {
        const std::string* f[5] = {&r.stage, &r.process, &r.input, &r.output, &r.ring};
        for (int k = 0; k < 5; ++k) w[k] = std::max(w[k], f[k]->size());
    }
    std::ostringstream out;
    out << stages_.size() << " stages in " << groups_.size() << " processes on " << cpus_ << " cores\n";
    for (const auto& r : rows) {
        const std::string* f[5] = {&r.stage, &r.process, &r.input, &r.output, &r.ring};
        std::string line;
        for (int k = 0; k < 5; ++k) {
            line += *f[k];
            if (k < 4) line += std::string(w[k] - f[k]->size() + 2, ' ');
        }
        out << line << '\n';
    }
    return out.str();
}

std::string pipeline_plan::to_dot() const {
    std::ostringstream out;
    out << "digraph forkline {\n  rankdir=LR;\n  node [shape=box];\n";
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        out << "  subgraph cluster_" << g << " {\n    label=\"" << process_label(groups_[g], g) << "\";\n";
        for (std::size_t s : groups_[g].stages)
            out << "    s" << s << " [label=\"" << dot_escape(stages_[s].name) << "\"];\n";
        out << "  }\n";
    }
    for (const auto& e : edges_)
        out << "  s" << e.from << " -> s" << e.from + 1 << " [label=\"" << dot_escape(stages_[e.from].output) << "\\n"
            << dot_escape(ring_label(e)) << "\"];\n";
    out << "}\n";
    return out.str();
}

namespace detail {

pipeline_plan make_plan(std::vector<stage_info> stages, const options& opts) {
    unsigned cpus = opts.cpus ? opts.cpus : cpu_count();
    std::vector<process_group> groups;
    std::vector<edge_info> edges;
    for (std::size_t i = 0; i < stages.size(); ++i) {
        bool last = i + 1 == stages.size();
        groups.push_back({{i}, last});
        if (last) break;
        edge_info e;
        e.from = i;
        e.fixed_slots = stages[i].fixed_slots;
        e.unit = e.fixed_slots ? std::max<std::size_t>(stages[i].item_size, 1) : 1;
        std::uint64_t units = std::max<std::uint64_t>(opts.ring_bytes / e.unit, e.fixed_slots ? 1 : 64);
        e.capacity = std::bit_floor(units);
        edges.push_back(e);
    }
    // Spinning only pays when every process has a core of its own; otherwise a waiting process
    // should give its core to one that has work.
    std::uint32_t spin = groups.size() <= cpus ? 4096 : 64;
    return pipeline_plan(std::move(stages), std::move(groups), std::move(edges), cpus, spin);
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
