#!/bin/sh
# cg_summary.sh — instructions per event of the DPDK receive path, from a
# callgrind profile of bench/pcap (stable where wall-clock figures on a
# shared VM are not):
#   bench/pcap/run.sh --dpdk-only --seconds 10 \
#       --wrap "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out"
#   bench/pcap/cg_summary.sh /tmp/cg.out
# Prints the inclusive Ir of each stage divided by the calls of the syslog
# parser (one per event). The net_pcap PMD shows as its .so (no symbols).
f=${1:?usage: cg_summary.sh callgrind.out}
t=$(mktemp)
trap 'rm -f "$t"' EXIT
callgrind_annotate --inclusive=yes --tree=caller "$f" 2>/dev/null > "$t"
ev=$(grep -E "< .*in_syslog.c:parse \(" "$t" | head -1 | sed -E 's/.*\(([0-9,]+)x\).*/\1/' | tr -d ,)
[ -n "$ev" ] || { echo "no calls of the syslog parser in $f" >&2; exit 1; }
echo "events $ev"
for fn in shard_rx_dpdk.c:dpdk_poll librte_net_pcap.so rte_pktmbuf_free_bulk \
	shard_rx.c:shard_rx_frame_acc shard.c:shard_emit_frame psr_syslog.c:psr_syslog5424_parse \
	psr_time.c:psr_time_rfc3339; do
	ir=$(grep -E "^ *[0-9,]+ .*\*  .*$fn" "$t" | head -1 | awk '{print $1}' | tr -d ,)
	[ -n "$ir" ] && awk -v n="$fn" -v ir="$ir" -v ev="$ev" 'BEGIN { printf "%-40s %8.1f Ir/event\n", n, ir / ev }'
done
