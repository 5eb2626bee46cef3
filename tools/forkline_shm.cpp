// forkline-shm: lists the named segments of fl::shared_memory and fl::manager and the stats
// segments of runs (options::stats; the files /dev/shm/forkline.*) with the processes that map
// them, and removes stale ones.
//   forkline-shm [list]              NAME, BYTES, KIND, and the pids mapping it (or "stale")
//   forkline-shm remove NAME...      removes these segments
//   forkline-shm remove --stale [PREFIX]   removes every segment that no process maps (whose
//                                   name starts with PREFIX, when given)
// Only this user's segments are listed. A segment lasts until removed, as a file does; "stale"
// means no running process of this user (in this PID namespace) has it mapped now, so removing it only loses what it holds. Exit status: 0, or 1 when a
// segment to remove did not exist (or could not be removed), 2 for bad arguments.
#include <forkline/mp/detail/segment.hpp>
#include <forkline/mp/shared_memory.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace fl = forkline;

namespace {

struct segment {
    std::string name;
    long long bytes = 0;
    std::string kind;
    std::vector<int> pids;  ///< processes that map it now
};

/// The names of the entries of a directory (without "." and "..").
std::vector<std::string> entries(const char* dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir)) {
        while (dirent* e = ::readdir(d))
            if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) out.emplace_back(e->d_name);
        ::closedir(d);
    }
    return out;
}

std::string kind_of(const std::string& path) {
    std::uint64_t head = 0;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "?";
    bool whole = ::pread(fd, &head, sizeof head, 0) == sizeof head;
    ::close(fd);
    if (whole && head == fl::detail::manager_magic) return "manager";
    if (whole && head == fl::detail::stats_magic) return "stats";  // a run's, for forkline-top
    return "shared_memory";
}

/// For each segment path, the pids whose memory maps include it (from /proc/PID/maps; processes
/// of other users cannot be read and are not counted).
std::map<std::string, std::vector<int>> mappers() {
    std::map<std::string, std::vector<int>> out;
    const std::string prefix = std::string(fl::detail::shm_dir) + std::string(fl::detail::segment_prefix);
    for (const auto& e : entries("/proc")) {
        if (e.find_first_not_of("0123456789") != std::string::npos) continue;
        int pid = std::stoi(e);
        if (pid == ::getpid()) continue;
        std::ifstream maps("/proc/" + e + "/maps");
        std::string line;
        std::vector<std::string> seen;
        while (std::getline(maps, line)) {
            auto at = line.find(prefix);
            if (at == std::string::npos) continue;
            std::string path = line.substr(at);
            if (path.ends_with(" (deleted)")) continue;  // unlinked: no longer a name
            if (std::find(seen.begin(), seen.end(), path) == seen.end()) seen.push_back(path);
        }
        for (const auto& path : seen) out[path].push_back(pid);
    }
    return out;
}

std::vector<segment> segments() {
    const std::string dir(fl::detail::shm_dir);
    auto users = mappers();
    std::vector<segment> out;
    for (const auto& e : entries(dir.c_str())) {
        if (!e.starts_with(fl::detail::segment_prefix)) continue;
        segment s;
        s.name = e.substr(fl::detail::segment_prefix.size());
        std::string path = dir + e;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0 || st.st_uid != ::geteuid()) continue;  // this user's only
        s.bytes = st.st_size;
        s.kind = kind_of(path);
        s.pids = users[path];
        out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(), [](const segment& a, const segment& b) { return a.name < b.name; });
    return out;
}

int list() {
    auto all = segments();
    if (all.empty()) {
        std::printf("no forkline segments in %s\n", std::string(fl::detail::shm_dir).c_str());
        return 0;
    }
    std::printf("%-32s %12s  %-13s  %s\n", "NAME", "BYTES", "KIND", "MAPPED BY");
    for (const auto& s : all) {
        std::string by;
        for (int pid : s.pids) by += (by.empty() ? "" : " ") + std::to_string(pid);
        std::printf("%-32s %12lld  %-13s  %s\n", s.name.c_str(), s.bytes, s.kind.c_str(), by.empty() ? "stale" : by.c_str());
    }
    return 0;
}

int remove(const std::vector<std::string>& names) {
    int status = 0;
    for (const auto& n : names) {
        try {
            if (fl::shared_memory::remove(n)) {
                std::printf("removed %s\n", n.c_str());
            } else {
                std::fprintf(stderr, "forkline-shm: no segment named '%s'\n", n.c_str());
                status = 1;
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "forkline-shm: %s\n", e.what());
            status = 1;
        }
    }
    return status;
}

int usage() {
    std::fprintf(stderr, "usage: forkline-shm [list] | remove NAME... | remove --stale [PREFIX]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || (args.size() == 1 && args[0] == "list")) return list();
    if (args[0] != "remove" || args.size() < 2) return usage();
    if (args[1] == "--stale") {
        if (args.size() > 3) return usage();
        const std::string prefix = args.size() == 3 ? args[2] : "";
        std::vector<std::string> stale;
        for (const auto& s : segments())
            if (s.pids.empty() && s.name.starts_with(prefix)) stale.push_back(s.name);
        if (stale.empty()) std::printf("no stale forkline segments\n");
        return remove(stale);
    }
    return remove({args.begin() + 1, args.end()});
}
