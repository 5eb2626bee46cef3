// Something after a sink.
#include <forkline/forkline.hpp>
namespace fl = forkline;

int main() {
    auto p = fl::iota(0, 3) | fl::count() | fl::map([](int i) { return i; });
    (void)p;
}
