// fl::plan(pipeline[, options]): what fl::run would do, without running anything.
#pragma once

#include <forkline/dsl/detail/diagnostics.hpp>
#include <forkline/run/detail/entry.hpp>

namespace forkline {

namespace detail {
template <class... Es>
pipeline_plan plan_chain(const pipeline<Es...>& p, const options& opts) {
    return make_plan(execution<Es...>::infos(p), opts);
}
}  // namespace detail

struct plan_fn {
    /// The plan fl::run (or fl::stream, for a pipeline without a sink) would follow: processes,
    /// item types, rings. Example: `std::cout << fl::plan(pipeline).describe();`
    template <class P>
        requires detail::pipeable<P>
    pipeline_plan operator()(P&& p, const options& opts = {}) const {
        auto chain = detail::to_pipeline(std::forward<P>(p));
        static_assert(detail::chain_traits<decltype(chain)>::sourced,
                      FORKLINE_NO_SOURCE("forkline::plan(pipeline)"));
        if constexpr (detail::chain_traits<decltype(chain)>::sourced && detail::chain_traits<decltype(chain)>::valid)
            return detail::plan_chain(detail::collapse_split(std::move(chain)), opts);
        return {};
    }
};

inline constexpr plan_fn plan{};

}  // namespace forkline
