// A separately started program for tests/mp/manager.cpp: it attaches to the manager named on its
// command line and answers through it.
//   manager_peer NAME   reads dict "in", stores the sum of its values in value "sum", appends
//                        "peer" to list "log", puts 1..1000 into queue "jobs" and closes it.
#include <forkline/forkline.hpp>

#include <cstdio>
#include <string>

namespace fl = forkline;

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: manager_peer NAME\n");
        return 2;
    }
    try {
        fl::manager m(argv[1]);
        long sum = 0;
        for (const auto& [k, v] : m.dict<std::string, long>("in").items()) sum += v;
        m.value<long>("sum").store(sum);
        m.list<std::string>("log").push_back("peer");
        auto jobs = m.queue<int>("jobs", 16);  // smaller than what it puts: the test must take them
        for (int i = 1; i <= 1000; ++i) jobs.put(i);
        jobs.close();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "manager_peer: %s\n", e.what());
        return 1;
    }
}
