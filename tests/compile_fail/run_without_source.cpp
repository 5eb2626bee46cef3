// fl::run on a pipeline that does not start with a source.
#include <forkline/forkline.hpp>
namespace fl = forkline;

int main() {
    auto v = fl::run(fl::map([](int i) { return i * 2; }) | fl::to_vector());
    (void)v;
}
