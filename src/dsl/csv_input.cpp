// The CSV tokenizer: the quote-following first pass, and records from any part of a file. One
// set of rules for both, so a split reads exactly what one reader reads: a quote at the start
// of a field opens a quoted section, a quote inside one closes it unless another follows (a
// doubled quote is one quote), and any other quote is text.
#include <forkline/dsl/detail/csv_input.hpp>
#include <forkline/dsl/read_csv.hpp>

#include <algorithm>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace forkline::detail {

namespace {

std::uint64_t count_newlines(const char* p, std::uint64_t n) {
    return static_cast<std::uint64_t>(std::count(p, p + n, '\n'));
}

/// Whether a quote at `pos` of the file starts a field (outside quotes).
bool at_field_start(const file_window& w, std::uint64_t pos, csv_format fmt) {
    if (pos == 0) return true;
    char prev = *w.at(pos - 1);
    return prev == fmt.delimiter || prev == '\n';
}

/// The positions of one byte in a range, in order: 16 bytes compared at a time, the matches taken
/// from a bit mask (memchr a quote costs a call each, and a CSV can have a quote every few bytes).
class quotes {
public:
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
    const char* p_;
    std::uint64_t n_, block_ = 0, base_ = 0;
    unsigned mask_ = 0;
    char c_;
};

/// One way through a part's quotes, from one of the states it may start in.
struct run {
    csv_state st;
    std::uint64_t skip = ~std::uint64_t{0};  ///< a quote already taken as the second of a pair
    bool operator==(const run&) const = default;
};

/// Follows the quotes of [begin, end) from each of the three states at once: one search a quote
/// for all of them, and once two ways meet (they do within a record or two) they are followed as one.
void follow_quotes(const file_window& w, std::uint64_t size, std::uint64_t begin, std::uint64_t end, csv_format fmt,
                   csv_state (&out)[3]) {
    run runs[3] = {{csv_state::outside}, {csv_state::inside}, {csv_state::inside, begin}};
    int alias[3] = {0, 1, 2};  // which run each start state follows
    quotes found(w.at(begin), end - begin, fmt.quote);
    auto step = [&](run& r, std::uint64_t at) {
        if (r.skip == at) {
            r.skip = ~std::uint64_t{0};
        } else if (r.st == csv_state::outside) {
            if (at_field_start(w, at, fmt)) r.st = csv_state::inside;
        } else if (at + 1 < size && *w.at(at + 1) == fmt.quote) {
            r.skip = at + 1;  // a doubled quote: the next one is its pair
        } else {
            r.st = csv_state::outside;
        }
    };
    std::uint64_t off;
    while (alias[1] == 1 || alias[2] == 2) {
        if (!found.next(off)) break;
        for (int k = 0; k < 3; ++k)
            if (alias[k] == k) step(runs[k], begin + off);
        for (int k = 1; k < 3; ++k)
            for (int j = 0; j < k; ++j)
                if (alias[k] == k && alias[j] == j && runs[k] == runs[j]) alias[k] = j;
    }
    for (int k = 1; k < 3; ++k) alias[k] = alias[alias[k]];
    // All three ways are one now (or the part has ended): the rest of it needs one state only.
    if (alias[1] != 1 && alias[2] != 2)
        while (found.next(off)) step(runs[0], begin + off);
    for (int k = 0; k < 3; ++k) {
        const run& r = runs[alias[k]];
        out[k] = r.skip == end ? csv_state::pair : r.st;
    }
}

}  // namespace

csv_part_scan csv_scan(file_window& w, const text_files& files, std::size_t f, std::uint64_t begin,
                       std::uint64_t end, csv_format fmt) {
    csv_part_scan s;
    std::uint64_t size = files.size(f);
    end = std::min(end, size);
    if (begin < end) {
        follow_quotes(w, size, begin, end, fmt, s.end_from);
    } else {
        for (auto st : {csv_state::outside, csv_state::inside, csv_state::pair}) s.end_from[static_cast<int>(st)] = st;
    }
    if (begin < end) s.newlines = count_newlines(w.at(begin), end - begin);
    return s;
}

csv_cursor::csv_cursor(text_files& files, std::size_t f, std::uint64_t begin, std::uint64_t end, csv_state state,
                       std::uint64_t line, csv_format fmt)
    : size_(files.size(f)), at_(begin), end_(std::min(end, files.size(f))), line_(line), fmt_(fmt) {
    if (begin >= size_) {
        at_ = size_;
        return;
    }
    win_ = file_window(files, f, begin > 0 ? begin - 1 : 0);
    released_ = at_;
    if (begin == 0 || (state == csv_state::outside && *win_.at(begin - 1) == '\n')) return;
    // Inside a record: its first one starts after the first line end outside quotes.
    std::uint64_t p = begin;
    csv_state st = state;
    if (st == csv_state::pair) ++p, st = csv_state::inside;
    while (p < size_) {
        char c = *win_.at(p);
        if (st == csv_state::inside) {
            if (c == fmt_.quote) {
                if (p + 1 < size_ && *win_.at(p + 1) == fmt_.quote)
                    ++p;
                else
                    st = csv_state::outside;
            } else if (c == '\n') {
                ++line_;
            }
        } else if (c == '\n') {
            ++line_;
            ++p;
            break;
        } else if (c == fmt_.quote && at_field_start(win_, p, fmt_)) {
            st = csv_state::inside;
        }
        ++p;
    }
    at_ = p;
}

bool csv_cursor::next(csv_record& r) {
    for (;;) {
        if (at_ >= end_ || at_ >= size_) return false;
        r.fields.clear();
        r.error = nullptr;
        r.line = line_;
        r.offset = at_;
        scratch_.clear();
        built_.clear();
        std::uint64_t p = at_;
        const char d = fmt_.delimiter, qc = fmt_.quote;
        for (;;) {  // one field
            if (p < size_ && *win_.at(p) == qc) {
                std::uint64_t seg = ++p, content = p;
                bool built = false;
                std::size_t start = scratch_.size();
                for (;;) {
                    const void* q = std::memchr(win_.at(p), qc, size_ - p);
                    if (!q) {
                        r.error = "a quote is never closed";
                        line_ += count_newlines(win_.at(p), size_ - p);
                        if (built) scratch_.append(win_.at(seg), size_ - seg);
                        p = size_;
                        break;
                    }
                    std::uint64_t at = p + static_cast<std::uint64_t>(static_cast<const char*>(q) - win_.at(p));
                    line_ += count_newlines(win_.at(p), at - p);
                    if (at + 1 < size_ && *win_.at(at + 1) == qc) {  // a doubled quote: one quote
                        built = true;
                        scratch_.append(win_.at(seg), at + 1 - seg);
                        p = seg = at + 2;
                        continue;
                    }
                    if (built) scratch_.append(win_.at(seg), at - seg);
                    p = at + 1;
                    break;
                }
                std::uint64_t close = p - 1;
                // Text after the closing quote, up to the next delimiter or line end, is kept.
                std::uint64_t e = p;
                while (e < size_ && *win_.at(e) != d && *win_.at(e) != '\n') ++e;
                std::uint64_t tail = e;
                if (tail > p && (tail == size_ || *win_.at(tail) == '\n') && *win_.at(tail - 1) == '\r') --tail;
                if (tail > p && !r.error) {
                    if (!built) scratch_.append(win_.at(content), close - content);
                    built = true;
                    scratch_.append(win_.at(p), tail - p);
                }
                p = r.error ? p : e;
                if (built) {
                    built_.push_back({r.fields.size(), start, scratch_.size() - start});
                    r.fields.emplace_back();  // pointed into scratch_ once the record is whole
                } else {
                    r.fields.emplace_back(win_.at(content), (r.error ? size_ : close) - content);
                }
            } else {
                std::uint64_t e = p;
                while (e < size_ && *win_.at(e) != d && *win_.at(e) != '\n') ++e;
                std::uint64_t len = e - p;
                if (len > 0 && (e == size_ || *win_.at(e) == '\n') && *win_.at(e - 1) == '\r') --len;
                r.fields.emplace_back(win_.at(p), len);
                p = e;
            }
            if (p >= size_) break;
            char c = *win_.at(p);
            ++p;
            if (c == '\n') {
                ++line_;
                break;
            }
            if (p >= size_) {  // a delimiter at the very end: one more, empty field
                r.fields.emplace_back();
                break;
            }
        }
        at_ = p;
        for (const auto& b : built_) r.fields[b.index] = std::string_view(scratch_.data() + b.start, b.length);
        if (at_ - released_ >= (8u << 20)) {
            win_.release(released_, r.offset);
            released_ = r.offset;
        }
        // An empty line is no record.
        if (r.fields.size() == 1 && r.fields[0].empty() && !r.error && *win_.at(r.offset) != qc) continue;
        return true;
    }
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
