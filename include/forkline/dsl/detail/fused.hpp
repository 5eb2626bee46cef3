// Several elements run back to back in one process: each element's runner pushes straight into
// the next one's, so a fused chain costs function calls, not ring hops. Used for the stages a
// farm replicates and those a split's readers run; a chain that ends with a sink pushes the
// sink's result when it finishes. Between the elements of a process group the runtime uses
// to_next instead (run/detail/route/to_next.hpp); both are routers.
#pragma once

#include <forkline/dsl/detail/element.hpp>

#include <tuple>
#include <utility>

namespace forkline::detail {

/// The item type after running Es... on In (a trailing sink yields its result type).
template <class In, class... Es>
using fused_output = typename walk<fused_types, In, Es...>::type;

template <class In, class... Es>
class fused;

template <class In>
class fused<In> {
public:
    fused() = default;
    template <class Out>
    void push(In&& x, Out& out) {
        out.push(std::move(x));
    }
    template <class Out>
    void finish(Out&) {}
};

/// A trailing sink: its result is the chain's one output, sent when the input ends.
template <class In, class E>
    requires sink_element<E>
class fused<In, E> {
public:
    explicit fused(E& e) : r_(e.template make_runner<In>()) {}
    template <class Out>
    void push(In&& x, Out&) {
        r_.push(std::move(x));
    }
    template <class Out>
    void finish(Out& out) {
        out.push(r_.finish());
    }

private:
    decltype(std::declval<E&>().template make_runner<In>()) r_;
};

template <class In, class E, class... Es>
class fused<In, E, Es...> {
    using mid = typename E::template output<In>;

    /// What E's runner pushes into: the rest of the chain, as a router (protocol.hpp) whose
    /// items go straight on, one call each; it holds nothing, so it has nothing to nudge or flush.
    template <class Out>
    struct link {
        fused* self;
        Out* out;
        template <class U>
        void push(U&& y) {
            self->rest_.push(mid(std::forward<U>(y)), *out);
        }
        void nudge() noexcept {}
        void flush() noexcept {}
        void close() { self->rest_.finish(*out); }
    };
    static_assert(router<link<out_archetype>, mid>);

public:
    template <class... Rest>
    explicit fused(E& e, Rest&... rest) : head_(e.template make_runner<In>()), rest_(rest...) {}

    template <class Out>
    void push(In&& x, Out& out) {
        link<Out> l{this, &out};
        head_.push(std::move(x), l);
    }
    template <class Out>
    void finish(Out& out) {
        link<Out> l{this, &out};
        head_.finish(l);
        l.close();
    }

private:
    decltype(std::declval<E&>().template make_runner<In>()) head_;
    fused<mid, Es...> rest_;
};

/// A fused chain over the elements of a hana tuple, all of them.
template <class In, class... Es>
auto make_fused(boost::hana::tuple<Es...>& elems) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return fused<In, Es...>(boost::hana::at_c<I>(elems)...);
    }(std::index_sequence_for<Es...>{});
}

}  // namespace forkline::detail
