// The heap of an fl::manager segment: blocks named by their offset from the segment's start, and
// what the objects are made of (blobs, hash tables, rings). Nothing read from the segment is
// followed before it is checked; heap.cpp says why and how.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

namespace forkline::detail {

/// From the start of the segment; 0 (inside the header) is none.
using offset = std::uint64_t;
using bytes = std::span<const std::byte>;

/// Thrown when the heap holds what its own writes cannot have left there; the manager turns it
/// into fl::segment_corrupt. `what` says which check failed.
struct heap_damaged {
    const char* what;
};
[[noreturn]] void damaged(const char* what);

/// Thrown when no free block is big enough; nothing was changed.
struct heap_full {
    std::uint64_t free_bytes;
};

/// What a block holds, kept in its header: an offset taken from the segment must name a block of
/// the kind its reader expects, so a stray one is caught even when it lands on a real block.
enum class block_kind : std::uint64_t { free = 1, blob, slots, record, chunk };

/// A seal over `words` kept at `where`. Each word has its own odd multiplier and the last step
/// is one to one, so changing any one word always changes the seal, and the same words kept
/// elsewhere get another one; random bytes match it once in 2^64.
inline std::uint64_t seal_of(offset where, std::initializer_list<std::uint64_t> words) noexcept {
    std::uint64_t sum = where * 0x9e3779b97f4a7c15ull, k = 0xbf58476d1ce4e5b9ull;
    for (std::uint64_t w : words) {
        sum += w * k;
        k += 0x94d049bb133111ebull << 1;
    }
    sum ^= sum >> 31;
    return sum * 0x94d049bb133111ebull;
}

/// A hash of the bytes, the same in every program (keys are found by it).
std::uint64_t hash_bytes(bytes b) noexcept;

/// A key, value or item: a blob's offset (16-aligned: the low bit is 0), or `length << 1 | 1`
/// with up to 8 bytes in `inline_bytes`, so that a small one costs no block and is under the seal
/// of the slot that holds it. 0: none.
struct stored {
    std::uint64_t word = 0, inline_bytes = 0;
};

/// A hash table: open addressing with linear probing, its slots in one block that is made anew
/// (in the room the old one leaves) as the count doubles or falls to a quarter. Lives in a record.
struct table {
    offset slots = 0;
    std::uint64_t count = 0, capacity = 0;
};
/// A key's hash, the key and its value (for the directory: value.word is the object's record).
/// key.word 0: empty.
struct slot {
    std::uint64_t hash;
    stored key, value;
    std::uint64_t seal;
};
/// A list or a queue: its items in chunks of sealed slots, found through a directory (`slots`)
/// of `capacity` sealed chunk offsets, used as a circle: item i is at place (head + i) mod
/// (capacity * chunk). A chunk is made when an item first lands in it and given back when its
/// last one leaves, so a drained queue holds no memory. Lives in a record.
struct ring {
    offset slots = 0;
    std::uint64_t head = 0, count = 0, capacity = 0;
};

/// A view of the heap in one process's mapping of the segment. Bounds come from the mapping,
/// never from the segment's bytes.
class heap {
public:
    heap() = default;
    /// The heap of the segment at `base`, `size` bytes, which starts after `header` bytes.
    heap(std::byte* base, std::size_t size, std::size_t header);

    /// Lays out an empty heap whose first block (a record of `directory_bytes`) is the directory.
    void format(std::size_t directory_bytes);
    /// Checks the allocator's state and finds the directory (what attaching checks).
    void check() const;
    offset directory() const;
    std::uint64_t free_bytes() const;

    /// A block of kind k with room for n bytes, or heap_full.
    offset allocate(std::uint64_t n, block_kind k);
    void release(offset p, block_kind k);
    /// The block at p as a T, checked to be of kind k and big enough.
    template <class T>
    T* at(offset p, block_kind k) const {
        if (room(p, k) < sizeof(T)) damaged("a block is too small for what it holds");
        return reinterpret_cast<T*>(base_ + p);
    }
    offset where(const void* p) const noexcept { return static_cast<offset>(static_cast<const std::byte*>(p) - base_); }

    offset make_blob(bytes b);
    /// A blob for each of `parts` in `out`, or none at all (heap_full).
    void make_blobs(std::initializer_list<bytes> parts, offset* out);
    /// A blob's bytes, checked against the hash it was written with.
    bytes blob(offset p) const;
    /// Makes p hold b: in place when it fits (giving back the room it no longer needs, so this
    /// never fails when b is no longer than what p held), else a new blob (the old one stays on
    /// heap_full).
    void replace_blob(offset& p, bytes b);

    /// b kept in a stored word (and a blob if it is longer than 8 bytes), or heap_full.
    stored store(bytes b);
    /// The bytes of a stored word whose slot was checked.
    bytes stored_bytes(const stored& s) const;
    /// Makes s hold b, as replace_blob does; heap_full leaves it as it was.
    void restore(stored& s, bytes b);
    /// Gives back the blob of s, if it has one.
    void forget(const stored& s);

    /// The slot holding key (whose hash is `hash`), or nullptr.
    slot* find(const table& t, bytes key, std::uint64_t hash) const;
    /// Every slot of t, empty or not: check() each one before reading it.
    std::span<slot> slots(const table& t) const;
    /// t's count, checked against its slots.
    std::uint64_t size(const table& t) const;
    const slot& check(const slot& s) const;
    /// A slot's key, checked to be the one its hash was made from.
    bytes key_of(const slot& s) const;
    bytes value_of(const slot& s) const { return stored_bytes(s.value); }
    /// Room for one more slot, growing t if need be (heap_full leaves it as it was).
    void reserve(table& t);
    /// Adds key and value to t, which has room (reserve).
    void insert(table& t, std::uint64_t hash, stored key, stored value);
    /// Makes s hold value (heap_full leaves it as it was).
    void set_value(slot& s, bytes value);
    /// Takes s out of t and gives back its key and value; t may shrink.
    void erase(table& t, slot& s);
    /// Gives back every key, value and the slots' block (not for the directory, whose values
    /// are records).
    void drop(table& t);

    /// r's count, checked against its directory.
    std::uint64_t size(const ring& r) const;
    /// The bytes of item i (from the head), which must be there.
    bytes item(const ring& r, std::uint64_t i) const;
    void set_item(const ring& r, std::uint64_t i, bytes item);
    /// Adds an item at the end, making a chunk if need be; heap_full leaves r as it was.
    void push_back(ring& r, bytes item);
    void pop_back(ring& r);
    void pop_front(ring& r);
    /// Removes every item and gives back every block of r.
    void clear(ring& r);

private:
    struct state;
    struct free_links;
    struct ring_slot;
    struct chunk_ref;
    state& st() const noexcept;
    const state& checked_state() const;
    void seal_state();
    bool inside(offset p, std::uint64_t n) const;
    std::span<chunk_ref> chunks(const ring& r) const;
    std::span<chunk_ref> directory_block(const ring& r) const;
    offset chunk_at(const chunk_ref& e, bool whole) const;
    const chunk_ref& check(const chunk_ref& e) const;
    void set_chunk(chunk_ref& e, offset chunk);
    ring_slot& place(std::span<chunk_ref> dir, std::uint64_t p, bool whole) const;
    ring_slot& slot_of(const ring& r, std::uint64_t i) const;
    const ring_slot& check(const ring_slot& s) const;
    void put(ring_slot& s, stored item);
    void grow_directory(ring& r);
    void leave(ring& r, std::uint64_t p, bool last_of_chunk);
    void resize(table& t, std::uint64_t capacity);
    free_links& links(offset b) const;
    std::uint64_t room(offset p, block_kind k) const;       ///< for at(), in the manager's file
    std::uint64_t kind_room(offset p, block_kind k) const;  ///< the same, inline in heap.cpp
    std::uint64_t whole_block(offset b) const;
    block_kind kind_of(offset b) const;
    std::uint64_t free_block(offset b, unsigned bin) const;
    offset bin_head(unsigned bin) const;
    offset first_fit(unsigned bin, std::uint64_t need, std::uint64_t tries, std::uint64_t& size) const;
    void stamp(offset b, std::uint64_t size, block_kind k, std::uint64_t spare = 0);
    void link(offset b, std::uint64_t size);
    void unlink(offset b, std::uint64_t size);
    void fill_blob(offset p, bytes b);
    bytes blob_bytes(offset p) const;
    void put(slot& s, std::uint64_t hash, stored key, stored value);

    std::byte* base_ = nullptr;
    std::uint64_t first_ = 0, end_ = 0;  ///< where the blocks start and end
};

}  // namespace forkline::detail
