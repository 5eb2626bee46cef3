// From a typed pipeline to what the supervisor runs: the item type on every edge, the stage
// descriptions for the planner, and the body of every process group. A group runs a range of
// elements: the first reads its input port (or is the source), each passes its items to the next
// in the same process, and the last writes to the group's output port (or is the caller's sink).
#pragma once

#include <forkline/dsl/detail/element.hpp>
#include <forkline/dsl/detail/split.hpp>
#include <forkline/dsl/detail/spread.hpp>
#include <forkline/plan/plan.hpp>
#include <forkline/dsl/detail/fused.hpp>
#include <forkline/run/detail/ports.hpp>
#include <forkline/run/detail/supervisor.hpp>

#include <array>
#include <deque>
#include <optional>
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

/// What element E runs on items of type In, in one process.
template <class E, class In>
auto make_element_runner(E& e) {
    if constexpr (spreads<E>)
        return make_fused<In>(e.inner_);
    else
        return e.template make_runner<In>();
}

/// One run of a sourced chain (ending with a sink for fl::run, or with the caller reading it
/// for fl::stream, which the plan shows as one more element, "stream").
template <class... Es>
class execution {
public:
    static constexpr std::size_t n = sizeof...(Es);
    static constexpr bool sink_last = has_sink<Es...>;
    /// The caller's element: the sink, or the stream's end (index n).
    static constexpr std::size_t caller_stage = sink_last ? n - 1 : n;
    template <std::size_t I>
    using element_t = std::tuple_element_t<I, std::tuple<Es...>>;
    template <std::size_t I>
    using edge_t = typename edge_type<I, Es...>::type;
    using last_t = edge_t<caller_stage - 1>;  ///< what reaches the caller's element

    execution(pipeline<Es...>& p, const options& opts) : p_(p), sup_(make_plan(infos(p), opts), opts.report) {
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
        caller_.emplace(*this, sup_.plan().caller_group());
        dispatch_first([&]<std::size_t A>() { caller_->template drive<A>(); });
        return caller_->sink_result();
    }
    /// For fl::stream: the next item in the caller, or none at the end.
    std::optional<last_t> next_in_caller() {
        if (!caller_) caller_.emplace(*this, sup_.plan().caller_group());
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
        if constexpr (requires { E::split; }) s.split = true;
        if constexpr (combines<E>) s.combiner = true;
        if constexpr (requires { E::late; }) s.late = true;
        if constexpr (source_element<E>) s.role = element_role::source;
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
        if constexpr (spreads<E>) {
            s.spread = E::partitioned ? spread_kind::partition : spread_kind::farm;
            s.replicas = e.replicas_;
            s.ordered = E::ordered;
        }
        return s;
    }

    /// Everything one process needs to run its range of elements [first, last].
    class group_state {
    public:
        group_state(execution& ex, std::size_t g) : ex_(ex), g_(g), now_(&ex.sup_.stage_of(g)) {
            const auto& grp = ex.sup_.plan().groups()[g];
            first_ = grp.stages.front();
            last_ = grp.stages.back();
            in_policy_ = ex.sup_.child_policy();
            out_policy_ = ex.sup_.child_policy();
            if (grp.in_caller) in_policy_ = out_policy_ = ex.sup_.caller_policy();
        }
        group_state(const group_state&) = delete;

        /// The sink's result, once drive() returned.
        auto sink_result() {
            if constexpr (sink_last) return slot<caller_stage>().runner->finish();
        }

        /// Runs the group to the end of its input (a child's whole life, or fl::run's caller part).
        template <std::size_t A>
        void drive() {
            setup<A>();
            if constexpr (A == 0) {
                auto& src = boost::hana::at_c<0>(ex_.p_.stages());
                auto& out = slot<0>().out;
                at(0);
                if constexpr (requires { element_t<0>::split; })
                    src.produce_split(out, ex_.sup_.context(0));
                else if constexpr (requires { src.produce(out, ex_.sup_.context(0)); })
                    src.produce(out, ex_.sup_.context(0));
                else if (out.kind() == out_port<edge_t<0>>::mode::ring)
                    src.produce(out.ring());  // sources may fill slots in bulk
                else
                    src.produce(out);
                finish_from<0>();
            } else if constexpr (A < n) {
                // Between input items the group's output is nudged (published if its consumer is
                // idle), every few items so the check stays off the per-item path.
                std::uint32_t since_nudge = 0;
                auto& s = slot<A>();
                auto& runner = *s.runner;  // looked up once: the loop below is the hot path
                auto& in = input<A>();
                at(A);
                if constexpr (sink_element<element_t<A>>) {
                    in.drain([&runner](edge_t<A - 1>&& x) { runner.push(std::move(x)); }, dummy_);
                } else {
                    auto through = [&](auto& out, auto nudge) {
                        in.drain(
                            [&runner, &out, &since_nudge, nudge](edge_t<A - 1>&& x) {
                                runner.push(std::move(x), out);
                                if (++since_nudge == nudge_every) [[unlikely]] {
                                    since_nudge = 0;
                                    nudge();
                                }
                            },
                            s.out);
                    };
                    // One element writing to one ring, the common case: straight into the ring's writer.
                    if (A == last_ && s.out.kind() == out_port<edge_t<A>>::mode::ring) {
                        auto& ring = s.out.ring();
                        through(ring, [&ring] { ring.nudge(); });
                    } else {
                        through(s.out, [this] {
                            if (nudge_) nudge_(this);
                        });
                    }
                }
                finish_from<A>();
            } else {
                input<A>().drain([&](last_t&& x) { stream_.push_back(std::move(x)); }, dummy_);
            }
        }

        /// For a stream: runs until the caller's element has an item, or the input ends.
        template <std::size_t A>
        std::optional<last_t> pull() {
            if constexpr (A == 0) {
                throw std::logic_error("forkline::stream: the source cannot run in the caller");
            } else {
                if (!set_up_) setup<A>();
                while (stream_.empty() && !ended_) {
                    at(A);
                    bool more;
                    if constexpr (A < n)
                        more = input<A>().next([&](edge_t<A - 1>&& x) { push_to<A>(std::move(x)); });
                    else
                        more = input<A>().next([&](last_t&& x) { stream_.push_back(std::move(x)); });
                    if (!more) {
                        ended_ = true;
                        if constexpr (A < n) finish_from<A>();
                    }
                }
                if (stream_.empty()) return std::nullopt;
                std::optional<last_t> item(std::move(stream_.front()));
                stream_.pop_front();
                return item;
            }
        }

    private:
        template <std::size_t I>
        struct slot_t {
            using runner_t = decltype(make_element_runner<element_t<I>, edge_t<I - 1>>(
                std::declval<element_t<I>&>()));
            std::optional<runner_t> runner;
            out_port<edge_t<I>> out;
        };
        template <std::size_t I>
            requires(I == 0)
        struct slot_t<I> {
            out_port<edge_t<0>> out;
        };
        template <std::size_t I>
            requires(I > 0 && sink_element<element_t<I>>)
        struct slot_t<I> {
            using runner_t = decltype(std::declval<element_t<I>&>().template make_runner<edge_t<I - 1>>());
            std::optional<runner_t> runner;
        };

        template <std::size_t I>
        struct slot_holder {
            std::optional<slot_t<I>> s;
        };
        template <class Seq>
        struct slots_for;
        template <std::size_t... I>
        struct slots_for<std::index_sequence<I...>> {
            using type = std::tuple<slot_holder<I>...>;
        };
        using slots_type = typename slots_for<std::make_index_sequence<n>>::type;

        /// Records that element s runs now, for the supervisor to blame.
        void at(std::size_t s) noexcept { now_->store(static_cast<std::uint32_t>(s), std::memory_order_relaxed); }

        template <std::size_t I>
        slot_t<I>& slot() {
            return *std::get<I>(slots_).s;
        }

        /// The input port of element A (the group's first), built on first use.
        template <std::size_t A>
        in_port<edge_t<A - 1>>& input() {
            auto& h = std::get<A - 1>(in_ports_);
            if (!h.p) h.p.emplace();
            return *h.p;
        }

        /// Builds the slots of elements [A, last] and their ports.
        template <std::size_t A>
        void setup() {
            set_up_ = true;
            const auto& plan = ex_.sup_.plan();
            const auto& groups = plan.groups();
            const auto& grp = groups[g_];
            if constexpr (A > 0) {
                using in_t = edge_t<A - 1>;
                auto mode = in_port<in_t>::mode::ring;
                if (A < n && grp.replica >= 0 && plan.stages()[A].ordered) mode = in_port<in_t>::mode::tagged;
                // From the replicas of the element before (a farm, or a combiner in its replicas).
                if (A >= 1 && (plan.stages()[A - 1].spread != spread_kind::none || plan.groups_of(A - 1).size() > 1))
                    mode = plan.stages()[A - 1].ordered ? in_port<in_t>::mode::collect_ordered
                                                        : in_port<in_t>::mode::collect;
                auto set = plan.rings_to(g_);
                input<A>().from_rings(mode, ex_.sup_, set, in_policy_);
                out_policy_.before_sleep = &release_input<A>;
                out_policy_.before_sleep_arg = this;
                // Whoever is about to sleep on input first hands over what it holds.
                in_policy_.before_sleep = &flush_group;
                in_policy_.before_sleep_arg = this;
            }
            [&]<std::size_t... I>(std::index_sequence<I...>) { (setup_one<I>(), ...); }(std::make_index_sequence<n>{});
        }

        template <std::size_t I>
        void setup_one() {
            if (I < first_ || I > last_) return;
            auto& h = std::get<I>(slots_);
            h.s.emplace();
            auto& e = boost::hana::at_c<I>(ex_.p_.stages());
            if constexpr (I > 0) h.s->runner.emplace(make_element_runner<element_t<I>, edge_t<I - 1>>(e));
            if constexpr (!sink_element<element_t<I>>) wire_output<I>();
        }

        /// Element I's output: the next element here, or the rings out of this group.
        template <std::size_t I>
        void wire_output() {
            using T = edge_t<I>;
            auto& out = slot<I>().out;
            const auto& plan = ex_.sup_.plan();
            if (I < last_) {
                if constexpr (I + 1 < n)
                    out.to_local(&local_batch<I + 1>, &local_finish<I + 1>, this);
                else
                    out.to_local(&stream_batch, &stream_finish, this);  // the caller reads a stream
                return;
            }
            using mode = typename out_port<T>::mode;
            auto set = plan.rings_from(g_);
            const auto& next = plan.stages()[I + 1];
            const auto& self = plan.stages()[I];
            if (next.spread == spread_kind::partition) {
                if constexpr (I + 1 < n) {
                    using E = element_t<I + 1>;
                    if constexpr (spreads<E>)
                        if constexpr (E::partitioned)
                            out.to_rings(mode::partition, ex_.sup_, set, out_policy_, false, &route<I + 1>,
                                         &boost::hana::at_c<I + 1>(ex_.p_.stages()));
                }
            } else if (next.spread == spread_kind::farm) {
                out.to_rings(mode::dispatch, ex_.sup_, set, out_policy_, next.ordered);
                if (next.active) out.feed_only(&ex_.sup_.active(I + 1));
            } else if (self.spread == spread_kind::farm && self.ordered) {
                out.to_rings(mode::tagged, ex_.sup_, set, out_policy_, true);
            } else {
                out.to_rings(mode::ring, ex_.sup_, set, out_policy_, false);
            }
            nudge_ = &nudge_output<I>;
        }

        template <std::size_t I>
        static std::size_t route(const void* e, const edge_t<I - 1>& x, std::size_t count) {
            return static_cast<const element_t<I>*>(e)->route(x, count);
        }

        /// Hands an item to element I of this process.
        template <std::size_t I>
        [[gnu::always_inline]] void push_to(edge_t<I - 1>&& x) {
            auto& s = slot<I>();
            if constexpr (sink_element<element_t<I>>)
                s.runner->push(std::move(x));
            else
                s.runner->push(std::move(x), s.out);
        }
        /// Element I's input ended: it finishes, and so does everything after it here.
        template <std::size_t I>
        void finish_from() {
            at(I);
            if constexpr (!sink_element<element_t<I>>) {
                if constexpr (I > 0) slot<I>().runner->finish(slot<I>().out);
                slot<I>().out.close();
            }
        }

        template <std::size_t I>
        static void local_batch(void* self, std::vector<edge_t<I - 1>>& items) {
            auto* st = static_cast<group_state*>(self);
            st->at(I);
            for (auto&& x : items) {
                st->template push_to<I>(std::move(x));
                if (++st->since_nudge_ == nudge_every) [[unlikely]] {
                    st->since_nudge_ = 0;
                    if (st->nudge_) st->nudge_(st);
                }
            }
            st->at(I - 1);
        }
        template <std::size_t I>
        static void local_finish(void* self) {
            static_cast<group_state*>(self)->template finish_from<I>();
        }
        static void stream_batch(void* self, std::vector<last_t>& items) {
            auto& q = static_cast<group_state*>(self)->stream_;
            for (auto&& x : items) q.push_back(std::move(x));
        }
        static void stream_finish(void*) {}

        /// Before the group sleeps on its input: every element hands on what it holds, in order.
        static void flush_group(void* self) {
            auto* st = static_cast<group_state*>(self);
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                (st->template flush_one<I>(), ...);
            }(std::make_index_sequence<n>{});
        }
        template <std::size_t I>
        void flush_one() {
            if constexpr (!sink_element<element_t<I>>)
                if (I >= first_ && I <= last_) slot<I>().out.flush();
        }
        template <std::size_t I>
        static void nudge_output(group_state* self) noexcept {
            self->template slot<I>().out.nudge();
        }
        template <std::size_t A>
        static void release_input(void* self) {
            static_cast<group_state*>(self)->template input<A>().release();
        }

        template <class T>
        struct port_holder {
            std::optional<in_port<T>> p;
        };
        template <class Seq>
        struct ports_for;
        template <std::size_t... I>
        struct ports_for<std::index_sequence<I...>> {
            using type = std::tuple<port_holder<edge_t<I>>...>;
        };

        execution& ex_;
        std::size_t g_, first_ = 0, last_ = 0;
        std::atomic<std::uint32_t>* now_;  ///< the group's record of its running element
        ipc::wait_policy in_policy_, out_policy_;
        slots_type slots_;
        typename ports_for<std::make_index_sequence<caller_stage>>::type in_ports_;
        std::deque<last_t> stream_;
        static constexpr std::uint32_t nudge_every = 16;
        std::uint32_t since_nudge_ = 0;  ///< items fused elements took since the last nudge
        bool set_up_ = false, ended_ = false;
        void (*nudge_)(group_state*) noexcept = nullptr;  ///< the group's output, when it has rings
        struct no_output {
            void begin_item(std::uint64_t) noexcept {}
            void end_item() noexcept {}
        } dummy_;
    };

    static void group_main(void* t) {
        auto* task = static_cast<struct task*>(t);
        execution& ex = *task->self;
        group_state st(ex, task->group);
        std::size_t first = ex.sup_.plan().groups()[task->group].stages.front();
        auto drive = [&]<std::size_t A>() { st.template drive<A>(); };
        dispatch_index(first, drive, std::make_index_sequence<n>{});
    }

    pipeline<Es...>& p_;
    supervisor sup_;
    std::vector<task> tasks_;
    std::optional<group_state> caller_;
};

}  // namespace forkline::detail
