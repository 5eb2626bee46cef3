// fl::from(range): a source that sends every element of an input range (std or range-v3).
#pragma once

#include <forkline/core/detail/range_holder.hpp>
#include <forkline/dsl/detail/diagnostics.hpp>
#include <forkline/dsl/detail/element.hpp>

#include <range/v3/range/concepts.hpp>
#include <range/v3/range/primitives.hpp>
#include <range/v3/range/traits.hpp>

#include <optional>

namespace forkline {

template <class R>
struct from_source : detail::pipe_base {
    using role = detail::source_role;
    using output = std::remove_cvref_t<ranges::range_value_t<std::remove_reference_t<R>>>;
    static constexpr std::string_view default_name = "from";

    static constexpr bool check() {
        static_assert(transferable<output>,
                      FORKLINE_CANNOT_CROSS("forkline::from(range): the range's elements", "another process",
                                            "; use a range of owning values"));
        return transferable<output>;
    }

    template <class Out>
    void produce(Out& out) {
        for (auto&& x : range_.get()) out.push(static_cast<const output&>(x));
    }

    /// A sized random-access range gives the same elements again (options::restarts: a
    /// replacement starts over); a stream would not.
    static constexpr bool resumable() noexcept {
        using range = std::remove_reference_t<R>;
        return ranges::random_access_range<range&> && ranges::sized_range<range&>;
    }

    /// The range's size, when it has one.
    std::optional<detail::input_size> input_size() {
        if constexpr (ranges::sized_range<std::remove_reference_t<R>&>)
            return detail::input_size{static_cast<std::uint64_t>(ranges::size(range_.get()))};
        else
            return std::nullopt;
    }

    detail::range_holder<R> range_;
};

struct from_fn {
    /// A source that sends each element of `r` in order. An lvalue range is read where it is (it
    /// must outlive the run); an rvalue range is moved into the pipeline.
    /// Example: `fl::run(fl::from(std::vector{1, 2, 3}) | fl::to_vector())` returns {1, 2, 3}.
    /// Errors: an exception thrown while iterating ends the run as fl::stage_error("from").
    template <class R>
    auto operator()(R&& r) const {
        static_assert(ranges::input_range<std::remove_reference_t<R>>,
                      "forkline::from(range): the argument is not an input range (it needs begin() and end())");
        return from_source<R>{{}, detail::range_holder<R>(std::forward<R>(r))};
    }
};

inline constexpr from_fn from{};

}  // namespace forkline
