// fl::pool: persistent worker processes that run functions on the items of a range (map, imap,
// imap_unordered, starmap) or on one set of arguments (submit, which returns a fl::future), as
// Python's multiprocessing.Pool does, with C++ types checked at compile time.
#pragma once

#include <forkline/codec/codec.hpp>
#include <forkline/core/detail/progress_text.hpp>
#include <forkline/core/detail/range_holder.hpp>
#include <forkline/core/diagnostics.hpp>
#include <forkline/core/errors.hpp>
#include <forkline/core/stream_range.hpp>
#include <forkline/ipc/cpu_count.hpp>
#include <forkline/mp/detail/pool_engine.hpp>
#include <forkline/mp/errors.hpp>

#include <range/v3/range/access.hpp>
#include <range/v3/range/concepts.hpp>
#include <range/v3/range/primitives.hpp>
#include <range/v3/range/traits.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace forkline {

namespace detail {

/// The exception a caller sees for a failed task of `call`, whose items start at `first`.
std::exception_ptr task_exception(const char* call, std::uint64_t first, std::uint32_t count, const task_failure& f);

/// fn(arg), moving the argument when fn takes it by value or rvalue.
struct call_plain {
    template <class Fn, class A>
    static decltype(auto) invoke(Fn& fn, A& a) {
        if constexpr (std::is_invocable_v<Fn&, A&&>)
            return std::invoke(fn, std::move(a));
        else
            return std::invoke(fn, a);
    }
};
/// std::apply(fn, tuple): starmap and submit.
struct call_spread {
    template <class Fn, class A>
    static decltype(auto) invoke(Fn& fn, A& a) {
        return std::apply(
            [&](auto&... xs) -> decltype(auto) {
                if constexpr (std::is_invocable_v<Fn&, decltype(std::move(xs))...>)
                    return std::invoke(fn, std::move(xs)...);
                else
                    return std::invoke(fn, xs...);
            },
            a);
    }
};
template <class Fn, class A, class Call>
using call_result_t = std::remove_cvref_t<decltype(Call::invoke(std::declval<Fn&>(), std::declval<A&>()))>;

/// What a worker runs for a task of Fn over items of type A: the closure comes first, as bytes.
template <class Fn, class A, class Call>
void run_items(const std::byte* in, std::size_t n, std::uint32_t count, task_output& out) {
    alignas(Fn) std::byte storage[sizeof(Fn)];
    std::memcpy(storage, in, sizeof(Fn));
    Fn& fn = *std::launder(reinterpret_cast<Fn*>(storage));
    constexpr std::size_t skip = (sizeof(Fn) + 7) & ~std::size_t{7};
    decoder d(in + skip, n - skip);
    for (out.item = 0; out.item < count; ++out.item) {
        A a = d.get<A>();
        if constexpr (std::is_void_v<call_result_t<Fn, A, Call>>)
            Call::invoke(fn, a);
        else
            out.put(Call::invoke(fn, a));
    }
}

/// The results of a chunked call (map, imap, ...), by chunk, until the caller takes them.
template <class Out>
struct chunk_results final : pool_job {
    chunk_results(const char* call, std::size_t chunksize) : call(call), chunksize(chunksize) {}
    void done(std::uint64_t chunk, std::uint32_t count, const std::byte* p, std::size_t n) override {
        decoder d(p, n);
        std::vector<Out> v;
        v.reserve(count);
        for (std::uint32_t i = 0; i < count; ++i) v.push_back(d.get<Out>());
        ready.emplace(chunk, std::move(v));
    }
    void failed(std::uint64_t chunk, const task_failure& f) override {
        errors.emplace(chunk, task_exception(call, chunk * chunksize, sizes[chunk], f));
    }
    const char* call;
    std::size_t chunksize;
    std::map<std::uint64_t, std::vector<Out>> ready;
    std::map<std::uint64_t, std::exception_ptr> errors;
    std::map<std::uint64_t, std::uint32_t> sizes;  ///< items of each chunk sent and not back
};

/// One map, starmap, imap or imap_unordered call: reads the range a chunk at a time, keeps a
/// bounded number of chunks in the pool, and hands back results by chunk.
template <class Fn, class R, class Call>
class chunked_call {
public:
    using in_t = std::remove_cvref_t<ranges::range_value_t<std::remove_reference_t<R>>>;
    using out_t = call_result_t<Fn, in_t, Call>;

    /// `progress`: the pool's show_progress (the environment may say otherwise); `retries`: how
    /// many more times a chunk runs when its worker dies in it.
    chunked_call(std::shared_ptr<pool_engine> e, const char* call, Fn fn, R&& r, std::size_t chunksize, bool progress,
                 unsigned retries)
        : e_(std::move(e)),
          fn_(fn),
          range_(std::forward<R>(r)),
          it_(ranges::begin(range_.get())),
          chunksize_(chunksize ? chunksize : default_chunksize()),
          results_(std::make_shared<chunk_results<out_t>>(call, chunksize_)) {
        results_->retries = retries;
        if (progress_wanted(progress)) bar_.emplace(call, size_hint());
    }
    chunked_call(const chunked_call&) = delete;
    chunked_call& operator=(const chunked_call&) = delete;
    ~chunked_call() {
        auto lock = e_->lock();
        results_->cancelled = true;  // what is still queued is dropped, what runs is ignored
    }

    /// The next chunk's results in input order (ordered) or as they come; none at the end.
    /// Throws the chunk's task_error / process_crashed where the chunk would have been.
    std::optional<std::vector<out_t>> next(bool ordered) {
        auto lock = e_->lock();
        for (;;) {
            // Enough chunks for every worker to hold all it may, and some ready in the caller.
            std::size_t window = e_->size() * (e_->depth() + 2);
            while (!input_done_ && sent_ - taken_ < window) send_chunk();
            auto& ready = results_->ready;
            auto& errors = results_->errors;
            auto take = [&](auto& from, auto at) {
                done_ += results_->sizes[at->first];
                results_->sizes.erase(at->first);
                ++taken_;
                if (ordered) ++next_;
                if (bar_) bar_->update(done_);
                auto node = from.extract(at);
                return std::move(node.mapped());
            };
            auto r = ordered ? ready.find(next_) : ready.begin();
            if (r != ready.end()) return take(ready, r);
            auto x = ordered ? errors.find(next_) : errors.begin();
            if (x != errors.end()) std::rethrow_exception(take(errors, x));
            if (input_done_ && taken_ == sent_) {
                bar_.reset();  // erased as the results end
                return std::nullopt;
            }
            if (e_->outstanding() == 0) throw std::logic_error("forkline::pool: a task's results were lost");
            if (bar_) bar_->update(done_);
            e_->step();
        }
    }

    std::size_t size_hint() {
        if constexpr (ranges::sized_range<std::remove_reference_t<R>>)
            return static_cast<std::size_t>(ranges::size(range_.get()));
        return 0;
    }

private:
    /// As Python does: about four chunks per worker when the range knows its size, else one item.
    std::size_t default_chunksize() {
        std::size_t n = size_hint(), parts = 4 * std::size_t{e_->size()};
        return n ? (n + parts - 1) / parts : 1;
    }

    void send_chunk() {
        auto record = task_record(&run_items<Fn, in_t, Call>, fn_);
        std::uint32_t k = 0;
        for (auto end = ranges::end(range_.get()); k < chunksize_ && it_ != end; ++k, ++it_)
            append_item(record, static_cast<const in_t&>(*it_));
        if (k < chunksize_) input_done_ = true;
        if (k == 0) return;
        results_->sizes[sent_] = k;
        e_->send(results_, sent_++, k, std::move(record));
    }

    std::shared_ptr<pool_engine> e_;
    Fn fn_;
    range_holder<R> range_;
    ranges::iterator_t<std::remove_reference_t<R>> it_;
    std::size_t chunksize_;
    std::shared_ptr<chunk_results<out_t>> results_;
    std::uint64_t sent_ = 0, taken_ = 0, next_ = 0, done_ = 0;  ///< done_: items whose results came
    bool input_done_ = false;
    std::optional<progress_bar> bar_;
};

/// imap's and imap_unordered's range: items out of the chunks as they come.
template <class Call, class Out>
class chunked_source final : public stream_range<Out>::source {
public:
    chunked_source(std::unique_ptr<Call> c, bool ordered) : call_(std::move(c)), ordered_(ordered) {}
    bool next(std::optional<Out>& slot) override {
        while (at_ == chunk_.size()) {
            chunk_.clear();
            at_ = 0;
            auto c = call_->next(ordered_);
            if (!c) return false;
            chunk_ = std::move(*c);
        }
        slot.emplace(std::move(chunk_[at_++]));
        return true;
    }

private:
    std::unique_ptr<Call> call_;
    bool ordered_;
    std::vector<Out> chunk_;
    std::size_t at_ = 0;
};

/// The shared state of one submit: its result or its failure.
template <class R>
struct call_state final : pool_job {
    void done(std::uint64_t, std::uint32_t, const std::byte* p, std::size_t n) override {
        if constexpr (!std::is_void_v<R>) value.emplace(decode<R>(p, n));
        complete.store(true, std::memory_order_release);
    }
    void failed(std::uint64_t, const task_failure& f) override {
        error = task_exception("pool.submit", 0, 1, f);
        complete.store(true, std::memory_order_release);
    }
    std::optional<std::conditional_t<std::is_void_v<R>, bool, R>> value;
    std::exception_ptr error;
    std::atomic<bool> complete{false};
};

/// The checks every pool call makes on fn and its inputs and results, with sentences naming `call`.
template <class Fn, class A, class Call>
constexpr bool pool_call_ok() {
    static_assert(std::is_trivially_copyable_v<Fn>,
                  "forkline::pool: fn must be trivially copyable to reach worker processes that already run: "
                  "capture plain values (numbers, trivially copyable structs) by value; pass strings and "
                  "containers as arguments, or set them up in the pool's initializer");
    static_assert(transferable<A>,
                  FORKLINE_CANNOT_CROSS("forkline::pool: the arguments", "a worker", "; pass owning values"));
    constexpr bool callable = requires(Fn& fn, A& a) { Call::invoke(fn, a); };
    static_assert(callable, "forkline::pool: fn cannot be called with the arguments given");
    if constexpr (callable) {
        using out = call_result_t<Fn, A, Call>;
        static_assert(std::is_void_v<out> || transferable<out>,
                      FORKLINE_CANNOT_CROSS("forkline::pool: fn's result", "the caller", "; return an owning value"));
        return std::is_trivially_copyable_v<Fn> && transferable<A> && (std::is_void_v<out> || transferable<out>);
    }
    return false;
}

}  // namespace detail

/// For one pool call: how many more times a task (a chunk of map's items, or a submit) runs when
/// the worker running it dies (a crash, a signal, an exit): `pool.map(fn, xs, fl::retries(3))`.
/// Tasks that throw are not run again: their exception is the answer. See pool::retry.
struct retries {
    constexpr explicit retries(unsigned times) noexcept : times(times) {}
    unsigned times;
};

/// The result of pool.submit, which arrives later: get() waits for it (running the pool meanwhile)
/// and returns it, or throws what the task threw. Movable, not copyable; get() once.
/// Example: `auto f = pool.submit(fib, 30); ... long r = f.get();`
/// Errors: get() throws fl::task_error when the task threw, fl::process_crashed when its worker died,
/// std::runtime_error when the pool was terminated first, std::future_error on an empty future.
template <class R>
class future {
public:
    future() = default;

    bool valid() const noexcept { return state_ != nullptr; }

    /// True when get() would not wait. Collects finished results without sleeping.
    bool ready() const {
        check();
        if (done()) return true;
        auto lock = engine_->lock();
        engine_->step(false);
        return done();
    }

    /// Waits until the result is there.
    void wait() const {
        check();
        if (done()) return;
        auto lock = engine_->lock();
        while (!done()) engine_->step();
    }

    /// Waits at most `timeout` (checked about every 20 ms): ready or timeout.
    template <class Rep, class Period>
    std::future_status wait_for(const std::chrono::duration<Rep, Period>& timeout) const {
        check();
        auto deadline = std::chrono::steady_clock::now() + timeout;
        if (done()) return std::future_status::ready;
        auto lock = engine_->lock();
        while (!done() && std::chrono::steady_clock::now() < deadline) engine_->step();
        return done() ? std::future_status::ready : std::future_status::timeout;
    }

    /// Waits, then returns the result (moving it out) or throws the task's failure.
    R get() {
        wait();
        auto s = std::move(state_);
        if (s->error) std::rethrow_exception(s->error);
        if constexpr (!std::is_void_v<R>) return std::move(*s->value);
    }

private:
    friend class pool;
    future(std::shared_ptr<detail::call_state<R>> s, detail::pool_engine* e) : state_(std::move(s)), engine_(e) {}
    bool done() const noexcept { return state_->complete.load(std::memory_order_acquire); }
    void check() const {
        if (!state_) throw std::future_error(std::future_errc::no_state);
    }

    std::shared_ptr<detail::call_state<R>> state_;
    detail::pool_engine* engine_ = nullptr;  ///< alive while the state is incomplete
};

/// A pool of worker processes, forked once when the pool is made and reused by every call, so a
/// small map costs no fork. Functions travel to the workers as the address of code in this
/// program plus the closure's bytes, so fn may be a function, a function object or a lambda whose
/// captures are plain values taken by value (an int, a double, a struct of them); arguments and
/// results are any fl::transferable type. Captured pointers and references would point into the
/// worker's own copy of memory as it was when the worker started: do not capture them.
/// A worker that dies in a task fails that task (fl::process_crashed) and is replaced; the other
/// tasks go on. With retries (pool.retry(k), or fl::retries(k) for one call), the task runs again
/// instead, up to k more times, before it fails. Not copyable; movable. Its calls may come from several threads (they take turns).
///
/// Example:
///     fl::pool pool(4);
///     std::vector<long> squares = pool.map([](long x) { return x * x; }, fl_iota_vector);
///     auto f = pool.submit([](int a, int b) { return a + b; }, 2, 3);   // f.get() == 5
class pool {
public:
    /// Starts `processes` workers (at least 1; throws std::invalid_argument for 0).
    explicit pool(unsigned processes = cpu_count()) : pool(processes, std::function<void()>{}) {}

    /// Starts `processes` workers, each of which calls `initializer()` once before its first task
    /// (for state that every task of that worker uses: open a file, seed a generator, fill a
    /// table). The initializer runs in the workers, so it may capture anything. When it throws
    /// or crashes, the pool is broken: its calls throw std::runtime_error saying why.
    template <class Init>
        requires std::is_invocable_v<Init&>
    pool(unsigned processes, Init initializer)
        : engine_(std::make_shared<detail::pool_engine>(processes, std::function<void()>(std::move(initializer)))) {}

    pool(pool&&) noexcept = default;
    pool& operator=(pool&& o) noexcept {
        if (this != &o) {
            finish();
            engine_ = std::move(o.engine_);
            progress_ = o.progress_;
        }
        return *this;
    }
    /// close() and join(): waits for every task given to the pool.
    ~pool() { finish(); }

    /// The number of workers.
    unsigned size() const { return engine().size(); }

    /// Shows a bar on stderr while map, starmap, imap and imap_unordered run (FORKLINE_PROGRESS
    /// in the environment says yes or no over this): percent, items, rate and time left when the
    /// range has a size, else items and rate; redrawn in place on a terminal from the caller's
    /// own wait (four times a second at most, after half a second), erased when the call's
    /// results end. Off a terminal, a line every 5 seconds.
    void show_progress(bool on = true) noexcept { progress_ = on; }

    /// From now on, a task whose worker dies in it (a crash, a signal such as the OOM killer's
    /// SIGKILL, an exit) runs again, first, on a free worker, up to `times` more times; a task
    /// that loses its worker on every run then fails with fl::process_crashed, saying how many
    /// runs it had. map's result is then complete and in order, each item's result once; but
    /// what a task did besides returning (a file written, a counter raised) may be done again, so
    /// retry tasks whose effects may repeat. A call may say otherwise: fl::retries(k) as its last
    /// argument (submit's first). Default: 0, a dead worker fails its task at once.
    void retry(unsigned times) {
        auto lock = engine().lock();
        engine().set_retries(times);
    }

    /// How many times tasks were run again because their worker died, so far.
    std::uint64_t retried() const {
        auto lock = engine().lock();
        return engine().retried();
    }

    /// fn applied to every element of `range`, in order, computed by the workers `chunksize`
    /// elements at a time (default: about four chunks per worker for a sized range, else 1).
    /// Example: `pool.map([](int x) { return x * x; }, std::vector{1, 2, 3})` returns {1, 4, 9}.
    /// Errors: the first failing element's task_error (or process_crashed), in input order, after
    /// the elements before it were computed; the pool stays usable.
    template <class Fn, class R>
    auto map(Fn fn, R&& range, std::size_t chunksize = 0) {
        return collect<detail::call_plain>(fn, std::forward<R>(range), chunksize, {}, "pool.map");
    }
    /// map with retries of its own: `pool.map(fn, xs, fl::retries(3))`, or with a chunksize too.
    template <class Fn, class R>
    auto map(Fn fn, R&& range, std::size_t chunksize, retries r) {
        return collect<detail::call_plain>(fn, std::forward<R>(range), chunksize, r.times, "pool.map");
    }
    template <class Fn, class R>
    auto map(Fn fn, R&& range, retries r) {
        return map(fn, std::forward<R>(range), 0, r);
    }

    /// map for functions of several arguments: each element is a tuple (or pair) of them.
    /// Example: `pool.starmap([](int a, int b) { return a * b; }, std::vector{std::pair{2, 3}})` is {6}.
    template <class Fn, class R>
    auto starmap(Fn fn, R&& range, std::size_t chunksize = 0) {
        return collect<detail::call_spread>(fn, std::forward<R>(range), chunksize, {}, "pool.starmap");
    }
    template <class Fn, class R>
    auto starmap(Fn fn, R&& range, std::size_t chunksize, retries r) {
        return collect<detail::call_spread>(fn, std::forward<R>(range), chunksize, r.times, "pool.starmap");
    }
    template <class Fn, class R>
    auto starmap(Fn fn, R&& range, retries r) {
        return starmap(fn, std::forward<R>(range), 0, r);
    }

    /// Lazy map: an input range of the results in order, computed ahead while you read (a few
    /// chunks per worker ahead: enough to keep each busy for about a millisecond, at least 2). The range is read as results are needed, so it may be
    /// endless. Destroying the range early drops the tasks not yet started.
    /// Example: `for (long r : pool.imap(work, fl_lines)) ...`
    /// Errors: a failed element's task_error is thrown when the reader reaches it; reading on
    /// continues with the next chunk.
    template <class Fn, class R>
    auto imap(Fn fn, R&& range, std::size_t chunksize = 1) {
        return lazy<detail::call_plain>(fn, std::forward<R>(range), chunksize, {}, true, "pool.imap");
    }
    template <class Fn, class R>
    auto imap(Fn fn, R&& range, std::size_t chunksize, retries r) {
        return lazy<detail::call_plain>(fn, std::forward<R>(range), chunksize, r.times, true, "pool.imap");
    }
    template <class Fn, class R>
    auto imap(Fn fn, R&& range, retries r) {
        return imap(fn, std::forward<R>(range), 1, r);
    }

    /// As imap, but results come in the order they are finished.
    template <class Fn, class R>
    auto imap_unordered(Fn fn, R&& range, std::size_t chunksize = 1) {
        return lazy<detail::call_plain>(fn, std::forward<R>(range), chunksize, {}, false, "pool.imap_unordered");
    }
    template <class Fn, class R>
    auto imap_unordered(Fn fn, R&& range, std::size_t chunksize, retries r) {
        return lazy<detail::call_plain>(fn, std::forward<R>(range), chunksize, r.times, false, "pool.imap_unordered");
    }
    template <class Fn, class R>
    auto imap_unordered(Fn fn, R&& range, retries r) {
        return imap_unordered(fn, std::forward<R>(range), 1, r);
    }

    /// Runs fn(args...) in a worker; the future gives its result.
    /// Example: `auto f = pool.submit([](std::string s) { return s.size(); }, std::string("abc"));`
    /// Errors: see fl::future; std::logic_error when the pool is closed.
    template <class Fn, class... Args>
        requires(!std::is_same_v<std::remove_cvref_t<Fn>, retries>)
    auto submit(Fn fn, Args&&... args) {
        return submit_with({}, fn, std::forward<Args>(args)...);
    }
    /// submit with retries of its own: `pool.submit(fl::retries(2), fn, args...)`.
    template <class Fn, class... Args>
    auto submit(retries r, Fn fn, Args&&... args) {
        return submit_with(r.times, fn, std::forward<Args>(args)...);
    }

    /// Accepts no more tasks; those given still run.
    void close() {
        auto lock = engine().lock();
        engine().close();
    }
    /// After close(): waits for every task, then for the workers to exit.
    /// Errors: std::logic_error when the pool is still open.
    void join() {
        auto lock = engine().lock();
        engine().join();
    }
    /// Kills the workers now; tasks not finished fail with std::runtime_error.
    void terminate() {
        auto lock = engine().lock();
        engine().terminate();
    }

private:
    template <class Fn, class... Args>
    auto submit_with(std::optional<unsigned> r, Fn fn, Args&&... args) {
        using tuple_t = std::tuple<std::decay_t<Args>...>;
        static_assert(detail::pool_call_ok<Fn, tuple_t, detail::call_spread>());
        using out_t = detail::call_result_t<Fn, tuple_t, detail::call_spread>;
        auto record = detail::task_record(&detail::run_items<Fn, tuple_t, detail::call_spread>, fn);
        detail::append_item(record, tuple_t(std::forward<Args>(args)...));
        auto state = std::make_shared<detail::call_state<out_t>>();
        auto lock = engine().lock();
        state->retries = r.value_or(engine().retries());
        engine().send(state, 0, 1, std::move(record));
        engine().step(false);
        return future<out_t>(std::move(state), engine_.get());
    }

    template <class Call, class Fn, class R>
    auto collect(Fn fn, R&& range, std::size_t chunksize, std::optional<unsigned> retries, const char* name) {
        static_assert(ranges::input_range<std::remove_reference_t<R>>,
                      "forkline::pool::map(fn, range): the argument is not an input range (it needs begin() and end())");
        using in_t = std::remove_cvref_t<ranges::range_value_t<std::remove_reference_t<R>>>;
        static_assert(detail::pool_call_ok<Fn, in_t, Call>());
        using out_t = detail::call_result_t<Fn, in_t, Call>;
        static_assert(!std::is_void_v<out_t>,
                      "forkline::pool::map(fn, range): fn returns nothing; return a value (or use pool.submit)");
        detail::chunked_call<Fn, R, Call> call(checked_engine(), name, fn, std::forward<R>(range), chunksize, progress_,
                                               retries.value_or(engine().retries()));
        std::vector<out_t> out;
        out.reserve(call.size_hint());
        while (auto chunk = call.next(true))
            for (auto& x : *chunk) out.push_back(std::move(x));
        return out;
    }

    template <class Call, class Fn, class R>
    auto lazy(Fn fn, R&& range, std::size_t chunksize, std::optional<unsigned> retries, bool ordered,
              const char* name) {
        static_assert(ranges::input_range<std::remove_reference_t<R>>,
                      "forkline::pool::imap(fn, range): the argument is not an input range (it needs begin() and end())");
        using in_t = std::remove_cvref_t<ranges::range_value_t<std::remove_reference_t<R>>>;
        static_assert(detail::pool_call_ok<Fn, in_t, Call>());
        using call_t = detail::chunked_call<Fn, R, Call>;
        using out_t = typename call_t::out_t;
        auto call = std::make_unique<call_t>(checked_engine(), name, fn, std::forward<R>(range), chunksize, progress_,
                                             retries.value_or(engine().retries()));
        return stream_range<out_t>(std::make_unique<detail::chunked_source<call_t, out_t>>(std::move(call), ordered));
    }

    void finish() noexcept {
        if (!engine_) return;
        try {
            auto lock = engine_->lock();
            engine_->close();
            engine_->join();
        } catch (...) {
            engine_->terminate();
        }
    }

    detail::pool_engine& engine() const {
        if (!engine_)
            throw std::logic_error("forkline::pool: this pool has no workers (it was moved from, or a task of its own "
                                   "uses it)");
        return *engine_;
    }
    const std::shared_ptr<detail::pool_engine>& checked_engine() const {
        engine();
        return engine_;
    }

    // progress_ comes first: the engine forks the workers while it is built, and a task that
    // (wrongly) uses its own pool must find progress_ set in the worker's copy of this object.
    bool progress_ = false;
    std::shared_ptr<detail::pool_engine> engine_;
};

}  // namespace forkline
