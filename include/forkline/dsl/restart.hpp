// fl::restart(times, element): the element's own restart policy (options::restarts, per element).
#pragma once

#include <forkline/dsl/detail/element.hpp>

#include <utility>

namespace forkline {

/// An element whose processes may be replaced after a crash this many times each; everything
/// else is the element's.
template <class E>
struct restarted_element : E {
    unsigned restarts_ = 0;
};

struct restart_fn {
    /// options::restarts for one element (or each element of a chain), over the run's: each
    /// process that runs it may die and be replaced `times` times (0: a crash there ends the
    /// run). Only the stages options::restarts can replace are replaced (map, filter, flat_map
    /// that keep no state, fused chains of them, farm and parallel replicas); fl::plan's
    /// describe() says which. A process running several fused elements takes the largest count.
    /// Example: `fl::restart(3, fl::parallel(fl::map(call_flaky_library)))`.
    template <class E>
        requires detail::pipeable<E>
    auto operator()(unsigned times, E&& e) const {
        return detail::with_each<restarted_element>(std::forward<E>(e), times);
    }
};

inline constexpr restart_fn restart{};

}  // namespace forkline
