// The README's first program: three processes, one pipeline, and the result in the caller.
#include <forkline/forkline.hpp>

#include <iostream>
#include <string>

namespace fl = forkline;

int main() {
    auto lengths = fl::run(
        fl::iota(1, 6)                                                 // a source, in its own process
        | fl::map([](int i) { return std::string(i, '*'); })          // a stage, in another one
        | fl::to_vector());                                            // the sink, in this process

    for (const std::string& s : lengths) std::cout << s << '\n';
}
