// fl::manager: a named shared segment holding named objects (dict, list, value, queue) that
// separately started programs reach by name, as the objects of Python's multiprocessing.Manager.
#pragma once

#include <forkline/codec/codec.hpp>
#include <forkline/mp/queue.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

namespace forkline {

/// Thrown when a manager's segment has no room left for what an operation stores; the object is
/// left as it was before the operation.
class segment_full : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Thrown by every call on a manager's segment once a process died while changing it (allocating,
/// linking a node), or once a call found bytes in its heap that no call wrote there (the file in
/// /dev/shm was written to from outside): its contents cannot be trusted. Remove the segment and
/// make it again.
class segment_corrupt : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {

struct manager_state;

/// Keys are compared by their encoding: a raw struct with padding could encode equal keys
/// differently, so such keys are refused (numbers, enums and padding-free structs are fine).
template <class K>
inline constexpr bool canonical_key = !trivially_transferable<K> || std::is_arithmetic_v<K> || std::is_enum_v<K> ||
                                      std::has_unique_object_representations_v<K>;

/// An object in a manager's segment, untyped: keys, values and items are encoded bytes. Every
/// operation holds the segment's lock (robust: a process that dies holding it does not wedge the
/// others). The typed fl::shared_* classes below encode and decode.
class manager_object {
public:
    using bytes = std::span<const std::byte>;
    using reader = void (*)(void* ctx, bytes b);
    using pair_reader = void (*)(void* ctx, bytes key, bytes value);
    /// Writes the new encoding to `out`, given the old one (null when there is none).
    using updater = void (*)(void* ctx, const bytes* old, std::vector<std::byte>& out);
    enum class kind : std::uint32_t { dict = 1, list, value, queue };

    manager_object(std::shared_ptr<manager_state> s, kind k, const std::string& name, const std::string& type,
                   std::size_t maxsize, updater init, void* init_ctx);

    std::size_t size() const;
    void clear() const;

    void dict_set(bytes key, bytes value) const;
    bool dict_get(bytes key, reader use, void* ctx) const;
    bool dict_erase(bytes key) const;
    void dict_each(pair_reader use, void* ctx) const;
    void dict_update(bytes key, updater u, void* ctx) const;

    void list_push(bytes item) const;
    bool list_get(std::size_t i, reader use, void* ctx) const;
    bool list_set(std::size_t i, bytes item) const;
    bool list_pop(reader use, void* ctx) const;
    void list_each(reader use, void* ctx) const;

    void value_load(reader use, void* ctx) const;
    void value_update(updater u, void* ctx) const;

    queue_core::result queue_put(bytes item, long long timeout_ns) const;
    queue_core::result queue_get(reader use, void* ctx, long long timeout_ns) const;
    void queue_close() const;
    bool queue_closed() const;

private:
    std::shared_ptr<manager_state> s_;
    std::uint64_t obj_;  ///< the object's record: its offset in the segment
    kind kind_;
    std::string label_;  ///< "dict 'totals' in manager 'orders'", for errors
};

template <class T>
void decode_to(void* ctx, manager_object::bytes b) {
    static_cast<std::optional<T>*>(ctx)->emplace(decode<T>(b.data(), b.size()));
}

template <class T>
std::vector<std::byte> encoding(const T& v) {
    return encode_to_vector(v);
}

/// The type an object was made with, as the segment remembers it: "dict<K,V>" with the compiler's
/// names of K and V. A program asking for other types gets an error, not garbage.
template <class... Ts>
std::string type_tag(const char* what) {
    std::string tag = std::string(what) + "<";
    ((tag += typeid(Ts).name(), tag += ','), ...);
    tag.back() = '>';
    return tag;
}

/// An updater from fn(T&): decodes the old value (or starts from `fallback`), calls fn, encodes.
template <class T, class Fn>
struct update_with {
    Fn& fn;
    const T& fallback;
    std::optional<T> result;

    static void run(void* ctx, const manager_object::bytes* old, std::vector<std::byte>& out) {
        auto& self = *static_cast<update_with*>(ctx);
        T v = old ? decode<T>(old->data(), old->size()) : self.fallback;
        std::invoke(self.fn, v);
        out = encode_to_vector(v);
        self.result.emplace(std::move(v));
    }
};

/// What a shared dict and list have in common: the object, its size, clear().
class shared_container {
public:
    std::size_t size() const { return o_.size(); }
    bool empty() const { return size() == 0; }
    void clear() { o_.clear(); }

protected:
    explicit shared_container(manager_object o) : o_(std::move(o)) {}
    manager_object o_;
};

}  // namespace detail

/// A dictionary in a manager's segment: keys and values of any fl::transferable types. Each call
/// is atomic; update() makes a read-modify-write one. Iteration order is unspecified (by a hash
/// of the encoded key). Copies refer to the same dictionary.
template <class K, class V>
class shared_dict : public detail::shared_container {
    static_assert(transferable<K> && transferable<V>,
                  "forkline::manager::dict<K, V>: K and V must be fl::transferable (owning values, no pointers or "
                  "views), as the dict lives in memory other programs map elsewhere");
    static_assert(detail::canonical_key<K>,
                  "forkline::manager::dict<K, V>: K is a struct with padding, whose bytes can differ between equal "
                  "keys; use a struct without padding, or a std::tuple of its fields");

public:
    void set(const K& key, const V& value) { o_.dict_set(detail::encoding(key), detail::encoding(value)); }
    /// The value for key, if there is one.
    std::optional<V> get(const K& key) const {
        std::optional<V> out;
        o_.dict_get(detail::encoding(key), detail::decode_to<V>, &out);
        return out;
    }
    bool contains(const K& key) const { return o_.dict_get(detail::encoding(key), nullptr, nullptr); }
    /// Removes key; false when it was not there.
    bool erase(const K& key) { return o_.dict_erase(detail::encoding(key)); }
    /// Calls fn(V&) on key's value (`fallback` when absent) and stores the result, all under the
    /// segment's lock, so concurrent updates never lose one; returns the new value. fn must not
    /// use the manager's objects (std::logic_error): read what it needs first.
    /// Example: `hits.update(page, [](long& n) { ++n; });`
    template <class Fn>
    V update(const K& key, Fn fn, const V& fallback = V{}) {
        detail::update_with<V, Fn> u{fn, fallback, {}};
        o_.dict_update(detail::encoding(key), detail::update_with<V, Fn>::run, &u);
        return std::move(*u.result);
    }
    /// Every key and value, copied out at once.
    std::vector<std::pair<K, V>> items() const {
        std::vector<std::pair<K, V>> out;
        o_.dict_each(
            [](void* ctx, auto k, auto v) {
                static_cast<std::vector<std::pair<K, V>>*>(ctx)->emplace_back(decode<K>(k.data(), k.size()),
                                                                              decode<V>(v.data(), v.size()));
            },
            &out);
        return out;
    }

private:
    friend class manager;
    explicit shared_dict(detail::manager_object o) : shared_container(std::move(o)) {}
};

/// A list in a manager's segment. Each call is atomic. Copies refer to the same list.
template <class T>
class shared_list : public detail::shared_container {
    static_assert(transferable<T>, "forkline::manager::list<T>: T must be fl::transferable (owning values, no "
                                   "pointers or views)");

public:
    void push_back(const T& v) { o_.list_push(detail::encoding(v)); }
    /// Item i. Errors: std::out_of_range past the end.
    T at(std::size_t i) const {
        std::optional<T> out;
        if (!o_.list_get(i, detail::decode_to<T>, &out)) throw std::out_of_range(range_error(i));
        return std::move(*out);
    }
    /// Replaces item i. Errors: std::out_of_range past the end.
    void set(std::size_t i, const T& v) {
        if (!o_.list_set(i, detail::encoding(v))) throw std::out_of_range(range_error(i));
    }
    /// Takes the last item; nothing when the list is empty.
    std::optional<T> pop_back() {
        std::optional<T> out;
        o_.list_pop(detail::decode_to<T>, &out);
        return out;
    }
    /// Every item, copied out at once.
    std::vector<T> to_vector() const {
        std::vector<T> out;
        o_.list_each([](void* ctx, auto b) { static_cast<std::vector<T>*>(ctx)->push_back(decode<T>(b.data(), b.size())); },
                     &out);
        return out;
    }

private:
    friend class manager;
    explicit shared_list(detail::manager_object o) : shared_container(std::move(o)) {}
    static std::string range_error(std::size_t i) {
        return "forkline::shared_list: index " + std::to_string(i) + " is past the end";
    }
};

/// One value in a manager's segment. Each call is atomic; update() makes a read-modify-write one.
template <class T>
class shared_value {
    static_assert(transferable<T>, "forkline::manager::value<T>: T must be fl::transferable (owning values, no "
                                   "pointers or views)");

public:
    T load() const {
        std::optional<T> out;
        o_.value_load(detail::decode_to<T>, &out);
        return std::move(*out);
    }
    void store(const T& v) {
        auto bytes = detail::encoding(v);  // encoded before the lock; the old value is not decoded
        o_.value_update([](void* ctx, const detail::manager_object::bytes*,
                           std::vector<std::byte>& out) { out = std::move(*static_cast<std::vector<std::byte>*>(ctx)); },
                        &bytes);
    }
    /// Calls fn(T&) on the value and stores the result under the lock; returns the new value.
    template <class Fn>
    T update(Fn fn) {
        T unused{};
        detail::update_with<T, Fn> u{fn, unused, {}};
        o_.value_update(detail::update_with<T, Fn>::run, &u);
        return std::move(*u.result);
    }

private:
    friend class manager;
    explicit shared_value(detail::manager_object o) : o_(std::move(o)) {}
    detail::manager_object o_;
};

/// A queue in a manager's segment, as fl::queue (put, try_put, get, try_get, with timeouts) but
/// reachable by name from other programs. Bounded by `maxsize` and by the segment: a put that
/// finds the segment full throws fl::segment_full rather than waiting. An item that does not
/// decode is dropped as get throws.
template <class T>
class shared_queue : public detail::queue_calls<shared_queue<T>, T> {
    static_assert(transferable<T>, "forkline::manager::queue<T>: T must be fl::transferable (owning values, no "
                                   "pointers or views)");

public:
    /// No more puts (they throw fl::queue_closed); getters drain what is left, then get nothing.
    void close() { o_.queue_close(); }
    bool closed() const { return o_.queue_closed(); }
    std::size_t size_approx() const { return o_.size(); }

private:
    friend class manager;
    friend detail::queue_calls<shared_queue<T>, T>;
    explicit shared_queue(detail::manager_object o) : o_(std::move(o)) {}
    bool put_within(const T& v, long long ns) {
        auto r = o_.queue_put(detail::encoding(v), ns);
        if (r == detail::queue_core::result::closed) throw queue_closed("forkline::shared_queue::put: the queue is closed");
        return r == detail::queue_core::result::done;
    }
    std::optional<T> get_within(long long ns) {
        std::optional<T> out;
        o_.queue_get(detail::decode_to<T>, &out, ns);
        return out;
    }
    detail::manager_object o_;
};

/// A named shared segment of `size` bytes (/dev/shm/forkline.NAME, mode 0600) holding named
/// objects, which any program of the same user reaches by the segment's name and the object's:
/// fl::manager(name, size) creates the segment, fl::manager(name) attaches to it. dict, list,
/// value and queue return the object with that name, made (empty) when it is not there yet.
/// Keys, values and items are encoded (any fl::transferable type), so no pointer crosses over.
///
/// The segment lasts until unlink() (or `forkline-shm remove NAME`), as a file does; its memory is
/// reserved when it is made. Every call on an object takes the segment's one lock; it is robust,
/// so a program killed holding it does not wedge the others. A program killed in the middle of
/// changing the segment's heap leaves it corrupt: every later call throws fl::segment_corrupt.
/// So does accidental damage to the heap (random bytes, zeros, one changed word, a cut made
/// before attaching that leaves at least 4096 bytes): every offset, size and count is checked
/// before it is followed, and every key, value and item against the hash or seal it was stored
/// with, so bytes no call wrote there are reported by the first call that reads them, naming the
/// segment; attaching reads the allocator's state and the names of the objects. The seals are
/// hashes without a key: a program of the same user writing there on purpose between calls can change what the
/// objects hold, but cannot make forkline read or write outside the segment, or loop. Not checked:
/// the first 256 bytes (the ready word, two flags and the lock; garbage over the lock can make
/// calls wait for ever), and a file cut shorter while mapped (the OS sends SIGBUS to a program
/// that touches the pages it lost). Attaching takes the lock, so it waits while another program is
/// inside a long update. One object can fill most of the segment, and a dict, list or queue gives
/// its memory back as it empties; a shorter value, dict value or list item is always stored.
///
/// Example:
///     fl::manager m("orders", 1 << 20);                      // program A
///     m.dict<std::string, long>("totals").set("east", 5);
///     fl::manager peer("orders");                            // program B
///     auto totals = peer.dict<std::string, long>("totals");  // totals.get("east") == 5
/// Errors: std::system_error (std::errc::file_exists) creating a name that exists, (no_such_file_
/// or_directory) attaching one that doesn't; std::invalid_argument for a bad name, a segment too
/// small (under 4 KiB), one that is not a manager, or an object asked for with another kind or
/// type than it was made with (as the compiler names the types: two programs must agree on what a
/// type holds); fl::segment_full when the segment has no room left; fl::segment_corrupt.
class manager {
public:
    manager(std::string name, std::size_t size);
    explicit manager(std::string name);

    template <class K, class V>
    shared_dict<K, V> dict(const std::string& name) {
        return shared_dict<K, V>(object(kind::dict, name, detail::type_tag<K, V>("dict")));
    }
    template <class T>
    shared_list<T> list(const std::string& name) {
        return shared_list<T>(object(kind::list, name, detail::type_tag<T>("list")));
    }
    /// The value named `name`, made with `initial` when it is not there yet.
    template <class T>
    shared_value<T> value(const std::string& name, const T& initial = T{}) {
        auto init = [](void* ctx, const detail::manager_object::bytes*, std::vector<std::byte>& out) {
            out = encode_to_vector(*static_cast<const T*>(ctx));
        };
        return shared_value<T>(object(kind::value, name, detail::type_tag<T>("value"), 0, init,
                                      const_cast<T*>(&initial)));
    }
    /// The queue named `name`; `maxsize` items at most (0: as many as the segment holds), fixed
    /// when it is made.
    template <class T>
    shared_queue<T> queue(const std::string& name, std::size_t maxsize = 0) {
        return shared_queue<T>(object(kind::queue, name, detail::type_tag<T>("queue"), maxsize));
    }

    const std::string& name() const noexcept;
    std::size_t size() const noexcept;
    /// Bytes not in use now.
    std::size_t free_bytes() const;
    /// Removes the segment's name (see fl::shared_memory::unlink); its objects stay usable here.
    void unlink();
    /// Removes the segment with this name; false when there was none.
    static bool remove(const std::string& name);

private:
    using kind = detail::manager_object::kind;
    detail::manager_object object(kind k, const std::string& name, const std::string& type, std::size_t maxsize = 0,
                                  detail::manager_object::updater init = nullptr, void* init_ctx = nullptr);
    std::shared_ptr<detail::manager_state> s_;
};

}  // namespace forkline
