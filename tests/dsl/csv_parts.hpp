// How the CSV tests and the CSV fuzz target read a file: whole by one cursor, or cut into parts
// that learn where their records start and stop as read_csv's readers learn it (csv_split), with
// the lines of each part counted from its start and made whole from the parts before it.
#pragma once

#include <forkline/dsl/detail/csv_input.hpp>
#include <forkline/dsl/detail/text_input.hpp>

#include <cstdint>
#include <memory>

namespace forkline::test {

/// Calls on_record with every record of file 0, read by one cursor.
template <class Fn>
void csv_whole(detail::text_files& files, detail::csv_format fmt, Fn on_record) {
    detail::csv_cursor c(files, 0, 0, files.size(0), 1, fmt);
    detail::csv_record r;
    while (c.next(r)) on_record(r);
}

/// Calls on_record with every record of file 0 cut into parts of `chunk` bytes, each read by its
/// own cursor from where csv_split says its records start to where they stop.
template <class Fn>
void csv_in_parts(detail::text_files& files, std::uint64_t chunk, detail::csv_format fmt, Fn on_record) {
    std::size_t slots = static_cast<std::size_t>(files.size(0) / chunk) + 2;
    auto table = std::make_unique<detail::split_part[]>(slots);
    detail::csv_split split(files, fmt, 1, chunk, table.get(), slots, nullptr);
    for (std::size_t p = 0; p < split.count(); ++p) {
        auto b = split.enter(p);
        std::uint64_t first = split.first_line(p).value();
        detail::csv_cursor c(files, 0, b.start, b.stop, 0, fmt);
        detail::csv_record r;
        while (c.next(r)) {
            r.line += first;
            on_record(r);
        }
        split.read(p, c.line());
    }
}

}  // namespace forkline::test
