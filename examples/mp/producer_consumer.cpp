// A producer process and a consumer process joined by a queue, as the article's Queue program:
// the producer puts its greeting and a few messages more, the consumer prints each one. Where
// Python's consumer would need a sentinel (None) to know the stream ended, the producer here
// closes the queue: the consumer's get() drains what is left, then returns nothing.
#include <forkline/forkline.hpp>

#include <cstdio>
#include <functional>
#include <string>

namespace fl = forkline;

namespace {

/// Any transferable type goes through a queue: the struct is encoded into shared memory, string
/// included, and decoded on the other side.
struct message {
    int seq;
    std::string text;
};

void producer(fl::queue<message>& queue) {
    queue.put({1, "Hello from producer!"});
    queue.put({2, "Queues carry any transferable type,"});
    queue.put({3, "strings and structs included."});
    queue.close();  // no more puts: the consumer's loop ends once it has read the three
}

void consumer(fl::queue<message>& queue) {
    while (auto m = queue.get()) std::printf("%d: %s\n", m->seq, m->text.c_str());
}

}  // namespace

int main() {
    try {
        fl::queue<message> queue;

        // A queue cannot be copied: std::ref hands each process the one made here, whose shared
        // memory the children see after the fork (Python's args=(queue,)).
        fl::process producer_process(producer, std::ref(queue));
        fl::process consumer_process(consumer, std::ref(queue));

        producer_process.start();
        consumer_process.start();

        producer_process.join();
        consumer_process.join();

        std::printf("producer exited with %d, consumer with %d\n", *producer_process.exit_code(),
                    *consumer_process.exit_code());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "producer_consumer: %s\n", e.what());
        return 1;
    }
}
