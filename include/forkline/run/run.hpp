// fl::run(pipeline[, options]): plan, fork, run, and return the sink's result in the caller.
#pragma once

#include <forkline/core/errors.hpp>
#include <forkline/dsl/detail/diagnostics.hpp>
#include <forkline/run/detail/entry.hpp>

#include <optional>

namespace forkline {

namespace detail {

template <class... Es>
auto run_chain(pipeline<Es...>& p, const options& opts) {
    using exec = execution<Es...>;
    using result_t = decltype(std::declval<exec&>().run_caller());

    exec ex(p, opts);
    ex.start();
    std::conditional_t<std::is_void_v<result_t>, bool, std::optional<result_t>> result{};
    std::exception_ptr error;
    try {
        if constexpr (std::is_void_v<result_t>)
            ex.run_caller();
        else
            result.emplace(ex.run_caller());
    } catch (const ipc::aborted&) {
        // A child failed or died; finish() reports what happened first.
    } catch (...) {
        error = std::current_exception();
    }
    ex.sup().finish(error);
    ex.deliver_rejects();
    if constexpr (!std::is_void_v<result_t>) return std::move(*result);
}

}  // namespace detail

struct run_fn {
    /// Runs a pipeline (a source, stages, and a sink) and returns the sink's result. The source
    /// and every stage run in processes of their own, the sink in the calling process; fl::run
    /// returns when all of them have finished.
    /// Example: `int total = fl::run(fl::iota(1, 5) | fl::reduce(0, std::plus<>{}));` gives 10.
    /// Errors: fl::stage_error when a stage throws, fl::stage_crashed when a stage's process dies;
    /// either way every process of the run has stopped and been reaped first. std::system_error
    /// when shared memory or a process cannot be had.
    template <class P>
        requires detail::pipeable<P>
    auto operator()(P&& p, const options& opts = {}) const {
        auto chain = detail::to_pipeline(std::forward<P>(p));
        using traits = detail::chain_traits<decltype(chain)>;
        static_assert(traits::sourced,
                      FORKLINE_NO_SOURCE("forkline::run(pipeline)"));
        static_assert(!traits::sourced || traits::sunk,
                      "forkline::run(pipeline): the pipeline has no sink; end it with fl::to_vector, fl::reduce, "
                      "fl::for_each, fl::count or fl::write_lines, or read it with fl::stream");
        if constexpr (traits::sourced && traits::sunk && traits::valid) {
            auto split = detail::collapse_split(std::move(chain));
            return detail::run_chain(split, opts);
        }
    }
};

inline constexpr run_fn run{};

}  // namespace forkline
