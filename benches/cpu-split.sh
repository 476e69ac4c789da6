#!/usr/bin/env bash
# CPU seconds per process name over a window: cpu-split.sh DELAY SPAN waits DELAY seconds,
# then sums utime+stime (fields 14 and 15 of /proc/PID/stat, all threads) of every process
# by its name at the start and at the end of SPAN seconds, and prints the difference.
# Processes that start or end inside the window are left out (start it after the set-up).
# Run it beside a benchmark: `benches/cpu-split.sh 6 6 & target/release/load run …; wait`.
# With a third argument, a pattern of a process's command line (`pgrep -f`), it sums that
# process's threads by their names instead (e.g. the HTTP workers against the committer):
# `benches/cpu-split.sh 6 6 'sae serve' & target/release/load run …; wait`.
set -euo pipefail
delay=${1:?usage: cpu-split.sh DELAY SPAN [PROCESS-PATTERN]}
span=${2:?usage: cpu-split.sh DELAY SPAN [PROCESS-PATTERN]}
pattern=${3:-}
hz=$(getconf CLK_TCK)
snap() {
  local where=/proc/[0-9]*
  if [ -n "$pattern" ]; then where=/proc/$pid/task/[0-9]*; fi
  for p in $where; do
    line=$(cat "$p/stat" 2>/dev/null) || continue
    name=${line#*(}; name=${name%)*}
    rest=${line##*) }
    # rest starts at field 3 (state): utime and stime are fields 14 and 15.
    set -- $rest
    echo "${name// /_} $(( ${12} + ${13} ))"
  done | awk '{t[$1] += $2} END {for (n in t) print n, t[n]}' | sort
}
sleep "$delay"
if [ -n "$pattern" ]; then pid=$(pgrep -f -- "$pattern" | grep -vx "$$" | head -1); fi
a=$(snap)
sleep "$span"
b=$(snap)
join <(echo "$a") <(echo "$b") | awk -v hz="$hz" -v span="$span" '
  { d = ($3 - $2) / hz; if (d >= 0.05) printf "%-20s %7.2f s  %4.0f %% of one core\n", $1, d, 100 * d / span }' | sort -k2 -rn
