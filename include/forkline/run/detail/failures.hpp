// Error collection for a run: the control block at the start of its shared region (the abort
// flag and the run's first failure), and failure_log, through which any of the run's processes
// records a failure and the caller throws it. Compiled in src/run/failures.cpp.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace forkline {
class pipeline_plan;
}
namespace forkline::ipc {
struct ring_control;
class shared_text;
}  // namespace forkline::ipc

namespace forkline::detail {

enum class failure_kind : std::uint32_t { exception = 1, crash = 2 };

/// One failure, as the process that saw it reports it.
struct failure {
    failure_kind kind = failure_kind::exception;
    std::size_t group = 0;          ///< the process group that failed
    std::size_t stage = 0;          ///< the stage it was running
    int pid = 0;                    ///< for a crash: the process,
    int signal = 0;                 ///< the signal that killed it (or 0)
    int code = 0;                   ///< and its exit code
    std::string_view message = {};  ///< for an exception: what() of it
    /// For a crash on a poison item (options::poison): its index in the process's input, and
    /// how many times in a row it crashed the stage.
    std::uint64_t item = no_item;
    std::uint32_t times = 0;
    static constexpr std::uint64_t no_item = ~std::uint64_t{0};
};

/// The shared control block at the start of the region.
struct control_block {
    std::atomic<std::uint32_t> abort{0};
    std::atomic<std::uint32_t> error_claimed{0};
    std::atomic<std::uint32_t> error_ready{0};  ///< the fields below are complete
    failure_kind error_kind = failure_kind::exception;
    std::uint32_t error_stage = 0, error_group = 0;
    std::int32_t error_pid = 0, error_signal = 0, error_code = 0;
    std::uint64_t error_length = 0;  ///< of the message, which is in the run's shared_text
    std::uint64_t error_item = failure::no_item;
    std::uint32_t error_times = 0;
};

/// Where the processes of a run record its first failure (in the region) and the caller reads it
/// back. Lives in each process (a fork copies it); the objects it points to outlive it.
class failure_log {
public:
    failure_log() = default;
    failure_log(control_block* control, const ipc::shared_text* text, ipc::ring_control* const* rings,
                std::size_t ring_count) noexcept
        : control_(control), text_(text), rings_(rings), ring_count_(ring_count) {}

    /// Records `f` when it is the run's first failure (later ones lose), then stop()s.
    void fail(const failure& f) const noexcept;
    /// Raises the abort flag and wakes whoever sleeps on a ring, so every process stops.
    void stop() const noexcept;

    const std::atomic<std::uint32_t>& abort_flag() const noexcept { return control_->abort; }
    bool aborted() const noexcept { return control_->abort.load(std::memory_order_acquire) != 0; }
    bool failed() const noexcept { return control_->error_claimed.load(std::memory_order_acquire) != 0; }
    /// Throws the recorded failure as stage_error or stage_crashed, the stage named as `plan`
    /// names it; a stage_error that says so when nothing (or only half of it) was recorded.
    [[noreturn]] void throw_recorded(const pipeline_plan& plan) const;

private:
    control_block* control_ = nullptr;
    const ipc::shared_text* text_ = nullptr;  ///< the first failure's message, of any length
    ipc::ring_control* const* rings_ = nullptr;
    std::size_t ring_count_ = 0;
};

}  // namespace forkline::detail
