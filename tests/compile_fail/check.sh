#!/usr/bin/env bash
# Compiles a file that must not compile and checks that the diagnostic says what it should.
# usage: check.sh FILE EXPECTED_TEXT... -- COMPILER ARGS...
set -u
file=$1; shift
expect=()
while [[ $# -gt 0 && $1 != -- ]]; do expect+=("$1"); shift; done
shift
out=$("$@" -fsyntax-only "$file" 2>&1) && { echo "$file compiled, but it must not"; exit 1; }
for e in "${expect[@]}"; do
  if ! grep -qF -- "$e" <<<"$out"; then
    echo "$file: the diagnostic does not say: $e"
    echo "--- diagnostic (first 60 lines) ---"
    head -n 60 <<<"$out"
    exit 1
  fi
done
echo "$file fails to compile as it should: ${expect[*]}"
