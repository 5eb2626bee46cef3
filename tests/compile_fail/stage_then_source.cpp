// A source after a stage, in a chain that has no source of its own yet.
#include <forkline/forkline.hpp>
namespace fl = forkline;

int main() {
    auto p = fl::map([](int i) { return i; }) | fl::iota(0, 3);
    (void)p;
}
