// fl::stream_range<T>: a single-pass input range over items that another process makes, read in
// the caller (fl::stream's pipelines, fl::pool's imap).
#pragma once

#include <range/v3/range/concepts.hpp>

#include <iterator>
#include <memory>
#include <optional>
#include <ranges>

namespace forkline {

/// Items made elsewhere (a running pipeline, a pool's tasks), as a single-pass input range and a
/// view: it works with range-for, std::ranges and range-v3 adaptors
/// (`fl::stream(p) | ranges::views::take(3)`).
/// Copies share the one source (reading through one advances all). When the last copy is
/// destroyed before the end, the source stops: a pipeline's processes are stopped and reaped, a
/// pool drops the tasks not yet started.
template <class T>
class stream_range : public ranges::view_base, public std::ranges::view_base {
public:
    /// What a running pipeline or a pool offers the range (one per range).
    struct source {
        virtual ~source() = default;
        /// Puts the next item in `slot`; false at the end. May throw (stage_error, task_error, ...).
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
        using iterator_category = std::input_iterator_tag;

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

}  // namespace forkline
