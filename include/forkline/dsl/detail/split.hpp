// A split source: the readers of a splittable source (read_lines, read_csv), each running the
// stages that follow it on the parts of the input it claims. fl::run turns a pipeline whose
// split_shape says so into one with a split_stage first; the planner runs it as replicas.
#pragma once

#include <forkline/dsl/detail/element.hpp>
#include <forkline/dsl/detail/fused.hpp>
#include <forkline/dsl/detail/text_input.hpp>
#include <forkline/ipc/shared_text.hpp>

#include <boost/hana/concat.hpp>
#include <boost/hana/flatten.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace forkline::detail {

/// Where a source's rows that cannot be read go when the run collects them: lines of text in a
/// memory file shared by the run, each reader writing at offsets it reserves.
struct reject_log {
    const ipc::shared_text* text = nullptr;
    std::atomic<std::uint64_t>* used = nullptr;   ///< bytes reserved so far
    std::atomic<std::uint64_t>* count = nullptr;  ///< rejects so far (also those not kept)
    static constexpr std::uint64_t limit = 64u << 20;
    void add(std::string_view line) const noexcept {
        count->fetch_add(1, std::memory_order_relaxed);
        std::uint64_t at = used->fetch_add(line.size() + 1, std::memory_order_relaxed);
        if (at + line.size() + 1 > limit) return;
        std::string rec(line);
        rec += '\n';
        text->write_at(at, rec);
    }
};

/// What a source's process gets from its run: for the readers of a split, the next part nobody
/// has claimed (in the run's shared region), how many readers there are, and the split's table;
/// for any source, where rejects go, the run's abort flag, and where to count the bytes read.
struct source_context {
    std::atomic<std::uint64_t>* next = nullptr;
    std::size_t readers = 1;
    split_table* table = nullptr;
    reject_log rejects{};
    const std::atomic<std::uint32_t>* abort = nullptr;
    /// Where a source whose input is bytes adds those it finished (the progress display's bar).
    std::atomic<std::uint64_t>* bytes_done = nullptr;
    void read(std::uint64_t bytes) const noexcept {
        if (bytes_done) bytes_done->fetch_add(bytes, std::memory_order_relaxed);
    }
};

template <class Source, class Line, class Chain, bool Ordered>
struct split_stage;

template <class Source, class Line, class... Es, bool Ordered>
struct split_stage<Source, Line, boost::hana::tuple<Es...>, Ordered> : pipe_base {
    using role = source_role;
    static constexpr bool spreads = true;
    static constexpr bool partitioned = false;
    static constexpr bool ordered = Ordered;
    static constexpr bool split = true;
    using output = fused_output<Line, Es...>;

    static constexpr bool check() { return true; }  // checked before it was made

    /// "read_lines | parse": the source and what its readers run.
    std::string name() const {
        std::string n = name_of(source_);
        boost::hana::for_each(inner_, [&](const auto& e) { n += " | " + name_of(e); });
        return n;
    }

    /// One reader: claims parts until none is left and runs the chain on their lines.
    template <class Out>
    void produce_split(Out& out, source_context claims) {
        using chain_t = decltype(make_fused<Line>(inner_));
        chain_t chain = make_fused<Line>(inner_);
        struct sink {
            chain_t& stages;
            Out& out;
            void begin(std::uint64_t part) {
                if constexpr (Ordered) out.begin_item(part);
            }
            void line(Line&& x) { stages.push(std::move(x), out); }
            void end() {
                if constexpr (Ordered) out.end_item();
            }
            void done() { stages.finish(out); }
        } s{chain, out};
        source_.template read_split<Line>(claims, s);
    }

    std::optional<detail::input_size> input_size() const noexcept { return source_.input_bytes(); }

    std::size_t replicas_;  ///< 0: the planner decides
    Source source_;
    boost::hana::tuple<Es...> inner_;
};

/// What element E puts into the readers' chain: a farm's stages, or E itself.
template <class E>
auto readers_part(E&& e) {
    if constexpr (spreads<std::remove_cvref_t<E>>)
        return std::forward<E>(e).inner_;
    else
        return boost::hana::make_tuple(std::forward<E>(e));
}

/// The pipeline fl::run runs: with the readers of a split as its first element when the
/// pipeline is split, else the same pipeline.
template <class... Es>
auto collapse_split(pipeline<Es...>&& p) {
    using shape = split_shape<Es...>;
    if constexpr (shape::kind == split_kind::none) {
        return std::move(p);
    } else {
        auto& el = p.stages();
        constexpr std::size_t last = shape::last_fused;
        auto chain = [&]<std::size_t... I>(std::index_sequence<I...>) {
            return boost::hana::flatten(boost::hana::make_tuple(readers_part(std::move(boost::hana::at_c<I + 1>(el)))...));
        }(std::make_index_sequence<last>{});
        using taker = std::tuple_element_t<last, std::tuple<Es...>>;
        constexpr bool ordered = [] {
            if constexpr (shape::kind == split_kind::fused && spreads<taker>)
                return taker::ordered;
            else
                return false;
        }();
        std::size_t replicas = 0;
        if constexpr (shape::kind == split_kind::fused && spreads<taker>) replicas = boost::hana::at_c<last>(el).replicas_;
        using stage = split_stage<std::tuple_element_t<0, std::tuple<Es...>>, typename shape::line, decltype(chain),
                                  ordered>;
        auto rest = [&]<std::size_t... I>(std::index_sequence<I...>) {
            return boost::hana::make_tuple(std::move(boost::hana::at_c<last + 1 + I>(el))...);
        }(std::make_index_sequence<sizeof...(Es) - last - 1>{});
        return make_pipeline(boost::hana::concat(
            boost::hana::make_tuple(stage{{}, replicas, std::move(boost::hana::at_c<0>(el)), std::move(chain)}),
            std::move(rest)));
    }
}

}  // namespace forkline::detail
