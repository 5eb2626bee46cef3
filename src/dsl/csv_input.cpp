// The CSV tokenizer: the quote-following first pass, and records from any part of a file. One
// set of rules for both, so a split reads exactly what one reader reads: a quote at the start
// of a field opens a quoted section, a quote inside one closes it unless another follows (a
// doubled quote is one quote), and any other quote is text.
#include <forkline/dsl/detail/csv_input.hpp>
#include <forkline/dsl/read_csv.hpp>
#include <forkline/ipc/waiter.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace forkline::detail {

namespace {

std::uint64_t count_newlines(const char* p, const char* e) { return static_cast<std::uint64_t>(std::count(p, e, '\n')); }

/// The positions of one byte in a range, in order: 16 bytes compared at a time, the matches taken
/// from a bit mask (memchr a quote costs a call each, and a CSV can have a quote every few bytes).
class quotes {
public:
    quotes() = default;
    quotes(const char* p, std::uint64_t n, char c) : p_(p), n_(n), c_(c) {}
    bool next(std::uint64_t& at) {
        while (mask_ == 0) {
            if (block_ >= n_) return false;
            load();
        }
        at = base_ + static_cast<std::uint64_t>(__builtin_ctz(mask_));
        mask_ &= mask_ - 1;
        return true;
    }

private:
    void load() {
        base_ = block_;
#ifdef __SSE2__
        if (n_ - block_ >= 16) {
            __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_ + block_));
            mask_ = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c_))));
            block_ += 16;
            return;
        }
#endif
        std::uint64_t stop = std::min<std::uint64_t>(n_, block_ + 16);
        mask_ = 0;
        for (std::uint64_t i = block_; i < stop; ++i)
            if (p_[i] == c_) mask_ |= 1u << (i - block_);
        block_ = stop;
    }
    const char* p_ = nullptr;
    std::uint64_t n_ = 0, block_ = 0, base_ = 0;
    unsigned mask_ = 0;
    char c_ = 0;
};

constexpr std::size_t walk_block = 256u << 10;

/// The quotes of [begin, end) of file f in order, read in blocks that keep the byte before and
/// the byte after: enough to tell a quote that starts a field and a doubled quote.
class quote_walk {
public:
    quote_walk(text_files& files, std::size_t f, std::uint64_t begin, std::uint64_t end, csv_format fmt)
        : files_(files), f_(f), size_(files.size(f)), end_(std::min(end, files.size(f))), next_(begin), fmt_(fmt) {}
    bool next(std::uint64_t& at) {
        for (std::uint64_t off;;) {
            if (found_.next(off)) {
                at = block_ + off;
                return true;
            }
            if (next_ >= end_) return false;
            load();
        }
    }
    /// Whether the quote at `at` may open a quoted field: the file or a field starts there.
    bool field_start(std::uint64_t at) const {
        if (at == 0) return true;
        char prev = *span_.at(at - 1);
        return prev == fmt_.delimiter || prev == '\n';
    }
    /// Whether the quote at `at` is doubled: the next byte is a quote too.
    bool doubled(std::uint64_t at) const { return at + 1 < size_ && *span_.at(at + 1) == fmt_.quote; }

private:
    void load() {
        block_ = next_;
        next_ = std::min<std::uint64_t>(end_, block_ + walk_block);
        std::uint64_t from = block_ > 0 ? block_ - 1 : 0;
        span_.load(files_, f_, from, static_cast<std::size_t>(next_ + 1 - from));
        found_ = quotes(span_.at(block_), next_ - block_, fmt_.quote);
    }
    text_files& files_;
    std::size_t f_;
    std::uint64_t size_, end_, next_, block_ = 0;
    csv_format fmt_;
    file_span span_;
    quotes found_;
};

/// One way through the quotes, from one of the states a range may start in.
struct run {
    csv_state st;
    std::uint64_t skip = ~std::uint64_t{0};  ///< a quote already taken as the second of a pair
    bool operator==(const run&) const = default;

    static run from(csv_state s, std::uint64_t at) { return s == csv_state::pair ? run{csv_state::inside, at} : run{s}; }
    /// The state between byte at - 1 and byte at, once the quotes before `at` are stepped over.
    csv_state state_at(std::uint64_t at) const { return skip == at ? csv_state::pair : st; }
    void step(std::uint64_t at, const quote_walk& w) {
        if (skip == at) {
            skip = ~std::uint64_t{0};
        } else if (st == csv_state::outside) {
            if (w.field_start(at)) st = csv_state::inside;
        } else if (w.doubled(at)) {
            skip = at + 1;  // a doubled quote: the next one is its pair
        } else {
            st = csv_state::outside;
        }
    }
};

/// The three ways through [begin, end), one for each state it may start in, followed with one
/// search a quote; once two meet they are followed as one. `settle`: stop when all three have
/// met, and say where.
struct three_ways {
    run runs[3];
    int alias[3] = {0, 1, 2};  // which run each start state follows

    explicit three_ways(std::uint64_t begin) : runs{run::from(csv_state::outside, begin), run::from(csv_state::inside, begin), run::from(csv_state::pair, begin)} {}
    bool met() const { return alias[1] != 1 && alias[2] != 2; }
    /// Steps over the quote at `at`; true when all three ways are one after it.
    bool step(std::uint64_t at, const quote_walk& w) {
        for (int k = 0; k < 3; ++k)
            if (alias[k] == k) runs[k].step(at, w);
        for (int k = 1; k < 3; ++k)
            for (int j = 0; j < k; ++j)
                if (alias[k] == k && alias[j] == j && runs[k] == runs[j]) alias[k] = j;
        for (int k = 1; k < 3; ++k) alias[k] = alias[alias[k]];
        return met();
    }
    const run& of(csv_state s) const { return runs[alias[static_cast<int>(s)]]; }
};

}  // namespace

csv_part_scan csv_scan(text_files& files, std::size_t f, std::uint64_t begin, std::uint64_t end, csv_format fmt) {
    csv_part_scan s;
    end = std::min(end, files.size(f));
    three_ways ways(begin);
    if (begin < end) {
        quote_walk w(files, f, begin, end, fmt);
        std::uint64_t at;
        while (!ways.met() && w.next(at)) ways.step(at, w);
        // All three ways are one now (or the part has ended): the rest of it needs one state only.
        run& one = ways.runs[0];
        while (ways.met() && w.next(at)) one.step(at, w);
    }
    for (int k = 0; k < 3; ++k) s.end_from[k] = ways.of(static_cast<csv_state>(k)).state_at(std::max(begin, end));
    return s;
}

csv_settled csv_settle(text_files& files, std::size_t f, std::uint64_t begin, std::uint64_t end, csv_format fmt) {
    end = std::min({end, begin + csv_probe_bytes, files.size(f)});
    if (begin >= end) return {};
    quote_walk w(files, f, begin, end, fmt);
    three_ways ways(begin);
    for (std::uint64_t at; w.next(at);)
        if (ways.step(at, w)) return {true, at + 1, ways.runs[0].state_at(at + 1)};
    return {};
}

csv_state csv_follow(text_files& files, std::size_t f, std::uint64_t from, std::uint64_t end, csv_state state,
                     csv_format fmt) {
    end = std::min(end, files.size(f));
    if (from >= end) return state;
    run one = run::from(state, from);
    quote_walk w(files, f, from, end, fmt);
    for (std::uint64_t at; w.next(at);) one.step(at, w);
    return one.state_at(end);
}

csv_start csv_record_start(text_files& files, std::size_t f, std::uint64_t from, csv_state state, csv_format fmt) {
    const std::uint64_t size = files.size(f);
    csv_start s{std::min(from, size), 0};
    if (from == 0 || from >= size) return s;
    file_span span;
    auto byte = [&](std::uint64_t p) {
        if (p < span.start() || p >= span.limit()) span.load(files, f, p > 0 ? p - 1 : 0, walk_block);
        return *span.at(p);
    };
    if (state == csv_state::outside && byte(from - 1) == '\n') return s;
    // Inside a record: the next one starts after the first line end outside quotes.
    std::uint64_t p = from;
    csv_state st = state;
    if (st == csv_state::pair) ++p, st = csv_state::inside;
    for (; p < size; ++p) {
        char c = byte(p);
        if (st == csv_state::inside) {
            if (c == fmt.quote) {
                if (p + 1 < size && byte(p + 1) == fmt.quote)
                    ++p;
                else
                    st = csv_state::outside;
            } else if (c == '\n') {
                ++s.newlines;
            }
        } else if (c == '\n') {
            ++s.newlines;
            ++p;
            break;
        } else if (c == fmt.quote) {
            char prev = byte(p - 1);
            if (prev == fmt.delimiter || prev == '\n') st = csv_state::inside;
        }
    }
    s.offset = std::min(p, size);
    return s;
}

csv_cursor::csv_cursor(text_files& files, std::size_t f, std::uint64_t start, std::uint64_t end, std::uint64_t line,
                       csv_format fmt)
    : files_(&files), file_(f), size_(files.size(f)), at_(std::min(start, files.size(f))),
      end_(std::min(end, files.size(f))), line_(line), fmt_(fmt) {
    block_ = block_for(at_, end_);
}

bool csv_cursor::next(csv_record& r) {
    for (;;) {
        if (at_ >= end_) return false;
        if (at_ < span_.start() || at_ >= span_.limit()) span_.load(*files_, file_, at_, block_);
        if (parse(r) == parsed::more) {
            // The record runs past the block: read it again from its start, in a block of at
            // least twice what it had.
            span_.load(*files_, file_, at_, std::max<std::size_t>(block_, 2 * (span_.limit() - at_)));
            continue;
        }
        // An empty line is no record.
        if (r.fields.size() == 1 && r.fields[0].empty() && !r.error && *span_.at(r.offset) != fmt_.quote) continue;
        return true;
    }
}

csv_cursor::parsed csv_cursor::parse(csv_record& r) {
    r.fields.clear();
    r.error = nullptr;
    r.line = line_;
    r.offset = at_;
    scratch_.clear();
    built_.clear();
    const char* p = span_.at(at_);
    const char* const lim = span_.at(span_.limit());
    const bool eof = span_.limit() >= size_;  // else a record that reaches lim goes on past it
    const char d = fmt_.delimiter, qc = fmt_.quote;
    std::uint64_t lines = 0;
    auto field_end = [&](const char* e) {
        while (e < lim && *e != d && *e != '\n') ++e;
        return e;
    };
    for (;;) {  // one field
        if (p < lim && *p == qc) {
            const char* seg = ++p;
            const char* const content = p;
            bool built = false;
            std::size_t start = scratch_.size();
            for (;;) {
                const char* q = static_cast<const char*>(std::memchr(p, qc, static_cast<std::size_t>(lim - p)));
                if (!q && !eof) return parsed::more;
                if (!q) {
                    r.error = "a quote is never closed";
                    lines += count_newlines(p, lim);
                    if (built) scratch_.append(seg, static_cast<std::size_t>(lim - seg));
                    p = lim;
                    break;
                }
                lines += count_newlines(p, q);
                if (q + 1 == lim && !eof) return parsed::more;  // a doubled quote, or not
                if (q + 1 < lim && q[1] == qc) {  // a doubled quote: one quote
                    built = true;
                    scratch_.append(seg, static_cast<std::size_t>(q + 1 - seg));
                    p = seg = q + 2;
                    continue;
                }
                if (built) scratch_.append(seg, static_cast<std::size_t>(q - seg));
                p = q + 1;
                break;
            }
            if (r.error) {
                if (built) {
                    built_.push_back({r.fields.size(), start, scratch_.size() - start});
                    r.fields.emplace_back();
                } else {
                    r.fields.emplace_back(content, static_cast<std::size_t>(lim - content));
                }
                break;
            }
            const char* const close = p - 1;
            // Text after the closing quote, up to the next delimiter or line end, is kept.
            const char* e = field_end(p);
            if (e == lim && !eof) return parsed::more;
            const char* tail = e;
            if (tail > p && (tail == lim || *tail == '\n') && tail[-1] == '\r') --tail;
            if (tail > p) {
                if (!built) scratch_.append(content, static_cast<std::size_t>(close - content));
                built = true;
                scratch_.append(p, static_cast<std::size_t>(tail - p));
            }
            p = e;
            if (built) {
                built_.push_back({r.fields.size(), start, scratch_.size() - start});
                r.fields.emplace_back();  // pointed into scratch_ once the record is whole
            } else {
                r.fields.emplace_back(content, static_cast<std::size_t>(close - content));
            }
        } else {
            const char* e = field_end(p);
            if (e == lim && !eof) return parsed::more;
            std::size_t len = static_cast<std::size_t>(e - p);
            if (len > 0 && (e == lim || *e == '\n') && e[-1] == '\r') --len;
            r.fields.emplace_back(p, len);
            p = e;
        }
        if (p == lim) break;  // the end of the file
        char c = *p++;
        if (c == '\n') {
            ++lines;
            break;
        }
        if (p == lim) {
            if (!eof) return parsed::more;
            r.fields.emplace_back();  // a delimiter at the very end: one more, empty field
            break;
        }
    }
    at_ = span_.start() + static_cast<std::uint64_t>(p - span_.at(span_.start()));
    line_ += lines;
    for (const auto& b : built_) r.fields[b.index] = std::string_view(scratch_.data() + b.start, b.length);
    return parsed::record;
}

csv_split::csv_split(text_files& files, csv_format fmt, std::size_t readers, std::uint64_t chunk, split_part* table,
                     std::size_t slots, const std::atomic<std::uint32_t>* abort)
    : files_(&files), fmt_(fmt), table_(table), abort_(abort) {
    // Parts of at most 4 MiB by default: many for each reader, so that they end together.
    std::uint64_t bytes = split_bytes(files.total(), readers, chunk);
    if (!chunk) bytes = std::min<std::uint64_t>(bytes, 4u << 20);
    if (files.count() >= slots)
        throw std::runtime_error("forkline::read_csv: a split reads at most " + std::to_string(slots - 1) + " files");
    // Each file adds at most one part to total / bytes.
    std::uint64_t fewest = (files.total() + (slots - files.count()) - 1) / (slots - files.count());
    bytes = std::max<std::uint64_t>({bytes, fewest, 1});
    for (std::size_t f = 0; f < files.count(); ++f)
        for (std::uint64_t at = 0; at < files.size(f); at += bytes)
            parts_.push_back({f, at, std::min(files.size(f), at + bytes)});
}

csv_split::bounds csv_split::enter(std::size_t p) {
    const part& x = parts_[p];
    split_part& t = table_[p];
    bounds b{0, stop_of(p + 1)};
    if (x.begin == 0) {  // a file's start is outside quotes
        t.settled_after = 0;
        t.settled_state = static_cast<std::uint8_t>(csv_state::outside);
        t.known.store(1, std::memory_order_release);
        return b;
    }
    if (auto s = csv_settle(*files_, x.file, x.begin, x.end, fmt_); s.met) {
        t.settled_after = s.after;
        t.settled_state = static_cast<std::uint8_t>(s.state);
        t.known.store(1, std::memory_order_release);
        b.start = csv_record_start(*files_, x.file, s.after, s.state, fmt_).offset;
    } else {
        auto scan = csv_scan(*files_, x.file, x.begin, x.end, fmt_);
        for (int k = 0; k < 3; ++k) t.end_from[k] = static_cast<std::uint8_t>(scan.end_from[k]);
        t.known.store(2, std::memory_order_release);
        b.start = csv_record_start(*files_, x.file, x.begin, state_at(p), fmt_).offset;
    }
    return b;
}

/// Where the records of the part before `next` stop: where next's start, found as its reader
/// finds it when its quotes settle, else the first record at or after its first byte.
std::uint64_t csv_split::stop_of(std::size_t next) {
    const part& before = parts_[next - 1];
    if (next == parts_.size() || parts_[next].file != before.file) return files_->size(before.file);
    const part& x = parts_[next];
    if (auto s = csv_settle(*files_, x.file, x.begin, x.end, fmt_); s.met)
        return csv_record_start(*files_, x.file, s.after, s.state, fmt_).offset;
    return x.begin;
}

void csv_split::wait_known(std::size_t p) const {
    for (std::uint64_t spins = 0; !table_[p].known.load(std::memory_order_acquire);) {
        if (abort_ && abort_->load(std::memory_order_relaxed)) throw ipc::aborted{};
        if (++spins > 64) std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
}

/// The state at the start of part p (not a file's first): the end state of the nearest part
/// before it that settled, found by following that part's quotes, chained through the first
/// passes of those in between. Each end state found is kept for the readers after.
csv_state csv_split::state_at(std::size_t p) {
    std::size_t k = p;
    csv_state st = csv_state::outside;
    for (;;) {
        const part& x = parts_[--k];
        split_part& t = table_[k];
        wait_known(k);
        if (std::uint8_t e = t.exit.load(std::memory_order_acquire)) {
            st = static_cast<csv_state>(e - 1);
            break;
        }
        if (t.known.load(std::memory_order_acquire) == 1) {
            st = csv_follow(*files_, x.file, t.settled_after, x.end, static_cast<csv_state>(t.settled_state), fmt_);
            t.exit.store(static_cast<std::uint8_t>(static_cast<int>(st) + 1), std::memory_order_release);
            break;
        }
    }
    for (++k; k < p; ++k) {
        st = static_cast<csv_state>(table_[k].end_from[static_cast<int>(st)]);
        table_[k].exit.store(static_cast<std::uint8_t>(static_cast<int>(st) + 1), std::memory_order_release);
    }
    return st;
}

void csv_split::read(std::size_t p, std::uint64_t lines) {
    table_[p].lines = lines;
    table_[p].counted.store(1, std::memory_order_release);
}

std::optional<std::uint64_t> csv_split::first_line(std::size_t p) const {
    std::uint64_t line = 1;
    for (std::size_t k = p; k > 0 && parts_[k - 1].file == parts_[p].file; --k) {
        if (!table_[k - 1].counted.load(std::memory_order_acquire)) return std::nullopt;
        line += table_[k - 1].lines;
    }
    return line;
}

namespace {
/// Tabs and line ends of a field travel escaped, one reject a line.
void escaped(std::string& out, std::string_view s) {
    for (char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else out += c;
    }
}
std::string unescaped(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        char c = s[++i];
        out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
    }
    return out;
}
}  // namespace

std::string encode_reject(const reject& r) {
    std::string out = std::to_string(r.line) + '\t' + std::to_string(r.column) + '\t';
    for (std::string_view part : {std::string_view(r.file), std::string_view(r.column_name), std::string_view(r.reason)}) {
        escaped(out, part);
        out += '\t';
    }
    out.pop_back();
    return out;
}

reject decode_reject(std::string_view line) {
    std::vector<std::string_view> parts;
    for (std::size_t at = 0;;) {
        std::size_t tab = line.find('\t', at);
        parts.push_back(line.substr(at, tab == std::string_view::npos ? std::string_view::npos : tab - at));
        if (tab == std::string_view::npos) break;
        at = tab + 1;
    }
    reject r;
    if (parts.size() != 5) {
        r.reason = unescaped(line);
        return r;
    }
    r.line = std::stoull(std::string(parts[0]));
    r.column = std::stoull(std::string(parts[1]));
    r.file = unescaped(parts[2]);
    r.column_name = unescaped(parts[3]);
    r.reason = unescaped(parts[4]);
    return r;
}

}  // namespace forkline::detail

namespace forkline {

std::string reject::message() const {
    std::string m = file + ":" + std::to_string(line) + ": ";
    if (!column_name.empty())
        m += "column '" + column_name + "': ";
    else if (column > 0)
        m += "column " + std::to_string(column) + ": ";
    return m + reason;
}

}  // namespace forkline
