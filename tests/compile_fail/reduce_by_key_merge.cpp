// A keyed fold whose op cannot merge two accumulators, and no merge given.
#include <forkline/forkline.hpp>
#include <string>
namespace fl = forkline;

int main() {
    auto p = fl::iota(0, 10) | fl::reduce_by_key([](int i) { return i % 2; }, std::string(),
                                                 [](std::string s, int i) { return s + std::to_string(i); });
    return static_cast<int>(fl::run(p).size());
}
