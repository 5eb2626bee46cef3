// Single-producer single-consumer rings in shared memory: the edges between pipeline processes.
// ring_control is the shared part (indices on their own cache lines, one waiter per side); the
// producer and consumer objects hold each side's private cursor and a cached copy of the other
// side's index, and publish in batches. slot_* carry trivially copyable items in fixed slots;
// byte_* carry length-prefixed records of any size (records larger than half the ring stream
// through it in pieces).
#pragma once

#include <forkline/core/config.hpp>
#include <forkline/ipc/waiter.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace forkline::ipc {

/// The shared half of a ring; placement-constructed in a shared region before the fork.
struct ring_control {
    alignas(64) std::atomic<std::uint64_t> head{0};  ///< written by the producer
    std::atomic<std::uint32_t> closed{0};            ///< set once by the producer at end of stream
    /// Records written (byte rings), as far as head was published: a pipeline's live counts. A
    /// ring whose side is shared by several processes (fl::queue) does not keep it.
    std::atomic<std::uint64_t> records_written{0};
    alignas(64) std::atomic<std::uint64_t> tail{0};  ///< written by the consumer
    std::atomic<std::uint64_t> records_read{0};      ///< records read, as far as tail was released
    /// The tail the producer waits for, once it has had to (a checkpointed consumer hands room
    /// back only at checkpoints, and makes one when the producer waits for it).
    std::atomic<std::uint64_t> wanted{0};
    waiter own_readable;                             ///< the consumer sleeps here...
    waiter own_writable;                             ///< ...and the producer here,
    waiter* readable = &own_readable;                ///< unless it serves several rings at once
    waiter* writable = &own_writable;                ///< (a farm's dispatcher or collector)
    std::uint64_t capacity = 0;                      ///< slots or bytes; a power of two

    explicit ring_control(std::uint64_t cap) : capacity(cap) {}

    /// The share of the capacity in use, as the two sides last published it.
    double fill() const noexcept {
        return static_cast<double>(head.load(std::memory_order_relaxed) - tail.load(std::memory_order_relaxed)) /
               static_cast<double>(capacity);
    }
    /// Wakes both sides, whatever they wait for (abort, teardown).
    void wake_all() noexcept {
        readable->wake_all();
        writable->wake_all();
    }
};


/// Where a side's cursor stands: its own index and its cached copy of the other side's. A side
/// shared by several processes under a lock keeps one in shared memory, so each holder takes up
/// where the last left off without reading the other side's index (see resync for the fallback).
struct cursor_position {
    std::uint64_t own = 0, other = 0;
};

/// A ring position and the records before it (a byte ring's record count; for a slot ring the
/// two are the same).
struct ring_mark {
    std::uint64_t pos = 0, records = 0;
};

/// What a process that can be replaced after a crash keeps, so its replacement resumes where it
/// stood (run/detail/journal.hpp). Its ring ends call it only at the moments below, none of them
/// per item.
class ring_journal {
public:
    /// The consumer is about to hand room back: the position it may hand back up to (all that
    /// was read before it has its output in the journal), never more than it has read. Not
    /// `urgent`: the producer sleeps and the consumer hands back what it can after each item.
    virtual ring_mark releasable(bool urgent) noexcept = 0;
    /// The producer is about to publish its head (never below what a predecessor published).
    virtual void publishing(std::uint64_t head, std::uint64_t records) noexcept = 0;
    /// A record too large for the ring streams through it in pieces: while it does, the ends
    /// cannot keep what a replacement would need.
    virtual void streaming() noexcept = 0;

protected:
    ~ring_journal() = default;
};

/// How much one side hands a lightly sleeping other side at a time: a 256th of the ring.
constexpr std::uint64_t light_step(std::uint64_t capacity) noexcept { return std::max<std::uint64_t>(capacity / 256, 1); }

/// Bookkeeping shared by both producer kinds: free space, batching, waiting, closing.
class producer_cursor {
public:
    /// `data`: the ring's slots or bytes, `unit` bytes per slot (1 for a byte ring).
    producer_cursor(ring_control& c, void* data, std::size_t unit, const wait_policy& p) noexcept
        : c_(&c), readable_(c.readable), policy_(&p), cap_(c.capacity), mask_(c.capacity - 1), batch_(std::max<std::uint64_t>(c.capacity / 16, 1)),
          light_step_(light_step(c.capacity)), data_(static_cast<std::byte*>(data)), unit_(unit) {}
    producer_cursor(const producer_cursor&) = delete;
    producer_cursor& operator=(const producer_cursor&) = delete;

    /// Makes what was written visible to the consumer now (and wakes it if it sleeps). An urgent
    /// flush wakes even a light sleeper for items published earlier without waking it.
    void flush(bool urgent = true) noexcept {
        if (journal_) [[unlikely]] {
            if (replay_floor_ != 0 && !end_replay()) return;
            journal_->publishing(head_, records_);
        }
        if (urgent) signalled_ = head_;
        if (head_ != published_) {
            if constexpr (FORKLINE_LIVE_COUNTS) c_->records_written.store(records_, std::memory_order_relaxed);
            c_->head.store(head_, std::memory_order_release);
            published_ = head_;
        } else if (!urgent) {
            return;
        }
        c_->readable->notify(urgent);
    }
    /// Makes what was written visible, waking nobody: for a ring whose consumer never sleeps on it
    /// (fl::queue's getters sleep on a word of their own).
    void publish_only() noexcept {
        c_->head.store(head_, std::memory_order_release);
        published_ = signalled_ = head_;
    }
    /// Publishes at once if the consumer is idle and something is unpublished (called between
    /// input items, so a stage busy with input it drops still hands over what it made).
    FORKLINE_HOT void nudge() noexcept {
        if (head_ != published_ && readable_->sleeping.load(std::memory_order_relaxed) != waiter::awake) [[unlikely]]
            publish_now();
    }
    /// Ends the stream: flushes, then tells the consumer nothing more will come.
    void close() noexcept {
        flush();
        c_->closed.store(1, std::memory_order_release);
        c_->readable->notify();
    }

protected:
    std::uint64_t free_space() const noexcept { return cap_ - (head_ - tail_cache_); }

public:
    /// Takes up the ring where the shared indices say it is: for a ring whose producer side is
    /// shared by several processes, one at a time (under a lock), each with a cursor of its own.
    void resync() noexcept {
        head_ = published_ = signalled_ = c_->head.load(std::memory_order_relaxed);
        tail_cache_ = c_->tail.load(std::memory_order_acquire);
    }
    void restore(const cursor_position& p) noexcept {
        head_ = published_ = signalled_ = p.own;
        tail_cache_ = p.other;
    }
    cursor_position position() const noexcept { return {head_, tail_cache_}; }
    /// Calls `j` before each publish (a replaceable process's journal).
    void keep_journal(ring_journal* j) noexcept { journal_ = j; }
    /// Where the next record goes, and the records written before it.
    ring_mark written() const noexcept { return {head_, records_}; }
    /// A replacement takes up a dead producer's side: it makes again, from `at`, the records its
    /// predecessor wrote up to `floor` and published, which are in the ring already (the
    /// consumer may have read some): until then it writes them to a buffer of its own, not to the
    /// ring, and publishes nothing, a record at a time, so it takes up the ring exactly at floor.
    void resume_at(ring_mark at, std::uint64_t floor) {
        if (replay_floor_ != 0) {  // a checkpoint made while its process replayed
            data_ = ring_data_;
            batch_ = replay_batch_;
            replay_floor_ = 0;
        }
        head_ = published_ = signalled_ = at.pos;
        records_ = at.records;
        tail_cache_ = c_->tail.load(std::memory_order_acquire);
        if (floor <= at.pos) return;
        replay_.assign(static_cast<std::size_t>(cap_ * unit_), std::byte{});
        ring_data_ = data_;
        data_ = replay_.data();
        replay_floor_ = floor;
        replay_batch_ = batch_;
        batch_ = 1;
    }
    /// The share of the ring in use, as last published (see ring_control::fill).
    double fill() const noexcept { return c_->fill(); }
    /// True when n units are free now; never waits (for a dispatcher that serves several rings).
    bool try_reserve(std::uint64_t n) noexcept {
        if (free_space() >= n) return true;
        tail_cache_ = c_->tail.load(std::memory_order_acquire);
        if (free_space() >= n) return true;
        c_->wanted.store(head_ + n - cap_, std::memory_order_relaxed);  // see ring_control::wanted
        return false;
    }

protected:
    /// Replaying: true once the head is at the floor, writing to the ring from then on.
    FORKLINE_COLD bool end_replay() noexcept {
        if (head_ < replay_floor_) return false;
        data_ = ring_data_;
        batch_ = replay_batch_;
        replay_floor_ = 0;
        return true;
    }
    /// Blocks until n units are free.
    FORKLINE_HOT void reserve(std::uint64_t n) {
        if (free_space() >= n) [[likely]] return;
        reserve_slow(n);
    }
    FORKLINE_COLD void reserve_slow(std::uint64_t n) {
        check_abort(*policy_);
        tail_cache_ = c_->tail.load(std::memory_order_acquire);
        if (free_space() >= n) return;
        c_->wanted.store(head_ + n - cap_, std::memory_order_relaxed);  // before flush() wakes the consumer
        flush();
        c_->writable->wait(
            [&] {
                tail_cache_ = c_->tail.load(std::memory_order_acquire);
                return free_space() >= n;
            },
            *policy_);
    }
    /// Counts n units as written; publishes a full batch, or at once when the consumer sleeps.
    FORKLINE_HOT void advance(std::uint64_t n) noexcept {
        head_ += n;
        if (head_ - signalled_ >= batch_ || readable_->sleeping.load(std::memory_order_relaxed)) [[unlikely]]
            publish_now();
    }
    /// A light sleeper looks again within a millisecond and only a full batch wakes it, so what
    /// counts is what it finds then: it is published to every light_step_ units, not after each
    /// record (which costs a fence per record when the consumer is the faster side).
    FORKLINE_COLD void publish_now() noexcept {
        bool full = head_ - signalled_ >= batch_;
        if (!full && head_ - published_ < light_step_ && readable_->sleeping.load(std::memory_order_relaxed) == waiter::light) return;
        flush(full);
    }
    /// One more record written: always counted here (a journal numbers items by it), shown in the
    /// ring's shared counts unless FORKLINE_LIVE_COUNTS is 0.
    void count_record() noexcept { ++records_; }

    ring_control* c_;
    waiter* readable_;  ///< c_->readable, read on every item
    const wait_policy* policy_;
    std::uint64_t cap_, mask_, batch_, light_step_;
    std::uint64_t head_ = 0, published_ = 0, tail_cache_ = 0;
    std::uint64_t signalled_ = 0;  ///< head at the last urgent flush: batches count from here
    std::uint64_t records_ = 0;    ///< records written (a byte ring's; published with head)
    std::byte* data_;              ///< where records go: the ring's slots or bytes (see resume_at)
    std::size_t unit_;
    ring_journal* journal_ = nullptr;
    std::uint64_t replay_floor_ = 0, replay_batch_ = 0;  ///< see resume_at
    std::byte* ring_data_ = nullptr;
    std::vector<std::byte> replay_;
};

/// Bookkeeping shared by both consumer kinds.
class consumer_cursor {
public:
    consumer_cursor(ring_control& c, const wait_policy& p) noexcept
        : c_(&c), writable_(c.writable), policy_(&p), cap_(c.capacity), mask_(c.capacity - 1), batch_(std::max<std::uint64_t>(c.capacity / 16, 1)),
          light_step_(light_step(c.capacity)) {}
    consumer_cursor(const consumer_cursor&) = delete;
    consumer_cursor& operator=(const consumer_cursor&) = delete;

    /// Hands consumed space back to the producer now (and wakes it if it sleeps), as flush does.
    void release(bool urgent = true) noexcept {
        if (journal_) [[unlikely]] {
            release_journaled(urgent);
            return;
        }
        if (urgent) signalled_ = tail_;
        if (tail_ != released_) {
            if constexpr (FORKLINE_LIVE_COUNTS) c_->records_read.store(records_, std::memory_order_relaxed);
            c_->tail.store(tail_, std::memory_order_release);
            released_ = tail_;
        } else if (!urgent) {
            return;
        }
        c_->writable->notify(urgent);
    }
    /// Calls `j` before each release: room is handed back only as far as it says. A journaled
    /// consumer hands room back once a batch (or before it sleeps), not after every item while
    /// the producer sleeps: the journal would give nothing back for one item, and asking it
    /// per item costs more than the stage's work when the producer is the faster side.
    void keep_journal(ring_journal* j) noexcept {
        journal_ = j;
        writable_ = j ? &never_sleeps_ : c_->writable;
    }
    /// True when the producer waits for room this side has not handed back yet.
    bool producer_wants_room() const noexcept { return c_->wanted.load(std::memory_order_relaxed) > released_; }
    std::uint64_t capacity() const noexcept { return cap_; }
    /// Units read between two releases (a sixteenth of the ring, at least 1).
    std::uint64_t batch() const noexcept { return batch_; }
    void set_batch(std::uint64_t n) noexcept { batch_ = std::max<std::uint64_t>(n, 1); }
    /// Where the last whole item read ends (see item_done), and the records before it.
    ring_mark done() const noexcept { return {done_, done_records_}; }
    /// Where reading stands now: past the last item read, whole or not.
    ring_mark read_so_far() const noexcept { return {tail_, records_}; }
    /// The items read so far are finished with: the item receivers call it after each one.
    void item_done() noexcept {
        done_ = tail_;
        done_records_ = records_;
    }
    /// A replacement that sets an item aside stops in front of it: from ring position `pos` on
    /// nothing is readable (fill reports the end of the stream there) until stop_before(none).
    static constexpr std::uint64_t none = ~std::uint64_t{0};
    void stop_before(std::uint64_t pos) noexcept {
        stop_ = pos;
        clamp_to_stop();
    }
    /// True when reading stands at the stop.
    bool stopped() const noexcept { return stop_ != none && tail_ == stop_; }
    /// A replacement takes up a dead consumer's side: it reads again from `at`.
    void resume_at(ring_mark at) noexcept {
        tail_ = released_ = signalled_ = done_ = at.pos;
        records_ = done_records_ = at.records;
        load_head();
    }

private:
    /// A journaled side hands room back only as far as its journal says, often nothing new: it
    /// then wakes the producer only for room it handed back without waking it (a careful
    /// replacement releases after every item, and a producer woken each time for nothing would
    /// cost a context switch an item).
    FORKLINE_COLD void release_journaled(bool urgent) noexcept {
        ring_mark to = journal_->releasable(urgent);
        if (urgent) signalled_ = tail_;
        if (to.pos != released_) {
            if constexpr (FORKLINE_LIVE_COUNTS) c_->records_read.store(to.records, std::memory_order_relaxed);
            c_->tail.store(to.pos, std::memory_order_release);
            released_ = to.pos;
            quiet_ = !urgent;
        } else if (!urgent || !quiet_) {
            return;
        } else {
            quiet_ = false;
        }
        c_->writable->notify(urgent);
    }

public:
    /// Hands consumed space back, waking nobody (see producer_cursor::publish_only).
    void release_only() noexcept {
        c_->tail.store(tail_, std::memory_order_release);
        released_ = signalled_ = tail_;
    }

protected:
    std::uint64_t available() const noexcept { return head_cache_ - tail_; }

public:
    /// Takes up the ring where the shared indices say it is (see producer_cursor::resync).
    void resync() noexcept {
        tail_ = released_ = signalled_ = c_->tail.load(std::memory_order_relaxed);
        head_cache_ = c_->head.load(std::memory_order_acquire);
    }
    void restore(const cursor_position& p) noexcept {
        tail_ = released_ = signalled_ = p.own;
        head_cache_ = p.other;
    }
    cursor_position position() const noexcept { return {tail_, head_cache_}; }
    /// Bytes or slots readable now, as last seen.
    std::uint64_t readable_now() const noexcept { return available(); }
    double fill() const noexcept { return c_->fill(); }
    /// True when n units are readable now; never waits (for a collector that serves several rings).
    bool try_fill(std::uint64_t n) noexcept {
        if (available() >= n) return true;
        load_head();
        return available() >= n;
    }
    /// True when the producer closed the ring and everything in it was read (which is then
    /// released, so the ring's counts are whole).
    bool finished() noexcept {
        if (!c_->closed.load(std::memory_order_acquire)) return false;
        load_head();
        if (available() != 0) return false;
        if (tail_ != released_) release(false);
        return true;
    }

protected:
    /// Blocks until n units are readable; false when the stream closed with fewer left.
    FORKLINE_HOT bool fill(std::uint64_t n) {
        if (available() >= n) [[likely]] return true;
        return fill_slow(n);
    }
    FORKLINE_COLD bool fill_slow(std::uint64_t n) {
        check_abort(*policy_);
        if (stopped()) [[unlikely]] return false;
        load_head();
        if (available() >= n) return true;
        for (;;) {
            release();
            // A journaled side may hold room the producer waits for (a checkpointed process
            // releases only at checkpoints): it wakes to hand it back, once per release.
            bool held = journal_ && producer_wants_room();
            bool asked = false;
            c_->readable->wait(
                [&] {
                    load_head();
                    if (available() >= n) return true;
                    if (journal_ && !held && producer_wants_room()) return asked = true;
                    if (!c_->closed.load(std::memory_order_acquire)) return false;
                    load_head();
                    return true;
                },
                *policy_);
            if (!asked || available() >= n) return available() >= n;
        }
    }
    /// The producer's head, as far as the stop (see stop_before).
    void load_head() noexcept {
        head_cache_ = c_->head.load(std::memory_order_acquire);
        if (stop_ != none) [[unlikely]]
            clamp_to_stop();
    }
    void clamp_to_stop() noexcept {
        if (stop_ != none && stop_ >= tail_ && head_cache_ > stop_) head_cache_ = stop_;
    }
    FORKLINE_HOT void advance(std::uint64_t n) noexcept {
        tail_ += n;
        if (tail_ - signalled_ >= batch_ || writable_->sleeping.load(std::memory_order_relaxed)) [[unlikely]]
            release_now();
    }
    /// advance(n) past the end of an item that is finished with (item_done).
    FORKLINE_HOT void advance_done(std::uint64_t n) noexcept {
        tail_ += n;
        item_done();
        if (tail_ - signalled_ >= batch_ || writable_->sleeping.load(std::memory_order_relaxed)) [[unlikely]]
            release_now();
    }
    /// Room goes back to a light sleeper every light_step_ units (see producer_cursor::publish_now).
    FORKLINE_COLD void release_now() noexcept {
        bool full = tail_ - signalled_ >= batch_;
        if (!full && tail_ - released_ < light_step_ && writable_->sleeping.load(std::memory_order_relaxed) == waiter::light) return;
        release(full);
    }
    /// One more record read: always counted here (a journal numbers items by it), shown in the
    /// ring's shared counts unless FORKLINE_LIVE_COUNTS is 0.
    void count_record() noexcept { ++records_; }

    ring_control* c_;
    waiter* writable_;  ///< c_->writable, read on every item (never_sleeps_ when journaled)
    static inline waiter never_sleeps_{};
    const wait_policy* policy_;
    std::uint64_t cap_, mask_, batch_, light_step_;
    std::uint64_t tail_ = 0, released_ = 0, head_cache_ = 0;
    std::uint64_t signalled_ = 0;  ///< tail at the last urgent release: batches count from here
    std::uint64_t records_ = 0;    ///< records read (a byte ring's; released with tail)
    std::uint64_t done_ = 0, done_records_ = 0;  ///< see item_done
    std::uint64_t stop_ = none;                  ///< see stop_before
    bool quiet_ = false;  ///< a journaled side handed room back without waking the producer
    ring_journal* journal_ = nullptr;
};

/// Producer side of a ring of fixed slots.
template <class T>
class slot_producer : public producer_cursor {
    static_assert(std::is_trivially_copyable_v<T>, "forkline::ipc::slot_producer<T>: T must be trivially copyable");

public:
    slot_producer(ring_control& c, void* slots, const wait_policy& p) noexcept : producer_cursor(c, slots, sizeof(T), p) {}

    FORKLINE_HOT void push(const T& v) {
        reserve(1);
        slots()[head_ & mask_] = v;
        advance(1);
    }
    /// Contiguous free slots (at least one, waiting if needed); fill some, then commit(n).
    std::span<T> claim() {
        reserve(1);
        std::uint64_t pos = head_ & mask_;
        std::uint64_t n = std::min(free_space(), cap_ - pos);
        if (replay_floor_ != 0) n = std::min(n, replay_floor_ - head_);  // a replay stops at the floor (resume_at)
        return {slots() + pos, static_cast<std::size_t>(n)};
    }
    void commit(std::size_t n) noexcept { advance(n); }

private:
    T* slots() const noexcept { return reinterpret_cast<T*>(data_); }
};

/// Consumer side of a ring of fixed slots.
template <class T>
class slot_consumer : public consumer_cursor {
public:
    slot_consumer(ring_control& c, const void* slots, const wait_policy& p) noexcept
        : consumer_cursor(c, p), slots_(static_cast<const T*>(slots)) {}

    /// Takes the next item; false at end of stream.
    FORKLINE_HOT bool pop(T& out) {
        if (!fill(1)) return false;
        out = slots_[tail_ & mask_];
        advance(1);
        return true;
    }
    /// Contiguous readable slots (empty at end of stream); use some, then consume(n).
    std::span<const T> peek() {
        if (!fill(1)) return {};
        std::uint64_t pos = tail_ & mask_;
        return {slots_ + pos, static_cast<std::size_t>(std::min(available(), cap_ - pos))};
    }
    void consume(std::size_t n) noexcept { advance(n); }
    /// consume(n) of items that are finished with (see item_done).
    void consume_done(std::size_t n) noexcept { advance_done(n); }

private:
    const T* slots_;
};

/// Bad bytes in a byte ring: a header that cannot be, or a stream that ends inside a record.
class ring_corrupt : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace byte_record {
inline constexpr std::uint64_t skip = 1ull << 63;      ///< rest of the ring is padding
inline constexpr std::uint64_t streamed = 1ull << 62;  ///< payload follows in pieces
inline constexpr std::uint64_t length_mask = (1ull << 40) - 1;
inline constexpr std::uint64_t header = 8;
constexpr std::uint64_t padded(std::uint64_t n) noexcept { return (n + 7) & ~std::uint64_t{7}; }
}  // namespace byte_record

/// Producer side of a byte ring: each record is an 8-byte header and its payload, 8-aligned.
class byte_producer : public producer_cursor {
public:
    byte_producer(ring_control& c, void* data, const wait_policy& p) noexcept : producer_cursor(c, data, 1, p) {}

    /// Writes one record of `len` bytes; `fill(std::byte* dst)` writes exactly that many. A
    /// record that streams calls `started(arg)` once its header is visible (so a reader that waits
    /// elsewhere can be told to come and take the pieces).
    template <class Fill>
    void write(std::uint64_t len, Fill&& fill, void (*started)(void*) = nullptr, void* arg = nullptr) {
        using namespace byte_record;
        if (len > length_mask) throw std::length_error("forkline: an item encodes to more than 1 TiB");
        std::uint64_t total = header + padded(len);
        if (total > cap_ / 2) {
            scratch_.resize(len);
            fill(scratch_.data());
            write_streamed(scratch_.data(), len, started, arg);
            return;
        }
        std::uint64_t pos = head_ & mask_;
        std::uint64_t room = cap_ - pos;
        if (room < total) {  // pad to the end so the record stays contiguous
            reserve(room + total);
            put_header(pos, skip);
            head_ += room;
            pos = 0;
        } else {
            reserve(total);
        }
        put_header(pos, len);
        fill(data_ + pos + header);
        count_record();
        advance(total);
    }

    /// True when a record of `len` bytes can be written now without waiting (never for a record
    /// that would stream). For a producer that must not block on a busy consumer.
    bool fits(std::uint64_t len) noexcept {
        using namespace byte_record;
        std::uint64_t total = header + padded(len);
        if (total > cap_ / 2) return false;
        std::uint64_t room = cap_ - (head_ & mask_);
        return try_reserve(room < total ? room + total : total);
    }

private:
    void put_header(std::uint64_t pos, std::uint64_t h) noexcept { std::memcpy(data_ + pos, &h, sizeof h); }
    void write_streamed(const std::byte* src, std::uint64_t len, void (*started)(void*), void* arg);

    std::vector<std::byte> scratch_;
};

inline void byte_producer::write_streamed(const std::byte* src, std::uint64_t len, void (*started)(void*),
                                          void* arg) {
    using namespace byte_record;
    if (journal_) journal_->streaming();
    reserve(header);
    put_header(head_ & mask_, len | streamed);
    count_record();
    advance(header);
    if (started) {
        flush();
        started(arg);
    }
    // Each piece ends 8-aligned, the last one with the padding: a writer that dies partway leaves
    // the published head where the next record can start (see fl::queue).
    const std::uint64_t total = padded(len);
    for (std::uint64_t done = 0; done < total;) {
        reserve(8);
        std::uint64_t pos = head_ & mask_;
        std::uint64_t n = std::min({total - done, free_space() & ~std::uint64_t{7}, cap_ - pos});
        if (done < len) std::memcpy(data_ + pos, src + done, std::min(n, len - done));
        done += n;
        advance(n);
        flush();
    }
}

/// Consumer side of a byte ring.
class byte_consumer : public consumer_cursor {
public:
    byte_consumer(ring_control& c, const void* data, const wait_policy& p) noexcept
        : consumer_cursor(c, p), data_(static_cast<const std::byte*>(data)) {}

    /// Reads the next record and calls `use(const std::byte*, std::size_t)` on its payload (valid
    /// only during the call); false at end of stream. Throws ring_corrupt on impossible bytes.
    template <class Use>
    bool read(Use&& use) {
        using namespace byte_record;
        for (;;) {
            if (!fill(header)) {
                if (available() != 0) throw ring_corrupt("forkline: byte ring ended inside a record header");
                return false;
            }
            std::uint64_t pos = tail_ & mask_;
            std::uint64_t h;
            std::memcpy(&h, data_ + pos, sizeof h);
            if (h == skip) {
                advance(cap_ - pos);
                continue;
            }
            std::uint64_t len = h & length_mask;
            if (h & streamed) {
                if ((h & ~(streamed | length_mask)) != 0) throw ring_corrupt("forkline: byte ring holds a bad record header");
                if (journal_) journal_->streaming();
                advance(header);
                read_streamed(len);
                count_record();
                use(static_cast<const std::byte*>(scratch_.data()), static_cast<std::size_t>(len));
                item_done();
                return true;
            }
            std::uint64_t total = header + padded(len);
            if (h != len || total > cap_ / 2 || pos + total > cap_)
                throw ring_corrupt("forkline: byte ring holds a bad record header");
            if (!fill(total)) throw ring_corrupt("forkline: byte ring ended inside a record");
            use(data_ + pos + header, static_cast<std::size_t>(len));
            count_record();
            advance_done(total);
            return true;
        }
    }

    /// For a ring whose producers may die in the middle of a streamed record (fl::queue):
    /// `fn(arg)` runs each time more of a streamed record is readable, before it is read, and
    /// throws to give the record up.
    void watch_streams(void (*fn)(void*), void* arg) noexcept {
        watch_ = fn;
        watch_arg_ = arg;
    }
    /// Drops the bytes up to ring index `end` as they come: the rest of a streamed record whose
    /// reader died partway (fl::queue).
    void discard_to(std::uint64_t end) { take(nullptr, end - tail_); }

private:
    void read_streamed(std::uint64_t len) {
        scratch_.resize(len);
        take(scratch_.data(), len);
        take(nullptr, byte_record::padded(len) - len);
    }
    /// Takes the next n bytes in pieces as they come, copying them to dst unless it is null.
    void take(std::byte* dst, std::uint64_t n) {
        for (std::uint64_t done = 0; done < n;) {
            if (!fill(1)) throw ring_corrupt("forkline: byte ring ended inside a record");
            if (watch_) watch_(watch_arg_);
            std::uint64_t pos = tail_ & mask_;
            std::uint64_t k = std::min({n - done, available(), cap_ - pos});
            if (dst) std::memcpy(dst + done, data_ + pos, k);
            done += k;
            advance(k);
        }
    }

    const std::byte* data_;
    std::vector<std::byte> scratch_;
    void (*watch_)(void*) = nullptr;
    void* watch_arg_ = nullptr;
};

}  // namespace forkline::ipc
