// A stage that keeps state between items, farmed: each replica would keep only its own part.
#include <forkline/forkline.hpp>
namespace fl = forkline;

int main() {
    auto p = fl::iota(0, 3) | fl::farm(2, fl::map([n = 0](int i) mutable { return i + n++; })) | fl::count();
    return static_cast<int>(fl::run(p));
}
