#!/usr/bin/env bash
# run_all.sh — every end-to-end benchmark scenario, one JSON line each on
# stdout (see README.md). Options are passed to sluice_bench.py, e.g.
#   bench/e2e/run_all.sh --count 5000000 --repeat 3
# Exits non-zero when any scenario reports an error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/sluice_bench.py" "$@" all
