#!/usr/bin/env bash
# Long fuzz run of every target on stable Rust (no sanitizer: `-s none`), several at a time.
# Usage: fuzz/long.sh [seconds-per-target] [targets-at-once]   (defaults: 600, all at once)
# Prints one line per target with its executions; a crash stops with the reproducer's path
# (fuzz/artifacts/<target>/). Corpora grow in fuzz/corpus/<target>/ (not committed).
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --quiet
fi
targets=$(cargo fuzz list)
lanes=${2:-$(echo "$targets" | wc -l)}
cargo fuzz build -s none
logs=$(mktemp -d)
run_one() {
  local t=$1
  if cargo fuzz run -s none "$t" -- -max_total_time="$secs" -print_final_stats=1 \
    >"$logs/$t.log" 2>&1; then
    local runs
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$logs/$t.log" | grep -Eo '[0-9]+$' || echo '?')
    printf -- '-- %-18s %ss, %s executions, no crash\n' "$t" "$secs" "$runs"
  else
    tail -40 "$logs/$t.log"
    echo "fuzz target $t failed (see fuzz/artifacts/$t/)" >&2
    return 1
  fi
}
export -f run_one
export secs logs
echo "$targets" | xargs -P "$lanes" -I{} bash -c 'run_one {}'
rm -rf "$logs"
