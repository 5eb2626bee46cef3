// The checks shared by the entry points fl::run, fl::stream and fl::plan.
#pragma once

#include <forkline/run/detail/execute.hpp>

namespace forkline::detail {

template <class P>
auto to_pipeline(P&& p) {
    return make_pipeline(as_tuple(std::forward<P>(p)));
}

template <class P>
using pipeline_of = decltype(to_pipeline(std::declval<P>()));

template <class P>
struct chain_traits;
template <class... Es>
struct chain_traits<pipeline<Es...>> {
    static constexpr bool sourced = has_source<Es...>;
    static constexpr bool sunk = has_sink<Es...>;
    /// Every check passed: only then is anything instantiated from the types.
    static constexpr bool valid = check_chain<true, Es...>();
};

}  // namespace forkline::detail
