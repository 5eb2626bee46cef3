// The sentences of compile errors that several layers say (static_assert takes only string
// literals, so they are macros; adjacent literals join). The DSL's own sentences are in
// dsl/detail/diagnostics.hpp.
#pragma once

/// "<subject> cannot cross a process boundary (a pointer, reference, string_view or span would
/// dangle in <where>)<remedy>": for items, arguments and results that would travel by pointer.
#define FORKLINE_CANNOT_CROSS(subject, where, remedy)                                                    \
    subject " cannot cross a process boundary (a pointer, reference, string_view or span would dangle in " \
            where ")" remedy

/// "<subject> cannot cross a process boundary: ...; specialize forkline::codec<T>": for the codec's
/// own calls, where the type may just lack a rule.
#define FORKLINE_NO_CODEC(subject)                                                                    \
    subject " cannot cross a process boundary: it holds a pointer, reference or view, or no rule covers " \
            "it; specialize forkline::codec<T> (see forkline::transferable)"
