#!/usr/bin/env bash
# Runs an example and compares what it prints (stdout, then stderr) with its golden output.
# usage: golden.sh GOLDEN_FILE PROGRAM [ARGS...]
set -u
golden=$1; shift
out=$(mktemp); err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$@" >"$out" 2>"$err"
status=$?
if [[ $status -ne 0 ]]; then
  echo "$* exited with $status"; cat "$err"; exit 1
fi
if ! diff -u "$golden" <(cat "$out"; if [[ -s $err ]]; then echo "--- stderr"; cat "$err"; fi); then
  echo "the output of $(basename "$1") differs from $golden"; exit 1
fi
