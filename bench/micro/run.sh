#!/bin/sh
# run.sh — runs the micro-benchmarks (bench_micro.cc) and prints one line per
# benchmark: ns per item (line, record or ring pointer), MB/s, items/s, and
# for memchr, frame and parse benchmarks the rate as a fraction of the
# memchr line split of the same messages (the speed limit; the target for
# parse/5424 is >= 40%). Ratios compare lines/s, so the octet-counted
# corpus (5424oct) is measured against memchr/5424.
#
# Usage: bench/micro/run.sh [BINARY] [--benchmark_* options...]
#   BINARY defaults to build/bench/micro/bench_micro. With
#   --benchmark_repetitions=N the medians are shown.
set -eu
bin=${1:-build/bench/micro/bench_micro}
[ $# -gt 0 ] && shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$bin" --benchmark_format=json "$@" >"$out"
python3 - "$out" <<'PY'
import json, sys

doc = json.load(open(sys.argv[1]))
ctx = doc["context"]
rows = doc["benchmarks"]
if any(r.get("aggregate_name") == "median" for r in rows):
    rows = [r for r in rows if r.get("aggregate_name") == "median"]
else:
    rows = [r for r in rows if r.get("run_type", "iteration") == "iteration"]

def name(r):
    n = r.get("run_name", r["name"])
    return n[:-len("/real_time")] if n.endswith("/real_time") else n

by = {name(r): r for r in rows}
print("%s, %d CPUs at %.0f MHz, load %s, libbenchmark %s build" % (
    ctx["date"], ctx["num_cpus"], ctx["mhz_per_cpu"],
    " ".join("%.2f" % x for x in ctx.get("load_avg", [])), ctx.get("library_build_type", "?")))
print("%-20s %10s %10s %12s %10s" % ("benchmark", "ns/item", "MB/s", "items/s", "vs memchr"))
for n, r in by.items():
    if r.get("error_occurred"):
        print("%-20s ERROR: %s" % (n, r.get("error_message", "")))
        continue
    ips = r.get("items_per_second", 0.0)
    bps = r.get("bytes_per_second")
    parts = n.split("/")
    ratio = "-"
    if parts[0] in ("memchr", "frame", "parse") and len(parts) > 1:
        corpus = parts[1][:-3] if parts[1].endswith("oct") else parts[1]
        base = by.get("memchr/" + corpus)
        if base and base.get("items_per_second"):
            ratio = "%.1f%%" % (100.0 * ips / base["items_per_second"])
    print("%-20s %10.1f %10s %12s %10s" % (
        n, 1e9 / ips if ips else 0.0,
        "%.0f" % (bps / 1e6) if bps else "-",
        "%.2fM" % (ips / 1e6), ratio))
PY
