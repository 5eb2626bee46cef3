#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (address and undefined-behaviour sanitizers)
# and runs each for a bounded time: tests/fuzz/run.sh [seconds each, default 20] [target...].
# Exits non-zero when a target crashes, hangs (5 s on one input) or a sanitizer reports, and
# prints the input that did it. Without clang's libFuzzer it says why and exits 0 ("skipped").
# FORKLINE_FUZZ_CXX names another clang++ (clang++-16, say).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

seconds=${1:-20}
shift $(( $# > 0 ? 1 : 0 ))
targets=("$@")
(( ${#targets[@]} > 0 )) || targets=(csv codec)
[[ $seconds =~ ^[0-9]+$ ]] && (( seconds > 0 )) || { echo "usage: $0 [seconds] [target...]" >&2; exit 2; }

# The sources each target compiles in besides its own file (the code it fuzzes that is not inline).
declare -A sources=(
  [csv]="src/dsl/csv_input.cpp src/dsl/text_input.cpp"
  [codec]=""
)

for name in "${targets[@]}"; do
  [[ -f $root/tests/fuzz/$name.cpp && -v sources[$name] ]] || { echo "fuzz: no target '$name'" >&2; exit 2; }
done

tmp=$(mktemp -d /tmp/forkline-fuzz.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait
  rm -rf "$tmp"
}
trap cleanup EXIT

cxx=${FORKLINE_FUZZ_CXX:-clang++}
# -fno-sanitize-recover: an undefined-behaviour report must stop the run, not scroll by.
flags=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I"$root/include")

skip() {
  echo "fuzz: skipped ($1)"
  exit 0
}
command -v "$cxx" >/dev/null || skip "$cxx is not installed; tools/bootstrap installs clang and libclang-rt-14-dev"
printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
  'extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }' >"$tmp/probe.cpp"
"$cxx" "${flags[@]}" "$tmp/probe.cpp" -o "$tmp/probe" 2>"$tmp/probe.log" ||
  skip "$cxx cannot build with -fsanitize=fuzzer: $(head -n 1 "$tmp/probe.log"); libclang-rt-14-dev provides it"

# Prints the input a target failed on (its file goes with this script's directory) and how to
# run the target on it again.
show_input() {
  local name=$1 file=$2
  echo "fuzz: $name: failing input, $(wc -c <"$file") bytes ($(basename "$file")):"
  od -A d -t x1z -v "$file" | head -n 64
  echo "fuzz: $name: to run it again, from $root:"
  echo "  echo $(base64 -w 0 "$file") | base64 -d >input"
  echo "  $cxx ${flags[*]/#-I*/-Iinclude} tests/fuzz/$name.cpp ${sources[$name]:+${sources[$name]} }-o fuzz-$name &&"
  echo "  ./fuzz-$name input"
}

# The targets are built side by side, then run side by side: the wall time is about one build
# and one run, whatever the number of targets.
declare -A job
for name in "${targets[@]}"; do
  work=$tmp/$name
  mkdir -p "$work/corpus" "$work/artifacts"
  srcs=()
  for s in ${sources[$name]}; do srcs+=("$root/$s"); done
  "$cxx" "${flags[@]}" "$root/tests/fuzz/$name.cpp" "${srcs[@]}" -o "$work/fuzz" 2>"$work/build.log" &
  job[$name]=$!
  pids+=($!)
done
declare -A built
for name in "${targets[@]}"; do
  wait "${job[$name]}" && built[$name]=1
done

for name in "${targets[@]}"; do
  [[ -v built[$name] ]] || continue
  work=$tmp/$name
  # The target writes its seeds into the corpus (seeds.hpp), where new inputs go too. The outer
  # timeout only guards against libFuzzer itself not stopping (it passes a kill on to it).
  FORKLINE_FUZZ_SEEDS=$work/corpus ASAN_OPTIONS=print_legend=0:${ASAN_OPTIONS:-} \
    timeout $(( seconds + 60 )) "$work/fuzz" \
    -max_total_time="$seconds" -timeout=5 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1 &
  job[$name]=$!
  pids+=($!)
done

failed=0
for name in "${targets[@]}"; do
  work=$tmp/$name
  if [[ ! -v built[$name] ]]; then
    echo "fuzz: $name: FAILED to build"
    cat "$work/build.log"
    failed=$(( failed + 1 ))
    continue
  fi
  wait "${job[$name]}"
  status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
  if (( status == 0 )); then
    echo "fuzz: $name: passed (${runs:-?} inputs in $seconds s)"
    continue
  fi
  failed=$(( failed + 1 ))
  echo "fuzz: $name: FAILED (exit $status after ${runs:-?} inputs); the end of its log:"
  grep -v -e '^#[0-9]' -e '^"' -e '^INFO: ' -e 'dictionary\. #' "$work/log" | tail -n 80
  found=0
  for f in "$work/artifacts"/*; do
    [[ -f $f ]] || continue
    show_input "$name" "$f"
    found=1
  done
  (( found )) || echo "fuzz: $name: no input was saved"
done

(( failed == 0 ))
