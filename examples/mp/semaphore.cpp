// Six workers share two slots through a semaphore, as Python's multiprocessing.Semaphore that the
// article names among its synchronization primitives ("to control access to a limited number of
// resources"). Each worker counts in shared memory how many are inside with it; the program checks
// the most ever seen against the limit, so what it prints does not depend on the timing.
#include <forkline/forkline.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

namespace fl = forkline;
using namespace std::chrono_literals;

namespace {

constexpr int workers = 6, slots_free = 2, visits_each = 5;

/// Who is inside, in shared memory: a plain struct of numbers, guarded by the fl::value's lock.
struct occupancy {
    int inside;
    int most;
    int visits;
};

}  // namespace

int main() {
    try {
        fl::semaphore slots(slots_free);
        fl::value<occupancy> room;  // zeros

        std::vector<fl::process> ps;
        for (int i = 0; i < workers; ++i)
            ps.emplace_back([&] {
                for (int k = 0; k < visits_each; ++k) {
                    std::scoped_lock in(slots);  // Python's `with sem:`; waits while both slots are taken
                    {
                        std::scoped_lock g(room.get_lock());
                        room->most = std::max(room->most, ++room->inside);
                    }
                    std::this_thread::sleep_for(2ms);  // hold the slot a while, so that others queue up
                    std::scoped_lock g(room.get_lock());
                    --room->inside;
                    ++room->visits;
                }
            });
        for (auto& p : ps) p.start();
        for (auto& p : ps) p.join();

        occupancy seen = room.load();
        std::printf("%d workers made %d visits through %d slots\n", workers, seen.visits, slots_free);
        if (seen.most > slots_free) {
            std::printf("the semaphore failed: %d inside at once\n", seen.most);
            return 1;
        }
        std::printf("never more than %d inside at once\n", slots_free);
        std::printf("slots free at the end: %u\n", slots.value());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "semaphore: %s\n", e.what());
        return 1;
    }
}
