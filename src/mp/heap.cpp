// The manager's heap. Its segment is a file in /dev/shm that any program of the user can write
// to, so its bytes may be anything: the heap must not trust them. A checksum over the whole
// heap would cost each change a pass over the segment; one over a general allocator's
// bookkeeping (Boost.Interprocess's lives in every block's header and in tree nodes spread over
// the heap) cannot be kept up to date cheaply either; and code that follows pointers without
// checks has crashed or looped before a later check could look. So the heap checks as it reads:
//  - an offset read from the segment must fall inside this mapping and name a block whose header
//    is sealed (a hash of its size, kind and place) and whose kind is the one expected;
//  - a count or size must fit the block it describes; a walk stops at a bound, and a free list's
//    back links must match, so damage cannot make a loop;
//  - the words that tie things together (hash table slots, the objects' records) are sealed, and
//    each blob carries a hash of its bytes, checked before anyone decodes them.
// Each read costs a few compares and a multiply on words the call reads anyway, and damage is
// reported by the first call that reads the damaged part. (Attaching reads only the allocator's
// state and the directory: a walk over every block would make it as slow as the heap is full.)
#include "heap.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace forkline::detail {

namespace {

/// "forkheap": the heap's state is laid out as this file says.
constexpr std::uint64_t heap_magic = 0x666f726b68656170ull;

/// A block: {word = size | kind, seal}, then its payload, then the word again (the footer, which
/// lets release() find the block before). A free block's payload starts with its free-list links.
struct block_head {
    std::uint64_t word, seal;
};
struct blob_head {
    std::uint64_t length, hash;  ///< the bytes follow
};
constexpr std::uint64_t head_bytes = sizeof(block_head), overhead = head_bytes + 8;
constexpr std::uint64_t min_block = 48;  ///< the head, the links and the footer, rounded up
constexpr std::uint64_t kind_mask = 15;

/// Free blocks of sizes [2^k, 2^(k+1)) are in bin k.
unsigned bin_of(std::uint64_t size) { return static_cast<unsigned>(std::bit_width(size) - 1); }

__extension__ using u128 = unsigned __int128;
std::uint64_t mum(std::uint64_t a, std::uint64_t b) {
    u128 r = static_cast<u128>(a) * b;
    return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}
std::uint64_t load64(const std::byte* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

/// Not std::has_single_bit, which is a library call without -mpopcnt.
bool power_of_two(std::uint64_t x) { return x && (x & (x - 1)) == 0; }

bool same(bytes a, bytes b) { return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0; }

}  // namespace

[[noreturn]] void damaged(const char* what) { throw heap_damaged{what}; }

std::uint64_t hash_bytes(bytes b) noexcept {
    const std::byte* p = b.data();
    std::size_t n = b.size();
    std::uint64_t h = mum(n ^ 0xa0761d6478bd642full, 0xe7037ed1a0b428dbull);
    for (; n >= 16; p += 16, n -= 16) h = mum(load64(p) ^ 0x8ebc6af09c88c6e3ull, load64(p + 8) ^ h);
    std::byte tail[16] = {};
    if (n) std::memcpy(tail, p, n);
    return mum(mum(load64(tail) ^ 0x8ebc6af09c88c6e3ull, load64(tail + 8) ^ h), 0x589965cc75374cc3ull);
}

struct heap::free_links {
    offset next, prev;  ///< blocks of the same bin
};

/// At the heap's start. The bins are not sealed (that would cost each allocation a pass over
/// them): a bin's head is checked as the free lists' links are, when it is read.
struct heap::state {
    std::uint64_t magic;
    std::uint64_t end;       ///< the segment's size (rounded down to 16) when it was made
    std::uint64_t free;      ///< bytes in free blocks
    std::uint64_t nonempty;  ///< bit k: bins[k] is not empty
    offset directory;
    std::uint64_t seal;  ///< over the words above
    offset bins[64];
};

constexpr std::size_t inline_item = 16;  ///< the most bytes a ring keeps in an item's slot

/// A blob's offset (16-aligned: the low bit is 0), or `length << 1 | 1` with the bytes in
/// `inline_bytes`: a small item then costs no block, and its bytes are under the slot's seal.
struct heap::ring_slot {
    std::uint64_t item;
    std::uint64_t inline_bytes[inline_item / 8];
    std::uint64_t seal;
};

heap::heap(std::byte* base, std::size_t size, std::size_t header)
    : base_(base), first_(header + sizeof(state)), end_(size & ~kind_mask) {
    static_assert(sizeof(state) % 16 == 0, "blocks start 16-aligned after the state");
}

// The helpers only this file calls are defined `inline`: a shared library's exported function may
// be interposed, so the compiler would otherwise call each one on every check instead of inlining.

inline heap::state& heap::st() const noexcept { return *reinterpret_cast<state*>(base_ + first_ - sizeof(state)); }

inline const heap::state& heap::checked_state() const {
    const state& s = st();
    if (s.seal != seal_of(where(&s), {s.magic, s.end, s.free, s.nonempty, s.directory}))
        damaged("the allocator's state is not what was written there");
    return s;
}

inline void heap::seal_state() {
    state& s = st();
    s.seal = seal_of(where(&s), {s.magic, s.end, s.free, s.nonempty, s.directory});
}

void heap::format(std::size_t directory_bytes) {
    std::memset(&st(), 0, sizeof(state));
    st().magic = heap_magic;
    st().end = end_;
    link(first_, end_ - first_);
    seal_state();
    st().directory = allocate(directory_bytes, block_kind::record);
    seal_state();
}

offset heap::directory() const { return checked_state().directory; }
std::uint64_t heap::free_bytes() const { return checked_state().free; }

// ---- blocks

/// The size of the block at b, checked. The footer too, though only release() needs it: so
/// damage to it is reported by the first call that reads the block, not the one that frees it.
inline std::uint64_t heap::whole_block(offset b) const {
    if (b % 16 != 0 || b < first_ || b > end_ - min_block) damaged("an offset points outside the heap");
    const auto& h = *reinterpret_cast<const block_head*>(base_ + b);
    std::uint64_t size = h.word & ~kind_mask;
    if (h.seal != seal_of(b, {h.word}) || size < min_block || size > end_ - b)
        damaged("a block's header is not what was written there");
    if (load64(base_ + b + size - 8) != h.word) damaged("a block's footer does not match its header");
    return size;
}

/// The kind in the header of a block checked before.
inline block_kind heap::kind_of(offset b) const {
    return static_cast<block_kind>(reinterpret_cast<const block_head*>(base_ + b)->word & kind_mask);
}

inline std::uint64_t heap::kind_room(offset p, block_kind k) const {
    std::uint64_t size = whole_block(p - head_bytes);
    if (kind_of(p - head_bytes) != k) damaged("an offset points at a block of another kind");
    return size - overhead;
}

std::uint64_t heap::room(offset p, block_kind k) const { return kind_room(p, k); }

/// A free block in `bin`, whole.
inline std::uint64_t heap::free_block(offset b, unsigned bin) const {
    std::uint64_t size = whole_block(b);
    if (kind_of(b) != block_kind::free || bin_of(size) != bin)
        damaged("the allocator's free lists hold a block that is not free");
    return size;
}

inline heap::free_links& heap::links(offset b) const { return *reinterpret_cast<free_links*>(base_ + b + head_bytes); }

inline void heap::stamp(offset b, std::uint64_t size, block_kind k) {
    auto& h = *reinterpret_cast<block_head*>(base_ + b);
    h.word = size | static_cast<std::uint64_t>(k);
    h.seal = seal_of(b, {h.word});
    std::memcpy(base_ + b + size - 8, &h.word, 8);
}

inline offset heap::bin_head(unsigned bin) const {
    offset head = st().bins[bin];
    if ((head != 0) != ((st().nonempty >> bin & 1) != 0)) damaged("the allocator's bin map does not match its bins");
    return head;
}

inline void heap::link(offset b, std::uint64_t size) {
    unsigned bin = bin_of(size);
    offset next = bin_head(bin);
    if (next) {
        free_block(next, bin);
        links(next).prev = b;
    }
    stamp(b, size, block_kind::free);
    links(b) = {next, 0};
    st().bins[bin] = b;
    st().nonempty |= std::uint64_t{1} << bin;
    st().free += size;
}

/// Takes b, a free block of `size` its caller has checked, out of its bin.
inline void heap::unlink(offset b, std::uint64_t size) {
    unsigned bin = bin_of(size);
    auto& l = links(b);
    if (l.prev) {
        free_block(l.prev, bin);
        auto& pl = links(l.prev);
        if (pl.next != b) damaged("the allocator's free lists do not link back");
        pl.next = l.next;
    } else {
        if (bin_head(bin) != b) damaged("the allocator's free lists do not link back");
        st().bins[bin] = l.next;
        if (!l.next) st().nonempty &= ~(std::uint64_t{1} << bin);
    }
    if (l.next) {
        free_block(l.next, bin);
        auto& nl = links(l.next);
        if (nl.prev != b) damaged("the allocator's free lists do not link back");
        nl.prev = l.prev;
    }
    if (st().free < size) damaged("the allocator counts fewer free bytes than it has");
    st().free -= size;
}

/// The first block of `bin` that holds `need` (its size in `size`), looking at `tries` blocks at
/// most; 0 when there is none.
inline offset heap::first_fit(unsigned bin, std::uint64_t need, std::uint64_t tries, std::uint64_t& size) const {
    offset prev = 0;
    for (offset b = bin_head(bin); b && tries; --tries) {
        size = free_block(b, bin);
        if (links(b).prev != prev) damaged("the allocator's free lists do not link back");
        if (size >= need) return b;
        prev = b;
        b = links(b).next;
    }
    return 0;
}

offset heap::allocate(std::uint64_t n, block_kind k) {
    const std::uint64_t free_now = checked_state().free;
    if (n > end_) throw heap_full{free_now};
    std::uint64_t need = std::max(min_block, (n + overhead + kind_mask) & ~kind_mask);
    unsigned bin = bin_of(need);
    // Bin `bin` may hold blocks too small; those of the bins above are all big enough. A few
    // tries in the bin first keep an exact fit from splitting a big block.
    std::uint64_t size = 0;
    offset b = first_fit(bin, need, 8, size);
    if (!b && bin < 63) {
        if (std::uint64_t above = st().nonempty & ~((std::uint64_t{2} << bin) - 1)) {
            auto up = static_cast<unsigned>(std::countr_zero(above));
            b = first_fit(up, need, 1, size);
        }
    }
    if (!b) b = first_fit(bin, need, end_ / min_block, size);
    if (!b) throw heap_full{free_now};
    unlink(b, size);
    if (size - need >= min_block) {
        link(b + need, size - need);
        size = need;
    }
    stamp(b, size, k);
    seal_state();
    return b + head_bytes;
}

void heap::release(offset p, block_kind k) {
    checked_state();
    offset b = p - head_bytes;
    std::uint64_t size = whole_block(b);
    if (kind_of(b) != k) damaged("an offset points at a block of another kind");
    // Joined with free neighbours, so that free space never stays cut into pieces.
    if (offset next = b + size; next < end_) {
        std::uint64_t next_size = whole_block(next);
        if (kind_of(next) == block_kind::free) {
            unlink(next, next_size);
            size += next_size;
        }
    }
    if (b > first_) {
        std::uint64_t word = load64(base_ + b - 8);
        std::uint64_t prev_size = word & ~kind_mask;
        if (prev_size < min_block || prev_size > b - first_) damaged("a block's footer is not what was written there");
        offset prev = b - prev_size;
        if (whole_block(prev) != prev_size) damaged("a block's footer is not what was written there");
        if (kind_of(prev) == block_kind::free) {
            unlink(prev, prev_size);
            b = prev;
            size += prev_size;
        }
    }
    link(b, size);
    seal_state();
}

void heap::check() const {
    const state& s = checked_state();
    if (s.magic != heap_magic) damaged("the heap's magic number is wrong");
    if (s.end != end_) damaged("the segment is not the size it was made with");
    kind_room(s.directory, block_kind::record);
}

// ---- blobs

inline void heap::fill_blob(offset p, bytes b) {
    auto& h = *reinterpret_cast<blob_head*>(base_ + p);
    h.length = b.size();
    h.hash = hash_bytes(b);
    if (!b.empty()) std::memcpy(base_ + p + sizeof(blob_head), b.data(), b.size());
}

offset heap::make_blob(bytes b) {
    offset p = allocate(sizeof(blob_head) + b.size(), block_kind::blob);
    fill_blob(p, b);
    return p;
}

void heap::make_blobs(std::initializer_list<bytes> parts, offset* out) {
    std::size_t made = 0;
    try {
        for (bytes b : parts) {
            out[made] = make_blob(b);
            ++made;
        }
    } catch (const heap_full&) {
        while (made) release(out[--made], block_kind::blob);
        throw;
    }
}

/// The bytes within the block, not checked against the hash.
inline bytes heap::blob_bytes(offset p) const {
    std::uint64_t cap = kind_room(p, block_kind::blob);
    std::uint64_t length = reinterpret_cast<const blob_head*>(base_ + p)->length;
    if (length > cap - sizeof(blob_head)) damaged("a blob is longer than its block");
    return {base_ + p + sizeof(blob_head), length};
}

bytes heap::blob(offset p) const {
    bytes b = blob_bytes(p);
    if (hash_bytes(b) != reinterpret_cast<const blob_head*>(base_ + p)->hash)
        damaged("a blob's bytes are not what was written there");
    return b;
}

void heap::replace_blob(offset& p, bytes b) {
    std::uint64_t cap = kind_room(p, block_kind::blob), need = sizeof(blob_head) + b.size();
    // In place unless it would keep much more room than the new bytes need.
    if (need <= cap && cap <= 2 * need + min_block) {
        fill_blob(p, b);
        return;
    }
    offset q = make_blob(b);
    release(p, block_kind::blob);
    p = q;
}

// ---- hash tables

inline void heap::put(slot& s, std::uint64_t hash, offset key, offset value) {
    s.hash = hash;
    s.key = key;
    s.value = value;
    s.seal = seal_of(where(&s), {hash, key, value});
}

const slot& heap::check(const slot& s) const {
    if (s.seal != seal_of(where(&s), {s.hash, s.key, s.value})) damaged("a table's slot is not what was written there");
    return s;
}

std::span<slot> heap::slots(const table& t) const {
    if (t.capacity == 0) {
        if (t.slots || t.count) damaged("an empty table has slots");
        return {};
    }
    if (!power_of_two(t.capacity) || t.count >= t.capacity ||
        t.capacity > kind_room(t.slots, block_kind::slots) / sizeof(slot))
        damaged("a table's count or capacity does not fit its slots");
    return {reinterpret_cast<slot*>(base_ + t.slots), t.capacity};
}

bytes heap::key_of(const slot& s) const {
    bytes k = blob(s.key);
    if (reinterpret_cast<const blob_head*>(base_ + s.key)->hash != s.hash)
        damaged("a key is not the one its slot was made for");
    return k;
}

slot* heap::find(const table& t, bytes key, std::uint64_t hash) const {
    auto all = slots(t);
    if (all.empty()) return nullptr;
    std::uint64_t mask = t.capacity - 1;
    for (std::uint64_t n = 0, i = hash & mask; n < t.capacity; ++n, i = (i + 1) & mask) {
        const slot& s = check(all[i]);
        if (s.key == 0) return nullptr;
        if (s.hash != hash) continue;
        if (same(blob_bytes(s.key), key)) return &all[i];
        key_of(s);  // a real collision, unless the key's bytes were changed: then this throws
    }
    damaged("a table has no empty slot");
}

void heap::insert(table& t, std::uint64_t hash, offset key, offset value) {
    auto all = slots(t);
    std::uint64_t mask = t.capacity - 1;
    for (std::uint64_t n = 0, i = hash & mask; n < t.capacity; ++n, i = (i + 1) & mask) {
        if (check(all[i]).key == 0) {
            put(all[i], hash, key, value);
            ++t.count;
            return;
        }
    }
    damaged("a table has no empty slot");
}

void heap::reserve(table& t) {
    if ((t.count + 1) * 4 <= t.capacity * 3) return;
    auto old = slots(t);
    table grown{0, 0, std::max<std::uint64_t>(8, t.capacity * 2)};
    grown.slots = allocate(grown.capacity * sizeof(slot), block_kind::slots);
    for (auto& s : slots(grown)) put(s, 0, 0, 0);
    for (const auto& s : old)
        if (check(s).key) insert(grown, s.hash, s.key, s.value);
    if (t.slots) release(t.slots, block_kind::slots);
    t = grown;
}

void heap::set_value(slot& s, offset value) { put(s, s.hash, s.key, value); }

void heap::erase(table& t, slot& gone) {
    auto all = slots(t);
    std::uint64_t mask = t.capacity - 1, hole = static_cast<std::uint64_t>(&gone - all.data());
    // Later slots of the same run move back into the hole when their home is not past it, so a
    // probe never meets an empty slot before the key it looks for.
    for (std::uint64_t j = (hole + 1) & mask, n = 0; n < t.capacity; j = (j + 1) & mask, ++n) {
        const slot& s = check(all[j]);
        if (s.key == 0) break;
        if (((j - (s.hash & mask)) & mask) >= ((j - hole) & mask)) {
            put(all[hole], s.hash, s.key, s.value);
            hole = j;
        }
    }
    put(all[hole], 0, 0, 0);
    --t.count;
}

void heap::drop(table& t) {
    slots(t);
    if (t.slots) release(t.slots, block_kind::slots);
    t = {};
}

// ---- rings

inline void heap::put(ring_slot& s, bytes item, offset blob) {
    s.inline_bytes[0] = s.inline_bytes[1] = 0;
    if (blob) {
        s.item = blob;
    } else {
        s.item = item.size() << 1 | 1;
        if (!item.empty()) std::memcpy(s.inline_bytes, item.data(), item.size());
    }
    s.seal = seal_of(where(&s), {s.item, s.inline_bytes[0], s.inline_bytes[1]});
}

inline void heap::put(ring_slot& s, const ring_slot& from) {
    s.item = from.item;
    s.inline_bytes[0] = from.inline_bytes[0];
    s.inline_bytes[1] = from.inline_bytes[1];
    s.seal = seal_of(where(&s), {s.item, s.inline_bytes[0], s.inline_bytes[1]});
}

inline const heap::ring_slot& heap::check(const ring_slot& s) const {
    if (s.seal != seal_of(where(&s), {s.item, s.inline_bytes[0], s.inline_bytes[1]}) ||
        ((s.item & 1) && (s.item >> 1) > inline_item))
        damaged("a ring's slot is not what was written there");
    return s;
}

inline bytes heap::item_of(const ring_slot& s) const {
    if (s.item & 1) return {reinterpret_cast<const std::byte*>(s.inline_bytes), s.item >> 1};
    return blob(s.item);
}

/// Gives back the item's blob, if it has one.
inline void heap::forget(const ring_slot& s) {
    if (!(s.item & 1)) release(s.item, block_kind::blob);
}

inline std::span<heap::ring_slot> heap::slots(const ring& r) const {
    if (r.capacity == 0) {
        if (r.slots || r.head || r.count) damaged("an empty ring has slots");
        return {};
    }
    if (!power_of_two(r.capacity) || r.head >= r.capacity || r.count > r.capacity ||
        r.capacity > kind_room(r.slots, block_kind::slots) / sizeof(ring_slot))
        damaged("a ring's head, count or capacity does not fit its slots");
    return {reinterpret_cast<ring_slot*>(base_ + r.slots), r.capacity};
}

/// Slot i from the head, checked.
inline heap::ring_slot& heap::slot_of(const ring& r, std::uint64_t i) const {
    auto all = slots(r);
    if (i >= r.count) damaged("an item is past the ring's end");
    ring_slot& s = all[(r.head + i) & (r.capacity - 1)];
    check(s);
    return s;
}

bytes heap::item(const ring& r, std::uint64_t i) const { return item_of(slot_of(r, i)); }

void heap::set_item(const ring& r, std::uint64_t i, bytes item) {
    ring_slot& s = slot_of(r, i);
    if (item.size() <= inline_item) {
        forget(s);
        put(s, item, 0);
    } else if (s.item & 1) {
        put(s, item, make_blob(item));
    } else {
        offset b = s.item;
        replace_blob(b, item);
        put(s, item, b);
    }
}

void heap::push_back(ring& r, bytes item) {
    auto all = slots(r);
    offset b = item.size() > inline_item ? make_blob(item) : 0;
    if (r.count == r.capacity) {
        ring grown{0, 0, r.count, std::max<std::uint64_t>(4, r.capacity * 2)};
        try {
            grown.slots = allocate(grown.capacity * sizeof(ring_slot), block_kind::slots);
        } catch (const heap_full&) {
            if (b) release(b, block_kind::blob);
            throw;
        }
        auto to = slots(grown);
        for (std::uint64_t i = 0; i < r.count; ++i) put(to[i], check(all[(r.head + i) & (r.capacity - 1)]));
        if (r.slots) release(r.slots, block_kind::slots);
        r = grown;
        all = to;
    }
    put(all[(r.head + r.count) & (r.capacity - 1)], item, b);
    ++r.count;
}

void heap::pop_back(ring& r) {
    forget(slot_of(r, r.count - 1));
    --r.count;
}

void heap::pop_front(ring& r) {
    forget(slot_of(r, 0));
    r.head = (r.head + 1) & (r.capacity - 1);
    --r.count;
}

void heap::clear(ring& r) {
    for (std::uint64_t i = 0; i < r.count; ++i) forget(slot_of(r, i));
    if (r.slots) release(r.slots, block_kind::slots);
    r = {};
}

}  // namespace forkline::detail
