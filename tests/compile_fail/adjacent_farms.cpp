// Two farms in a row.
#include <forkline/forkline.hpp>
namespace fl = forkline;

int main() {
    auto f = [](int i) { return i; };
    auto p = fl::iota(0, 3) | fl::farm(2, fl::map(f)) | fl::farm(2, fl::map(f)) | fl::count();
    (void)p;
}
