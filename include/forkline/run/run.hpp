// fl::run(pipeline[, options]): plan, fork, run, and return the sink's result in the caller.
#pragma once

#include <forkline/run/detail/entry.hpp>
#include <forkline/run/errors.hpp>

#include <optional>

namespace forkline {

namespace detail {

template <class... Es>
auto run_chain(pipeline<Es...>& p, const options& opts) {
    using exec = execution<Es...>;
    using in_t = typename exec::last_t;
    auto& sink = boost::hana::at_c<exec::n - 1>(p.stages());
    using result_t = typename std::remove_cvref_t<decltype(sink)>::template result<in_t>;

    exec ex(p, opts);
    ex.start();
    auto& sup = ex.sup();
    std::conditional_t<std::is_void_v<result_t>, bool, std::optional<result_t>> result{};
    std::exception_ptr error;
    try {
        ipc::wait_policy policy = sup.caller_policy();
        auto in = ex.caller_input(policy);
        auto r = sink.template make_runner<in_t>();
        in.drain([&](in_t&& x) { r.push(std::move(x)); });
        if constexpr (std::is_void_v<result_t>)
            r.finish();
        else
            result.emplace(r.finish());
    } catch (const ipc::aborted&) {
        // A child failed or died; finish() reports what happened first.
    } catch (...) {
        error = std::current_exception();
    }
    sup.finish(error, exec::n - 1);
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
                      "forkline::run(pipeline): the pipeline has no source; start it with fl::from, fl::iota, "
                      "fl::generate or fl::read_lines");
        static_assert(!traits::sourced || traits::sunk,
                      "forkline::run(pipeline): the pipeline has no sink; end it with fl::to_vector, fl::reduce, "
                      "fl::for_each, fl::count or fl::write_lines, or read it with fl::stream");
        if constexpr (traits::sourced && traits::sunk) return detail::run_chain(chain, opts);
    }
};

inline constexpr run_fn run{};

}  // namespace forkline
