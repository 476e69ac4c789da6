#!/usr/bin/env bash
# Runs SAE's whole test suite against real components.
#
# It installs what the tests need when it can (Debian packages as root, Python peers in
# .venv), starts a throwaway PostgreSQL cluster on 127.0.0.1, runs `cargo test --workspace`,
# then the web console's browser tests (playwright-core driving Debian's Chromium), and stops
# the cluster again. With CI=true (or SAE_REQUIRE_PEERS=1) a missing component is a failure,
# never a skip. Arguments go to `cargo test` (and then the browser tests are not run).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { printf '== %s\n' "$*" >&2; }

# ---- Debian packages -------------------------------------------------------------------
need_pkgs=()
command -v oathtool >/dev/null || need_pkgs+=(oathtool)
[ -x /usr/bin/chromium ] || need_pkgs+=(chromium)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_pkgs+=(postgresql)
[ -x /usr/sbin/dovecot ] || need_pkgs+=(dovecot-imapd dovecot-pop3d)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${need_pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    log "missing packages: ${need_pkgs[*]} (install them, or run as root)"
  fi
fi

# ---- throwaway PostgreSQL ---------------------------------------------------------------
pg_bin=/usr/lib/postgresql/15/bin
pgdir=""
cleanup() {
  if [ -n "$pgdir" ] && [ -d "$pgdir/data" ]; then
    runas "$pg_bin/pg_ctl -D $pgdir/data -m immediate stop" >/dev/null 2>&1 || true
    rm -rf "$pgdir"
  fi
}
trap cleanup EXIT
runas() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi
}
if [ -z "${SAE_TEST_PG_URL:-}" ] && [ -x "$pg_bin/initdb" ]; then
  pgdir=$(mktemp -d /tmp/sae-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$pgdir"
  port=$(( 20000 + RANDOM % 20000 ))
  runas "$pg_bin/initdb -D $pgdir/data -U postgres -A trust --no-sync -E UTF8" >/dev/null
  runas "$pg_bin/pg_ctl -D $pgdir/data -o '-c listen_addresses=127.0.0.1 -p $port -k $pgdir -c fsync=off -c max_connections=300' -l $pgdir/log -w start" >/dev/null
  export SAE_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  log "PostgreSQL at $SAE_TEST_PG_URL"
fi

# ---- Python peers in .venv (delivery: spyne SOAP server, http.server REST brokers) ---------
if [ ! -x "$root/.venv/bin/python" ]; then
  log "creating .venv"
  if ! python3 -m venv "$root/.venv" && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    rm -rf "$root/.venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    python3 -m venv "$root/.venv"
  fi
fi
if [ -x "$root/.venv/bin/python" ]; then
  "$root/.venv/bin/python" -m pip install -q -r "$root/scripts/requirements-peers.txt" \
    || log "pip install -r scripts/requirements-peers.txt failed; peer tests will skip (or fail under CI)"
  export SAE_PYTHON="$root/.venv/bin/python"
else
  log "no .venv: peer tests will skip (or fail under CI)"
fi

if [ "${CI:-}" = "true" ]; then export SAE_REQUIRE_PEERS=1; fi

log "cargo test --workspace"
cargo test --workspace "$@"
[ $# -eq 0 ] || exit 0

# ---- the web console in a real browser ----------------------------------------------------
missing=""
[ -x /usr/bin/chromium ] || missing="/usr/bin/chromium"
command -v npm >/dev/null || missing="$missing npm"
if command -v node >/dev/null \
  && ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  missing="$missing node>=20 (found $(node --version))"
fi
if [ -n "$missing" ]; then
  if [ "${SAE_REQUIRE_PEERS:-}" = 1 ]; then
    log "missing for the browser tests: $missing"
    exit 1
  fi
  log "skipping the browser tests: missing $missing"
  exit 0
fi
log "admin console end-to-end (playwright-core + Chromium)"
cargo build -q -p action-provider --bin sae
target_dir=$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
(
  cd "$root/admin-gui/e2e"
  npm ci --no-audit --no-fund >/dev/null
  SAE_BIN="$target_dir/debug/sae" SAE_PYTHON="${SAE_PYTHON:-$root/.venv/bin/python}" \
    CHROMIUM=/usr/bin/chromium npm test
)
