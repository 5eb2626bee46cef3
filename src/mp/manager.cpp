// fl::manager: an fl::shared_memory segment laid out as a header (magic, the one robust lock) and
// a Boost.Interprocess managed buffer holding the named objects. Boost's own locking is switched
// off (null_mutex_family): every allocation happens under our robust lock, so a process killed in
// the middle of one cannot leave a lock held forever.
#include <forkline/ipc/waiter.hpp>
#include <forkline/mp/detail/segment.hpp>
#include <forkline/mp/manager.hpp>
#include <forkline/mp/shared_memory.hpp>

#include "deadline.hpp"
#include "robust.hpp"

#include <boost/interprocess/allocators/allocator.hpp>
#include <boost/interprocess/containers/deque.hpp>
#include <boost/interprocess/containers/map.hpp>
#include <boost/interprocess/containers/string.hpp>
#include <boost/interprocess/containers/vector.hpp>
#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/indexes/iset_index.hpp>
#include <boost/interprocess/managed_external_buffer.hpp>
#include <boost/interprocess/mem_algo/rbtree_best_fit.hpp>
#include <boost/interprocess/sync/mutex_family.hpp>

#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <optional>
#include <string_view>
#include <system_error>
#include <chrono>
#include <cstring>
#include <thread>

namespace forkline {

namespace bip = boost::interprocess;

namespace {

using buffer = bip::basic_managed_external_buffer<char, bip::rbtree_best_fit<bip::null_mutex_family>, bip::iset_index>;
using segment_manager = buffer::segment_manager;
template <class T>
using alloc = bip::allocator<T, segment_manager>;
using blob = bip::basic_string<char, std::char_traits<char>, alloc<char>>;
/// Orders blobs, and finds them by a std::string_view, so a lookup allocates nothing (a full
/// segment can still be read and emptied).
struct blob_less {
    using is_transparent = void;
    static std::string_view sv(const blob& b) { return {b.data(), b.size()}; }
    static std::string_view sv(std::string_view s) { return s; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
        return sv(a) < sv(b);
    }
};
using blob_map = bip::map<blob, blob, blob_less, alloc<std::pair<const blob, blob>>>;
using blob_vector = bip::vector<blob, alloc<blob>>;
using blob_deque = bip::deque<blob, alloc<blob>>;

constexpr std::uint64_t magic = detail::manager_magic;
constexpr std::size_t header_bytes = 256;

/// At the start of the segment; the managed buffer follows. Plain words, used through
/// std::atomic_ref: the creator's zero-filled memory is their initial state.
struct header {
    std::uint64_t ready;     ///< `magic` once the creator has made everything
    std::uint32_t changing;  ///< the lock's holder is changing the heap (allocating, linking)
    std::uint32_t corrupt;   ///< a holder died while changing it: nothing can be trusted
    pthread_mutex_t lock;
};
static_assert(sizeof(header) <= header_bytes && header_bytes % 16 == 0);
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free && std::atomic_ref<std::uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uint32_t>) == 4, "the futex words are 32-bit atomics");

std::uint64_t ready_of(header* h) { return std::atomic_ref<std::uint64_t>(h->ready).load(std::memory_order_acquire); }

using kind = detail::manager_object::kind;

/// Every named object has all the parts; its kind says which it uses.
struct object {
    kind k;
    std::uint64_t maxsize;
    std::uint32_t closed = 0;
    std::atomic<std::uint32_t> items{0}, room{0};  ///< queue: bumped on put / get, futex words
    blob type;
    blob one;
    blob_map map;
    blob_vector vec;
    blob_deque deque;

    object(kind k, std::uint64_t maxsize, const std::string& t, segment_manager* sm)
        : k(k), maxsize(maxsize), type(t.data(), t.size(), sm), one(sm), map(blob_less(), sm), vec(sm), deque(sm) {}
};

const char* kind_name(kind k) {
    switch (k) {
        case kind::dict: return "dict";
        case kind::list: return "list";
        case kind::value: return "value";
        case kind::queue: return "queue";
    }
    return "object";
}

}  // namespace

namespace detail {

/// Thrown out of a lock attempt whose deadline passed (a timed queue call then returns timeout).
struct lock_timed_out {};

struct manager_state {
    shared_memory shm;
    header* h = nullptr;
    buffer buf;

    explicit manager_state(shared_memory m) : shm(std::move(m)), h(reinterpret_cast<header*>(shm.data())) {}

    std::string label() const { return "manager '" + shm.name() + "'"; }
    segment_manager* sm() { return buf.get_segment_manager(); }
    std::atomic_ref<std::uint32_t> changing() { return std::atomic_ref<std::uint32_t>(h->changing); }
    std::atomic_ref<std::uint32_t> corrupt() { return std::atomic_ref<std::uint32_t>(h->corrupt); }

    /// Takes the segment's lock before `d` passes (else throws lock_timed_out). A previous holder
    /// that died while changing the heap leaves it corrupt: then, and from then on, this throws
    /// fl::segment_corrupt.
    robust_guard locked(const deadline& d) {
        try {
            robust_guard g(&h->lock, d, "forkline::manager: cannot take the segment's lock");
            if (!g.held()) throw lock_timed_out{};
            if (g.owner_died() && changing().load(std::memory_order_relaxed)) corrupt().store(1, std::memory_order_relaxed);
            if (corrupt().load(std::memory_order_relaxed))
                throw segment_corrupt("forkline::" + label() +
                                      ": a process died while changing it, so its contents cannot be trusted; "
                                      "remove it and make it again");
            return g;
        } catch (const std::system_error& e) {
            if (e.code().value() != EDEADLK) throw;
            throw std::logic_error("forkline::" + label() +
                                   ": an object of it was used inside an update function, which runs holding "
                                   "the segment's lock; read what fn needs before calling update");
        }
    }
};

/// Marks the heap as being changed for a scope (see manager_state::locked).
class changing_heap {
public:
    explicit changing_heap(manager_state& s) : s_(s) { s_.changing().store(1, std::memory_order_relaxed); }
    changing_heap(const changing_heap&) = delete;
    changing_heap& operator=(const changing_heap&) = delete;
    ~changing_heap() { s_.changing().store(0, std::memory_order_relaxed); }

private:
    manager_state& s_;
};

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
        s_->buf = buffer(bip::create_only, s_->shm.data() + header_bytes, size - header_bytes);
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
    s_->buf = buffer(bip::open_only, s_->shm.data() + header_bytes, s_->shm.size() - header_bytes);
}

const std::string& manager::name() const noexcept { return s_->shm.name(); }
std::size_t manager::size() const noexcept { return s_->shm.size(); }

std::size_t manager::free_bytes() const {
    auto g = s_->locked(detail::deadline(-1));
    return s_->sm()->get_free_memory();
}

void manager::unlink() { s_->shm.unlink(); }
bool manager::remove(const std::string& name) { return shared_memory::remove(name); }

detail::manager_object manager::object(kind k, const std::string& name, const std::string& type, std::size_t maxsize,
                                       detail::manager_object::updater init, void* init_ctx) {
    return detail::manager_object(s_, k, name, type, maxsize, init, init_ctx);
}

// ---- objects

namespace detail {

namespace {

object& obj(void* p) { return *static_cast<object*>(p); }

manager_object::bytes view(const blob& b) {
    return {reinterpret_cast<const std::byte*>(b.data()), b.size()};
}

/// Runs f() under the segment's lock (taken before `d` passes), turning Boost's out-of-memory into
/// fl::segment_full.
template <class F>
auto guarded(manager_state& s, const std::string& label, F&& f, const deadline& d = deadline(-1)) {
    auto g = s.locked(d);
    try {
        return f();
    } catch (const bip::bad_alloc&) {
        throw segment_full("forkline::" + label + ": out of space (a segment of " + std::to_string(s.shm.size()) +
                           " bytes, " + std::to_string(s.sm()->get_free_memory()) + " free)");
    }
}

std::string_view key_of(manager_object::bytes b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

}  // namespace

manager_object::manager_object(std::shared_ptr<manager_state> s, kind k, const std::string& name,
                               const std::string& type, std::size_t maxsize, updater init, void* init_ctx)
    : s_(std::move(s)) {
    label_ = std::string(kind_name(k)) + " '" + name + "' in " + s_->label();
    if (name.empty()) throw std::invalid_argument("forkline::manager: an object's name is empty");
    std::vector<std::byte> first;  // a value's initial encoding, made before the lock is taken
    if (init) init(init_ctx, nullptr, first);
    obj_ = guarded(*s_, label_, [&]() -> void* {
        auto* sm = s_->sm();
        auto found = sm->find<object>(name.c_str());
        if (found.first) {
            object& o = *found.first;
            if (o.k != k || std::string_view(o.type.data(), o.type.size()) != type)
                throw std::invalid_argument("forkline::manager: '" + name + "' in " + s_->label() + " is a " +
                                            std::string(o.type.data(), o.type.size()) + ", not the " + type + " asked for");
            return &o;
        }
        changing_heap c(*s_);
        object* o = sm->construct<object>(name.c_str())(k, maxsize, type, sm);
        try {
            o->one.assign(reinterpret_cast<const char*>(first.data()), first.size());
        } catch (...) {
            sm->destroy_ptr(o);
            throw;
        }
        return o;
    });
}

std::size_t manager_object::size() const {
    return guarded(*s_, label_, [&]() -> std::size_t {
        object& o = obj(obj_);
        switch (o.k) {
            case kind::dict: return o.map.size();
            case kind::list: return o.vec.size();
            case kind::queue: return o.deque.size();
            case kind::value: return 1;
        }
        return 0;
    });
}

void manager_object::clear() const {
    guarded(*s_, label_, [&] {
        changing_heap c(*s_);
        object& o = obj(obj_);
        o.map.clear();
        o.vec.clear();
        o.deque.clear();
    });
}

// ---- dict

namespace {
blob to_blob(manager_state& s, manager_object::bytes b) {
    return blob(reinterpret_cast<const char*>(b.data()), b.size(), s.sm());
}
void assign(blob& to, manager_object::bytes b) { to.assign(reinterpret_cast<const char*>(b.data()), b.size()); }
}  // namespace

void manager_object::dict_set(bytes key, bytes value) const {
    guarded(*s_, label_, [&] {
        auto& m = obj(obj_).map;
        changing_heap c(*s_);
        auto it = m.find(key_of(key));
        if (it != m.end())
            assign(it->second, value);
        else
            m.emplace(to_blob(*s_, key), to_blob(*s_, value));
    });
}

bool manager_object::dict_get(bytes key, reader use, void* ctx) const {
    return guarded(*s_, label_, [&] {
        auto& m = obj(obj_).map;
        auto it = m.find(key_of(key));
        if (it == m.end()) return false;
        if (use) use(ctx, view(it->second));
        return true;
    });
}

bool manager_object::dict_erase(bytes key) const {
    return guarded(*s_, label_, [&] {
        auto& m = obj(obj_).map;
        auto it = m.find(key_of(key));
        if (it == m.end()) return false;
        changing_heap c(*s_);
        m.erase(it);
        return true;
    });
}

void manager_object::dict_each(pair_reader use, void* ctx) const {
    guarded(*s_, label_, [&] {
        for (const auto& [k, v] : obj(obj_).map) use(ctx, view(k), view(v));
    });
}

void manager_object::dict_update(bytes key, updater u, void* ctx) const {
    guarded(*s_, label_, [&] {
        auto& m = obj(obj_).map;
        auto it = m.find(key_of(key));
        std::vector<std::byte> out;
        if (it != m.end()) {
            bytes old = view(it->second);
            u(ctx, &old, out);  // the user's fn: before anything changes
            changing_heap c(*s_);
            assign(it->second, out);
        } else {
            u(ctx, nullptr, out);
            changing_heap c(*s_);
            m.emplace(to_blob(*s_, key), to_blob(*s_, out));
        }
    });
}

// ---- list

void manager_object::list_push(bytes item) const {
    guarded(*s_, label_, [&] {
        changing_heap c(*s_);
        obj(obj_).vec.push_back(to_blob(*s_, item));
    });
}

bool manager_object::list_get(std::size_t i, reader use, void* ctx) const {
    return guarded(*s_, label_, [&] {
        auto& v = obj(obj_).vec;
        if (i >= v.size()) return false;
        use(ctx, view(v[i]));
        return true;
    });
}

bool manager_object::list_set(std::size_t i, bytes item) const {
    return guarded(*s_, label_, [&] {
        auto& v = obj(obj_).vec;
        if (i >= v.size()) return false;
        changing_heap c(*s_);
        assign(v[i], item);
        return true;
    });
}

bool manager_object::list_pop(reader use, void* ctx) const {
    return guarded(*s_, label_, [&] {
        auto& v = obj(obj_).vec;
        if (v.empty()) return false;
        use(ctx, view(v.back()));
        changing_heap c(*s_);
        v.pop_back();
        return true;
    });
}

void manager_object::list_each(reader use, void* ctx) const {
    guarded(*s_, label_, [&] {
        for (const auto& b : obj(obj_).vec) use(ctx, view(b));
    });
}

// ---- value

void manager_object::value_load(reader use, void* ctx) const {
    guarded(*s_, label_, [&] { use(ctx, view(obj(obj_).one)); });
}

void manager_object::value_update(updater u, void* ctx) const {
    guarded(*s_, label_, [&] {
        auto& one = obj(obj_).one;
        bytes old = view(one);
        std::vector<std::byte> out;
        u(ctx, &old, out);
        changing_heap c(*s_);
        assign(one, out);
    });
}

// ---- queue: the deque under the lock; waiters sleep on the futex words outside it, and every
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
    object& o = obj(obj_);
    auto r = take_turn(*s_, label_, deadline(timeout_ns), o.room, [&](std::uint32_t& seen) {
        if (o.closed) return queue_core::result::closed;
        if (o.maxsize && o.deque.size() >= o.maxsize) {
            seen = o.room.load(std::memory_order_relaxed);
            return queue_core::result::timeout;
        }
        changing_heap c(*s_);
        o.deque.push_back(to_blob(*s_, item));
        o.items.fetch_add(1, std::memory_order_release);
        return queue_core::result::done;
    });
    if (r == queue_core::result::done) ipc::futex_wake(o.items, INT_MAX);
    return r;
}

queue_core::result manager_object::queue_get(reader use, void* ctx, long long timeout_ns) const {
    object& o = obj(obj_);
    return take_turn(*s_, label_, deadline(timeout_ns), o.items, [&](std::uint32_t& seen) {
        if (o.deque.empty()) {
            seen = o.items.load(std::memory_order_relaxed);
            return o.closed ? queue_core::result::closed : queue_core::result::timeout;
        }
        struct pop_front {  // also when the item does not decode: it is dropped, not read forever
            manager_state& s;
            object& o;
            ~pop_front() {
                changing_heap c(s);
                o.deque.pop_front();
                o.room.fetch_add(1, std::memory_order_release);
                ipc::futex_wake(o.room, INT_MAX);
            }
        } popped{*s_, o};
        use(ctx, view(o.deque.front()));
        return queue_core::result::done;
    });
}

void manager_object::queue_close() const {
    object& o = obj(obj_);
    guarded(*s_, label_, [&] {
        o.closed = 1;
        o.items.fetch_add(1, std::memory_order_release);
        o.room.fetch_add(1, std::memory_order_release);
    });
    ipc::futex_wake(o.items, INT_MAX);
    ipc::futex_wake(o.room, INT_MAX);
}

bool manager_object::queue_closed() const {
    return guarded(*s_, label_, [&] { return obj(obj_).closed != 0; });
}

}  // namespace detail

}  // namespace forkline
