// A source after a stage.
#include <forkline/forkline.hpp>
namespace fl = forkline;

int main() {
    auto p = fl::iota(0, 3) | fl::iota(0, 3);
    (void)p;
}
