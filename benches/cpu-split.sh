#!/usr/bin/env bash
# CPU seconds per process name over a window: cpu-split.sh DELAY SPAN waits DELAY seconds,
# then sums utime+stime (fields 14 and 15 of /proc/PID/stat, all threads) of every process
# by its name at the start and at the end of SPAN seconds, and prints the difference.
# Processes that start or end inside the window are left out (start it after the set-up).
# Run it beside a benchmark: `benches/cpu-split.sh 6 6 & target/release/load run …; wait`.
set -euo pipefail
delay=${1:?usage: cpu-split.sh DELAY SPAN}
span=${2:?usage: cpu-split.sh DELAY SPAN}
hz=$(getconf CLK_TCK)
snap() {
  for p in /proc/[0-9]*; do
    line=$(cat "$p/stat" 2>/dev/null) || continue
    name=${line#*(}; name=${name%)*}
    rest=${line##*) }
    # rest starts at field 3 (state): utime and stime are fields 14 and 15.
    set -- $rest
    echo "${name// /_} $(( ${12} + ${13} ))"
  done | awk '{t[$1] += $2} END {for (n in t) print n, t[n]}' | sort
}
sleep "$delay"
a=$(snap)
sleep "$span"
b=$(snap)
join <(echo "$a") <(echo "$b") | awk -v hz="$hz" -v span="$span" '
  { d = ($3 - $2) / hz; if (d >= 0.05) printf "%-20s %7.2f s  %4.0f %% of one core\n", $1, d, 100 * d / span }' | sort -k2 -rn
