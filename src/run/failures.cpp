// Recording a run's first failure in its region, stopping the run, and throwing the failure in
// the caller once every process has stopped.
#include <forkline/ipc/ring.hpp>
#include <forkline/ipc/shared_text.hpp>
#include <forkline/plan/plan.hpp>
#include <forkline/run/detail/failures.hpp>
#include <forkline/core/errors.hpp>

#include <string>

namespace forkline::detail {

void failure_log::fail(const failure& f) const noexcept {
    if (control_->error_claimed.exchange(1, std::memory_order_acq_rel) == 0) {
        control_->error_kind = f.kind;
        control_->error_group = static_cast<std::uint32_t>(f.group);
        control_->error_stage = static_cast<std::uint32_t>(f.stage);
        control_->error_pid = f.pid;
        control_->error_signal = f.signal;
        control_->error_code = f.code;
        control_->error_length = f.message.size();
        control_->error_item = f.item;
        control_->error_times = f.times;
        text_->write(f.message);
        control_->error_ready.store(1, std::memory_order_release);
    }
    stop();
}

void failure_log::stop() const noexcept {
    control_->abort.store(1, std::memory_order_seq_cst);
    for (std::size_t i = 0; i < ring_count_; ++i) rings_[i]->wake_all();
}

void failure_log::throw_recorded(const pipeline_plan& plan) const {
    if (!failed()) throw stage_error("?", "the run was stopped without a recorded cause");
    if (!control_->error_ready.load(std::memory_order_acquire))  // its reporter died mid-report
        throw stage_error("?", "a stage failed and its process died while reporting why");
    std::string name = plan.label(control_->error_group, control_->error_stage);
    if (control_->error_kind == failure_kind::crash && control_->error_item != failure::no_item)
        throw stage_crashed(name, control_->error_pid, control_->error_signal, control_->error_code,
                            control_->error_item, control_->error_times);
    if (control_->error_kind == failure_kind::crash)
        throw stage_crashed(name, control_->error_pid, control_->error_signal, control_->error_code);
    std::string message = text_->read();
    if (message.size() < control_->error_length)  // the memory for it ran out
        message += " [forkline: message cut to " + std::to_string(message.size()) + " of its " +
                   std::to_string(control_->error_length) + " bytes]";
    throw stage_error(name, std::move(message));
}

}  // namespace forkline::detail
