#!/usr/bin/env bash
# Short fuzz smoke run of every target on stable Rust (no sanitizer: `-s none`), built
# unoptimised (`--dev`: quick to compile, debug assertions on; for long runs use
# `cargo fuzz run <target>` without it).
# Usage: fuzz/smoke.sh [seconds-per-target]   (default 8)
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-8}
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --quiet
fi
targets=$(cargo fuzz list)
cargo fuzz build -s none --dev
log=$(mktemp)
for t in $targets; do
  if ! cargo fuzz run -s none --dev "$t" -- -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz target $t failed" >&2
    exit 1
  fi
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')
  printf -- '-- %-16s %ss, %s executions, no crash\n' "$t" "$secs" "$runs"
done
rm -f "$log"
