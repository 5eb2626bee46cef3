// OS facts: the affinity mask (behind fl::cpu_count() and the planner's pinning), demangling,
// and the clocks of the runtime.
#include <forkline/ipc/cpu_count.hpp>
#include <forkline/ipc/os.hpp>

#include <cxxabi.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>

namespace forkline {

namespace {

/// The one reader of the affinity mask: false when the kernel does not tell.
bool read_affinity(cpu_set_t& set) noexcept {
    CPU_ZERO(&set);
    return ::sched_getaffinity(0, sizeof set, &set) == 0;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    // Builds a new string rather than replacing in place, which GCC 12 misreads as overlapping copies.
    std::string out;
    std::size_t at = 0;
    for (std::size_t p; (p = s.find(from, at)) != std::string::npos; at = p + from.size()) out.append(s, at, p - at) += to;
    s = out.append(s, at);
}

/// Drops a template argument that starts with `noise` (", std::allocator<"), up to its closing '>'.
void drop_arguments(std::string& s, const std::string& noise) {
    for (std::size_t p; (p = s.find(noise)) != std::string::npos;) {
        std::size_t q = p + noise.size();
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

double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; }

}  // namespace

unsigned cpu_count() noexcept {
    cpu_set_t set;
    if (read_affinity(set)) {
        int n = CPU_COUNT(&set);
        if (n > 0) return static_cast<unsigned>(n);
    }
    long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<unsigned>(n) : 1u;
}

namespace detail {

std::vector<int> affinity_cores() {
    std::vector<int> out;
    cpu_set_t set;
    if (read_affinity(set))
        for (int c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &set)) out.push_back(c);
    return out;
}

std::string demangle(const char* mangled) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
    return status == 0 && d ? d.get() : mangled;
}

std::string readable_type_name(const char* mangled) {
    std::string s = demangle(mangled);
    replace_all(s, "std::__cxx11::", "std::");
    replace_all(s, "std::basic_string<char, std::char_traits<char>, std::allocator<char> >", "std::string");
    // Drop default allocators and comparators, which only add noise.
    for (const char* noise : {", std::allocator<", ", std::less<", ", std::hash<", ", std::equal_to<"})
        drop_arguments(s, noise);
    replace_all(s, "> >", ">>");
    replace_all(s, "> >", ">>");
    return s;
}

double monotonic_seconds() noexcept {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double unix_seconds() noexcept {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::uint64_t monotonic_ns() noexcept {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

double cpu_seconds(const ::rusage& usage) noexcept { return seconds(usage.ru_utime) + seconds(usage.ru_stime); }

double thread_cpu_seconds() noexcept {
    rusage r{};
    ::getrusage(RUSAGE_THREAD, &r);
    return cpu_seconds(r);
}

long peak_rss_kib() noexcept {
    rusage self{};
    ::getrusage(RUSAGE_SELF, &self);
    return self.ru_maxrss;
}

bool process_cpu_clock(pid_t pid, clockid_t& clock) noexcept { return ::clock_getcpuclockid(pid, &clock) == 0; }

bool thread_cpu_clock(pthread_t thread, clockid_t& clock) noexcept {
    return ::pthread_getcpuclockid(thread, &clock) == 0;
}

double cpu_seconds(clockid_t clock) noexcept {
    timespec t{};
    if (::clock_gettime(clock, &t) != 0) return 0;  // a process that ended meanwhile
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

}  // namespace detail

}  // namespace forkline
