/*
 * out_worker.h — an output worker: one thread that drains its rings (one
 * per shard) in bursts, hands the chunks to its output plugin's flush, and
 * returns each chunk to its shard once every output it was routed to has
 * confirmed it. Retries with exponential backoff up to Retry_Limit.
 *
 * Threads: the worker's own; its bell is rung by shards and `stop` set by
 * the control thread; counters are read by the control thread.
 */
#ifndef OUT_WORKER_H
#define OUT_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include "dp_pipeline.h"
#include "dp_chan.h"
#include "dp_hist.h"
#include "dp_ring.h"
#include "dp_store.h"

struct out_worker_counters {
	uint64_t records;   /* records confirmed by the destination */
	uint64_t bytes;     /* msgpack bytes of those records */
	uint64_t chunks;
	uint64_t retries;   /* bursts retried */
	uint64_t failed;    /* records given up after Retry_Limit */
	/* Fluent Bit's figures (dp_stats.c maps them to its names): */
	uint64_t rejected_bursts;  /* bursts refused for good, in part or whole (its errors) */
	uint64_t retries_failed;   /* bursts given up after their retries (its retries_failed) */
	uint64_t retried_records;  /* records of the bursts retried (its retried_records) */
} dp_cache_aligned;

/* Distributions (dp_hist.h), written by the worker, summed per output at
 * scrape time (dp_stats_collect_hist). Observed once per burst or chunk,
 * never per record. */
struct out_worker_hist {
	struct dp_hist latency;   /* ns, per burst: flush called -> confirmed (async: settled) */
	struct dp_hist batch;     /* records per burst given to flush */
	struct dp_hist lag;       /* ns, per chunk: its first record received -> confirmed */
} dp_cache_aligned;

/* Asynchronous outputs: when each burst was handed over, oldest first, so
 * that poll's settled chunks (in the order flush took them) find their
 * hand-over time. The worker's alone; OUT_SENT_CAP bursts, then the newest
 * entry takes the chunks of later bursts too (their latency is then
 * counted from that earlier hand-over: over, never under, the truth). */
#define OUT_SENT_CAP 1024
struct out_worker_sent {
	uint64_t t_ns;
	uint32_t nchunks;         /* chunks of it not yet settled */
};

struct out_worker {
	unsigned id;              /* index in the pipeline */
	unsigned nth;             /* index within its output */
	struct dp_output *o;
	struct dp_pipeline *pl;
	void *ctx;
	pthread_t thread;
	struct dp_chan **chan;        /* [shard], set by the runtime (dp_chan.h) */
	struct out_worker_counters cnt;
	struct dp_out_counters acnt;  /* asynchronous outputs (dp_output_ops.poll) */
	struct out_worker_hist hist;
	struct out_worker_sent *sent; /* [OUT_SENT_CAP], asynchronous outputs only */
	unsigned sent_head, sent_tail;
	unsigned inflight;        /* chunks an asynchronous output holds */
	uint64_t taken, released; /* chunks taken off the rings, and let go: the
	                             difference is what it holds (a reload's message) */
	bool busy;                /* its queue is full: do not drain the rings */
	struct dp_err err;
	struct dp_store_cur cur;  /* filesystem store: what this worker confirmed */
	bool has_cur;
	struct dp_bell bell;      /* chunks arrived, or stop */
	_Atomic int stop;
	_Atomic int started;      /* 1 running, -1 failed to start */
};

struct out_worker *out_worker_create(struct dp_pipeline *pl, struct dp_output *o, unsigned id,
				     unsigned nth, struct dp_err *err);
int out_worker_start(struct out_worker *w, struct dp_err *err);
void out_worker_request_stop(struct out_worker *w);
/* Wait up to deadline_ns (CLOCK_MONOTONIC) for the worker to finish;
 * 0 when it did, -ETIMEDOUT otherwise. */
int out_worker_join(struct out_worker *w, uint64_t deadline_ns);
void out_worker_destroy(struct out_worker *w);

#endif
