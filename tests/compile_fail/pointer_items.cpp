// Items that cannot cross a process boundary: a pointer into the stage's own memory.
#include <forkline/forkline.hpp>
namespace fl = forkline;

int table[3] = {1, 2, 3};

int main() {
    auto p = fl::iota(0, 3) | fl::map([](int i) { return &table[i]; }) | fl::count();
    return static_cast<int>(fl::run(p));
}
