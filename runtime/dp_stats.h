/*
 * dp_stats.h — the counters of a running pipeline, summed across shards
 * and workers when read: as a JSON document (Stats_File), as the summary
 * logged at exit and as Prometheus text (dp_prom.h). Control thread and
 * the HTTP server's thread (dp_http.h); both only read.
 *
 * Every counter is a row of one table (name, help, offset) per kind of
 * instance: the collector, the JSON writer, the exit log line and the
 * Prometheus writer all walk the same rows, so the outputs cannot
 * disagree and a new counter is one line.
 */
#ifndef DP_STATS_H
#define DP_STATS_H

#include <stddef.h>
#include <stdio.h>
#include "dp_hist.h"
#include "dp_pipeline.h"
#include "shard_pkt.h"

struct dp_stats_in {
	uint64_t records, bytes, malformed, oversize, dropped, kernel_dropped, connections, rejected;
	uint64_t filtered, unparsed, stored, memrb_dropped;
	uint64_t tls_handshake_failures;
	uint64_t auth_failed;
	uint64_t limited;
	uint64_t deduplicated;
	/* polling receive backends (shards/shard_rx.h) */
	uint64_t rx_packets, rx_bytes, rx_imissed, rx_nombuf, rx_not_for_us, rx_polls, rx_idle_sleeps;
	uint64_t rx_to_kernel, rx_to_kernel_dropped, rx_from_kernel, rx_from_kernel_dropped;
	uint64_t rx_drop[SHARD_PKT_NVERDICTS];
	/* levels, read from the shards' pools when collected */
	uint64_t pool_chunks_in_use, pool_chunks, pool_in_use_bytes;
};

struct dp_stats_out {
	uint64_t records, bytes, chunks, retries, failed;
	/* asynchronous outputs (kafka): handed to the client library, and in its queue now */
	uint64_t produced, produced_bytes, queued;
	/* Fluent Bit's figures (its errors, retries_failed, retried_records) */
	uint64_t rejected_bursts, retries_failed, retried_records;
	/* level: chunks in the shard -> worker rings of its workers */
	uint64_t ring_depth;
};

/* An output's distributions (out_worker.h), summed over its workers. */
struct dp_stats_out_hist {
	struct dp_hist latency, batch, lag;
};

struct dp_stats_flt {
	uint64_t drop_records, add_records;
};

/* The filesystem store's counters, summed over shards. */
struct dp_stats_store {
	uint64_t written_chunks, written_records, written_bytes, write_errors, unstored_records;
	uint64_t spilled_chunks, read_chunks, read_records, replayed_records, skipped_chunks;
	uint64_t corrupt_chunks, read_errors, segments_deleted, torn_bytes, torn_records;
	uint64_t corrupt_bytes, quarantined, limit_dropped_records, limit_dropped_segments;
	uint64_t limit_pauses, backlog_bytes;
};

/* One [STREAM_TASK]'s counters (sp.h's struct sp_stats, by Stats_File's names). */
struct dp_stats_sp {
	uint64_t records, emitted, emit_failed, dropped, late, no_time;
};

/* Row flags. */
#define DP_SF_GAUGE 1u  /* a level, not a running total (no _total suffix) */
#define DP_SF_LOG   2u  /* always on the exit log line (others: when not zero) */
#define DP_SF_RX    4u  /* polling receive backends only: Stats_File's "rx" object */
#define DP_SF_NOLOG 8u  /* never on the exit log line (a level that means nothing then) */

/*
 * One counter. name is the Stats_File key and the suffix of the
 * sluice_<kind>_<name>[_total] metric; off its place in the summed
 * struct above. fb names the Fluent Bit counter it feeds (NULL: none):
 * /api/v1/metrics key and fluentbit_<kind>_<fb>_total.
 */
struct dp_stats_field {
	const char *name;
	size_t off;
	unsigned flags;
	const char *fb;
	const char *help;
};

extern const struct dp_stats_field dp_stats_in_fields[];
extern const struct dp_stats_field dp_stats_out_fields[];
extern const struct dp_stats_field dp_stats_flt_fields[];
extern const struct dp_stats_field dp_stats_store_fields[];
extern const struct dp_stats_field dp_stats_sp_fields[];
extern const unsigned dp_stats_in_nfields, dp_stats_out_nfields, dp_stats_flt_nfields;
extern const unsigned dp_stats_store_nfields, dp_stats_sp_nfields;

static inline uint64_t dp_stats_get(const void *sum, const struct dp_stats_field *f)
{
	return *(const uint64_t *)((const char *)sum + f->off);
}

/* The Stats_File / metrics name of an input, output or filter instance. */
const char *dp_stats_in_name(const struct dp_input *in);
/* s as a JSON string, quotes and escapes included (names and aliases). */
void dp_stats_json_str(FILE *f, const char *s);
const char *dp_stats_out_name(const struct dp_output *o);
const char *dp_stats_flt_name(const struct dp_filter *fl);

void dp_stats_collect(const struct dp_pipeline *pl, struct dp_stats_in *in, struct dp_stats_out *out);
/* Filters: flt[pl->nflt]. Store: false without storage.path. */
void dp_stats_collect_flt(const struct dp_pipeline *pl, struct dp_stats_flt *flt);
bool dp_stats_collect_store(const struct dp_pipeline *pl, struct dp_stats_store *st);
/* One stream task; false past the last. */
bool dp_stats_collect_sp(const struct dp_pipeline *pl, unsigned task, struct dp_stats_sp *st,
			 const char **name);
/* One shard's part of input i / one worker's counters (per-thread series). */
void dp_stats_collect_shard_in(const struct dp_pipeline *pl, unsigned shard, unsigned i, struct dp_stats_in *in);
void dp_stats_collect_worker(const struct dp_pipeline *pl, unsigned w, struct dp_stats_out *out);
/* Distributions: hist[pl->nout], each the sum of the output's workers. */
void dp_stats_collect_hist(const struct dp_pipeline *pl, struct dp_stats_out_hist *hist);

void dp_stats_print_json(const struct dp_pipeline *pl, FILE *f);
/* Write Stats_File atomically (temp file + rename). */
int dp_stats_write_file(const struct dp_pipeline *pl, const char *path);
void dp_stats_log(const struct dp_pipeline *pl);

#endif
