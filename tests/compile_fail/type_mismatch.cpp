// A stage whose function cannot take the items of the stage before it.
#include <forkline/forkline.hpp>
namespace fl = forkline;

int main() {
    auto p = fl::iota(0, 3) | fl::map([](const std::string& s) { return s.size(); }) | fl::count();
    return static_cast<int>(fl::run(p));
}
