// A replaceable process's journal (run/detail/journal.hpp).
#include <forkline/ipc/os.hpp>
#include <forkline/run/detail/journal.hpp>

#include <algorithm>

namespace forkline::detail {

journaled_ends::journaled_ends(group_journal& j, ipc::consumer_cursor& in, ipc::producer_cursor& out,
                               bool (*idle)(void*), void* arg) noexcept
    : j_(j), in_(in), out_(out), idle_(idle), arg_(arg) {}

bool journaled_ends::resume() {
    now_ = j_.last();
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
    commit();  // past the item: a replacement of this process does not set aside another
    j_.set_aside.store(0, std::memory_order_release);
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
    if (careful_) j_.attempt.store(on ? 0 : now_.in.pos + 1, std::memory_order_relaxed);
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

ipc::ring_mark journaled_ends::releasable(bool urgent) noexcept {
    if (committing_ || holding_) return streaming_ ? in_.read_so_far() : now_.in;
    if (streaming_ && in_.done().pos != in_.read_so_far().pos) return in_.read_so_far();  // inside a long record
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

}  // namespace forkline::detail
