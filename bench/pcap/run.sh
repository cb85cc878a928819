#!/bin/sh
# The DPDK (net_pcap infinite_rx) vs epoll UDP benchmark: see pcap_bench.py.
# Root only. Usage: bench/pcap/run.sh [--seconds 5] [--count 1000000] [--dpdk-only]
# [--rx-only] [--perf FILE] [--wrap CMD]; instructions per event: cg_summary.sh.
exec python3 "$(dirname "$0")/pcap_bench.py" "$@"
