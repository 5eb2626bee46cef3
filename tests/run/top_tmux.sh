#!/usr/bin/env bash
# forkline-top as a person sees it: starts examples/progress with FORKLINE_STATS=1, checks that its
# stats segment is listed by forkline-shm with mode 0600, that `forkline-top -b -n 1` prints the
# run, then runs forkline-top in a tmux pane of 100 x 30 (a server of its own), reads the pane,
# quits with q and checks that the screen is given back clean; ends the run with SIGTERM and
# checks that its segment goes with it. Skipped (77) without tmux.
# usage: top_tmux.sh PROGRESS_EXAMPLE FORKLINE_TOP FORKLINE_SHM
set -u
example=$(realpath "$1") top=$(realpath "$2") shm=$(realpath "$3")
command -v tmux >/dev/null || { echo "tmux not found: skipped"; exit 77; }
# A tmux server of its own, on a socket in a directory of its own, both removed at the end.
sockdir=$(mktemp -d)
sock=$sockdir/tmux
pid=""
out=$(mktemp)
cleanup() {
  tmux -S "$sock" kill-server 2>/dev/null
  rm -rf "$sockdir"
  if [[ -n $pid ]]; then
    # SIGTERM: the run ends its processes and removes its segments; wait for all of it.
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    for _ in $(seq 1 40); do
      pgrep -f "$example 1000000000" >/dev/null || break
      sleep 0.25
    done
  fi
  rm -f "$out"
}
trap cleanup EXIT
fail() { echo "$1"; [[ $# -gt 1 ]] && { echo "--- what was seen:"; echo "$2"; }; exit 1; }

# A run long enough to be watched; its own progress display off (stderr is not a terminal anyway).
FORKLINE_STATS=1 FORKLINE_PROGRESS=0 "$example" 1000000000 >"$out" 2>&1 &
pid=$!

# Its segment, as forkline-shm lists it: stats-PID-N, of kind stats, readable by this user only.
seg=""
for _ in $(seq 1 240); do
  seg=$("$shm" list | awk -v p="stats-$pid-" 'index($1, p) == 1 && $3 == "stats" { print $1 }')
  [[ -n $seg ]] && break
  kill -0 "$pid" 2>/dev/null || fail "the run ended before its segment was seen" "$(cat "$out")"
  sleep 0.25
done
[[ -n $seg ]] || fail "no stats segment for pid $pid within a minute" "$("$shm" list)"
mode=$(stat -c %a "/dev/shm/forkline.$seg")
[[ $mode == 600 ]] || fail "the segment's mode is $mode, not 600"

# One plain frame: the run with its command, the stages and the bottleneck.
batch=""
for _ in $(seq 1 40); do
  batch=$("$top" -b -n 1)
  grep -q 'simulate is the bottleneck' <<<"$batch" && break
  sleep 0.25
done
grep -Eq "^pid $pid  .*progress 1000000000  started [0-9:]{8}$" <<<"$batch" || fail "no line for the run" "$batch"
for name in iota simulate tally items/s busy; do
  grep -q "$name" <<<"$batch" || fail "the frame has no '$name'" "$batch"
done
grep -q 'simulate is the bottleneck' <<<"$batch" || fail "the frame names no bottleneck" "$batch"

# On a terminal: a screen of its own, redrawn; q gives the screen back.
tmux -S "$sock" -f /dev/null new-session -d -x 100 -y 30 \
  "echo before; '$top' -d 0.5; echo \"exit \$?\"; sleep 600" || fail "tmux did not start"
pane() { tmux -S "$sock" capture-pane -p; }
seen=""
for _ in $(seq 1 120); do
  sleep 0.25
  p=$(pane)
  if grep -Eq '^forkline-top  [0-9:]{8}  1 run  \(q quits\)' <<<"$p" && grep -q 'bottleneck' <<<"$p"; then seen=$p; break; fi
done
[[ -n $seen ]] || fail "forkline-top drew no frame with the run within 30 s" "$(pane)"
grep -Eq "^pid $pid  " <<<"$seen" || fail "the pane has no line for the run" "$seen"
grep -q 'before' <<<"$seen" && fail "forkline-top did not draw on a screen of its own" "$seen"
grep -Eq '^  simulate +2 ' <<<"$seen" || fail "simulate's line does not show its 2 processes" "$seen"
first_clock=$(grep -Eo '^forkline-top  [0-9:]{8}' <<<"$seen")
redrawn=""
for _ in $(seq 1 40); do
  sleep 0.25
  c=$(grep -Eo '^forkline-top  [0-9:]{8}' <<<"$(pane)")
  [[ -n $c && $c != "$first_clock" ]] && { redrawn=1; break; }
done
[[ -n $redrawn ]] || fail "the frame was not redrawn within 10 s" "$(pane)"

tmux -S "$sock" send-keys q
p=""
for _ in $(seq 1 40); do
  sleep 0.25
  p=$(pane)
  grep -q '^exit' <<<"$p" && break
done
grep -q '^exit 0$' <<<"$p" || fail "forkline-top did not end with 0 after q" "$p"
[[ $(head -n 1 <<<"$p") == before ]] || fail "the screen was not given back as it was" "$p"
grep -Eq 'forkline-top|simulate|bottleneck' <<<"$p" && fail "forkline-top left something on the screen" "$p"

# The run ends (SIGTERM: its end on a signal removes its segments) and its segment with it.
ran=$pid
kill -TERM "$pid"
wait "$pid" 2>/dev/null
pid=""
for _ in $(seq 1 240); do
  [[ -e /dev/shm/forkline.$seg ]] || break
  sleep 0.25
done
[[ -e /dev/shm/forkline.$seg ]] && fail "the segment $seg is still there a minute after the run ended"
after=$("$top" -b -n 1)
grep -q "^pid $ran " <<<"$after" && fail "forkline-top still shows the run after it ended" "$after"
echo "forkline-top showed the run, redrew it, gave the screen back; the segment went with the run"
