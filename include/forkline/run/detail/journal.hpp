// What lets a crashed stage process be replaced without losing or repeating an item
// (options::restarts). A replaceable process reads one ring and writes one ring, and its elements
// keep no state between items (map, filter, flat_map, fused chains of them, a farm's replicas).
// It keeps a journal in the run's region: the input position up to which everything read has its
// output in the output ring, and where that output begins and ends there. The input ring's
// producer gets room back only up to that position, so what comes after it is still in the ring
// when the process dies; its replacement (a fresh fork of the caller) reads again from there and
// writes the same records again from the output's beginning mark, publishing nothing until it
// passes what its predecessor had published. Nothing is journaled per item: a full journal entry
// is written each time the input hands room back (a batch), and the output end is noted each time
// the output publishes (a batch).
//
// A process whose elements keep state (partition_by replicas, reduce, count_by's per-process
// counts, mutable lambdas) cannot start again from nothing: it is checkpointed instead. At a
// checkpoint it forks a copy of itself (copy-on-write, so it costs the pages it writes after),
// which waits, and journals the copy with the input and output positions it stands at; its input
// is handed back only up to the last checkpoint, so what came after it is still in the ring. When
// the process dies the supervisor (which adopts the copy: it is the run's subreaper) tells the
// copy to take over: it returns from its fork where the process stood at the checkpoint, makes
// the output again from there like a fresh replacement (publishing nothing its predecessor had
// published). A copy takes over once: each forks a twin of itself as it is made, which becomes
// the checkpoint when the copy takes over (and forks a twin of its own). A checkpoint is
// made when half the input ring waits for one, when the producer waits for room it holds, and at
// least every options::checkpoint_ms while items come. Compiled in src/run/journal.cpp.
#pragma once

#include <forkline/ipc/ring.hpp>

#include <atomic>
#include <cstdint>

namespace forkline::detail {

/// One state of a replaceable process: everything it read before `in` has its output in
/// [out_base, out) of the output ring or earlier; the output after out_base comes from the items
/// after `in`, in order.
struct journal_entry {
    ipc::ring_mark in, out_base;
    std::uint64_t out = 0;
    /// How far it had read, at the last publish (a replacement reads it again).
    ipc::ring_mark read;
    /// 0 while a record too large for the ring streams through an end: a crash then ends the run.
    std::uint32_t broken = 0;
    /// A checkpointed process's: the copy of it that holds its state at `in` (0: none yet, a
    /// fresh fork starts from the beginning), and how many checkpoints it made before.
    std::int32_t checkpoint = 0;
    std::uint32_t generation = 0;
};

/// What a checkpointed process needs to know (options::checkpoint_ms, checkpoint_items).
struct checkpoint_policy {
    std::uint64_t every_ns = 0, every_items = 0;
    const std::atomic<std::uint32_t>* abort = nullptr;  ///< the run's: a waiting copy leaves then
};

/// A process group's journal, in the run's region, on cache lines of its own. The process writes
/// the entries; the supervisor reads them after the process died, and a replacement on its start.
struct alignas(64) group_journal {
    std::atomic<std::uint64_t> seq{0};
    journal_entry entries[2];
    /// Set by the supervisor before it forks a replacement: until its input passes this position
    /// it journals after every item, so a second crash names the item it died on.
    std::uint64_t careful_until = 0;
    /// Set by the supervisor: the input position + 1 of an item to set aside (read and drop) for
    /// a replacement that resumes there, which then clears it (0: none).
    std::atomic<std::uint64_t> set_aside{0};
    /// Deaths in a row at one input position (the supervisor's count, for poison items).
    std::uint64_t death_pos = ~std::uint64_t{0};
    std::uint32_t deaths_here = 0;
    /// The input position + 1 of the item a careful replacement is on (0: none), so a death
    /// counts against an item only when the process was on it (not asleep on a ring). A
    /// checkpointed one notes with it the records before the item and where its output began.
    std::atomic<std::uint64_t> attempt{0};
    std::uint64_t attempt_records = 0, attempt_out = 0;
    /// A checkpointed process's input position at its last release, and how far its next batch
    /// may read: the item a death is on lies in between, so its replacement is careful there
    /// (careful_from to careful_until, set by the supervisor; a fresh fork's, careful_until only).
    std::uint64_t passed = 0, reach = 0, careful_from = 0;
    /// Monotonic ns when the last replacement passed what its predecessor had published.
    std::atomic<std::uint64_t> caught_up_ns{0};

    /// Checkpoints: the copies sleep on `wake`, which the process and the supervisor bump when
    /// one of them should look again; `resume` is the one told to take over.
    std::atomic<std::uint32_t> wake{0};
    std::atomic<std::int32_t> resume{0};
    std::atomic<std::int32_t> forming{0};     ///< forked, not yet journaled
    std::atomic<std::int32_t> ready{0};       ///< the last copy that has its twin and its name
    std::atomic<std::int32_t> retiring{0};    ///< the copy before the last, told to leave
    /// Each copy forks a twin of itself at once, which takes over when the copy that took over
    /// died before it could make the twin its checkpoint: {copy, twin} pids in one word (see
    /// twin_pair), so the supervisor takes only the twin of the copy it resumed. Two slots: a
    /// copy writes the one that does not name the journal's checkpoint.
    std::atomic<std::uint64_t> twins[2] = {};
    /// Copies and twins that leave after their parent died (so they are the supervisor's
    /// children) note themselves here first, for the supervisor to collect.
    std::atomic<std::int32_t> orphans[16] = {};
    std::atomic<std::uint32_t> finished{0};   ///< the process made all its output: its copies leave
    /// The supervisor's: the checkpoint it took over from last (its copy's pid), and how many of
    /// its two processes (the copy, then its twin) it told to take over.
    std::int32_t taken_from = 0;
    std::uint32_t taken = 0;

    static std::uint64_t twin_pair(std::int32_t copy, std::int32_t twin) noexcept {
        return std::uint64_t{static_cast<std::uint32_t>(copy)} << 32 | static_cast<std::uint32_t>(twin);
    }
    static std::int32_t copy_of(std::uint64_t pair) noexcept { return static_cast<std::int32_t>(pair >> 32); }
    static std::int32_t twin_of(std::uint64_t pair) noexcept { return static_cast<std::int32_t>(pair & 0xffffffffu); }
    /// The twin of `copy` from its slot (taking it out), or 0.
    std::int32_t take_twin(std::int32_t copy) noexcept;

    const journal_entry& last() const noexcept { return entries[seq.load(std::memory_order_acquire) & 1]; }
    /// The last entry, read while the process may write the next one.
    journal_entry read() const noexcept {
        for (;;) {
            std::uint64_t s = seq.load(std::memory_order_acquire);
            journal_entry e = entries[s & 1];
            std::atomic_thread_fence(std::memory_order_acquire);
            if (seq.load(std::memory_order_relaxed) == s) return e;
        }
    }
    void wake_copies() noexcept;
    void write(const journal_entry& e) noexcept {
        std::uint64_t s = seq.load(std::memory_order_relaxed) + 1;
        entries[s & 1] = e;
        seq.store(s, std::memory_order_release);
    }
};

/// The journal of one replaceable process, as its two ring ends see it (ipc::ring_journal). Made
/// in the process once its ends exist; `idle(arg)` says its elements hold no item (what a fused
/// chain batches between two of them is not in the output ring yet).
class journaled_ends final : public ipc::ring_journal {
public:
    /// `checkpoints`: for a process whose elements keep state (else null).
    journaled_ends(group_journal& j, ipc::consumer_cursor& in, ipc::producer_cursor& out, bool (*idle)(void*),
                   void* arg, const checkpoint_policy* checkpoints = nullptr) noexcept;
    journaled_ends(const journaled_ends&) = delete;
    journaled_ends& operator=(const journaled_ends&) = delete;
    /// A checkpointed process's copies leave once it made all its output.
    ~journaled_ends();

    /// Takes up where the journal says (a fresh run's journal says: at the start), and watches
    /// both ends from now on. True when the item at the input position is to be set aside.
    bool resume();
    /// A checkpointed process's input stops in front of an item to set aside (its loop ends
    /// there): true once, then the input goes on, and the process reads the item and drops it.
    bool take_set_aside() noexcept;
    /// The item set aside was read and dropped: journals past it (a checkpointed process makes a
    /// checkpoint past it, so a later death does not meet it again).
    void set_aside_done() noexcept;
    /// While set, the input hands back only what was journaled last (an element is in the middle
    /// of an item: the process sleeps on its output).
    void hold(bool on) noexcept { holding_ = on; }
    /// The process sleeps (on its input or its output) or woke: a careful replacement killed
    /// while it sleeps was not crashed by its item, so the death does not count against it.
    void waiting(bool on) noexcept;

    ipc::ring_mark releasable(bool urgent) noexcept override;
    void publishing(std::uint64_t head, std::uint64_t records) noexcept override;
    void streaming() noexcept override;

private:
    void commit() noexcept;
    /// A checkpointed process after a death: it notes each item it is on until its input passes
    /// what the dead one could have read, and stops in front of an item set aside.
    void arm_careful() noexcept;
    void note_attempt() noexcept;
    /// Sizes the input's batch after the time the last one took (see resume).
    void pace() noexcept;
    bool checkpoint_due() const noexcept;
    /// Forks the copy and journals it; in the copy, returns once it has taken over.
    void checkpoint() noexcept;
    /// In a copy: forks its twin, and waits (as does the twin) until told to take over, or
    /// leaves once a later checkpoint than `generation`'s is journaled.
    void wait_as_copy(std::uint32_t generation) noexcept;
    void take_over() noexcept;
    /// In a copy: notes its twin in a slot, and clears it when the twin leaves or becomes the
    /// checkpoint.
    void note_twin() noexcept;
    void forget_twin() noexcept;

    group_journal& j_;
    ipc::consumer_cursor& in_;
    ipc::producer_cursor& out_;
    bool (*idle_)(void*);
    void* arg_;
    journal_entry now_;
    std::uint64_t floor_ = 0;           ///< what a predecessor published: the output's replay ends here
    std::uint64_t careful_until_ = 0;   ///< journal after every item until the input is here
    std::uint64_t batch_ = 0;           ///< the input's batch, while careful
    std::uint64_t looked_ = 0;          ///< ...and where a careful checkpointed one last looked for a checkpoint
    std::uint64_t careful_from_ = 0;    ///< a checkpointed one is careful from here to careful_until_
    bool watching_ = false;             ///< ...and its input has not passed careful_until_ yet
    std::uint64_t most_ = 1;            ///< the largest batch between two journal entries
    double last_cpu_ = 0;               ///< the process's CPU seconds at the last entry
    const checkpoint_policy* checkpoints_;
    std::uint64_t checkpoint_ns_ = 0;   ///< monotonic ns at the last checkpoint
    pid_t twin_ = 0;                    ///< in a copy: its twin (its child)
    char title_[16] = {};               ///< in a copy: the process's name, while it is fl:checkpoint
    bool committing_ = false, holding_ = false, streaming_ = false, careful_ = false;
};

/// The journal of a replaceable source process: one whose source makes the same items again
/// (iota, from over a sized random-access range, read_lines or read_csv of files), with what is
/// fused to it. It notes what it published; its replacement (a fresh fork) makes its output again
/// from the beginning, publishing nothing until it passes that.
class journaled_source final : public ipc::ring_journal {
public:
    journaled_source(group_journal& j, ipc::producer_cursor& out) noexcept : j_(j), out_(out) {}
    journaled_source(const journaled_source&) = delete;
    journaled_source& operator=(const journaled_source&) = delete;
    /// Its output is all made: a death now costs nothing.
    ~journaled_source() { j_.finished.store(1, std::memory_order_release); }

    /// Starts over, up to what a predecessor published, and watches the output from now on.
    void resume();

    ipc::ring_mark releasable(bool) noexcept override { return {}; }  // it has no input
    void publishing(std::uint64_t head, std::uint64_t records) noexcept override;
    void streaming() noexcept override;

private:
    group_journal& j_;
    ipc::producer_cursor& out_;
    journal_entry now_;
    std::uint64_t floor_ = 0;
};

}  // namespace forkline::detail
