// The sentences of the DSL's compile errors that several elements say, as macros for
// static_assert (adjacent string literals join). Those the lower layers say too are in
// core/diagnostics.hpp.
#pragma once

#include <forkline/core/diagnostics.hpp>

/// Items after a stage that cannot reach the next process (operator|'s walk).
#define FORKLINE_ITEMS_CANNOT_CROSS                                                                       \
    FORKLINE_CANNOT_CROSS("forkline: operator|: the items this stage passes on",                           \
                          "another process; a type needs a forkline::codec",                               \
                          "; pass owning values such as std::string or std::vector instead")

/// Where a check's message points the reader at the type the compiler names.
#define FORKLINE_IN_OF_CHECK "(their type is the 'In' of this check)"

/// "<call>: fn cannot be called with the items of the element before it (...)".
#define FORKLINE_CANNOT_TAKE_ITEMS(call_and_fn) \
    call_and_fn " cannot be called with the items of the element before it " FORKLINE_IN_OF_CHECK
/// "<call>: key must be callable with the items of the element before it (...)".
#define FORKLINE_MUST_TAKE_ITEMS(call_and_fn) \
    call_and_fn " must be callable with the items of the element before it " FORKLINE_IN_OF_CHECK

/// A fold's op that takes neither form (fl::reduce, fl::reduce_by_key).
#define FORKLINE_FOLD_OP(call)                                                                         \
    call ": op must be callable as op(acc, item) returning the new accumulator, or as op(acc&, item) " \
         "returning void (the item type is the 'In' of this check)"

/// A key that cannot be hashed (fl::partition_by, fl::reduce_by_key).
#define FORKLINE_KEY_NEEDS_HASH(call) call ": the key type needs a std::hash"

/// fl::run, fl::stream or fl::plan given a chain without a source.
#define FORKLINE_NO_SOURCE(call) \
    call ": the pipeline has no source; start it with fl::from, fl::iota, fl::generate or fl::read_lines"
