#!/bin/sh
# run.sh — librdkafka alone against the mock cluster of the kafka scenarios
# (3 brokers, topic bench with 6 partitions): the floor under sluice's
# kafka figures. See rdk_floor.c and docs/BENCHMARKS.md.
#   bench/kafka/run.sh [COUNT] [--no-copy] [property=value ...]   (default 3000000)
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
mock=$repo/build/tests/kafka/mock_cluster
floor=$repo/build/bench/rdk_floor
[ -x "$mock" ] && [ -x "$floor" ] || { echo "run.sh: build first (ninja -C build)" >&2; exit 1; }
count=${1:-3000000}
[ $# -gt 0 ] && shift
fifo=$(mktemp -u)
mkfifo "$fifo"
# the mock cluster stays up while its stdin is open: hold it on fd 3
"$mock" bench:6 < "$fifo" > "$fifo.out" 2>/dev/null &
mpid=$!
exec 3> "$fifo"
trap 'exec 3>&-; kill $mpid 2>/dev/null; wait $mpid 2>/dev/null; rm -f "$fifo" "$fifo.out"' EXIT
i=0
while [ ! -s "$fifo.out" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
bootstrap=$(head -1 "$fifo.out")
[ -n "$bootstrap" ] || { echo "run.sh: the mock cluster did not start" >&2; exit 1; }
"$floor" "$bootstrap" bench "$count" "$@"
