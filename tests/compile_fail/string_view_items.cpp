// Items that cannot cross a process boundary: a string_view into the sending process's memory.
#include <forkline/forkline.hpp>
#include <string_view>
namespace fl = forkline;

int main() {
    auto p = fl::iota(0, 3) | fl::map([](int) { return std::string_view("dangling"); }) | fl::count();
    return static_cast<int>(fl::run(p));
}
