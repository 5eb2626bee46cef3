// How the CSV tests and the CSV fuzz target read a file: whole by one cursor, or cut into parts
// whose states and lines are chained through the first pass, as read_csv's readers chain them.
#pragma once

#include <forkline/dsl/detail/csv_input.hpp>
#include <forkline/dsl/detail/text_input.hpp>

#include <algorithm>
#include <cstdint>

namespace forkline::test {

/// Calls on_record with every record of file 0, read by one cursor.
template <class Fn>
void csv_whole(detail::text_files& files, detail::csv_format fmt, Fn on_record) {
    detail::csv_cursor c(files, 0, 0, files.size(0), detail::csv_state::outside, 1, fmt);
    detail::csv_record r;
    while (c.next(r)) on_record(r);
}

/// Calls on_record with every record of file 0 cut into parts of `chunk` bytes, each read by its
/// own cursor from the state and line that the first passes of the parts before it give.
template <class Fn>
void csv_in_parts(detail::text_files& files, std::uint64_t chunk, detail::csv_format fmt, Fn on_record) {
    auto state = detail::csv_state::outside;
    std::uint64_t line = 1, size = files.size(0);
    for (std::uint64_t at = 0; at < size; at += chunk) {
        std::uint64_t end = std::min(size, at + chunk);
        detail::csv_cursor c(files, 0, at, end, state, line, fmt);
        detail::csv_record r;
        while (c.next(r)) on_record(r);
        detail::file_window w(files, 0, at > 0 ? at - 1 : 0);
        auto scan = detail::csv_scan(w, files, 0, at, end, fmt);
        state = scan.end_from[static_cast<int>(state)];
        line += scan.newlines;
    }
}

}  // namespace forkline::test
