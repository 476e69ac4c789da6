#!/usr/bin/env bash
# Runs the tests with the Python peers the integration tests start (see
# scripts/requirements-peers.txt). Arguments go to `cargo test` (default: --workspace).
# Set SAE_REQUIRE_PEERS=1 (or CI=true) to make a missing peer a failure instead of a skip.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Python venv for the peers.
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install -q -r scripts/requirements-peers.txt
export SAE_PYTHON=$root/.venv/bin/python

if [ $# -eq 0 ]; then set -- --workspace; fi
exec cargo test "$@"
