#!/usr/bin/env bash
# PSKC import benchmark: SAE's streaming reader (parse, MAC check, decrypt every key) and
# python-pskc (parse, decrypt with MAC check) on the same 100,000-key AES-128-CBC + HMAC-SHA1
# file, written once by python-pskc into target/pskc-bench/. Each command runs RUNS times under
# /usr/bin/time -v; the wall time and peak RSS of every run are printed.
# Then the whole import through `sae tokens import` (parse, MAC check, decrypt, seal, insert in
# batches, commit; the same engine as the API's jobs) into a fresh SQLite data directory, and
# into a fresh PostgreSQL database when SAE_BENCH_PG_URL (a server URL ending in /postgres) is set.
# Usage: benches/pskc/run.sh [keys] [runs]     (defaults 100000, 3)
#        SAE_BENCH_PG_URL=postgres://user@host/postgres adds the PostgreSQL import
set -euo pipefail
cd "$(dirname "$0")/../.."
keys=${1:-100000}
runs=${2:-3}
psk=000102030405060708090a0b0c0d0e0f
python=${SAE_PYTHON:-.venv/bin/python}
dir=target/pskc-bench
file=$dir/pskc-$keys.xml
mkdir -p "$dir"
if [ ! -s "$file" ]; then
  echo "== writing $file with python-pskc ($keys keys)" >&2
  "$python" benches/pskc/make_file.py "$keys" "$psk" "$file"
fi
ls -l "$file" >&2
if [ -z "${SAE_BENCH_NO_BUILD:-}" ]; then  # set it to measure the binaries already built
  cargo build --release -q -p sae-benches --bin pskc_import
  cargo build --release -q -p action-provider --bin sae
fi
printf '%s\n' "$psk" >"$dir/psk.hex"
# One fresh store per run: a SQLite data directory, or a PostgreSQL database.
sae_sqlite() {
  rm -rf "$dir/sqlite-data"
  target/release/sae tokens import "$file" --psk-file "$dir/psk.hex" --data-dir "$dir/sqlite-data"
}
sae_pg() {
  local db="sae_bench_$$_$RANDOM"
  psql -q "$SAE_BENCH_PG_URL" -c "CREATE DATABASE $db" >/dev/null
  rm -rf "$dir/pg-data"
  local rc=0
  target/release/sae tokens import "$file" --psk-file "$dir/psk.hex" --data-dir "$dir/pg-data" \
    --database-url "${SAE_BENCH_PG_URL%/*}/$db" || rc=$?
  psql -q "$SAE_BENCH_PG_URL" -c "DROP DATABASE $db" >/dev/null
  return $rc
}
measure() {
  local name=$1; shift
  for _ in $(seq "$runs"); do
    /usr/bin/time -v "$@" 2>"$dir/time.txt" >"$dir/out.txt"
    local wall rss user sys
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/time.txt")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/time.txt")
    user=$(sed -n 's/.*User time (seconds): //p' "$dir/time.txt")
    sys=$(sed -n 's/.*System time (seconds): //p' "$dir/time.txt")
    printf '%-12s wall %-8s user %7ss sys %6ss peak RSS %7d KiB   %s\n' "$name" "$wall" "$user" "$sys" "$rss" \
      "$(tr '\n' ' ' <"$dir/out.txt" | cut -c1-160)"
  done
}
measure sae target/release/pskc_import "$file" "$psk"
export -f sae_sqlite sae_pg
export file dir SAE_BENCH_PG_URL
measure sae-sqlite bash -c sae_sqlite
if [ -n "${SAE_BENCH_PG_URL:-}" ]; then measure sae-postgres bash -c sae_pg; fi
measure python-pskc "$python" benches/pskc/parse_python.py "$file" "$psk"
