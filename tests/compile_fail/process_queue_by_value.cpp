// A queue passed to a process as if by reference: it cannot be copied, so the call must say
// to pass std::ref(queue).
#include <forkline/forkline.hpp>
namespace fl = forkline;

void producer(fl::queue<int>& q) { q.put(1); }

int main() {
    fl::queue<int> q;
    fl::process p(producer, q);
    p.start();
    p.join();
}
