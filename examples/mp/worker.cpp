// A function run in a process of its own: the article's first program (multiprocessing.Process
// with target=worker_function, then start() and join()), then a few workers that take an argument
// and answer through their exit codes, kept in a std::vector<fl::process>.
#include <forkline/forkline.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace fl = forkline;

namespace {

void worker_function() {
    std::printf("Worker process started.\n");
    // Perform some work here
    std::printf("Worker process finished.\n");
}

/// Ends the process with the number of steps the Collatz sequence from n takes to reach 1. An exit
/// code is the smallest answer a process can give (0 to 255); fl::queue and fl::value carry more.
void collatz_steps(long n) {
    int steps = 0;
    for (; n != 1; ++steps) n = n % 2 ? 3 * n + 1 : n / 2;
    std::exit(steps);
}

}  // namespace

int main() {
    try {
        fl::process process(worker_function);
        process.start();
        process.join();
        std::printf("worker_function exited with %d\n", *process.exit_code());

        // fl::process is movable, so a vector holds a group; each copies its argument at creation.
        std::vector<fl::process> workers;
        for (long n : {6L, 7L, 27L, 97L}) {
            workers.emplace_back(collatz_steps, n);
            workers.back().name("collatz-" + std::to_string(n));
        }
        for (auto& w : workers) w.start();  // all four run at once
        for (auto& w : workers) {
            w.join();
            std::printf("%s exited with %d\n", w.name().c_str(), *w.exit_code());
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "worker: %s\n", e.what());
        return 1;
    }
}
