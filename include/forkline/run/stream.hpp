// fl::stream(pipeline[, options]): a pipeline without a sink, read as an input range in the caller.
#pragma once

#include <forkline/core/errors.hpp>
#include <forkline/core/stream_range.hpp>
#include <forkline/dsl/detail/diagnostics.hpp>
#include <forkline/run/detail/entry.hpp>

#include <memory>
#include <optional>

namespace forkline {

namespace detail {

template <class... Es>
class stream_source final : public stream_range<typename execution<Es...>::last_t>::source {
    using exec = execution<Es...>;
    using T = typename exec::last_t;

public:
    stream_source(pipeline<Es...> p, const options& opts) : p_(std::move(p)), ex_(p_, opts) { ex_.start(); }

    bool next(std::optional<T>& slot) override {
        std::exception_ptr error;
        try {
            if (auto item = ex_.next_in_caller()) {
                slot.emplace(std::move(*item));
                return true;
            }
        } catch (const ipc::aborted&) {
        } catch (...) {
            error = std::current_exception();
        }
        ex_.sup().finish(error);
        ex_.deliver_rejects();
        return false;
    }

private:
    pipeline<Es...> p_;
    exec ex_;
};

template <class... Es>
auto stream_chain(pipeline<Es...>&& p, const options& opts) {
    using T = typename execution<Es...>::last_t;
    return stream_range<T>(std::make_unique<stream_source<Es...>>(std::move(p), opts));
}

}  // namespace detail

struct stream_fn {
    /// Starts a pipeline without a sink and returns its items as an input range read in the
    /// calling process. The processes start at once and stop when the range ends or is destroyed.
    /// Example: `for (const std::string& w : fl::stream(fl::read_lines(path) | fl::flat_map(words))) ...`
    /// Errors: fl::stage_error / fl::stage_crashed are thrown from the range's begin() or ++ once
    /// every process has stopped.
    template <class P>
        requires detail::pipeable<P>
    auto operator()(P&& p, const options& opts = {}) const {
        auto chain = detail::to_pipeline(std::forward<P>(p));
        using traits = detail::chain_traits<decltype(chain)>;
        static_assert(traits::sourced,
                      FORKLINE_NO_SOURCE("forkline::stream(pipeline)"));
        static_assert(!traits::sunk,
                      "forkline::stream(pipeline): the pipeline ends with a sink; use fl::run for it, or drop the sink");
        if constexpr (traits::sourced && !traits::sunk && traits::valid) return detail::stream_chain(detail::collapse_split(std::move(chain)), opts);
    }
};

inline constexpr stream_fn stream{};

}  // namespace forkline
