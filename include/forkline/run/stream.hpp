// fl::stream(pipeline[, options]): a pipeline without a sink, read as an input range in the caller.
#pragma once

#include <forkline/run/detail/entry.hpp>
#include <forkline/run/errors.hpp>

#include <range/v3/range/concepts.hpp>

#include <iterator>
#include <memory>
#include <optional>
#include <ranges>

namespace forkline {

/// The items of a running pipeline, in order, as a single-pass input range and a view: it works
/// with range-for, std::ranges and range-v3 adaptors (`fl::stream(p) | ranges::views::take(3)`).
/// Copies share the one running pipeline (reading through one advances all). When the last copy
/// is destroyed before the end, the pipeline's processes are stopped and reaped.
template <class T>
class stream_range : public ranges::view_base, public std::ranges::view_base {
public:
    /// What a running pipeline offers the range (one per stream; see fl::stream).
    struct source {
        virtual ~source() = default;
        /// Puts the next item in `slot`; false at the end. Throws stage_error / stage_crashed.
        virtual bool next(std::optional<T>& slot) = 0;
    };

private:
    struct state {
        std::unique_ptr<source> run;
        std::optional<T> current;
        bool started = false;

        void advance() {
            current.reset();
            if (run && !run->next(current)) {
                current.reset();
                run.reset();  // the run is over: its processes are reaped
            }
        }
    };

public:
    class iterator {
    public:
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using iterator_concept = std::input_iterator_tag;

        iterator() = default;
        explicit iterator(state* s) noexcept : s_(s) {}
        T& operator*() const { return *s_->current; }
        T* operator->() const { return &*s_->current; }
        iterator& operator++() {
            s_->advance();
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& i, std::default_sentinel_t) noexcept { return !i.s_ || !i.s_->current; }

    private:
        state* s_ = nullptr;
    };

    stream_range() = default;
    explicit stream_range(std::unique_ptr<source> s) : state_(std::make_shared<state>()) {
        state_->run = std::move(s);
    }

    /// Starts reading: the first call fetches the first item (so it may throw).
    iterator begin() {
        if (!state_) return {};
        if (!state_->started) {
            state_->started = true;
            state_->advance();
        }
        return iterator(state_.get());
    }
    std::default_sentinel_t end() const noexcept { return {}; }

private:
    std::shared_ptr<state> state_;
};

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
        ex_.sup().finish(error, error ? current_stage() : exec::caller_stage);
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
                      "forkline::stream(pipeline): the pipeline has no source; start it with fl::from, fl::iota, "
                      "fl::generate or fl::read_lines");
        static_assert(!traits::sunk,
                      "forkline::stream(pipeline): the pipeline ends with a sink; use fl::run for it, or drop the sink");
        if constexpr (traits::sourced && !traits::sunk && traits::valid) return detail::stream_chain(std::move(chain), opts);
    }
};

inline constexpr stream_fn stream{};

}  // namespace forkline
