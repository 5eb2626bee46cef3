// From a typed pipeline to what the supervisor runs: the item type on every edge, the stage
// descriptions for the planner, and the body of each stage's process.
#pragma once

#include <forkline/dsl/detail/element.hpp>
#include <forkline/plan/plan.hpp>
#include <forkline/run/detail/channel.hpp>
#include <forkline/run/detail/supervisor.hpp>

#include <tuple>
#include <typeinfo>

namespace forkline::detail {

template <class T>
std::string type_name() {
    return readable_type_name(typeid(T).name());
}

/// The item type on the edge after element I of a sourced chain.
template <std::size_t I, class... Es>
struct edge_type {
    using element = std::tuple_element_t<I, std::tuple<Es...>>;
    using type = typename element::template output<typename edge_type<I - 1, Es...>::type>;
};
template <class... Es>
struct edge_type<0, Es...> {
    using type = typename std::tuple_element_t<0, std::tuple<Es...>>::output;
};

template <class... Es>
inline constexpr bool has_source = sizeof...(Es) > 0 && source_element<std::tuple_element_t<0, std::tuple<Es...>>>;
template <class... Es>
inline constexpr bool has_sink = sizeof...(Es) > 0 && sink_element<std::tuple_element_t<sizeof...(Es) - 1, std::tuple<Es...>>>;

/// One run of a sourced chain: the children run elements [0, n - 1), the caller the last one.
template <class... Es>
class execution {
public:
    static constexpr std::size_t n = sizeof...(Es);
    static constexpr bool sink_last = has_sink<Es...>;
    /// Elements that run in child processes.
    static constexpr std::size_t in_children = sink_last ? n - 1 : n;
    template <std::size_t I>
    using element_t = std::tuple_element_t<I, std::tuple<Es...>>;
    template <std::size_t I>
    using edge_t = typename edge_type<I, Es...>::type;
    using last_t = edge_t<in_children - 1>;  ///< what the caller receives

    execution(pipeline<Es...>& p, const options& opts) : p_(p), sup_(make_plan(infos(p), opts), opts.report) {}

    static std::vector<stage_info> infos(const pipeline<Es...>& p) {
        std::vector<stage_info> v;
        [&]<std::size_t... I>(std::index_sequence<I...>) { (v.push_back(info<I>(p)), ...); }(std::make_index_sequence<n>{});
        if constexpr (!sink_last) v.push_back({"stream", element_role::output, type_name<last_t>(), "", false, 0});
        return v;
    }

    /// Forks a process for every element but the caller's.
    void start() {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (sup_.start(I, &body<I>, this), ...);
        }(std::make_index_sequence<in_children>{});
    }

    supervisor& sup() noexcept { return sup_; }
    pipeline<Es...>& chain() noexcept { return p_; }

    /// The caller's end of the last ring.
    channel_reader<last_t> caller_input(const ipc::wait_policy& policy) {
        return channel_reader<last_t>(sup_.ring(in_children - 1), sup_.ring_data(in_children - 1), policy);
    }

private:
    template <std::size_t I>
    static stage_info info(const pipeline<Es...>& p) {
        using E = element_t<I>;
        stage_info s{name_of(boost::hana::at_c<I>(p.stages())), element_role::stage, "", "", false, 0};
        if constexpr (source_element<E>) s.role = element_role::source;
        if constexpr (sink_element<E>) s.role = element_role::sink;
        if constexpr (I > 0) s.input = type_name<edge_t<I - 1>>();
        if constexpr (!sink_element<E>) {
            s.output = type_name<edge_t<I>>();
            s.fixed_slots = trivially_transferable<edge_t<I>>;
            s.item_size = sizeof(edge_t<I>);
        }
        return s;
    }

    template <std::size_t I>
    static void body(void* self) {
        static_cast<execution*>(self)->template run_element<I>();
    }

    static void flush_hook(void* w) { static_cast<ipc::producer_cursor*>(w)->flush(); }
    static void release_hook(void* r) { static_cast<ipc::consumer_cursor*>(r)->release(); }

    /// The whole life of element I's process: read, work, write, close.
    template <std::size_t I>
    void run_element() {
        auto& e = boost::hana::at_c<I>(p_.stages());
        ipc::wait_policy out_policy = sup_.child_policy();
        channel_writer<edge_t<I>> out(sup_.ring(I), sup_.ring_data(I), out_policy);
        if constexpr (I == 0) {
            e.produce(out);
        } else {
            using in_t = edge_t<I - 1>;
            ipc::wait_policy in_policy = sup_.child_policy();
            channel_reader<in_t> in(sup_.ring(I - 1), sup_.ring_data(I - 1), in_policy);
            // Whoever is about to sleep first hands over what it holds, so no one waits on us.
            in_policy.before_sleep = &flush_hook;
            in_policy.before_sleep_arg = static_cast<ipc::producer_cursor*>(&out);
            out_policy.before_sleep = &release_hook;
            out_policy.before_sleep_arg = static_cast<ipc::consumer_cursor*>(&in);
            auto r = e.template make_runner<in_t>();
            in.drain([&](in_t&& x) { r.push(std::move(x), out); });
            r.finish(out);
        }
        out.close();
    }

    pipeline<Es...>& p_;
    supervisor sup_;
};

}  // namespace forkline::detail
