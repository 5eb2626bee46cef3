// Where a process's items come from and go to. An out_port sends one element's output to the
// next element in the same process (fused), to one ring, to a farm's replicas (whichever has
// room, numbered when order is kept), or to a partition's replicas (by key). An in_port reads an
// element's input from one ring, or collects it from a farm's replicas (in input order, or as it
// comes). Both carry the waiting hooks that keep two sleeping processes from waiting on each other.
#pragma once

#include <forkline/run/detail/channel.hpp>
#include <forkline/run/detail/supervisor.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace forkline::detail {

/// An item of an ordered farm's edge: its input's sequence number, whether it is the last item
/// made from that input, and the item (none when the input made nothing).
template <class T>
struct sequenced {
    std::uint64_t tag;  // seq << 1 | last
    std::optional<T> value;
};

template <class T>
class out_port {
public:
    enum class mode { ring, local, dispatch, partition, tagged };
    using item_ring = channel_writer<T>;
    using seq_ring = channel_writer<sequenced<T>>;

    out_port() = default;
    out_port(const out_port&) = delete;
    out_port& operator=(const out_port&) = delete;

    /// Sends to the element after this one, in the same process, a small batch at a time (one
    /// indirect call per batch, and the next element's loop over it is compiled for its type).
    void to_local(void (*batch)(void*, std::vector<T>&), void (*finish)(void*), void* next) {
        mode_ = mode::local;
        local_batch_ = batch;
        local_finish_ = finish;
        local_ = next;
        local_buf_.reserve(local_batch);
    }
    /// Sends to rings: one (mode ring), a farm's (dispatch; numbered when `numbered`), a
    /// partition's (routed by `route`), or a numbered ring out of an ordered farm's replica (tagged).
    /// `rings` are ring indices; when there are several, the supervisor pointed them at one waiter.
    void to_rings(mode m, supervisor& sup, const std::vector<std::size_t>& rings, const ipc::wait_policy& policy,
                  bool numbered,
                  std::size_t (*route)(const void*, const T&, std::size_t) = nullptr, const void* router = nullptr) {
        mode_ = m;
        numbered_ = numbered;
        route_ = route;
        router_ = router;
        // The waiter the rings' consumers wake: shared by several rings, or the one ring's own.
        fan_ = sup.ring(rings.front()).writable;
        policy_ = &policy;
        for (std::size_t r : rings) {
            if (numbered)
                seq_.emplace_back(sup.ring(r), sup.ring_data(r), policy);
            else
                plain_.emplace_back(sup.ring(r), sup.ring_data(r), policy);
        }
        for (auto& w : plain_) lanes_.push_back(&w);
        if (m == mode::ring) single_ = &plain_.front();
    }
    mode kind() const noexcept { return mode_; }
    /// Mode dispatch: feeds only as many replicas as `count` says, which may change as it runs.
    void feed_only(const std::atomic<std::uint32_t>* count) noexcept { active_ = count; }
    /// The single ring's writer (mode ring), for sources that fill slots in bulk.
    item_ring& ring() noexcept { return *single_; }

    FORKLINE_HOT void push(const T& v) {
        if (mode_ == mode::ring) [[likely]]
            single_->push(v);
        else if (mode_ == mode::local)
            push_local(T(v));
        else
            push_spread(v);
    }
    FORKLINE_HOT void push(T&& v) {
        if (mode_ == mode::ring) [[likely]]
            single_->push(v);
        else if (mode_ == mode::local)
            push_local(std::move(v));
        else
            push_spread(std::move(v));
    }

    /// For a replica of an ordered farm: the number of the input whose output follows.
    void begin_item(std::uint64_t seq) noexcept { seq_now_ = seq; }
    /// ...and the end of that input's output: the held item goes out marked last (or a marker).
    void end_item() {
        if (held_) {
            seq_.front().push(sequenced<T>{seq_now_ << 1 | 1, std::move(held_)});
            held_.reset();
        } else {
            seq_.front().push(sequenced<T>{seq_now_ << 1 | 1, std::nullopt});
        }
    }

    /// Publishes what an idle consumer waits for (between input items).
    FORKLINE_HOT void nudge() noexcept {
        if (single_) [[likely]] {
            single_->nudge();
            return;
        }
        for (auto& w : plain_) w.nudge();
        for (auto& w : seq_) w.nudge();
    }
    /// Makes everything written visible (before this process sleeps on something else); a local
    /// batch is handed on (so the next element runs, and may throw).
    void flush() {
        if (mode_ == mode::local) flush_local();
        for (auto& w : plain_) w.flush();
        for (auto& w : seq_) w.flush();
    }
    /// The end of this element's output.
    void close() {
        if (mode_ == mode::local) {
            flush_local();
            local_finish_(local_);
            return;
        }
        for (auto& w : plain_) w.close();
        for (auto& w : seq_) w.close();
    }

private:
    FORKLINE_HOT void push_local(T&& v) {
        local_buf_.push_back(std::move(v));
        if (local_buf_.size() >= local_batch) [[unlikely]]
            flush_local();
    }
    void flush_local() {
        if (local_buf_.empty()) return;
        local_batch_(local_, local_buf_);
        local_buf_.clear();
    }
    template <class U>
    void push_spread(U&& v) {
        switch (mode_) {
            case mode::partition: lanes_[route_(router_, v, lanes_.size())]->push(v); return;
            case mode::tagged:
                if (held_) seq_.front().push(sequenced<T>{seq_now_ << 1, std::move(held_)});
                held_.emplace(std::forward<U>(v));
                return;
            default: dispatch(std::forward<U>(v));
        }
    }

    /// On demand: keep feeding the current replica for a few items, then move to the next one
    /// that has room; wait only when none has.
    template <class U>
    void dispatch(U&& v) {
        std::size_t n = numbered_ ? seq_.size() : plain_.size();
        if (active_) {  // options::adaptive: only the first replicas are fed
            n = std::min<std::size_t>(n, std::max<std::uint32_t>(1, active_->load(std::memory_order_relaxed)));
            if (cur_ >= n) cur_ = 0, left_ = 0;
        }
        if (left_ == 0 || !has_room(cur_)) {
            std::size_t pick = n;
            for (std::size_t k = 1; k <= n && pick == n; ++k)
                if (has_room((cur_ + k) % n)) pick = (cur_ + k) % n;
            if (pick == n) {
                flush();
                fan_->wait(
                    [&] {
                        for (std::size_t k = 0; k < n; ++k)
                            if (has_room(k)) return true;
                        return false;
                    },
                    *policy_);
                for (std::size_t k = 1; k <= n && pick == n; ++k)
                    if (has_room((cur_ + k) % n)) pick = (cur_ + k) % n;
                if (pick == n) pick = (cur_ + 1) % n;
            }
            cur_ = pick;
            left_ = chunk;
        }
        --left_;
        if (numbered_)
            seq_[cur_].push(sequenced<T>{next_seq_++ << 1, std::forward<U>(v)});
        else
            lanes_[cur_]->push(v);
    }
    bool has_room(std::size_t k) noexcept { return numbered_ ? seq_[k].has_room() : lanes_[k]->has_room(); }

    static constexpr std::size_t chunk = 16;
    static constexpr std::size_t local_batch = 64;
    mode mode_ = mode::ring;
    std::deque<item_ring> plain_;
    std::vector<item_ring*> lanes_;  ///< plain_'s writers, indexed without the deque's arithmetic
    item_ring* single_ = nullptr;    ///< mode ring: the one writer, without the deque in the way
    std::deque<seq_ring> seq_;
    bool numbered_ = false;
    const std::atomic<std::uint32_t>* active_ = nullptr;  ///< how many replicas to feed (adaptive)
    ipc::waiter* fan_ = nullptr;
    const ipc::wait_policy* policy_ = nullptr;
    std::size_t cur_ = 0, left_ = 0;
    std::uint64_t next_seq_ = 0, seq_now_ = 0;
    std::optional<T> held_;
    std::size_t (*route_)(const void*, const T&, std::size_t) = nullptr;
    const void* router_ = nullptr;
    void (*local_batch_)(void*, std::vector<T>&) = nullptr;
    std::vector<T> local_buf_;
    void (*local_finish_)(void*) = nullptr;
    void* local_ = nullptr;
};

template <class T>
class in_port {
public:
    enum class mode { ring, collect, collect_ordered, tagged };

    in_port() = default;
    in_port(const in_port&) = delete;
    in_port& operator=(const in_port&) = delete;

    void from_rings(mode m, supervisor& sup, const std::vector<std::size_t>& rings, const ipc::wait_policy& policy) {
        mode_ = m;
        fan_ = sup.ring(rings.front()).readable;  // shared by several rings, or the one ring's own
        policy_ = &policy;
        for (std::size_t r : rings) {
            if (m == mode::collect_ordered || m == mode::tagged)
                seq_.emplace_back(sup.ring(r), sup.ring_data(r), policy);
            else
                plain_.emplace_back(sup.ring(r), sup.ring_data(r), policy);
        }
        heads_.resize(seq_.size());
    }
    mode kind() const noexcept { return mode_; }

    /// Hands back the space of what was read (before this process sleeps on something else).
    void release() noexcept {
        for (auto& r : plain_) r.release();
        for (auto& r : seq_) r.release();
    }

    /// Calls f(T&&) for every item until the input ends. For a replica of an ordered farm, `out`
    /// learns each input's number before f and its end after.
    template <class F, class Out>
    void drain(F&& f, Out& out) {
        switch (mode_) {
            case mode::ring: plain_.front().drain(f); return;
            case mode::tagged:
                while (seq_.front().next([&](sequenced<T>&& s) {
                    out.begin_item(s.tag >> 1);
                    f(std::move(*s.value));
                    out.end_item();
                })) {
                }
                return;
            case mode::collect:
                // From one replica (a farm or partition of one): nothing to interleave.
                if (plain_.size() == 1) {
                    plain_.front().drain(f);
                    return;
                }
                [[fallthrough]];
            default:
                while (next(f)) {
                }
        }
    }

    /// Calls f(T&&) for the next item; false at the end of the input.
    template <class F>
    bool next(F&& f) {
        switch (mode_) {
            case mode::ring: return plain_.front().next(f);
            case mode::collect: return next_any(f);
            case mode::collect_ordered: return next_in_order(f);
            case mode::tagged: return seq_.front().next([&](sequenced<T>&& s) { f(std::move(*s.value)); });
        }
        return false;
    }

private:
    /// Any replica's next item: a few from each in turn, waiting only when all are empty.
    template <class F>
    bool next_any(F&& f) {
        const std::size_t n = plain_.size();
        for (;;) {
            for (std::size_t k = 0; k < n; ++k) {
                std::size_t r = (cur_ + k) % n;
                if (plain_[r].try_fill(1)) {
                    cur_ = r;
                    if (plain_[r].next(f)) return true;
                }
            }
            bool all_done = true;
            for (auto& r : plain_) all_done = all_done && r.finished();
            if (all_done) return false;
            release();
            fan_->wait(
                [&] {
                    bool done = true;
                    for (auto& r : plain_) {
                        if (r.try_fill(1)) return true;
                        done = done && r.finished();
                    }
                    return done;
                },
                *policy_);
        }
    }

    /// The next item in input order: replicas number their output by input, so the one holding
    /// the number we wait for is found by looking at each replica's next item.
    template <class F>
    bool next_in_order(F&& f) {
        const std::size_t n = seq_.size();
        for (;;) {
            bool progress = false, all_done = true, pending = false;
            for (std::size_t k = 0; k < n; ++k) {
                std::size_t r = (cur_ + k) % n;
                fetch_head(r);
                while (heads_[r] && (heads_[r]->tag >> 1) == expected_) {
                    sequenced<T> s = std::move(*heads_[r]);
                    heads_[r].reset();
                    if (s.tag & 1) ++expected_;
                    progress = true;
                    cur_ = r;
                    if (s.value) {
                        f(std::move(*s.value));
                        return true;
                    }
                    fetch_head(r);
                }
                bool finished = seq_[r].finished();
                all_done = all_done && !heads_[r] && finished;
                pending = pending || !finished;
            }
            if (progress) continue;
            if (all_done) return false;
            if (!pending)  // every replica is done, and none holds the number we wait for
                throw std::logic_error("forkline: an ordered farm lost item " + std::to_string(expected_));
            release();
            fan_->wait(
                [&] {
                    bool done = true;
                    for (std::size_t r = 0; r < n; ++r) {
                        if (!heads_[r] && seq_[r].try_fill(1)) return true;
                        done = done && seq_[r].finished();
                    }
                    return done;
                },
                *policy_);
        }
    }
    void fetch_head(std::size_t r) {
        if (!heads_[r] && seq_[r].try_fill(1))
            seq_[r].next([&](sequenced<T>&& s) { heads_[r].emplace(std::move(s)); });
    }

    mode mode_ = mode::ring;
    std::deque<channel_reader<T>> plain_;
    std::deque<channel_reader<sequenced<T>>> seq_;
    std::vector<std::optional<sequenced<T>>> heads_;
    ipc::waiter* fan_ = nullptr;
    const ipc::wait_policy* policy_ = nullptr;
    std::size_t cur_ = 0;
    std::uint64_t expected_ = 0;
};

}  // namespace forkline::detail
