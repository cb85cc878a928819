#!/bin/sh
# Run one libFuzzer target for the fuzz-smoke suite: the seed corpus is read
# but never written (new inputs go to a scratch directory that is removed),
# crashes land in the build directory.
# usage: run_fuzz.sh FUZZER SEED_DIR SECONDS
set -eu
fuzzer=$1 seeds=$2 secs=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
exec_dir=$(dirname "$fuzzer")
"$fuzzer" -max_total_time="$secs" -max_len=4096 -artifact_prefix="$exec_dir/" "$scratch" "$seeds"
