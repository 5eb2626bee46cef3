// From a typed pipeline to what the supervisor runs: the stage descriptions for the planner, the
// processes to start, and the caller's part (fl::run's sink, or the end of fl::stream). What one
// process group does is group.hpp's.
#pragma once

#include <forkline/plan/plan.hpp>
#include <forkline/run/detail/group.hpp>
#include <forkline/run/detail/supervisor.hpp>

#include <algorithm>
#include <optional>
#include <typeinfo>
#include <vector>

namespace forkline::detail {

template <class T>
std::string type_name() {
    return readable_type_name(typeid(T).name());
}

template <class... Es>
inline constexpr bool has_source = sizeof...(Es) > 0 && source_element<std::tuple_element_t<0, std::tuple<Es...>>>;

/// One run of a sourced chain (ending with a sink for fl::run, or with the caller reading it
/// for fl::stream, which the plan shows as one more element, "stream").
template <class... Es>
class execution {
    using types = chain_types<Es...>;
    template <std::size_t I>
    using element_t = typename types::template element_t<I>;
    template <std::size_t I>
    using edge_t = typename types::template edge_t<I>;

public:
    static constexpr std::size_t n = types::n;
    static constexpr std::size_t caller_stage = types::caller_stage;
    static constexpr bool sink_last = types::sink_last;
    using last_t = typename types::last_t;

    execution(pipeline<Es...>& p, const options& opts)
        : p_(p), sup_(make_plan(infos(p), opts), opts.report, opts.progress, opts.stats) {
        if (sup_.watched()) {
            auto& src = boost::hana::at_c<0>(p_.stages());
            if constexpr (requires { src.input_size(); }) sup_.set_input_size(src.input_size());
        }
        for (std::size_t g = 0; g < sup_.plan().groups().size(); ++g) tasks_.push_back({this, g});
    }

    static std::vector<stage_info> infos(const pipeline<Es...>& p) {
        std::vector<stage_info> v;
        [&]<std::size_t... I>(std::index_sequence<I...>) { (v.push_back(info<I>(p)), ...); }(std::make_index_sequence<n>{});
        if constexpr (!sink_last) {
            stage_info s;
            s.name = "stream";
            s.role = element_role::output;
            s.input = type_name<last_t>();
            v.push_back(s);
        }
        return v;
    }

    /// Forks a process for every group but the caller's.
    void start() {
        for (std::size_t g = 0; g < tasks_.size(); ++g)
            if (!sup_.plan().groups()[g].in_caller) sup_.start(g, &group_main, &tasks_[g]);
        sup_.start_display();
        sup_.adapt();
    }

    supervisor& sup() noexcept { return sup_; }

    /// After the run: the rows the source could not read, to where its options say.
    void deliver_rejects() {
        auto& src = boost::hana::at_c<0>(p_.stages());
        if constexpr (requires { src.source_.take_rejects(sup_.rejects()); })
            src.source_.take_rejects(sup_.rejects());
        else if constexpr (requires { src.take_rejects(sup_.rejects()); })
            src.take_rejects(sup_.rejects());
    }

    /// The caller's part: sets up its group and drives it. For fl::run: the sink's result.
    auto run_caller() {
        caller_.emplace(p_, sup_, sup_.plan().caller_group());
        dispatch_first([&]<std::size_t A>() { caller_->template drive<A>(); });
        return caller_->sink_result();
    }
    /// For fl::stream: the next item in the caller, or none at the end.
    std::optional<last_t> next_in_caller() {
        if (!caller_) caller_.emplace(p_, sup_, sup_.plan().caller_group());
        return dispatch_first([&]<std::size_t A>() { return caller_->template pull<A>(); });
    }

private:
    struct task {
        execution* self;
        std::size_t group;
    };

    /// Calls fn.template operator()<A>() with A the caller group's first element.
    template <class Fn>
    decltype(auto) dispatch_first(Fn&& fn) {
        std::size_t first = sup_.plan().groups()[sup_.plan().caller_group()].stages.front();
        return dispatch_index(first, fn, std::make_index_sequence<caller_stage + 1>{});
    }
    template <class Fn, std::size_t I, std::size_t... Rest>
    static decltype(auto) dispatch_index(std::size_t a, Fn& fn, std::index_sequence<I, Rest...>) {
        if constexpr (sizeof...(Rest) == 0) {
            return fn.template operator()<I>();
        } else {
            if (a == I) return fn.template operator()<I>();
            return dispatch_index(a, fn, std::index_sequence<Rest...>{});
        }
    }

    template <std::size_t I>
    static stage_info info(const pipeline<Es...>& p) {
        static_assert(I < n);
        using E = element_t<I>;
        const auto& e = boost::hana::at_c<I>(p.stages());
        stage_info s;
        s.name = name_of(e);
        if constexpr (requires { e.cost_; }) s.cost = e.cost_;
        if constexpr (requires { e.restarts_; })
            s.restarts = static_cast<int>(e.restarts_);
        if constexpr (spreads<E>)  // farm(n, fl::restart(k, stage)): the largest of its chain's
            boost::hana::for_each(e.inner_, [&](const auto& x) {
                if constexpr (requires { x.restarts_; }) s.restarts = std::max(s.restarts, static_cast<int>(x.restarts_));
            });
        if constexpr (split_readers<E>) s.split = true;
        if constexpr (combines<E>) s.combiner = true;
        if constexpr (late_stage<E>) s.late = true;
        if constexpr (source_element<E>) s.role = element_role::source;
        if constexpr (requires { e.resumable(); }) s.resumable = e.resumable();
        if constexpr (sink_element<E>) s.role = element_role::sink;
        if constexpr (I > 0) s.input = type_name<edge_t<I - 1>>();
        if constexpr (!sink_element<E>) {
            using out = edge_t<I>;
            s.output = type_name<out>();
            s.fixed_slots = trivially_transferable<out>;
            s.item_size = sizeof(out);
            s.seq_fixed_slots = trivially_transferable<sequenced<out>>;
            s.seq_item_size = sizeof(sequenced<out>);
        }
        if constexpr (I > 0 && !sink_element<E>) {
            if constexpr (spreads<E>) {
                using flow = spread_flow<edge_t<I - 1>, std::remove_cvref_t<decltype(e.inner_)>>;
                s.stateless = flow::stateless && !flow::has_sink;
            } else {
                s.stateless = stateless_for<E, edge_t<I - 1>>();
            }
        }
        if constexpr (spreads<E>) {
            s.spread = E::partitioned ? spread_kind::partition : spread_kind::farm;
            s.replicas = e.replicas_;
            s.ordered = E::ordered;
        }
        return s;
    }

    static void group_main(void* t) {
        auto* task = static_cast<struct task*>(t);
        execution& ex = *task->self;
        group<Es...> st(ex.p_, ex.sup_, task->group);
        std::size_t first = ex.sup_.plan().groups()[task->group].stages.front();
        auto drive = [&]<std::size_t A>() { st.template drive<A>(); };
        dispatch_index(first, drive, std::make_index_sequence<n>{});
    }

    pipeline<Es...>& p_;
    supervisor sup_;
    std::vector<task> tasks_;
    std::optional<group<Es...>> caller_;
};

}  // namespace forkline::detail
