// fl::queue's shared half: a byte ring whose producer side and consumer side each have a robust
// lock; the lock holder of a side takes up the ring's indices, moves one record, and publishes.
// Waiting for room or items sleeps on futex words that the other side bumps. A record that
// streams keeps both sides' holders at work at once; when either dies partway, the other side
// (or whoever takes its lock over) drops what it left of the record.
#include <forkline/ipc/region.hpp>
#include <forkline/ipc/ring.hpp>
#include <forkline/mp/queue.hpp>

#include "deadline.hpp"
#include "robust.hpp"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <climits>
#include <new>
#include <system_error>

namespace forkline::detail {

namespace {

/// A futex word that sleepers wait on for a change, the count of them, and the word's value they
/// went to sleep on. The other side makes a system call only when someone sleeps, and only once
/// per sleep: the first wake after sleepers settled on a value bumps the word and wakes them all;
/// the wakes after it, while they are getting up, see the word moved on and return at once.
struct alignas(64) signal_word {
    std::atomic<std::uint32_t> seq{0};
    std::atomic<std::uint32_t> sleepers{0};
    std::atomic<std::uint32_t> slept_on{0};

    /// Sleeps until the word changes or `d` passes, unless `ready()` holds once announced.
    template <class Ready>
    void sleep(const deadline& d, Ready&& ready) {
        std::uint32_t s = seq.load(std::memory_order_acquire);
        slept_on.store(s, std::memory_order_relaxed);
        sleepers.fetch_add(1, std::memory_order_seq_cst);
        std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with wake's fence
        // At most 200 ms: a waker that died between its change and its wake-up strands nobody.
        const int ms = d.ms_left();
        if (!ready()) ipc::futex_wait(seq, s, ms < 0 ? 200 : std::min(ms, 200));
        sleepers.fetch_sub(1, std::memory_order_relaxed);
    }
    void wake() {
        std::atomic_thread_fence(std::memory_order_seq_cst);
        // acquire: a sleeper's count comes with the value it slept on
        if (sleepers.load(std::memory_order_acquire) == 0) [[likely]]
            return;
        std::uint32_t s = seq.load(std::memory_order_relaxed);
        if (s != slept_on.load(std::memory_order_relaxed)) return;  // woken already, not up yet
        if (seq.compare_exchange_strong(s, s + 1, std::memory_order_release)) ipc::futex_wake(seq, INT_MAX);
    }
};

/// The record that streams now, if any: `at` is its header's index in the ring, `end` the index
/// past its padding. Its writer sets them (under put_lock) before the header is visible; its
/// reader clears `at` once done with the record, and only then may another one stream, so that
/// whoever takes a side's lock over from a holder that died inside the record knows it is there.
/// `cut`, for the record at `at`: where its writer stopped for good, having died partway. Only the
/// next writer clears it (under put_lock), so that two who take put_lock over in turn do not both
/// cut the record and give its joinable count back twice.
struct stream_state {
    static constexpr std::uint64_t none = ~std::uint64_t{0};
    std::atomic<std::uint64_t> at{none};
    std::atomic<std::uint64_t> end{0};
    std::atomic<std::uint64_t> cut{none};
};

/// The part in shared memory, at the start of the region; the ring's bytes follow. What each side
/// writes on every item has cache lines of its own, so a producer and a consumer on two cores
/// take lines from each other no more than the ring itself needs.
struct control {
    alignas(64) pid_lock put_lock;
    ipc::cursor_position put_at;  ///< where the producers' cursor stands, under put_lock
    std::uint64_t gets_seen = 0;  ///< `gets` as last read by a producer (for maxsize), under put_lock
    alignas(64) pid_lock get_lock;
    ipc::cursor_position get_at;  ///< where the consumers' cursor stands, under get_lock
    alignas(64) std::atomic<std::uint64_t> puts{0};  ///< items written; by the put_lock holder
    alignas(64) std::atomic<std::uint64_t> gets{0};  ///< items read; by the get_lock holder
    alignas(64) std::atomic<std::uint32_t> closed{0};
    std::uint64_t maxsize;
    bool joinable;
    alignas(64) std::atomic<std::uint64_t> unfinished{0};  ///< joinable: put and not task_done
    std::atomic<std::uint32_t> done_seq{0};                ///< bumped when unfinished reaches 0
    signal_word items, room;
    alignas(64) stream_state stream;
    ipc::ring_control ring;

    control(std::uint64_t maxsize, bool joinable, std::uint64_t bytes)
        : maxsize(maxsize), joinable(joinable), ring(bytes) {}

    std::uint64_t count() const noexcept {
        std::uint64_t g = gets.load(std::memory_order_acquire);
        std::uint64_t p = puts.load(std::memory_order_acquire);
        return p > g ? p - g : 0;
    }
};

/// Polls `ready` for a few microseconds (not for a call that must not wait): the other side is
/// often about to make progress, and a sleep and a wake-up cost two system calls. The polls thin
/// out, as each one takes the lines the other side is writing away from it.
template <class Ready>
bool spin_until(Ready&& ready, long long timeout_ns) {
    if (timeout_ns == 0) return ready();
    for (int i = 0; i < 64; ++i) {
        if (ready()) return true;
        for (int k = 0; k < std::min(1 << (i / 4), 32); ++k) ipc::cpu_relax();
    }
    return ready();
}

/// One unfinished item less (task_done, or a put that failed); wakes join() at zero. False when
/// none was unfinished.
bool finished_one(control& c) {
    std::uint64_t u = c.unfinished.load(std::memory_order_relaxed);
    do {
        if (u == 0) return false;
    } while (!c.unfinished.compare_exchange_weak(u, u - 1, std::memory_order_acq_rel, std::memory_order_relaxed));
    if (u == 1) {
        c.done_seq.fetch_add(1, std::memory_order_release);
        ipc::futex_wake(c.done_seq, INT_MAX);
    }
    return true;
}

/// Takes up a side's ring where its last lock holder left off; after one that died holding the
/// lock, where the ring's shared index says (what it had not published or released is lost with
/// it), saved at once so that the next holder starts there whatever this call comes to.
template <class Cursor>
void take_up(Cursor& cursor, ipc::cursor_position& at, bool owner_died) {
    if (owner_died) {
        cursor.resync();
        at = cursor.position();
    } else {
        cursor.restore(at);
    }
}

/// Thrown out of a getter's read of a streamed record that was cut: it is given up.
struct record_cut {};

void give_up_if_cut(const control& c) {
    if (c.stream.cut.load(std::memory_order_acquire) != stream_state::none) [[unlikely]]
        throw record_cut{};
}

/// The getters' watch on a streamed record (byte_consumer::watch_streams): the cut is published
/// before anything is written behind it, so a getter that sees more bytes sees the cut too.
void watch_cut(void* c) { give_up_if_cut(*static_cast<const control*>(c)); }

/// After a producer died holding put_lock: a record it left partly streamed is cut where the
/// ring's published head stands (its pieces end 8-aligned, so a record can start there), so that
/// getters drop it and producers go on behind it. Its put never completed, so it is not counted,
/// and its joinable count is given back. A record whose last byte is visible is an item like any
/// other.
void cut_orphan(control& c, std::uint64_t head) {
    auto& st = c.stream;
    const std::uint64_t at = st.at.load(std::memory_order_acquire);
    if (at == stream_state::none || st.cut.load(std::memory_order_relaxed) != stream_state::none ||
        head >= st.end.load(std::memory_order_relaxed))
        return;
    if (c.joinable) finished_one(c);
    if (head == at) {  // not even its header is visible: no getter knows of it
        st.at.store(stream_state::none, std::memory_order_release);
        return;
    }
    st.cut.store(head, std::memory_order_release);
    c.ring.readable->wake_all();  // a getter waiting for the rest
}

/// Drops a streamed record that was cut: the getters go on from where its writer stopped.
void skip_cut(control& c, ipc::byte_consumer& in) {
    const std::uint64_t to = c.stream.cut.load(std::memory_order_acquire);
    in.restore({to, to});
    in.release_only();
    c.stream.at.store(stream_state::none, std::memory_order_release);
    c.get_at = in.position();  // whatever this call comes to
    c.room.wake();
}

}  // namespace

struct queue_shared {
    ipc::shared_region region;
    control* c = nullptr;
    std::byte* data = nullptr;
    // For a record that streams, the writer waits for the reader on the ring, and the reader for
    // the writer, looking every 10 ms whether the writer died.
    ipc::wait_policy put_policy, get_policy;
    std::optional<ipc::byte_producer> producer;
    std::optional<ipc::byte_consumer> consumer;
};

namespace {

/// take_up for the producers' side: after a holder that died, what it left partly streamed is cut.
void take_up_put(queue_shared& s, bool owner_died) {
    take_up(*s.producer, s.c->put_at, owner_died);
    if (owner_died) [[unlikely]]
        cut_orphan(*s.c, s.producer->position().own);
}

/// A getter's wake-up while it waits for more of a streamed record: when the writer died and no
/// producer came to take put_lock over, nobody else would cut the record, so the getter takes the
/// lock over itself (only trying: it must not wait for a producer while it holds get_lock), and
/// gives the record up once it is cut.
void watch_writer(void* arg) {
    auto& s = *static_cast<queue_shared*>(arg);
    if (s.c->stream.cut.load(std::memory_order_acquire) == stream_state::none) {
        pid_guard lock(s.c->put_lock, deadline(0));
        if (lock.owner_died()) take_up_put(s, true);
    }
    give_up_if_cut(*s.c);
}

/// After a getter died holding get_lock in the middle of a streamed record: what it took went
/// with it, so the rest is dropped as it comes, and the item counts as got (and, in a joinable
/// queue, as done: nobody will call task_done for it). A record it had released nothing of is
/// read as usual.
void drop_orphan(queue_shared& s) {
    control& c = *s.c;
    auto& in = *s.consumer;
    const std::uint64_t at = c.stream.at.load(std::memory_order_acquire);
    if (at == stream_state::none || in.position().own == at) return;
    try {
        in.discard_to(c.stream.end.load(std::memory_order_relaxed));
    } catch (const record_cut&) {
        skip_cut(c, in);
        return;
    }
    in.release();
    c.stream.at.store(stream_state::none, std::memory_order_release);
    c.get_at = in.position();
    c.gets.store(c.gets.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    if (c.joinable) finished_one(c);
    c.room.wake();
}

}  // namespace

queue_core::queue_core(std::size_t maxsize, std::size_t ring_bytes, bool joinable)
    : s_(std::make_unique<queue_shared>()) {
    std::uint64_t bytes = std::bit_floor(std::max<std::uint64_t>(ring_bytes, 4096));
    std::size_t at = (sizeof(control) + 63) / 64 * 64;
    s_->region = ipc::shared_region(at + bytes);
    s_->c = new (s_->region.data()) control(maxsize, joinable, bytes);
    s_->data = s_->region.data() + at;
    s_->put_policy.spin = s_->get_policy.spin = 64;
    s_->get_policy.sleep_ms = 10;
    s_->get_policy.on_wake = watch_writer;
    s_->get_policy.on_wake_arg = s_.get();
    s_->producer.emplace(s_->c->ring, s_->data, s_->put_policy);
    s_->consumer.emplace(s_->c->ring, s_->data, s_->get_policy);
    s_->consumer->watch_streams(watch_cut, s_->c);
}

queue_core::queue_core(queue_core&&) noexcept = default;
queue_core& queue_core::operator=(queue_core&&) noexcept = default;
queue_core::~queue_core() = default;

queue_core::result queue_core::put(std::size_t n, fill_fn fill, void* ctx, long long timeout_ns) {
    control& c = *s_->c;
    auto& out = *s_->producer;
    deadline d(timeout_ns);
    pid_guard lock(c.put_lock, d);
    if (!lock.held()) return result::timeout;
    take_up_put(*s_, lock.owner_died());
    const std::uint64_t cap = c.ring.capacity;
    const bool streams = ipc::byte_record::header + ipc::byte_record::padded(n) > cap / 2;
    // Room for this item and `slack` more items (and bytes): a producer that found the queue full
    // waits for some slack while it spins, so that it and the consumers do not fight over the
    // same lines for every item; it sleeps on plain room.
    auto room_and = [&](std::uint64_t slack) {
        if (c.closed.load(std::memory_order_acquire)) return true;
        if (c.maxsize) {  // the consumers' count is read again only when the cached one says full
            const std::uint64_t used = c.puts.load(std::memory_order_relaxed) + std::min(slack, c.maxsize - 1);
            auto full = [&] { return c.gets_seen <= used && used - c.gets_seen >= c.maxsize; };
            if (full() && (c.gets_seen = c.gets.load(std::memory_order_acquire), full())) return false;
        }
        // A record that streams goes into an empty ring, where the reader can take it in pieces,
        // once the last one that streamed is done with.
        return streams ? c.ring.head.load() == c.ring.tail.load(std::memory_order_acquire) &&
                             c.stream.at.load(std::memory_order_acquire) == stream_state::none
                       : out.fits(n + (slack ? cap / 16 : 0));
    };
    auto room = [&] { return room_and(0); };
    if (!room() && !spin_until([&] { return room_and(c.maxsize / 8); }, timeout_ns))
        while (!room()) {
            if (d.passed() || timeout_ns == 0) return result::timeout;
            c.room.sleep(d, room);
        }
    if (c.closed.load(std::memory_order_acquire)) return result::closed;
    // Counted before the write, which may publish the record itself; taken back if fill throws
    // (or by whoever cuts the record, should this process die streaming it).
    if (c.joinable) c.unfinished.fetch_add(1, std::memory_order_relaxed);
    if (streams) {
        const std::uint64_t at = out.position().own;
        c.stream.end.store(at + ipc::byte_record::header + ipc::byte_record::padded(n), std::memory_order_relaxed);
        c.stream.cut.store(stream_state::none, std::memory_order_relaxed);
        c.stream.at.store(at, std::memory_order_release);
    }
    try {
        // A getter sleeping for items must come for a streamed record before it is complete.
        out.write(n, [&](std::byte* dst) { fill(ctx, dst); }, [](void* w) { static_cast<signal_word*>(w)->wake(); },
                  &c.items);
    } catch (...) {
        if (streams) c.stream.at.store(stream_state::none, std::memory_order_release);  // nothing was written
        if (c.joinable) finished_one(c);
        throw;
    }
    // Only the two ends of a streamed record wait on the ring itself; others wait on c.items.
    if (streams)
        out.flush();
    else
        out.publish_only();
    c.put_at = out.position();
    c.puts.store(c.puts.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    lock.unlock();
    c.items.wake();
    return result::done;
}

queue_core::result queue_core::get(use_fn use, void* ctx, long long timeout_ns) {
    control& c = *s_->c;
    auto& in = *s_->consumer;
    deadline d(timeout_ns);
    pid_guard lock(c.get_lock, d);
    if (!lock.held()) return result::timeout;
    take_up(in, c.get_at, lock.owner_died());
    if (lock.owner_died()) [[unlikely]]
        drop_orphan(*s_);
    auto ready = [&] { return in.try_fill(ipc::byte_record::header) || c.closed.load(std::memory_order_acquire); };
    for (;;) {  // again only after a streamed record that was cut
        if (!spin_until(ready, timeout_ns))
            while (!ready()) {
                if (d.passed() || timeout_ns == 0) return result::timeout;
                c.items.sleep(d, ready);
            }
        if (!in.try_fill(ipc::byte_record::header)) return result::closed;  // closed, and nothing left
        bool streamed = false;
        auto done = [&] {
            if (streamed) {  // its writer may wait on the ring for the last piece of room
                in.release();
                c.stream.at.store(stream_state::none, std::memory_order_release);
            } else {
                in.release_only();
            }
            c.get_at = in.position();
            c.gets.store(c.gets.load(std::memory_order_relaxed) + 1, std::memory_order_release);
            lock.unlock();
            c.room.wake();
        };
        bool reached = false;  // the record was there to decode (the error is the item's, not the ring's)
        try {
            in.read([&](const std::byte* p, std::size_t len) {
                streamed = ipc::byte_record::header + ipc::byte_record::padded(len) > c.ring.capacity / 2;
                reached = true;
                use(ctx, p, len);
            });
        } catch (const record_cut&) {
            skip_cut(c, in);
            continue;
        } catch (...) {
            if (reached) {
                // A record that does not decode is dropped, not read forever; read() stopped at its
                // start (a streamed one is past already).
                if (!streamed) in.read([](const std::byte*, std::size_t) {});
                done();
            }
            throw;
        }
        done();
        return result::done;
    }
}

void queue_core::close() noexcept {
    control& c = *s_->c;
    c.closed.store(1, std::memory_order_seq_cst);
    c.ring.wake_all();
    c.items.wake();
    c.room.wake();
}

bool queue_core::closed() const noexcept { return s_->c->closed.load(std::memory_order_acquire) != 0; }

std::size_t queue_core::size_approx() const noexcept {
    return static_cast<std::size_t>(s_->c->count());
}

std::size_t queue_core::maxsize() const noexcept { return static_cast<std::size_t>(s_->c->maxsize); }

void queue_core::task_done() {
    if (!finished_one(*s_->c))
        throw std::logic_error("forkline::joinable_queue::task_done: called more times than items were put");
}

bool queue_core::join(long long timeout_ns) {
    control& c = *s_->c;
    deadline d(timeout_ns);
    for (;;) {
        std::uint32_t s = c.done_seq.load(std::memory_order_acquire);
        if (c.unfinished.load(std::memory_order_acquire) == 0) return true;
        if (d.passed()) return false;
        ipc::futex_wait(c.done_seq, s, d.ms_left());
    }
}

}  // namespace forkline::detail
