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
//
// An object must be able to fill the segment, so none is one block that doubles (old and new
// would have to fit side by side): a list or queue is made of fixed chunks, and a hash table that
// grows or shrinks is copied out of the segment, its block given back (joining the free room
// around it) and the new one taken from there. Small keys, values and items live in their slots.
#include "heap.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

namespace forkline::detail {

namespace {

/// "forkheap": the heap's state is laid out as this file says.
constexpr std::uint64_t heap_magic = 0x666f726b68656170ull;

/// A block: {word = spare << 48 | size | kind, seal}, then its payload, then the word again (the
/// footer, which lets release() find the block before). A free block's payload starts with its
/// free-list links; a blob's with the hash of its bytes, which fill the payload but for `spare`.
struct block_head {
    std::uint64_t word, seal;
};
struct blob_head {
    std::uint64_t hash;  ///< the bytes follow
};
constexpr std::uint64_t head_bytes = sizeof(block_head), overhead = head_bytes + 8;
constexpr std::uint64_t min_block = 48;  ///< the head, the links and the footer, rounded up
constexpr std::uint64_t kind_mask = 15, size_mask = ((std::uint64_t{1} << 48) - 1) & ~kind_mask;
constexpr unsigned spare_shift = 48;

/// The most bytes a slot keeps itself.
constexpr std::size_t inline_item = 8;
/// Slots in a ring's chunk: a chunk is about 1.5 KiB, little next to a segment and to waste at
/// either end of a ring.
constexpr std::uint64_t chunk_items = 64;

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
/// them): a bin's head is checked as the free lists' links are, when it is read. `most[k]` bounds
/// the sizes in bin k from above, so that an allocation no block of its bin can meet fails
/// without a walk over the bin; each is sealed alone, as it changes alone.
struct heap::state {
    std::uint64_t magic;
    std::uint64_t end;       ///< the segment's size (rounded down to 16) when it was made
    std::uint64_t free;      ///< bytes in free blocks
    std::uint64_t nonempty;  ///< bit k: bins[k] is not empty
    offset directory;
    std::uint64_t seal;  ///< over the words above
    offset bins[64];
    struct bound {
        std::uint64_t size, seal;
    } most[64];
};

struct heap::ring_slot {
    stored item;
    std::uint64_t seal;
};

/// A ring's directory entry: a chunk, or {0, 0} for none.
struct heap::chunk_ref {
    offset chunk;
    std::uint64_t seal;
};

heap::heap(std::byte* base, std::size_t size, std::size_t header)
    : base_(base), first_(header + sizeof(state)), end_(std::min<std::uint64_t>(size, size_mask) & ~kind_mask) {
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
    for (auto& m : st().most) m.seal = seal_of(where(&m), {0});
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
    std::uint64_t size = h.word & size_mask;
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

inline void heap::stamp(offset b, std::uint64_t size, block_kind k, std::uint64_t spare) {
    auto& h = *reinterpret_cast<block_head*>(base_ + b);
    h.word = spare << spare_shift | size | static_cast<std::uint64_t>(k);
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
        // A bin's head has no block before it: one that has is another block of the bin, and
        // taking it as the head would drop the blocks before it from the list.
        if (links(next).prev != 0) damaged("the allocator's bin does not start at the head of its list");
        links(next).prev = b;
    }
    stamp(b, size, block_kind::free);
    links(b) = {next, 0};
    st().bins[bin] = b;
    st().nonempty |= std::uint64_t{1} << bin;
    st().free += size;
    auto& m = st().most[bin];
    if (m.seal != seal_of(where(&m), {m.size})) damaged("the allocator's bound on a bin is not what was written there");
    if (size > m.size) m = {size, seal_of(where(&m), {size})};
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
    if (!b) {
        // The whole bin, unless its bound says no block of it is big enough; a walk that finds
        // none makes the bound exact, so the next such call costs no walk.
        auto& m = st().most[bin];
        if (m.seal != seal_of(where(&m), {m.size}))
            damaged("the allocator's bound on a bin is not what was written there");
        if (m.size >= need) {
            std::uint64_t largest = 0, seen = 0, left = end_ / min_block;
            offset prev = 0;
            for (offset c = bin_head(bin); c && left; --left, prev = c, c = links(c).next) {
                seen = free_block(c, bin);
                if (links(c).prev != prev) damaged("the allocator's free lists do not link back");
                if (seen >= need) {
                    b = c;
                    size = seen;
                    break;
                }
                largest = std::max(largest, seen);
            }
            if (!b && !left) damaged("the allocator's free list does not end");
            if (!b) m = {largest, seal_of(where(&m), {largest})};
        }
    }
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
        std::uint64_t prev_size = word & size_mask;
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
    // The bounds are read only by calls that meet their bin: damage to one is found here.
    for (const auto& m : s.most)
        if (m.seal != seal_of(where(&m), {m.size})) damaged("the allocator's bound on a bin is not what was written there");
    kind_room(s.directory, block_kind::record);
}

// ---- blobs

/// Writes b into the blob at p, whose block holds it, first giving back the room past it that
/// can make a block of its own.
inline void heap::fill_blob(offset p, bytes b) {
    const offset block = p - head_bytes;
    std::uint64_t size = whole_block(block);
    const std::uint64_t fit = std::max(min_block, (sizeof(blob_head) + b.size() + overhead + kind_mask) & ~kind_mask);
    if (size - fit >= min_block) {
        // The tail becomes a blob of its own and is released, so it joins a free block after it.
        stamp(block + fit, size - fit, block_kind::blob);
        stamp(block, fit, block_kind::blob);
        release(block + fit + head_bytes, block_kind::blob);
        size = fit;
    }
    stamp(block, size, block_kind::blob, size - overhead - sizeof(blob_head) - b.size());
    reinterpret_cast<blob_head*>(base_ + p)->hash = hash_bytes(b);
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
    std::uint64_t spare = reinterpret_cast<const block_head*>(base_ + p - head_bytes)->word >> spare_shift;
    if (spare + sizeof(blob_head) > cap) damaged("a blob is longer than its block");
    return {base_ + p + sizeof(blob_head), cap - sizeof(blob_head) - spare};
}

bytes heap::blob(offset p) const {
    bytes b = blob_bytes(p);
    if (hash_bytes(b) != reinterpret_cast<const blob_head*>(base_ + p)->hash)
        damaged("a blob's bytes are not what was written there");
    return b;
}

void heap::replace_blob(offset& p, bytes b) {
    if (sizeof(blob_head) + b.size() <= kind_room(p, block_kind::blob)) {
        fill_blob(p, b);
        return;
    }
    offset q = make_blob(b);
    release(p, block_kind::blob);
    p = q;
}

stored heap::store(bytes b) {
    if (b.size() > inline_item) return {make_blob(b), 0};
    stored s{b.size() << 1 | 1, 0};
    if (!b.empty()) std::memcpy(&s.inline_bytes, b.data(), b.size());
    return s;
}

bytes heap::stored_bytes(const stored& s) const {
    if (s.word & 1) return {reinterpret_cast<const std::byte*>(&s.inline_bytes), s.word >> 1};
    return blob(s.word);
}

void heap::restore(stored& s, bytes b) {
    if (b.size() <= inline_item) {
        forget(s);
        s = store(b);
    } else if (s.word & 1) {
        s = {make_blob(b), 0};
    } else {
        replace_blob(s.word, b);
    }
}

void heap::forget(const stored& s) {
    if (!(s.word & 1)) release(s.word, block_kind::blob);
}

namespace {
/// A stored word under a seal just checked: an inline one must fit its bytes.
bool sound(const stored& s) { return !(s.word & 1) || (s.word >> 1) <= inline_item; }
}  // namespace

// ---- hash tables

inline void heap::put(slot& s, std::uint64_t hash, stored key, stored value) {
    s.hash = hash;
    s.key = key;
    s.value = value;
    s.seal = seal_of(where(&s), {hash, key.word, key.inline_bytes, value.word, value.inline_bytes});
}

const slot& heap::check(const slot& s) const {
    if (s.seal != seal_of(where(&s), {s.hash, s.key.word, s.key.inline_bytes, s.value.word, s.value.inline_bytes}) ||
        !sound(s.key) || !sound(s.value))
        damaged("a table's slot is not what was written there");
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

std::uint64_t heap::size(const table& t) const {
    slots(t);
    return t.count;
}

bytes heap::key_of(const slot& s) const {
    if (s.key.word & 1) return stored_bytes(s.key);
    bytes k = blob(s.key.word);
    if (reinterpret_cast<const blob_head*>(base_ + s.key.word)->hash != s.hash)
        damaged("a key is not the one its slot was made for");
    return k;
}

slot* heap::find(const table& t, bytes key, std::uint64_t hash) const {
    auto all = slots(t);
    if (all.empty()) return nullptr;
    std::uint64_t mask = t.capacity - 1;
    for (std::uint64_t n = 0, i = hash & mask; n < t.capacity; ++n, i = (i + 1) & mask) {
        const slot& s = check(all[i]);
        if (s.key.word == 0) return nullptr;
        if (s.hash != hash) continue;
        if (same(s.key.word & 1 ? stored_bytes(s.key) : blob_bytes(s.key.word), key)) return &all[i];
        key_of(s);  // a real collision, unless the key's bytes were changed: then this throws
    }
    damaged("a table has no empty slot");
}

void heap::insert(table& t, std::uint64_t hash, stored key, stored value) {
    auto all = slots(t);
    std::uint64_t mask = t.capacity - 1;
    for (std::uint64_t n = 0, i = hash & mask; n < t.capacity; ++n, i = (i + 1) & mask) {
        if (check(all[i]).key.word == 0) {
            put(all[i], hash, key, value);
            ++t.count;
            return;
        }
    }
    damaged("a table has no empty slot");
}

/// Makes t's slots a block of `capacity`. The slots are copied out first and the old block given
/// back before the new one is taken, so the new one may use its room and the room around it:
/// a table can then grow to fill most of the segment. When there is no room for the new one the
/// old size is taken again, which cannot fail (the block just given back is the head of its bin,
/// or a bin above), and t is as it was but for its place.
void heap::resize(table& t, std::uint64_t capacity) {
    std::vector<slot> kept;
    kept.reserve(t.count);
    for (const slot& s : slots(t))
        if (check(s).key.word) kept.push_back(s);
    if (kept.size() != t.count) damaged("a table's count is not the number of its keys");
    const std::uint64_t before = t.capacity;
    if (t.slots) release(t.slots, block_kind::slots);
    t = {};
    std::uint64_t free_now = 0;
    bool full = false;
    try {
        t.slots = allocate(capacity * sizeof(slot), block_kind::slots);
    } catch (const heap_full& e) {
        if (before == 0) throw;
        free_now = e.free_bytes;
        full = true;
        capacity = before;
        try {
            t.slots = allocate(capacity * sizeof(slot), block_kind::slots);
        } catch (const heap_full&) {
            damaged("the allocator has no room for a block it was just given back");
        }
    }
    t.capacity = capacity;
    for (auto& s : slots(t)) put(s, 0, {}, {});
    for (const slot& s : kept) insert(t, s.hash, s.key, s.value);
    if (full) throw heap_full{free_now};
}

void heap::reserve(table& t) {
    if ((t.count + 1) * 4 > t.capacity * 3) resize(t, std::max<std::uint64_t>(8, t.capacity * 2));
}

void heap::set_value(slot& s, bytes value) {
    stored v = s.value;
    restore(v, value);
    put(s, s.hash, s.key, v);
}

void heap::erase(table& t, slot& gone) {
    auto all = slots(t);
    const stored key = gone.key, value = gone.value;
    std::uint64_t mask = t.capacity - 1, hole = static_cast<std::uint64_t>(&gone - all.data());
    // Later slots of the same run move back into the hole when their home is not past it, so a
    // probe never meets an empty slot before the key it looks for.
    for (std::uint64_t j = (hole + 1) & mask, n = 0; n < t.capacity; j = (j + 1) & mask, ++n) {
        const slot& s = check(all[j]);
        if (s.key.word == 0) break;
        if (((j - (s.hash & mask)) & mask) >= ((j - hole) & mask)) {
            put(all[hole], s.hash, s.key, s.value);
            hole = j;
        }
    }
    put(all[hole], 0, {}, {});
    --t.count;
    forget(key);
    forget(value);
    // Shrinking gives memory back, and cannot fail: the smaller block fits where the old one was.
    if (t.count == 0) {
        release(t.slots, block_kind::slots);
        t = {};
    } else if (t.capacity > 8 && t.count * 4 < t.capacity) {
        resize(t, t.capacity / 2);
    }
}

void heap::drop(table& t) {
    for (const slot& s : slots(t)) {
        if (!check(s).key.word) continue;
        forget(s.key);
        forget(s.value);
    }
    if (t.slots) release(t.slots, block_kind::slots);
    t = {};
}

// ---- rings

inline void heap::put(ring_slot& s, stored item) {
    s.item = item;
    s.seal = seal_of(where(&s), {item.word, item.inline_bytes});
}

inline const heap::ring_slot& heap::check(const ring_slot& s) const {
    if (s.seal != seal_of(where(&s), {s.item.word, s.item.inline_bytes}) || !sound(s.item) || s.item.word == 0)
        damaged("a ring's slot is not what was written there");
    return s;
}

/// Whether n bytes at p (a payload) lie inside the heap's blocks.
inline bool heap::inside(offset p, std::uint64_t n) const {
    return p % 16 == 0 && p >= first_ + head_bytes && p <= end_ && n <= end_ - p;
}

/// The directory, checked against r's other words and the mapping. Its block's header is checked
/// by the calls that make chunks and by release(): reading an item does not depend on it, as
/// its chunk's entry and slot are sealed. Entries for no chunk are all zero, so that a ring's
/// unused places hold nothing to damage.
inline std::span<heap::chunk_ref> heap::chunks(const ring& r) const {
    if (r.capacity == 0) {
        if (r.slots || r.head || r.count) damaged("an empty ring has slots");
        return {};
    }
    if (!power_of_two(r.capacity) || r.capacity > end_ / sizeof(chunk_ref) ||
        !inside(r.slots, r.capacity * sizeof(chunk_ref) + 8) || r.head >= r.capacity * chunk_items ||
        r.count > r.capacity * chunk_items || r.count == 0)
        damaged("a ring's head, count or capacity does not fit its directory");
    return {reinterpret_cast<chunk_ref*>(base_ + r.slots), r.capacity};
}

/// The same, with the directory's block checked too.
inline std::span<heap::chunk_ref> heap::directory_block(const ring& r) const {
    auto dir = chunks(r);
    if (r.capacity && r.capacity > kind_room(r.slots, block_kind::slots) / sizeof(chunk_ref))
        damaged("a ring's capacity does not fit its directory");
    return dir;
}

inline const heap::chunk_ref& heap::check(const chunk_ref& e) const {
    if (e.chunk ? e.seal != seal_of(where(&e), {e.chunk}) : e.seal != 0)
        damaged("a ring's directory is not what was written there");
    return e;
}

inline void heap::set_chunk(chunk_ref& e, offset chunk) { e = {chunk, chunk ? seal_of(where(&e), {chunk}) : 0}; }

/// The chunk of an entry that must have one, checked to lie in the mapping (its block's header
/// as the directory's is, when `whole`).
inline offset heap::chunk_at(const chunk_ref& e, bool whole) const {
    offset c = check(e).chunk;
    if (!c || !inside(c, chunk_items * sizeof(ring_slot) + 8) ||
        (whole && kind_room(c, block_kind::chunk) < chunk_items * sizeof(ring_slot)))
        damaged("a ring's directory names no chunk where its items are");
    return c;
}

/// The slot at place p of the circle (not checked: it may be unused).
inline heap::ring_slot& heap::place(std::span<chunk_ref> dir, std::uint64_t p, bool whole) const {
    offset c = chunk_at(dir[p / chunk_items], whole);
    return reinterpret_cast<ring_slot*>(base_ + c)[p % chunk_items];
}

/// Slot i from the head, checked.
inline heap::ring_slot& heap::slot_of(const ring& r, std::uint64_t i) const {
    auto dir = chunks(r);
    if (i >= r.count) damaged("an item is past the ring's end");
    ring_slot& s = place(dir, (r.head + i) & (r.capacity * chunk_items - 1), false);
    check(s);
    return s;
}

std::uint64_t heap::size(const ring& r) const {
    chunks(r);
    return r.count;
}

bytes heap::item(const ring& r, std::uint64_t i) const { return stored_bytes(slot_of(r, i).item); }

void heap::set_item(const ring& r, std::uint64_t i, bytes item) {
    ring_slot& s = slot_of(r, i);
    stored x = s.item;
    restore(x, item);
    put(s, x);
}

/// A directory twice as big, its entries from the head's chunk on (the circle is full of chunks:
/// the tail has come round to the head's).
void heap::grow_directory(ring& r) {
    auto old = chunks(r);
    const std::uint64_t first = r.head / chunk_items;
    offset d = allocate(2 * r.capacity * sizeof(chunk_ref), block_kind::slots);
    auto* to = reinterpret_cast<chunk_ref*>(base_ + d);
    for (std::uint64_t k = 0; k < 2 * r.capacity; ++k)
        set_chunk(to[k], k < r.capacity ? chunk_at(old[(first + k) & (r.capacity - 1)], false) : 0);
    release(r.slots, block_kind::slots);
    r.slots = d;
    r.head %= chunk_items;
    r.capacity *= 2;
}

void heap::push_back(ring& r, bytes item) {
    directory_block(r);
    stored s = store(item);
    const ring before = r;
    try {
        if (r.capacity == 0) {
            offset d = allocate(4 * sizeof(chunk_ref), block_kind::slots);
            for (std::uint64_t k = 0; k < 4; ++k) reinterpret_cast<chunk_ref*>(base_ + d)[k] = {0, 0};
            r = {d, 0, 0, 4};
        }
        std::uint64_t p = (r.head + r.count) & (r.capacity * chunk_items - 1);
        if (p % chunk_items == 0) {
            // A chunk to start; when the head's chunk is there, the circle is full.
            if (r.count && check(reinterpret_cast<chunk_ref*>(base_ + r.slots)[p / chunk_items]).chunk) {
                grow_directory(r);
                p = r.head + r.count;
            }
            offset c = allocate(chunk_items * sizeof(ring_slot), block_kind::chunk);
            set_chunk(reinterpret_cast<chunk_ref*>(base_ + r.slots)[p / chunk_items], c);
        }
        put(place({reinterpret_cast<chunk_ref*>(base_ + r.slots), r.capacity}, p, true), s);
        ++r.count;
    } catch (const heap_full&) {
        forget(s);
        if (before.capacity == 0 && r.capacity) release(r.slots, block_kind::slots);
        if (before.capacity == 0) r = {};
        throw;
    }
}

/// After the item at place p left: gives back its chunk when it was the chunk's last, and
/// everything when the ring is empty.
void heap::leave(ring& r, std::uint64_t p, bool last_of_chunk) {
    if (!last_of_chunk && r.count) return;
    chunk_ref& e = reinterpret_cast<chunk_ref*>(base_ + r.slots)[p / chunk_items];
    release(chunk_at(e, false), block_kind::chunk);
    set_chunk(e, 0);
    if (r.count) return;
    release(r.slots, block_kind::slots);
    r = {};
}

void heap::pop_back(ring& r) {
    forget(slot_of(r, r.count - 1).item);
    const std::uint64_t p = (r.head + r.count - 1) & (r.capacity * chunk_items - 1);
    --r.count;
    leave(r, p, p % chunk_items == 0);
}

void heap::pop_front(ring& r) {
    forget(slot_of(r, 0).item);
    const std::uint64_t p = r.head;
    r.head = (r.head + 1) & (r.capacity * chunk_items - 1);
    --r.count;
    leave(r, p, p % chunk_items == chunk_items - 1);
}

void heap::clear(ring& r) {
    for (std::uint64_t i = 0; i < r.count; ++i) forget(slot_of(r, i).item);
    for (chunk_ref& e : chunks(r))
        if (check(e).chunk) release(chunk_at(e, false), block_kind::chunk);
    if (r.slots) release(r.slots, block_kind::slots);
    r = {};
}

}  // namespace forkline::detail
