// Two processes add one to a counter a million times each under a lock, as the article's Lock
// program. Run as the article writes it, with a plain global, the total is 0; with the counter in
// shared memory (fl::value<long>, whose own lock guards it) it is exactly 2000000.
#include <forkline/forkline.hpp>

#include <cstdio>
#include <mutex>

namespace fl = forkline;

namespace {

constexpr long iterations = 1'000'000;

/// The article's global. Every process forked from this one gets a copy-on-write copy of it: the
/// first `++` in a child makes the kernel copy the page for that child alone, so the children
/// count in two private copies, which vanish when they exit, and the parent's stays 0. The lock
/// does lock (it lives in shared memory), but it guards nothing shared. Python's program prints 0
/// too, for the same reason: each child changes its own copy of the global, never the parent's.
long shared_resource = 0;

/// Runs fn(iterations) in two processes at once and waits for both, as the article's main does.
template <class Fn>
void in_two_processes(Fn fn) {
    fl::process process1(fn, iterations);
    fl::process process2(fn, iterations);
    process1.start();
    process2.start();
    process1.join();
    process2.join();
}

}  // namespace

int main() {
    try {
        fl::lock lock;
        in_two_processes([&lock](long n) {
            for (long i = 0; i < n; ++i) {
                std::scoped_lock g(lock);
                ++shared_resource;
            }
        });
        std::printf("a plain global: %ld\n", shared_resource);

        // The counter itself in shared memory: both children and the parent see the same long.
        // `*counter` does not lock, so the read-modify-write holds get_lock() around it.
        fl::value<long> counter(0);
        in_two_processes([&counter](long n) {
            for (long i = 0; i < n; ++i) {
                std::scoped_lock g(counter.get_lock());
                ++*counter;
            }
        });
        std::printf("fl::value<long>: %ld\n", counter.load());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "shared_counter: %s\n", e.what());
        return 1;
    }
}
