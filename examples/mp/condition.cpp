// A producer process hands a consumer process one piece of data at a time through a one-slot
// mailbox in shared memory, five rounds, each side waiting on a condition until the slot is as it
// needs it: Python's multiprocessing.Condition, which the article names among its synchronization
// primitives ("wait for specific conditions to be met").
#include <forkline/forkline.hpp>

#include <cstdio>
#include <mutex>

namespace fl = forkline;

namespace {

constexpr int rounds = 5;

/// The slot both processes see; read and written only under the condition's lock.
struct mailbox {
    bool full;
    int round;
    long data;
};

}  // namespace

int main() {
    try {
        fl::condition cv;  // with a lock of its own
        fl::raw_value<mailbox> box;

        // Each side waits with a predicate, as Python's cv.wait_for(pred): a wake-up without a
        // change is harmless, and so is a notify sent before the other side started waiting.
        fl::process producer([&] {
            for (int r = 1; r <= rounds; ++r) {
                std::unique_lock g(cv);  // Python's `with cv:`
                cv.wait([&] { return !box->full; });
                *box = {.full = true, .round = r, .data = 10L * r * r};
                cv.notify();
            }
        });
        fl::process consumer([&] {
            for (int r = 1; r <= rounds; ++r) {
                std::unique_lock g(cv);
                cv.wait([&] { return box->full; });
                mailbox got = *box;
                box->full = false;
                cv.notify();
                g.unlock();  // print outside the lock: the producer can fill the slot meanwhile
                std::printf("round %d: consumer got %ld\n", got.round, got.data);
            }
        });
        producer.start();
        consumer.start();
        producer.join();
        consumer.join();
        std::printf("producer exited with %d, consumer with %d\n", *producer.exit_code(), *consumer.exit_code());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "condition: %s\n", e.what());
        return 1;
    }
}
