// Which router sends each element's items on and which collector gathers its input, read once
// from the plan when a process group is set up, with the ring edges the supervisor laid out.
// The choices an element can meet are known from the element types (a farm's dispatcher only in
// front of a farm, a numbered collector only in an ordered farm), so each element's router and
// collector is a std::variant of just those, visited once per loop, not once per item.
#pragma once

#include <forkline/dsl/detail/element.hpp>
#include <forkline/run/detail/ring_channel.hpp>
#include <forkline/run/detail/route/from_any_replica.hpp>
#include <forkline/run/detail/route/from_in_order.hpp>
#include <forkline/run/detail/route/from_numbered.hpp>
#include <forkline/run/detail/route/from_one.hpp>
#include <forkline/run/detail/route/to_free_replica.hpp>
#include <forkline/run/detail/route/to_keyed_replica.hpp>
#include <forkline/run/detail/route/to_next.hpp>
#include <forkline/run/detail/route/to_one.hpp>
#include <forkline/run/detail/route/to_tagged.hpp>
#include <forkline/run/detail/supervisor.hpp>

#include <stdexcept>
#include <variant>

namespace forkline::detail {

/// std::variant<Ts..., T> when Add, else V.
template <class V, bool Add, class T>
struct variant_add {
    using type = V;
};
template <class... Ts, class T>
struct variant_add<std::variant<Ts...>, true, T> {
    using type = std::variant<Ts..., T>;
};

template <class E>
constexpr bool partition_element() {
    if constexpr (spreads<E>)
        return E::partitioned;
    else
        return false;
}

/// The routers the output (items of type T) of element Self may take, with After the element
/// after it (void when the caller reads a stream) and Next what to_next hands batches to.
template <class T, class Next, class Self, class After>
struct routes {
    static constexpr bool to_farm = spreads<After> && !partition_element<After>();
    using plain = std::variant<to_one<ring_sender<T>>, to_next<T, Next>>;
    using with_farm = typename variant_add<plain, to_farm, to_free_replica<T, ring_sender<T>, false>>::type;
    // The planner may drop a farm's order (when what follows does not need it): both, then.
    using with_order = typename variant_add<with_farm, to_farm && ordered_spread<After>(),
                                            to_free_replica<T, ring_sender<sequenced<T>>, true>>::type;
    using with_partition =
        typename variant_add<with_order, partition_element<After>(), to_keyed_replica<ring_sender<T>, After>>::type;
    using type = typename variant_add<with_partition, ordered_spread<Self>(),
                                      to_tagged<T, ring_sender<sequenced<T>>>>::type;
};

/// The collectors the input (items of type T) of element Self may take, with Before the element
/// before it.
template <class T, class Before, class Self>
struct collectors {
    using plain = std::variant<from_one<ring_receiver<T>>, from_any_replica<ring_receiver<T>>>;
    using with_order =
        typename variant_add<plain, ordered_spread<Before>(), from_in_order<T, ring_receiver<sequenced<T>>>>::type;
    using type =
        typename variant_add<with_order, ordered_spread<Self>(), from_numbered<T, ring_receiver<sequenced<T>>>>::type;
};

/// What group g's elements are wired to. A choice the element types rule out cannot come from
/// the plan; if it did, it is a logic_error rather than a wrong run.
class wiring {
public:
    wiring(supervisor& sup, std::size_t group) : sup_(sup), plan_(sup.plan()), g_(group) {}

    /// Element i's router: to_next when the element after it runs here too (`last` false).
    template <class T, class Route, class Next, class After>
    void output(std::optional<Route>& out, std::size_t i, bool last, Next next, const After* after,
                const ipc::wait_policy& policy) const {
        if (!last) {
            emplace<to_next<T, Next>>(out, next);
            return;
        }
        auto rings = plan_.rings_from(g_);
        const auto& self = plan_.stages()[i];
        const auto& next_stage = plan_.stages()[i + 1];
        if (next_stage.spread == spread_kind::partition) {
            if constexpr (partition_element<After>())
                emplace<to_keyed_replica<ring_sender<T>, After>>(
                    out, ends<ring_sender<T>>(rings, true, policy), *after);
            else
                impossible("a partition");
        } else if (next_stage.spread == spread_kind::farm) {
            if constexpr (spreads<After> && !partition_element<After>()) {
                const auto* active = next_stage.active ? &sup_.active(i + 1) : nullptr;
                using numbered = alternative<Route, to_free_replica<T, ring_sender<sequenced<T>>, true>>;
                if (!next_stage.ordered)
                    emplace<to_free_replica<T, ring_sender<T>, false>>(out, ends<ring_sender<T>>(rings, true, policy),
                                                                       active);
                else if constexpr (!std::is_void_v<numbered>)
                    emplace<numbered>(out, ends<ring_sender<sequenced<T>>>(rings, true, policy), active);
                else
                    impossible("an ordered farm");
            } else {
                impossible("a farm");
            }
        } else if (self.spread == spread_kind::farm && self.ordered) {
            using tagged = alternative<Route, to_tagged<T, ring_sender<sequenced<T>>>>;
            if constexpr (!std::is_void_v<tagged>)
                emplace<tagged>(out, &sup_.record(g_).markers, std::in_place, sup_.ring(rings.front()),
                                sup_.ring_data(rings.front()), policy);
            else
                impossible("an ordered farm's replica");
        } else {
            emplace<to_one<ring_sender<T>>>(out, std::in_place, sup_.ring(rings.front()),
                                                         sup_.ring_data(rings.front()), policy);
        }
    }

    /// The collector of element a, the group's first.
    template <class T, class Collect>
    void input(std::optional<Collect>& in, std::size_t a, const ipc::wait_policy& policy) const {
        auto rings = plan_.rings_to(g_);
        const auto& stages = plan_.stages();
        // From the replicas of the element before (a farm, or a combiner in its replicas).
        if (stages[a - 1].spread != spread_kind::none || plan_.groups_of(a - 1).size() > 1) {
            if (stages[a - 1].ordered) {
                using ordered = alternative<Collect, from_in_order<T, ring_receiver<sequenced<T>>>>;
                if constexpr (!std::is_void_v<ordered>)
                    emplace<ordered>(in, ends<ring_receiver<sequenced<T>>>(rings, false, policy));
                else
                    impossible("an ordered farm's collector");
            } else {
                emplace<from_any_replica<ring_receiver<T>>>(in, ends<ring_receiver<T>>(rings, false, policy));
            }
        } else if (a < stages.size() && plan_.groups()[g_].replica >= 0 && stages[a].ordered) {
            using numbered = alternative<Collect, from_numbered<T, ring_receiver<sequenced<T>>>>;
            if constexpr (!std::is_void_v<numbered>)
                emplace<numbered>(in, std::in_place, sup_.ring(rings.front()), sup_.ring_data(rings.front()), policy);
            else
                impossible("an ordered farm's replica");
        } else {
            emplace<from_one<ring_receiver<T>>>(in, std::in_place, sup_.ring(rings.front()),
                                                sup_.ring_data(rings.front()), policy);
        }
    }

private:
    /// A if V holds it, else void.
    template <class V, class A>
    struct find;
    template <class... Ts, class A>
    struct find<std::variant<Ts...>, A> {
        using type = std::conditional_t<(std::is_same_v<Ts, A> || ...), A, void>;
    };
    template <class V, class A>
    using alternative = typename find<V, A>::type;

    template <class A, class V, class... Args>
    static void emplace(std::optional<V>& slot, Args&&... args) {
        slot.emplace(std::in_place_type<A>, std::forward<Args>(args)...);
    }

    /// The ends of several rings, and the waiter the supervisor pointed their other sides at.
    template <class End>
    end_set<End> ends(const std::vector<std::size_t>& rings, bool sending, const ipc::wait_policy& policy) const {
        ipc::ring_control& first = sup_.ring(rings.front());
        end_set<End> set(sending ? *first.writable : *first.readable, policy);
        for (std::size_t r : rings) set.add(sup_.ring(r), sup_.ring_data(r), policy);
        return set;
    }

    [[noreturn]] static void impossible(const char* what) {
        throw std::logic_error(std::string("forkline: the plan wires ") + what +
                               " where the pipeline's element types have none");
    }

    supervisor& sup_;
    const pipeline_plan& plan_;
    std::size_t g_;
};

}  // namespace forkline::detail
