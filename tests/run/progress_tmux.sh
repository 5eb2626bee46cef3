#!/usr/bin/env bash
# The progress display as a person sees it: runs examples/progress on a terminal (a tmux pane of
# 100 x 20 on a server of its own), reads the pane while it runs and after it ended, and checks
# that the bar and the stage names were there and that the screen holds only the program's own
# output afterwards. Skipped (77) without tmux.
# usage: progress_tmux.sh PROGRESS_EXAMPLE
set -u
example=$1
command -v tmux >/dev/null || { echo "tmux not found: skipped"; exit 77; }
# A tmux server of its own, on a socket in a directory of its own, both removed at the end.
sockdir=$(mktemp -d)
sock=$sockdir/tmux
trap 'tmux -S "$sock" kill-server 2>/dev/null; rm -rf "$sockdir"' EXIT
tmux -S "$sock" -f /dev/null new-session -d -x 100 -y 20 \
  "env -u FORKLINE_PROGRESS '$example' 300000; echo \"exit \$?\"; sleep 600" || { echo "tmux did not start"; exit 1; }
pane() { tmux -S "$sock" capture-pane -p; }
fail() { echo "$1"; echo "--- the pane:"; echo "$2"; exit 1; }

# While it runs: the bar, then (a frame later) the stages with their rates.
seen=""
for _ in $(seq 1 240); do
  sleep 0.25
  p=$(pane)
  if grep -Eq '^forkline  [0-9]+ s  \[[#-]{24}\]  [0-9]+%  .* of 300 k items  .*/s' <<<"$p"; then seen=$p; break; fi
  grep -q '^exit' <<<"$p" && fail "the program ended before a frame was seen" "$p"
done
[[ -n $seen ]] || fail "no progress bar within a minute" "$(pane)"
for name in stage iota simulate tally busy; do
  grep -q "$name" <<<"$seen" || fail "the frame has no '$name'" "$seen"
done
grep -Eq '^  simulate +2 ' <<<"$seen" || fail "simulate's line does not show its 2 processes" "$seen"

# After it: the result where the table was, and nothing of the table left.
for _ in $(seq 1 480); do
  sleep 0.25
  p=$(pane)
  grep -q '^exit' <<<"$p" && break
done
grep -q '^exit 0$' <<<"$p" || fail "the program did not end well within two minutes" "$p"
first=$(head -n 1 <<<"$p")
[[ $first == *"of 300000 trials were hits" ]] || fail "the result is not on the first line" "$p"
grep -Eq 'forkline|simulate|tally|\[#' <<<"$p" && fail "the display left something on the screen" "$p"
echo "the bar and the stages showed while it ran; the screen was clean after"
