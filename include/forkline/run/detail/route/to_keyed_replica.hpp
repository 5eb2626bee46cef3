// to_keyed_replica: a partition's dispatcher; the key of each item picks its replica.
#pragma once

#include <forkline/run/detail/route/route.hpp>

#include <utility>

namespace forkline::detail {

/// Key: the partition element; `key.route(item, count)` is the replica, below count.
template <class End, class Key>
class to_keyed_replica {
public:
    to_keyed_replica(end_set<End> ends, const Key& key) : ends_(std::move(ends)), key_(&key) {}

    template <class U>
    FORKLINE_HOT void push(U&& v) {
        ends_[key_->route(v, ends_.size())].push(v);
    }
    void nudge() noexcept { ends_.nudge(); }
    void flush() { ends_.flush(); }
    void close() { ends_.close(); }

private:
    end_set<End> ends_;
    const Key* key_;
};

}  // namespace forkline::detail
