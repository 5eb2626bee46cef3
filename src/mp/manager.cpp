// fl::manager: an fl::shared_memory segment laid out as a header (magic, the one robust lock) and
// a heap (heap.hpp) holding the named objects: a directory whose table maps each name to the
// object's record. Every change happens under the robust lock, so a process killed in the middle
// of one cannot leave a lock held forever; it leaves the segment marked corrupt instead.
#include <forkline/ipc/waiter.hpp>
#include <forkline/mp/detail/segment.hpp>
#include <forkline/mp/manager.hpp>
#include <forkline/mp/shared_memory.hpp>

#include "deadline.hpp"
#include "heap.hpp"
#include "robust.hpp"

#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <new>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>

namespace forkline {

namespace {

using detail::block_kind;
using detail::offset;
using kind = detail::manager_object::kind;

constexpr std::uint64_t magic = detail::manager_magic;
constexpr std::size_t header_bytes = detail::manager_header_bytes;

/// At the start of the segment; the heap follows. Plain words, used through std::atomic_ref: the
/// creator's zero-filled memory is their initial state.
struct header {
    std::uint64_t ready;     ///< `magic` once the creator has made everything
    std::uint32_t changing;  ///< the lock's holder is changing the heap (allocating, linking)
    std::uint32_t corrupt;   ///< a holder died while changing it, or its bytes were found damaged
    pthread_mutex_t lock;
};
static_assert(sizeof(header) <= header_bytes && header_bytes % 16 == 0);
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free && std::atomic_ref<std::uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uint32_t>) == 4, "the futex words are 32-bit atomics");

enum corruption : std::uint32_t { sound = 0, died_changing = 1, damaged_bytes = 2 };

std::uint64_t ready_of(header* h) { return std::atomic_ref<std::uint64_t>(h->ready).load(std::memory_order_acquire); }

/// Every named object has all the parts; its kind says which it uses. The directory is a record
/// too, whose table maps names to records.
struct record {
    kind k{};
    std::uint32_t closed = 0;
    std::atomic<std::uint32_t> items{0}, room{0};  ///< queue: bumped on put / get, futex words
    std::uint64_t maxsize = 0;
    offset type = 0;  ///< a blob: the type it was made with
    offset one = 0;   ///< value: a blob
    detail::table map;
    detail::ring list;  ///< list and queue
    std::uint64_t seal = 0;
};
constexpr kind directory_kind{};

std::uint64_t record_seal(offset at, const record& r) {
    return detail::seal_of(at, {static_cast<std::uint64_t>(r.k) | std::uint64_t{r.closed} << 32,
                                r.items.load(std::memory_order_relaxed) |
                                    std::uint64_t{r.room.load(std::memory_order_relaxed)} << 32,
                                r.maxsize, r.type, r.one, r.map.slots, r.map.count, r.map.capacity, r.list.slots,
                                r.list.head, r.list.count, r.list.capacity});
}

const char* kind_name(kind k) {
    switch (k) {
        case kind::dict: return "dict";
        case kind::list: return "list";
        case kind::value: return "value";
        case kind::queue: return "queue";
    }
    return "object";
}

detail::bytes as_bytes(std::string_view s) { return {reinterpret_cast<const std::byte*>(s.data()), s.size()}; }
std::string_view as_text(detail::bytes b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

}  // namespace

namespace detail {

/// Thrown out of a lock attempt whose deadline passed (a timed queue call then returns timeout).
struct lock_timed_out {};

struct manager_state {
    shared_memory shm;
    header* h = nullptr;
    detail::heap heap;

    explicit manager_state(shared_memory m)
        : shm(std::move(m)), h(reinterpret_cast<header*>(shm.data())), heap(shm.data(), shm.size(), header_bytes) {}

    std::string label() const { return "manager '" + shm.name() + "'"; }
    std::atomic_ref<std::uint32_t> changing() { return std::atomic_ref<std::uint32_t>(h->changing); }
    std::atomic_ref<std::uint32_t> corrupt() { return std::atomic_ref<std::uint32_t>(h->corrupt); }

    /// Takes the segment's lock before `d` passes (else throws lock_timed_out). A previous holder
    /// that died while changing the heap leaves it corrupt: then, and from then on, this throws
    /// fl::segment_corrupt, as it does once a call found the heap damaged.
    robust_guard locked(const deadline& d) {
        try {
            robust_guard g(&h->lock, d, "forkline::manager: cannot take the segment's lock");
            if (!g.held()) throw lock_timed_out{};
            if (g.owner_died() && changing().load(std::memory_order_relaxed))
                corrupt().store(died_changing, std::memory_order_relaxed);
            if (auto c = corrupt().load(std::memory_order_relaxed))
                throw segment_corrupt("forkline::" + label() +
                                      (c == died_changing ? ": a process died while changing it"
                                                          : ": its heap was found damaged (not by forkline)") +
                                      ", so its contents cannot be trusted; remove it and make it again");
            return g;
        } catch (const std::system_error& e) {
            if (e.code().value() != EDEADLK) throw;
            throw std::logic_error("forkline::" + label() +
                                   ": an object of it was used inside an update function, which runs holding "
                                   "the segment's lock; read what fn needs before calling update");
        }
    }

    /// The record at `at`, checked against its seal.
    record& record_at(offset at) {
        record* r = heap.at<record>(at, block_kind::record);
        if (r->seal != record_seal(at, *r)) damaged("an object's record is not what was written there");
        return *r;
    }
    /// The futex words of a record found (and checked) before: waits read them without the lock.
    record& words_of(offset at) { return *reinterpret_cast<record*>(shm.data() + at); }
};

namespace {

/// Runs f() under the segment's lock (taken before `d` passes), turning a full heap into
/// fl::segment_full and a damaged one into fl::segment_corrupt, for this call and every later one.
template <class F>
auto guarded(manager_state& s, const std::string& label, F&& f, const deadline& d = deadline(-1)) {
    auto g = s.locked(d);
    try {
        return f();
    } catch (const heap_full& e) {
        throw segment_full("forkline::" + label + ": out of space (a segment of " + std::to_string(s.shm.size()) +
                           " bytes, " + std::to_string(e.free_bytes) + " free)");
    } catch (const heap_damaged& e) {
        s.corrupt().store(damaged_bytes, std::memory_order_relaxed);
        throw segment_corrupt("forkline::" + label + ": its heap holds what forkline did not write there (" +
                              e.what + "): it was damaged from outside, so its contents cannot be trusted; remove it "
                              "and make it again");
    }
}

/// An object's record for the span of one call under the lock, checked when taken. A call that
/// changes the heap says so first (see manager_state::locked); the record is sealed again at the
/// end, also when the call throws (a table grown before a failed allocation is a change).
class object_call {
public:
    object_call(manager_state& s, offset at, kind k) : s_(s), at_(at), r_(s.record_at(at)) {
        if (r_.k != k) damaged("an object's record is of another kind than it was made");
    }
    object_call(const object_call&) = delete;
    object_call& operator=(const object_call&) = delete;
    ~object_call() {
        if (!changing_) return;
        r_.seal = record_seal(at_, r_);
        s_.changing().store(0, std::memory_order_relaxed);
    }
    record* operator->() const { return &r_; }
    void change() {
        s_.changing().store(1, std::memory_order_relaxed);
        changing_ = true;
    }

private:
    manager_state& s_;
    offset at_;
    record& r_;
    bool changing_ = false;
};

/// Attaching reads the directory's every entry once, so that a damaged name or record is
/// reported before the objects are used.
void check_directory(manager_state& s) {
    object_call dir(s, s.heap.directory(), directory_kind);
    for (const slot& e : s.heap.slots(dir->map)) {
        if (!s.heap.check(e).key.word) continue;
        s.heap.key_of(e);
        record& o = s.record_at(e.value.word);
        if (o.k < kind::dict || o.k > kind::queue) damaged("an object is of no known kind");
        s.heap.blob(o.type);
    }
}

}  // namespace

}  // namespace detail

// ---- the segment

manager::manager(std::string name, std::size_t size) {
    if (size < 4096)
        throw std::invalid_argument("forkline::manager(name, size): '" + name + "' needs at least 4096 bytes, not " +
                                    std::to_string(size));
    shared_memory shm(name, size);
    try {
        s_ = std::make_shared<detail::manager_state>(std::move(shm));
        detail::init_robust_mutex(&s_->h->lock, false, "forkline::manager: cannot make the segment's lock");
        s_->heap.format(sizeof(record));
        offset dir = s_->heap.directory();
        auto* r = new (s_->heap.at<record>(dir, block_kind::record)) record;
        r->k = directory_kind;
        r->seal = record_seal(dir, *r);
    } catch (...) {
        shared_memory::remove(name);
        throw;
    }
    std::atomic_ref<std::uint64_t>(s_->h->ready).store(magic, std::memory_order_release);
}

manager::manager(std::string name) {
    // A segment just created may not be sized or laid out yet: give its creator a moment.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    auto too_late = [&] { return std::chrono::steady_clock::now() > until; };
    for (;;) {
        std::optional<shared_memory> shm;
        try {
            shm.emplace(name);
        } catch (const std::system_error& e) {
            if (e.code().value() != ENODATA || too_late()) throw;
        }
        if (shm && shm->size() >= 4096 && ready_of(reinterpret_cast<header*>(shm->data())) == magic) {
            s_ = std::make_shared<detail::manager_state>(std::move(*shm));
            break;
        }
        if (too_late())
            throw std::invalid_argument("forkline::manager(name): '" + name +
                                        "' is not a forkline manager (or its creator died making it)");
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    detail::guarded(*s_, s_->label(), [&] {
        s_->heap.check();
        detail::check_directory(*s_);
    });
}

const std::string& manager::name() const noexcept { return s_->shm.name(); }
std::size_t manager::size() const noexcept { return s_->shm.size(); }

std::size_t manager::free_bytes() const {
    return detail::guarded(*s_, s_->label(), [&] { return static_cast<std::size_t>(s_->heap.free_bytes()); });
}

void manager::unlink() { s_->shm.unlink(); }
bool manager::remove(const std::string& name) { return shared_memory::remove(name); }

detail::manager_object manager::object(kind k, const std::string& name, const std::string& type, std::size_t maxsize,
                                       detail::manager_object::updater init, void* init_ctx) {
    return detail::manager_object(s_, k, name, type, maxsize, init, init_ctx);
}

// ---- objects

namespace detail {

manager_object::manager_object(std::shared_ptr<manager_state> s, kind k, const std::string& name,
                               const std::string& type, std::size_t maxsize, updater init, void* init_ctx)
    : s_(std::move(s)), kind_(k) {
    label_ = std::string(kind_name(k)) + " '" + name + "' in " + s_->label();
    if (name.empty()) throw std::invalid_argument("forkline::manager: an object's name is empty");
    std::vector<std::byte> first;  // a value's initial encoding, made before the lock is taken
    if (init) init(init_ctx, nullptr, first);
    const bytes key = as_bytes(name);
    const std::uint64_t hash = hash_bytes(key);
    obj_ = guarded(*s_, label_, [&]() -> offset {
        auto& hp = s_->heap;
        object_call dir(*s_, hp.directory(), directory_kind);
        if (const slot* found = hp.find(dir->map, key, hash)) {
            const record& o = s_->record_at(found->value.word);
            std::string_view made_as = as_text(hp.blob(o.type));
            if (o.k != k || made_as != type)
                throw std::invalid_argument("forkline::manager: '" + name + "' in " + s_->label() + " is a " +
                                            std::string(made_as) + ", not the " + type + " asked for");
            return found->value.word;
        }
        dir.change();
        hp.reserve(dir->map);
        offset parts[2] = {};  // type, the value's first encoding
        const std::size_t count = k == kind::value ? 2 : 1;
        if (count == 2)
            hp.make_blobs({as_bytes(type), bytes(first)}, parts);
        else
            hp.make_blobs({as_bytes(type)}, parts);
        stored named;
        offset at;
        try {
            named = hp.store(key);
            at = hp.allocate(sizeof(record), block_kind::record);
        } catch (const heap_full&) {
            if (named.word) hp.forget(named);
            for (std::size_t i = 0; i < count; ++i) hp.release(parts[i], block_kind::blob);
            throw;
        }
        auto* o = new (hp.at<record>(at, block_kind::record)) record;
        o->k = k;
        o->maxsize = maxsize;
        o->type = parts[0];
        o->one = parts[1];
        o->seal = record_seal(at, *o);
        hp.insert(dir->map, hash, named, {at, 0});
        return at;
    });
}

std::size_t manager_object::size() const {
    return guarded(*s_, label_, [&]() -> std::size_t {
        object_call o(*s_, obj_, kind_);
        switch (kind_) {
            case kind::dict: return s_->heap.size(o->map);
            case kind::list:
            case kind::queue: return s_->heap.size(o->list);
            case kind::value: return 1;
        }
        return 0;
    });
}

void manager_object::clear() const {
    guarded(*s_, label_, [&] {
        object_call o(*s_, obj_, kind_);
        auto& hp = s_->heap;
        o.change();
        hp.drop(o->map);
        hp.clear(o->list);
    });
}

// ---- dict

namespace {

/// A new key and value in t; heap_full leaves t's contents as they were.
void add(heap& hp, table& t, std::uint64_t hash, manager_object::bytes key, manager_object::bytes value) {
    hp.reserve(t);
    const stored k = hp.store(key);
    stored v;
    try {
        v = hp.store(value);
    } catch (const heap_full&) {
        hp.forget(k);
        throw;
    }
    hp.insert(t, hash, k, v);
}

}  // namespace

void manager_object::dict_set(bytes key, bytes value) const {
    const std::uint64_t hash = hash_bytes(key);
    guarded(*s_, label_, [&] {
        object_call o(*s_, obj_, kind_);
        auto& hp = s_->heap;
        slot* s = hp.find(o->map, key, hash);
        o.change();
        if (s)
            hp.set_value(*s, value);
        else
            add(hp, o->map, hash, key, value);
    });
}

bool manager_object::dict_get(bytes key, reader use, void* ctx) const {
    const std::uint64_t hash = hash_bytes(key);
    return guarded(*s_, label_, [&] {
        object_call o(*s_, obj_, kind_);
        const slot* s = s_->heap.find(o->map, key, hash);
        if (!s) return false;
        bytes value = s_->heap.value_of(*s);
        if (use) use(ctx, value);
        return true;
    });
}

bool manager_object::dict_erase(bytes key) const {
    const std::uint64_t hash = hash_bytes(key);
    return guarded(*s_, label_, [&] {
        object_call o(*s_, obj_, kind_);
        auto& hp = s_->heap;
        slot* s = hp.find(o->map, key, hash);
        if (!s) return false;
        o.change();
        hp.erase(o->map, *s);
        return true;
    });
}

void manager_object::dict_each(pair_reader use, void* ctx) const {
    guarded(*s_, label_, [&] {
        object_call o(*s_, obj_, kind_);
        auto& hp = s_->heap;
        for (const slot& e : hp.slots(o->map))
            if (hp.check(e).key.word) use(ctx, hp.key_of(e), hp.value_of(e));
    });
}

void manager_object::dict_update(bytes key, updater u, void* ctx) const {
    const std::uint64_t hash = hash_bytes(key);
    guarded(*s_, label_, [&] {
        object_call o(*s_, obj_, kind_);
        auto& hp = s_->heap;
        slot* s = hp.find(o->map, key, hash);
        std::vector<std::byte> out;
        if (s) {
            bytes old = hp.value_of(*s);
            u(ctx, &old, out);  // the user's fn: before anything changes
            o.change();
            hp.set_value(*s, out);
        } else {
            u(ctx, nullptr, out);
            o.change();
            add(hp, o->map, hash, key, out);
        }
    });
}

// ---- list

void manager_object::list_push(bytes item) const {
    guarded(*s_, label_, [&] {
        object_call o(*s_, obj_, kind_);
        o.change();
        s_->heap.push_back(o->list, item);
    });
}

bool manager_object::list_get(std::size_t i, reader use, void* ctx) const {
    return guarded(*s_, label_, [&] {
        object_call o(*s_, obj_, kind_);
        if (i >= o->list.count) return false;  // item() checks the count against the ring
        use(ctx, s_->heap.item(o->list, i));
        return true;
    });
}

bool manager_object::list_set(std::size_t i, bytes item) const {
    return guarded(*s_, label_, [&] {
        object_call o(*s_, obj_, kind_);
        if (i >= o->list.count) return false;  // item() checks the count against the ring
        o.change();
        s_->heap.set_item(o->list, i, item);
        return true;
    });
}

bool manager_object::list_pop(reader use, void* ctx) const {
    return guarded(*s_, label_, [&] {
        object_call o(*s_, obj_, kind_);
        auto& hp = s_->heap;
        if (o->list.count == 0) return false;
        use(ctx, hp.item(o->list, o->list.count - 1));
        o.change();
        hp.pop_back(o->list);
        return true;
    });
}

void manager_object::list_each(reader use, void* ctx) const {
    guarded(*s_, label_, [&] {
        object_call o(*s_, obj_, kind_);
        for (std::uint64_t i = 0, n = s_->heap.size(o->list); i < n; ++i) use(ctx, s_->heap.item(o->list, i));
    });
}

// ---- value

void manager_object::value_load(reader use, void* ctx) const {
    guarded(*s_, label_, [&] {
        object_call o(*s_, obj_, kind_);
        use(ctx, s_->heap.blob(o->one));
    });
}

void manager_object::value_update(updater u, void* ctx) const {
    guarded(*s_, label_, [&] {
        object_call o(*s_, obj_, kind_);
        bytes old = s_->heap.blob(o->one);
        std::vector<std::byte> out;
        u(ctx, &old, out);
        o.change();
        s_->heap.replace_blob(o->one, out);
    });
}

// ---- queue: the ring under the lock; waiters sleep on the futex words outside it, and every
// change wakes them all (a woken one that leaves without taking its turn then strands nobody)

namespace {

/// Runs `attempt(seen)` under the segment's lock until it comes to something other than timeout
/// (no turn yet: it read the futex word into `seen`), sleeping on `word` between tries, until `d`
/// passes.
template <class Attempt>
queue_core::result take_turn(manager_state& s, const std::string& label, const deadline& d,
                             std::atomic<std::uint32_t>& word, Attempt&& attempt) {
    for (;;) {
        std::uint32_t seen = 0;
        queue_core::result r;
        try {
            r = guarded(s, label, [&] { return attempt(seen); }, d);
        } catch (const lock_timed_out&) {
            return queue_core::result::timeout;
        }
        if (r != queue_core::result::timeout || d.passed()) return r;
        ipc::futex_wait(word, seen, d.ms_left());
    }
}

}  // namespace

queue_core::result manager_object::queue_put(bytes item, long long timeout_ns) const {
    record& words = s_->words_of(obj_);
    auto r = take_turn(*s_, label_, deadline(timeout_ns), words.room, [&](std::uint32_t& seen) {
        object_call o(*s_, obj_, kind_);
        auto& hp = s_->heap;
        if (o->closed) return queue_core::result::closed;
        if (o->maxsize && o->list.count >= o->maxsize) {
            seen = o->room.load(std::memory_order_relaxed);
            return queue_core::result::timeout;
        }
        o.change();
        hp.push_back(o->list, item);
        o->items.fetch_add(1, std::memory_order_release);
        return queue_core::result::done;
    });
    if (r == queue_core::result::done) ipc::futex_wake(words.items, INT_MAX);
    return r;
}

queue_core::result manager_object::queue_get(reader use, void* ctx, long long timeout_ns) const {
    return take_turn(*s_, label_, deadline(timeout_ns), s_->words_of(obj_).items, [&](std::uint32_t& seen) {
        object_call o(*s_, obj_, kind_);
        auto& hp = s_->heap;
        if (o->list.count == 0) {
            seen = o->items.load(std::memory_order_relaxed);
            return o->closed ? queue_core::result::closed : queue_core::result::timeout;
        }
        bytes item = hp.item(o->list, 0);
        auto take = [&] {  // also when the item does not decode: it is dropped, not read forever
            o.change();
            hp.pop_front(o->list);
            o->room.fetch_add(1, std::memory_order_release);
            ipc::futex_wake(o->room, INT_MAX);
        };
        try {
            use(ctx, item);
        } catch (...) {
            take();
            throw;
        }
        take();
        return queue_core::result::done;
    });
}

void manager_object::queue_close() const {
    record& words = s_->words_of(obj_);
    guarded(*s_, label_, [&] {
        object_call o(*s_, obj_, kind_);
        o.change();
        o->closed = 1;
        o->items.fetch_add(1, std::memory_order_release);
        o->room.fetch_add(1, std::memory_order_release);
    });
    ipc::futex_wake(words.items, INT_MAX);
    ipc::futex_wake(words.room, INT_MAX);
}

bool manager_object::queue_closed() const {
    return guarded(*s_, label_, [&] {
        object_call o(*s_, obj_, kind_);
        return o->closed != 0;
    });
}

}  // namespace detail

}  // namespace forkline
