// fl::cost(weight, element): tells the planner how expensive an element is next to the others.
#pragma once

#include <forkline/dsl/detail/element.hpp>

#include <stdexcept>
#include <utility>

namespace forkline {

/// An element with a cost weight; everything else is the element's.
template <class E>
struct costed_element : E {
    double cost_ = 1;
};

struct cost_fn {
    /// Gives an element (or each element of a chain) a relative cost: 1 is the default, 10 means
    /// ten times the work per item. The planner fuses the cheapest neighbours first when processes
    /// would outnumber cores, and shares spare cores among fl::parallel stages by cost.
    /// Example: `fl::cost(8, fl::parallel(fl::map(render)))` next to a `parallel` of cost 1 gets
    /// about eight times the replicas.
    /// Errors: std::invalid_argument for a weight that is not positive and finite.
    template <class E>
        requires detail::pipeable<E>
    auto operator()(double weight, E&& e) const {
        if (!(weight > 0 && weight < 1e300)) throw std::invalid_argument("forkline::cost(weight, element): weight must be positive");
        return detail::with_each<costed_element>(std::forward<E>(e), weight);
    }
};

inline constexpr cost_fn cost{};

}  // namespace forkline
