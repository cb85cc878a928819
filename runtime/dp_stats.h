/*
 * dp_stats.h — the counters of a running pipeline, summed across shards
 * and workers when read: as a JSON document (Stats_File) and as the
 * summary logged at exit. Control thread.
 */
#ifndef DP_STATS_H
#define DP_STATS_H

#include <stdio.h>
#include "dp_pipeline.h"
#include "shard_pkt.h"

struct dp_stats_in {
	uint64_t records, bytes, malformed, oversize, dropped, kernel_dropped, connections, rejected;
	uint64_t filtered, unparsed, stored, memrb_dropped;
	uint64_t tls_handshake_failures;
	/* polling receive backends (shards/shard_rx.h) */
	uint64_t rx_packets, rx_bytes, rx_imissed, rx_nombuf, rx_not_for_us, rx_polls, rx_idle_sleeps;
	uint64_t rx_drop[SHARD_PKT_NVERDICTS];
	uint64_t rx_exc[4]; /* to_kernel, to_kernel_dropped, from_kernel, from_kernel_dropped */
};

struct dp_stats_out {
	uint64_t records, bytes, chunks, retries, failed;
	/* asynchronous outputs (kafka): handed to the client library, and in its queue now */
	uint64_t produced, produced_bytes, queued;
};

void dp_stats_collect(const struct dp_pipeline *pl, struct dp_stats_in *in, struct dp_stats_out *out);
void dp_stats_print_json(const struct dp_pipeline *pl, FILE *f);
/* Write Stats_File atomically (temp file + rename). */
int dp_stats_write_file(const struct dp_pipeline *pl, const char *path);
void dp_stats_log(const struct dp_pipeline *pl);

#endif
