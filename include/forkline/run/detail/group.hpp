// The body of one process group: the elements [first, last] of a chain that run in one process.
// The first reads its collector (or is the source), each hands its items to the next through
// to_next, and the last sends them on through its router (or is the caller's sink). Routers and
// collectors are chosen once, by the wiring; each loop is compiled for the ones it got.
#pragma once

#include <forkline/dsl/detail/element.hpp>
#include <forkline/dsl/detail/fused.hpp>
#include <forkline/dsl/detail/spread.hpp>
#include <forkline/dsl/detail/split.hpp>
#include <forkline/run/detail/journal.hpp>
#include <forkline/run/detail/wiring.hpp>

#include <boost/hana/at.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <optional>
#include <tuple>
#include <type_traits>
#include <stdexcept>
#include <variant>
#include <vector>

namespace forkline::detail {

/// The item types on the edges of a sourced chain: edge I is the one after element I.
template <class... Es>
struct chain_edges;
template <class Source, class... Es>
struct chain_edges<Source, Es...> {
    using type = typename walk_edges<walk<types_only, typename Source::output, Es...>>::type;
};

template <class... Es>
inline constexpr bool has_sink = sizeof...(Es) > 0 && sink_element<std::tuple_element_t<sizeof...(Es) - 1, std::tuple<Es...>>>;

/// What element E (a stage or a sink) runs on items of type In, in one process.
template <class E, class In>
    requires stage_for<E, In> || sink_for<E, In>
auto make_element_runner(E& e) {
    if constexpr (spreads<E>)
        return make_fused<In>(e.inner_);
    else
        return e.template make_runner<In>();
}

template <std::size_t I, class Tuple, bool In = (I < std::tuple_size_v<Tuple>)>
struct element_or_none {
    using type = void;
};
template <std::size_t I, class Tuple>
struct element_or_none<I, Tuple, true> {
    using type = std::tuple_element_t<I, Tuple>;
};

/// The types of a sourced chain: its elements, the item on each edge, and the caller's element
/// (the sink, or the end of a stream: index n, one past the last element).
template <class... Es>
struct chain_types {
    static constexpr std::size_t n = sizeof...(Es);
    static constexpr bool sink_last = has_sink<Es...>;
    static constexpr std::size_t caller_stage = sink_last ? n - 1 : n;
    template <std::size_t I>
    using element_t = std::tuple_element_t<I, std::tuple<Es...>>;
    using edges = typename chain_edges<Es...>::type;
    template <std::size_t I>
    using edge_t = std::tuple_element_t<I, edges>;
    using last_t = edge_t<caller_stage - 1>;  ///< what reaches the caller's element
    /// Element I, or void past the last one (where the caller reads a stream).
    template <std::size_t I>
    using element_or_void = typename element_or_none<I, std::tuple<Es...>>::type;
};

/// What to_next hands element I's input to: that element, in group G.
template <class G, std::size_t I, bool Stream>
struct next_element {
    G* g;
    template <class Items>
    void take(Items& items) {
        g->template take<I>(items);
    }
    void finish() { g->template finish_from<I>(); }
};
/// ...or, past the last element, the caller's stream.
template <class G, std::size_t I>
struct next_element<G, I, true> {
    G* g;
    template <class Items>
    void take(Items& items) {
        g->count_passed(I - 1, items.size());
        for (auto&& x : items) g->stream_.push_back(std::move(x));
    }
    void finish() noexcept {}
};

template <class... Es>
class group {
    template <class G, std::size_t I, bool Stream>
    friend struct next_element;
    using types = chain_types<Es...>;
    static constexpr std::size_t n = types::n;
    static constexpr std::size_t caller_stage = types::caller_stage;
    static constexpr bool sink_last = types::sink_last;
    template <std::size_t I>
    using element_t = typename types::template element_t<I>;
    template <std::size_t I>
    using edge_t = typename types::template edge_t<I>;
    using last_t = typename types::last_t;

public:
    group(pipeline<Es...>& p, supervisor& sup, std::size_t g)
        : p_(p), sup_(sup), g_(g), record_(&sup.record(g)), now_(&record_->stage), passed_(sup.passed(g)) {
        const auto& grp = sup.plan().groups()[g];
        first_ = grp.stages.front();
        last_ = grp.stages.back();
        in_policy_ = out_policy_ = grp.in_caller ? sup.caller_policy() : sup.child_policy();
        if constexpr (FORKLINE_LIVE_COUNTS) {
            in_policy_.waited_ns = &record_->input_wait_ns;
            out_policy_.waited_ns = &record_->output_wait_ns;
        }
    }
    group(const group&) = delete;
    group& operator=(const group&) = delete;

    /// The sink's result, once drive() returned.
    auto sink_result() {
        if constexpr (sink_last) return slot<caller_stage>().runner->finish();
    }

    /// Runs the group to the end of its input (a child's whole life, or fl::run's caller part).
    template <std::size_t A>
    void drive() {
        setup<A>();
        ended live{*record_};
        if constexpr (A == 0) {
            at(0);
            std::visit([&](auto& out) { produce(out); }, *slot<0>().out);
            finish_from<0>();
        } else if constexpr (A < n) {
            auto& runner = *slot<A>().runner;  // looked up once: the loops below are the hot path
            at(A);
            do {
                if constexpr (sink_element<element_t<A>>) {
                    std::visit([&](auto& in) { in.drain([&runner](edge_t<A - 1>&& x) { runner.push(std::move(x)); }, none_); },
                               *input<A>());
                } else {
                    std::visit([&](auto& in, auto& out) { through(in, runner, out); }, *input<A>(), *slot<A>().out);
                }
            } while (set_aside<A>());
            finish_from<A>();
        } else {
            std::visit([&](auto& in) { in.drain([&](last_t&& x) { stream_.push_back(std::move(x)); }, none_); },
                       *input<A>());
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
                bool more = std::visit(
                    [&](auto& in) {
                        if constexpr (A < n)
                            return in.next([&](edge_t<A - 1>&& x) { push_to<A>(std::move(x)); });
                        else
                            return in.next([&](last_t&& x) { stream_.push_back(std::move(x)); });
                    },
                    *input<A>());
                if (!more) {
                    ended_ = true;
                    if constexpr (A < n) finish_from<A>();
                    record_->ended_ns.store(monotonic_ns(), std::memory_order_relaxed);
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
    using element_or_void = typename types::template element_or_void<I>;
    template <std::size_t I>
    using route_t = typename routes<edge_t<I>, next_element<group, I + 1, I + 1 == n>, element_t<I>, element_or_void<I + 1>>::type;
    template <std::size_t A>
    using collect_t = typename collectors<edge_t<A - 1>, element_t<A - 1>, element_or_void<A>>::type;

    template <std::size_t I>
    struct slot_t {
        using runner_t = decltype(make_element_runner<element_t<I>, edge_t<I - 1>>(std::declval<element_t<I>&>()));
        std::optional<runner_t> runner;
        std::optional<route_t<I>> out;
    };
    template <std::size_t I>
        requires(I == 0)
    struct slot_t<I> {
        std::optional<route_t<0>> out;
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
    template <std::size_t A>
    struct input_holder {
        std::optional<collect_t<A>> c;
    };
    template <template <std::size_t> class H, class Seq>
    struct holders;
    template <template <std::size_t> class H, std::size_t... I>
    struct holders<H, std::index_sequence<I...>> {
        using type = std::tuple<H<I>...>;
    };
    template <std::size_t A>
    using input_at = input_holder<A + 1>;

    /// Records that element s runs now, for the supervisor to blame.
    void at(std::size_t s) noexcept { now_->store(static_cast<std::uint32_t>(s), std::memory_order_relaxed); }
    /// Counts n items element s handed to the next one in this process (a batch of to_next).
    void count_passed(std::size_t s, std::size_t n) noexcept {
        if constexpr (FORKLINE_LIVE_COUNTS)
            passed_[s].store(passed_[s].load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    /// Marks the end of the group's loop in its record, however it ends.
    struct ended {
        group_record& r;
        ~ended() { r.ended_ns.store(monotonic_ns(), std::memory_order_relaxed); }
    };

    template <std::size_t I>
    slot_t<I>& slot() {
        return *std::get<I>(slots_).s;
    }
    /// The collector of element A (the group's first).
    template <std::size_t A>
    std::optional<collect_t<A>>& input() {
        return std::get<A - 1>(inputs_).c;
    }

    /// The source's loop, compiled for its router.
    template <class Out>
    void produce(Out& out) {
        auto& src = boost::hana::at_c<0>(p_.stages());
        if constexpr (split_readers<element_t<0>>) {
            if constexpr (!element_t<0>::ordered || requires { out.begin_item(0); })
                src.produce_split(out, sup_.context(0));
            else
                throw std::logic_error("forkline: the readers of an ordered split must number what they send on");
        }
        else if constexpr (produces_with_context<element_t<0>, Out>)
            src.produce(out, sup_.context(0));
        else if constexpr (requires { out.end().claim(); })
            src.produce(out.end());  // sources may fill a ring's slots in bulk
        else
            src.produce(out);
    }

    /// The loop of the group's first element over its input, compiled for its collector and
    /// router. Between input items the group's edges are nudged (published if their receivers
    /// are idle), every few items so the check stays off the per-item path.
    template <class In, class Runner, class Out>
    FORKLINE_HOT void through(In& in, Runner& runner, Out& out) {
        std::uint32_t since_nudge = 0;
        in.drain(
            [&](auto&& x) {
                runner.push(std::move(x), out);
                if (++since_nudge == nudge_every) [[unlikely]] {
                    since_nudge = 0;
                    nudge(out);
                }
            },
            out);
    }
    /// Element I's router when it has edges; else (to_next) the group's last element's.
    template <class Out>
    void nudge(Out& out) noexcept {
        if constexpr (is_to_next<Out>)
            nudge_last();
        else
            out.nudge();
    }

    void nudge_last() noexcept {
        for_each_element([&]<std::size_t I>() {
            if constexpr (!sink_element<element_t<I>>)
                if (I == last_) std::visit([](auto& out) { out.nudge(); }, *slot<I>().out);
        });
    }

    /// Builds the slots of elements [A, last], their routers and A's collector.
    template <std::size_t A>
    void setup() {
        set_up_ = true;
        record_->started_ns.store(monotonic_ns(), std::memory_order_relaxed);
        wiring wires(sup_, g_);
        if constexpr (A > 0) {
            wires.template input<edge_t<A - 1>>(input<A>(), A, in_policy_);
            out_policy_.before_sleep = &release_input<A>;
            out_policy_.before_sleep_arg = this;
            // Whoever is about to sleep on input first hands over what it holds.
            in_policy_.before_sleep = &flush_group;
            in_policy_.before_sleep_arg = this;
        }
        for_each_element([&]<std::size_t I>() {
            if (I < first_ || I > last_) return;
            auto& h = std::get<I>(slots_);
            h.s.emplace();
            auto& e = boost::hana::at_c<I>(p_.stages());
            if constexpr (I > 0) h.s->runner.emplace(make_element_runner<element_t<I>, edge_t<I - 1>>(e));
            if constexpr (!sink_element<element_t<I>>) {
                const element_or_void<I + 1>* after = nullptr;
                if constexpr (I + 1 < n) after = &boost::hana::at_c<I + 1>(p_.stages());
                wires.template output<edge_t<I>>(h.s->out, I, I == last_, next_element<group, I + 1, I + 1 == n>{this}, after, out_policy_);
            }
        });
        if constexpr (A > 0 && A < n) {
            if constexpr (!sink_element<element_t<A>>)
                if (group_journal* j = sup_.journal(g_)) keep_journal<A>(*j);
        }
        if constexpr (A == 0) {
            if (group_journal* j = sup_.journal(g_)) {
                ipc::producer_cursor* out = output_end();
                if (!out) throw std::logic_error("forkline: a replaceable source must write one ring");
                source_journal_.emplace(*j, *out);
                source_journal_->resume();
            }
        }
    }

    /// The ring end the group's last element writes, when it writes one ring.
    ipc::producer_cursor* output_end() {
        ipc::producer_cursor* out = nullptr;
        for_each_element([&]<std::size_t I>() {
            if constexpr (!sink_element<element_t<I>>)
                if (I == last_)
                    std::visit(
                        [&](auto& r) {
                            if constexpr (requires { r.end().written(); }) out = &r.end();
                        },
                        *slot<I>().out);
        });
        return out;
    }

    /// options::restarts: journals the group's two ring ends, and takes up where a dead
    /// predecessor stood (setting its poison item aside when the supervisor says so).
    template <std::size_t A>
    void keep_journal(group_journal& j) {
        ipc::consumer_cursor* in = nullptr;
        std::visit(
            [&](auto& c) {
                if constexpr (requires { c.end().done(); }) in = &c.end();
            },
            *input<A>());
        ipc::producer_cursor* out = output_end();
        if (!in || !out) throw std::logic_error("forkline: a replaceable process must read one ring and write one");
        const auto& plan = sup_.plan();
        if (plan.groups()[g_].checkpointed) {
            checkpoints_ = {plan.restarts().checkpoint_ms * std::uint64_t{1'000'000}, plan.restarts().checkpoint_items,
                            in_policy_.abort};
            journal_.emplace(j, *in, *out, &idle, this, &checkpoints_);
        } else {
            journal_.emplace(j, *in, *out, &idle, this);
        }
        in_policy_.before_sleep = &flush_and_release<A>;
        in_policy_.after_sleep = out_policy_.after_sleep = &woken;
        if (journal_->resume()) skip_input<A>();
    }

    /// A checkpointed process's loop ended in front of an item to set aside: it reads the item,
    /// drops it, and goes on (true), or its input ended (false).
    template <std::size_t A>
    bool set_aside() {
        if constexpr (sink_element<element_t<A>>) {
            return false;  // not journaled
        } else {
            if (!journal_ || !journal_->take_set_aside()) return false;
            skip_input<A>();
            return true;
        }
    }
    template <std::size_t A>
    void skip_input() {
        std::visit(
            [](auto& c, auto& o) {
                if constexpr (requires { c.skip_one(o); }) c.skip_one(o);
            },
            *input<A>(), *slot<A>().out);
        journal_->set_aside_done();
    }

    template <class Fn>
    static void for_each_element(Fn&& fn) {
        [&]<std::size_t... I>(std::index_sequence<I...>) { (fn.template operator()<I>(), ...); }(std::make_index_sequence<n>{});
    }

    /// Hands an item to element I of this process.
    template <std::size_t I>
    void push_to(edge_t<I - 1>&& x) {
        auto& s = slot<I>();
        if constexpr (sink_element<element_t<I>>)
            s.runner->push(std::move(x));
        else
            std::visit([&](auto& out) { s.runner->push(std::move(x), out); }, *s.out);
    }
    /// A batch from the element before, in this process (to_next).
    template <std::size_t I>
    void take(std::vector<edge_t<I - 1>>& items) {
        count_passed(I - 1, items.size());
        at(I);
        auto& s = slot<I>();
        auto each = [&](auto push) {
            for (auto&& x : items) {
                push(std::move(x));
                if (++since_nudge_ == nudge_every) [[unlikely]] {
                    since_nudge_ = 0;
                    nudge_last();
                }
            }
        };
        if constexpr (sink_element<element_t<I>>)
            each([&](edge_t<I - 1>&& x) { s.runner->push(std::move(x)); });
        else
            std::visit([&](auto& out) { each([&](edge_t<I - 1>&& x) { s.runner->push(std::move(x), out); }); }, *s.out);
        at(I - 1);
    }
    /// Element I's input ended: it finishes, and so does everything after it here.
    template <std::size_t I>
    void finish_from() {
        at(I);
        if constexpr (!sink_element<element_t<I>>) {
            std::visit(
                [&](auto& out) {
                    if constexpr (I > 0) slot<I>().runner->finish(out);
                    out.close();
                },
                *slot<I>().out);
        }
    }

    /// Before the group sleeps on its input: every element hands on what it holds, in order
    /// (ipc::wait_policy's hook).
    static void flush_group(void* self) {
        auto* g = static_cast<group*>(self);
        for_each_element([&]<std::size_t I>() {
            if constexpr (!sink_element<element_t<I>>)
                if (I >= g->first_ && I <= g->last_) std::visit([](auto& out) { out.flush(); }, *g->template slot<I>().out);
        });
    }
    /// Before the group sleeps on its output: it hands back the room of what it read.
    /// A journaled group's elements hold no item (none of its fused batches has any).
    static bool idle(void* self) noexcept {
        auto* g = static_cast<group*>(self);
        bool empty = true;
        for_each_element([&]<std::size_t I>() {
            if constexpr (!sink_element<element_t<I>>)
                if (I >= g->first_ && I < g->last_)
                    std::visit(
                        [&](auto& out) {
                            if constexpr (is_to_next<std::remove_cvref_t<decltype(out)>>) empty = empty && out.empty();
                        },
                        *g->template slot<I>().out);
        });
        return empty;
    }
    /// A journaled group about to sleep on its input: everything goes on, then it journals (it is
    /// idle now) and hands the room of what it read back.
    template <std::size_t A>
    static void flush_and_release(void* self) {
        auto* g = static_cast<group*>(self);
        flush_group(self);
        std::visit([](auto& in) { in.release(); }, *g->template input<A>());
        g->journal_->waiting(true);
    }
    /// A journaled group is inside an item then: it hands back only what it journaled.
    template <std::size_t A>
    static void release_input(void* self) {
        auto* g = static_cast<group*>(self);
        if (g->journal_) g->journal_->hold(true);
        std::visit([](auto& in) { in.release(); }, *g->template input<A>());
        if (g->journal_) {
            g->journal_->hold(false);
            g->journal_->waiting(true);
        }
    }
    /// A journaled group's wait ended (see journaled_ends::waiting).
    static void woken(void* self) noexcept { static_cast<group*>(self)->journal_->waiting(false); }

    static constexpr std::uint32_t nudge_every = 16;

    pipeline<Es...>& p_;
    supervisor& sup_;
    std::size_t g_, first_ = 0, last_ = 0;
    group_record* record_;             ///< the group's record of its times, in the region
    std::atomic<std::uint32_t>* now_;  ///< ...and of its running element
    std::atomic<std::uint64_t>* passed_;  ///< per stage, the items handed on in this process
    ipc::wait_policy in_policy_, out_policy_;
    checkpoint_policy checkpoints_;          ///< ...and a checkpointed one's settings
    std::optional<journaled_ends> journal_;  ///< options::restarts: a replaceable group's
    std::optional<journaled_source> source_journal_;  ///< ...or a replaceable source's
    typename holders<slot_holder, std::make_index_sequence<n>>::type slots_;
    typename holders<input_at, std::make_index_sequence<caller_stage>>::type inputs_;
    std::deque<last_t> stream_;
    std::uint32_t since_nudge_ = 0;  ///< items fused elements took since the last nudge
    bool set_up_ = false, ended_ = false;
    no_hooks none_;
};

}  // namespace forkline::detail
