// A pool task whose closure captures a std::string: its bytes would point into the caller's heap.
#include <forkline/forkline.hpp>
#include <string>
#include <vector>
namespace fl = forkline;

int main() {
    fl::pool pool(1);
    std::string suffix = "!";
    auto out = pool.map([suffix](const std::string& s) { return s + suffix; }, std::vector<std::string>{"a"});
    return static_cast<int>(out.size());
}
