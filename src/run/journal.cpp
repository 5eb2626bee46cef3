// A replaceable process's journal (run/detail/journal.hpp).
#include <forkline/ipc/os.hpp>
#include <forkline/ipc/spawn.hpp>
#include <forkline/ipc/waiter.hpp>
#include <forkline/run/detail/journal.hpp>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace forkline::detail {

namespace {
/// Collects a copy this process forked (it leaves when told to, at once).
void collect(pid_t pid) noexcept {
    if (pid <= 0) return;
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
}
/// How often a waiting copy looks whether it is still wanted, when nothing wakes it.
constexpr int copy_looks_ms = 100;
/// A checkpointed input's batch at most (slots, or bytes of a byte ring).
constexpr std::uint64_t checkpoint_batch = 4096;
}  // namespace

void group_journal::wake_copies() noexcept {
    wake.fetch_add(1, std::memory_order_release);
    ipc::futex_wake(wake, 1 << 30);
}

journaled_ends::journaled_ends(group_journal& j, ipc::consumer_cursor& in, ipc::producer_cursor& out,
                               bool (*idle)(void*), void* arg, const checkpoint_policy* checkpoints) noexcept
    : j_(j), in_(in), out_(out), idle_(idle), arg_(arg), checkpoints_(checkpoints) {}

journaled_ends::~journaled_ends() {
    if (!checkpoints_) return;
    j_.finished.store(1, std::memory_order_release);
    j_.wake_copies();
    collect(j_.retiring.load(std::memory_order_relaxed));
    collect(now_.checkpoint);
}

bool journaled_ends::resume() {
    now_ = j_.last();
    if (checkpoints_) {
        // A fresh start, or a fresh fork after a death before the first checkpoint: from the
        // beginning (a copy that takes over does not come here, see take_over).
        in_.resume_at(now_.in);
        out_.resume_at(now_.out_base, now_.out);
        floor_ = now_.out;
        checkpoint_ns_ = monotonic_ns();
        // Checkpoints are due only when the input hands room back: it does so often enough
        // for the policy's counts.
        std::uint64_t batch = std::min<std::uint64_t>(in_.batch(), checkpoint_batch);
        if (checkpoints_->every_items) batch = std::min(batch, checkpoints_->every_items);
        in_.set_batch(batch);
        in_.keep_journal(this);
        out_.keep_journal(this);
        arm_careful();
        return false;
    }
    // Journal entries come a batch apart, and a batch starts at one item: it doubles while
    // a batch takes less than a millisecond of the process's CPU time, up to the ring's, and
    // halves when one takes more than ten, so a death costs little work again whether items
    // take nanoseconds or seconds (CPU time: a process that waits or is descheduled is not slow).
    most_ = in_.batch();
    in_.set_batch(1);
    last_cpu_ = thread_cpu_seconds();
    in_.resume_at(now_.in);
    out_.resume_at(now_.out_base, now_.out);
    floor_ = now_.out;
    if (j_.careful_until > now_.in.pos) {
        careful_ = true;
        careful_until_ = j_.careful_until;
        batch_ = 1;
    }
    in_.keep_journal(this);
    out_.keep_journal(this);
    if (careful_) j_.attempt.store(now_.in.pos + 1, std::memory_order_relaxed);
    return j_.set_aside.load(std::memory_order_acquire) == now_.in.pos + 1;
}

void journaled_ends::set_aside_done() noexcept {
    std::uint64_t item = j_.set_aside.load(std::memory_order_acquire);
    // Past the item: a replacement of this process does not set aside another.
    if (checkpoints_)
        checkpoint();  // a copy made here that takes over later comes back here, past a new one
    else
        commit();
    j_.set_aside.compare_exchange_strong(item, 0, std::memory_order_acq_rel);
}

bool journaled_ends::take_set_aside() noexcept {
    if (!checkpoints_ || !in_.stopped()) return false;
    in_.stop_before(ipc::consumer_cursor::none);
    return true;
}

void journaled_ends::arm_careful() noexcept {
    // A copy holds the state its process had at the checkpoint, careful or not then. What the
    // dead one passed it did not die on: the replacement goes through that at full speed.
    const ipc::ring_mark at = in_.done();
    if (j_.careful_until > at.pos) {
        if (!careful_ && !watching_) batch_ = in_.batch();
        watching_ = true;
        careful_from_ = j_.careful_from;
        careful_until_ = j_.careful_until;
    }
    const std::uint64_t aside = j_.set_aside.load(std::memory_order_acquire);
    in_.stop_before(aside != 0 && aside - 1 >= at.pos ? aside - 1 : ipc::consumer_cursor::none);
    if (watching_) note_attempt();
}

void journaled_ends::note_attempt() noexcept {
    const ipc::ring_mark at = in_.done();
    if (at.pos >= careful_until_) {
        if (careful_) in_.set_batch(batch_);
        careful_ = watching_ = false;
        j_.attempt.store(0, std::memory_order_relaxed);
        return;
    }
    // Careful from the batch that reaches the range on: the input hands room back, and so
    // notes the next item, after each one.
    if (!careful_ && at.pos + batch_ > careful_from_) {
        careful_ = true;
        in_.set_batch(1);
    }
    if (!careful_) return;
    j_.attempt_records = at.records;
    j_.attempt_out = out_.written().pos;
    j_.attempt.store(at.pos + 1, std::memory_order_release);
}

void journaled_ends::commit() noexcept {
    // Only when the elements hold nothing (a fused chain's batches): then all the output of
    // what was read is in the output ring. Before the process sleeps they hand it all on.
    if (!idle_(arg_)) return;
    committing_ = true;
    now_.in = in_.done();
    now_.out_base = out_.written();
    now_.out = std::max(now_.out_base.pos, floor_);  // never below what a predecessor published
    now_.read = now_.in;
    now_.broken = 0;
    streaming_ = false;
    j_.write(now_);
    committing_ = false;
    if (!careful_) {
        pace();
        return;
    }
    if (now_.in.pos >= careful_until_) {
        careful_ = false;
        in_.set_batch(batch_);
        j_.attempt.store(0, std::memory_order_relaxed);
    } else {
        j_.attempt.store(now_.in.pos + 1, std::memory_order_relaxed);
    }
}

void journaled_ends::waiting(bool on) noexcept {
    if (!careful_) return;
    if (on)
        j_.attempt.store(0, std::memory_order_relaxed);
    else if (checkpoints_)
        note_attempt();
    else
        j_.attempt.store(now_.in.pos + 1, std::memory_order_relaxed);
}

void journaled_ends::pace() noexcept {
    double t = thread_cpu_seconds(), took = t - last_cpu_;
    std::uint64_t batch = in_.batch();
    last_cpu_ = t;
    if (took < 1e-3 && batch < most_)
        in_.set_batch(batch * 2);
    else if (took > 10e-3 && batch > 1)
        in_.set_batch(batch / 2);
}

bool journaled_ends::checkpoint_due() const noexcept {
    ipc::ring_mark done = in_.done();
    std::uint64_t held = done.pos - now_.in.pos;
    if (streaming_) return true;  // after a record too large for the ring: journal again at once
    if (held == 0) return false;
    if (held >= in_.capacity() / 2 || in_.producer_wants_room()) return true;
    // Items: a byte ring's records, a slot ring's slots (which count no records).
    std::uint64_t items = done.records != 0 ? done.records - now_.in.records : held;
    if (checkpoints_->every_items && items >= checkpoints_->every_items) return true;
    return monotonic_ns() - checkpoint_ns_ >= checkpoints_->every_ns;
}

void journaled_ends::checkpoint() noexcept {
    // Told to leave at the last one; cleared once collected (should this process die while it
    // waits, the supervisor collects it).
    collect(j_.retiring.load(std::memory_order_relaxed));
    j_.retiring.store(0, std::memory_order_relaxed);
    journal_entry next = now_;
    next.in = in_.done();
    next.out_base = out_.written();
    next.out = std::max(next.out_base.pos, floor_);
    next.read = next.in;
    next.broken = 0;
    next.generation = now_.generation + 1;
    ipc::flush_standard_streams();  // or the copy would write again what is buffered now
    j_.ready.store(0, std::memory_order_relaxed);  // not an earlier copy's pid, reused
    pid_t copy = ::fork();
    if (copy < 0) return;  // none this time: the input keeps what the last one needs
    if (copy == 0) {
        wait_as_copy(next.generation);
        take_over();
        return;
    }
    j_.forming.store(copy, std::memory_order_relaxed);  // the supervisor's to collect, should this one die
    // Journaled once it has forked its twin and taken its name (which it does at once), so that
    // a copy the journal names can always take over; one that dies first is not journaled (the
    // last checkpoint stays).
    while (j_.ready.load(std::memory_order_acquire) != copy) {
        if (::waitpid(copy, nullptr, WNOHANG) != 0) {
            j_.forming.store(0, std::memory_order_relaxed);
            return;
        }
        ::usleep(20);
    }
    // Named as leaving before the entry that makes it so: should this process die in between,
    // the supervisor collects whichever of the two the journal does not name.
    const pid_t before = now_.checkpoint;
    if (before != 0) j_.retiring.store(before, std::memory_order_relaxed);
    next.checkpoint = copy;
    now_ = next;
    streaming_ = false;
    j_.write(now_);
    j_.forming.store(0, std::memory_order_relaxed);
    checkpoint_ns_ = monotonic_ns();
    if (before != 0) j_.wake_copies();
}

void journaled_ends::wait_as_copy(std::uint32_t generation) noexcept {
    pid_t self = ::getpid(), parent = ::getppid();
    // Its process notes it too, but may die before it can: then the supervisor finds it here (or
    // among the orphans, should this store come too late).
    if (j_.read().generation < generation) j_.forming.store(self, std::memory_order_relaxed);
    if (!title_[0]) ::prctl(PR_GET_NAME, title_);  // a copy's copy has it already
    ::prctl(PR_SET_NAME, "fl:checkpoint");
    pid_t copy = self;  // the copy this process is, or is the twin of
    bool twin_wanted = true, fresh = true;
    for (;;) {
        if (twin_wanted && copy == self) {  // the copy keeps a twin of itself
            twin_wanted = false;
            // None for a copy whose process died before journaling it: it leaves below.
            pid_t t = fresh && ::getppid() != parent ? -1 : ::fork();
            if (t == 0) {
                parent = self;
                self = ::getpid();
                twin_ = 0;
            } else if (t > 0) {
                twin_ = t;
                note_twin();
            }
            if (t != 0 && fresh) j_.ready.store(self, std::memory_order_release);  // the copy, not its twin
            fresh = false;
        }
        std::uint32_t w = j_.wake.load(std::memory_order_acquire);
        if (j_.resume.load(std::memory_order_acquire) == self) return;
        journal_entry e = j_.read();
        if (e.checkpoint == self && e.generation > generation) {  // a twin whose copy took over: the copy now
            generation = e.generation;
            copy = self;
            twin_wanted = true;
            continue;
        }
        bool later = e.generation > generation || (e.generation == generation && e.checkpoint != copy);
        bool never_journaled = e.generation < generation && ::getppid() != parent;  // its process died first
        const auto* abort = checkpoints_->abort;
        if (later || never_journaled || j_.finished.load(std::memory_order_acquire) || ipc::lifeline_cut() ||
            (abort && abort->load(std::memory_order_relaxed))) {
            if (copy == self && twin_ > 0) {  // its twin goes with it
                forget_twin();
                ::kill(twin_, SIGKILL);
                collect(twin_);
            }
            if (::getppid() != parent)  // the supervisor's child now: it collects it
                for (auto& o : j_.orphans) {
                    std::int32_t none = 0;
                    if (o.compare_exchange_strong(none, self, std::memory_order_release)) break;
                }
            ::_exit(0);
        }
        ipc::futex_wait(j_.wake, w, copy_looks_ms);
    }
}

void journaled_ends::note_twin() noexcept {
    const std::uint64_t mine = group_journal::twin_pair(::getpid(), twin_);
    for (;;) {
        // Not the slot of the journal's checkpoint, which may yet take over and need its twin.
        const std::int32_t current = j_.read().checkpoint;
        auto& slot = j_.twins[group_journal::copy_of(j_.twins[0].load()) == current ? 1 : 0];
        std::uint64_t seen = slot.load(std::memory_order_acquire);
        if (group_journal::copy_of(seen) == current && current != 0) continue;  // it moved
        if (slot.compare_exchange_strong(seen, mine, std::memory_order_acq_rel)) return;
    }
}

void journaled_ends::forget_twin() noexcept {
    // The slot names it no more, so that the supervisor does not wait for its pid once reused.
    const std::uint64_t mine = group_journal::twin_pair(::getpid(), twin_);
    for (auto& slot : j_.twins) {
        std::uint64_t seen = mine;
        slot.compare_exchange_strong(seen, 0, std::memory_order_relaxed);
    }
}

std::int32_t group_journal::take_twin(std::int32_t copy) noexcept {
    for (auto& slot : twins) {
        std::uint64_t seen = slot.load(std::memory_order_acquire);
        if (copy != 0 && copy_of(seen) == copy && slot.compare_exchange_strong(seen, 0)) return twin_of(seen);
    }
    return 0;
}

void journaled_ends::take_over() noexcept {
    pid_t self = ::getpid();
    j_.resume.compare_exchange_strong(self, 0);  // or a later process with this pid would take over too
    ipc::take_over_lifeline();
    now_ = j_.last();  // this copy's checkpoint, and what its predecessor published since
    floor_ = now_.out;
    try {
        out_.resume_at(now_.out_base, now_.out);
    } catch (...) {
        ::_exit(1);  // no memory for the replay: the supervisor sees a crash
    }
    if (twin_ > 0) {
        // Its twin holds the same state: the checkpoint from now on, journaled at once (a copy
        // takes over once), and it forks a twin of its own.
        now_.generation += 1;
        now_.checkpoint = twin_;
        j_.write(now_);
        forget_twin();
        twin_ = 0;
        j_.wake_copies();
        checkpoint_ns_ = monotonic_ns();
    } else {
        now_.checkpoint = 0;  // used up
        checkpoint();
    }
    arm_careful();
    ::prctl(PR_SET_NAME, title_);  // named as a copy until it has a checkpoint
}

ipc::ring_mark journaled_ends::releasable(bool urgent) noexcept {
    if (committing_ || holding_) return streaming_ ? in_.read_so_far() : now_.in;
    if (streaming_ && in_.done().pos != in_.read_so_far().pos) return in_.read_so_far();  // inside a long record
    if (checkpoints_) {
        // What it passed, and how far its next batch may go: a death is on an item in between.
        const std::uint64_t at = in_.done().pos;
        j_.passed = at;
        j_.reach = at + in_.batch();
        if (watching_) {
            note_attempt();
            // It looks whether a checkpoint is due once a batch, as when it is not careful (a
            // producer that waits for room would have it fork after every item), and whenever
            // it has read all it knows of (it may sleep next, and must not hold that room then).
            if (careful_ && at - looked_ < batch_ && in_.readable_now() > 0) return now_.in;
            looked_ = at;
        }
        if (checkpoint_due()) checkpoint();
        return now_.in;
    }
    // A release that is not urgent (the batch is not full): a journal entry waits for a batch.
    if (!urgent && in_.done().pos - now_.in.pos < in_.batch()) return now_.in;
    commit();
    return now_.in;
}

void journaled_ends::publishing(std::uint64_t head, std::uint64_t) noexcept {
    if (floor_ != 0 && head >= floor_) {
        floor_ = 0;
        j_.caught_up_ns.store(monotonic_ns(), std::memory_order_relaxed);
    }
    now_.out = head;
    now_.read = in_.read_so_far();
    now_.broken = streaming_;
    j_.write(now_);
}

void journaled_ends::streaming() noexcept {
    streaming_ = true;
    now_.broken = 1;
    j_.write(now_);
}

void journaled_source::resume() {
    now_ = j_.last();
    floor_ = now_.out;
    out_.resume_at({}, floor_);
    out_.keep_journal(this);
}

void journaled_source::publishing(std::uint64_t head, std::uint64_t records) noexcept {
    if (floor_ != 0 && head >= floor_) {
        floor_ = 0;
        j_.caught_up_ns.store(monotonic_ns(), std::memory_order_relaxed);
    }
    now_.out = head;
    now_.read = {head, records};
    j_.write(now_);
}

// A record published in pieces may not be cut where its replay would cut it.
void journaled_source::streaming() noexcept {
    now_.broken = 1;
    j_.write(now_);
}

}  // namespace forkline::detail
