// The shared-memory ring as an edge (channel.hpp's first model): items that are trivially
// transferable travel in fixed slots, everything else is encoded by the codec into
// length-prefixed records of a byte ring.
#pragma once

#include <forkline/codec/codec.hpp>
#include <forkline/ipc/ring.hpp>
#include <forkline/run/detail/channel.hpp>

#include <algorithm>
#include <string>
#include <type_traits>
#include <utility>

namespace forkline::detail {

template <class T, bool Slots = trivially_transferable<T>>
class ring_sender;

template <class T>
class ring_sender<T, true> : public ipc::slot_producer<T> {
public:
    using ipc::slot_producer<T>::slot_producer;
    /// Room for an item now (a dispatcher asks before choosing a replica).
    bool has_room() noexcept { return this->try_reserve(1); }
};

template <class T>
class ring_sender<T, false> : public ipc::byte_producer {
public:
    using ipc::byte_producer::byte_producer;
    void push(const T& v) {
        write(encoded_size(v), [&](std::byte* out) { encode(v, out); });
    }
    /// Room for a typical item now: a quarter of the ring, or 4 KiB.
    bool has_room() noexcept { return try_reserve(std::min<std::uint64_t>(cap_ / 4, 4096)); }
};

template <class T, bool Slots = trivially_transferable<T>>
class ring_receiver;

template <class T>
class ring_receiver<T, true> : public ipc::slot_consumer<T> {
    using base = ipc::slot_consumer<T>;

public:
    using base::base;
    bool has_item() noexcept { return this->try_fill(1); }

    /// Calls f(T&&) for the next item; false at end of stream.
    template <class F>
    bool next(F&& f) {
        auto s = base::peek();
        if (s.empty()) return false;
        T v = s[0];  // copied out first: the slot is the producer's again after consume
        base::consume(1);
        f(std::move(v));
        this->item_done();
        return true;
    }
    /// Calls f(T&&) for every item until the end of the stream, a batch at a time so the
    /// producer gets room back while we work (the batch as it is now: a journal paces it).
    template <class F>
    void drain(F&& f) {
        for (;;) {
            auto s = base::peek();
            if (s.empty()) return;
            std::size_t n = std::min<std::size_t>(s.size(), this->batch_);
            for (std::size_t i = 0; i < n; ++i) {
                T v = s[i];
                f(std::move(v));
            }
            base::consume_done(n);
        }
    }
};

template <class T>
class ring_receiver<T, false> : public ipc::byte_consumer {
public:
    using ipc::byte_consumer::byte_consumer;
    bool has_item() noexcept { return try_fill(1); }

    /// Calls f(T&&) for the next item; false at end of stream. A string (or raw vector) is decoded
    /// into one object that lives as long as the reader, so it keeps its buffer from item to item
    /// unless f moves it away.
    template <class F>
    bool next(F&& f) {
        return read([&](const std::byte* p, std::size_t n) {
            if constexpr (decodes_in_place<T>) {
                decode_into(item_, p, n);
                f(std::move(item_));
            } else {
                f(decode<T>(p, n));
            }
        });
    }
    template <class F>
    void drain(F&& f) {
        while (next(f)) {
        }
    }

private:
    struct none {};
    [[no_unique_address]] std::conditional_t<decodes_in_place<T>, T, none> item_{};
};

static_assert(channel_sender<ring_sender<int>, int> && channel_sender<ring_sender<std::string>, std::string>);
static_assert(channel_receiver<ring_receiver<int>, int> && channel_receiver<ring_receiver<std::string>, std::string>);

}  // namespace forkline::detail
