// A pool of worker processes, as Python's multiprocessing.Pool: count the primes below two
// million in blocks with pool.map, ask one question on the side with pool.submit, and read
// results as they finish with pool.imap_unordered. The workers start once and serve every call.
#include <forkline/forkline.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace fl = forkline;

namespace {

bool is_prime(long n) {
    if (n < 2) return false;
    for (long d = 2; d * d <= n; ++d)
        if (n % d == 0) return false;
    return true;
}

/// The primes in [first, first + 100000).
long primes_in_block(long first) {
    long count = 0;
    for (long n = first; n < first + 100'000; ++n) count += is_prime(n);
    return count;
}

}  // namespace

int main() {
    try {
        fl::pool pool;  // one worker per core

        std::vector<long> blocks;
        for (long first = 0; first < 2'000'000; first += 100'000) blocks.push_back(first);
        std::vector<long> counts = pool.map(primes_in_block, blocks);  // in the order of blocks
        long total = 0;
        for (long c : counts) total += c;
        std::printf("primes below 2000000: %ld (first block %ld, last block %ld)\n", total, counts.front(),
                    counts.back());

        // Lambdas travel too, with what they capture by value.
        long limit = 1'000'000;
        fl::future<long> largest = pool.submit([limit] {
            long n = limit - 1;
            while (!is_prime(n)) --n;
            return n;
        });

        std::vector<std::string> words{"pool", "process", "queue", "lock"};
        std::vector<std::string> shouted;
        for (std::string w : pool.imap_unordered([](std::string s) {
                 for (char& c : s) c = static_cast<char>(c - 'a' + 'A');
                 return s;
             }, words))
            shouted.push_back(std::move(w));
        std::sort(shouted.begin(), shouted.end());  // they came back in the order they finished

        std::printf("largest prime below %ld: %ld\n", limit, largest.get());
        for (const auto& w : shouted) std::printf("%s\n", w.c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pool: %s\n", e.what());
        return 1;
    }
}
