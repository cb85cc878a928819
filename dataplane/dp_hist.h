/*
 * dp_hist.h — a fixed-bucket histogram for the data path's own metrics
 * (Prometheus histograms: sluice_output_latency_seconds and the like).
 *
 * The bucket bounds are fixed at compile time (struct dp_hist_spec, one
 * per unit below) and log-spaced, so a histogram is a small array of
 * counters: observing a value is a walk over at most 16 bounds (no
 * division, no float) and two relaxed stores, by the one thread that owns
 * the histogram. Readers (the scrape) sum the histograms of several
 * threads with relaxed loads, like every other counter here (dp_common.h
 * DP_CNT_*): a reading may be a few observations behind, never torn.
 *
 * Buckets are kept as they are hit (not cumulative); the count is the sum
 * of the buckets, so a summed histogram always has its +Inf bucket equal
 * to its count even while observations land during the scrape. The sum
 * is read separately and may be one observation ahead or behind.
 *
 * Threads: dp_hist_observe on the owning thread only; dp_hist_add_to on
 * any thread.
 */
#ifndef DP_HIST_H
#define DP_HIST_H

#include <stdint.h>
#include "dp_common.h"

/* Finite bounds of a histogram at most; one more bucket holds the rest. */
#define DP_HIST_MAXB 16

/* The bucket bounds of one kind of histogram: a value v goes in the first
 * bucket i with v <= le[i] (Prometheus' "le"), else in bucket nb (+Inf).
 * Values are integers in the unit observed (nanoseconds, records);
 * scale is what one exposed unit is in that unit (1e9 for seconds). */
struct dp_hist_spec {
	unsigned nb;
	uint64_t le[DP_HIST_MAXB];
	double scale;
};

/* Seconds, observed in nanoseconds: 0.5 ms .. 60 s, the 1-2.5-5 ladder. */
static const struct dp_hist_spec dp_hist_seconds = {
	16,
	{ 500000ull, 1000000ull, 2500000ull, 5000000ull, 10000000ull, 25000000ull, 50000000ull,
	  100000000ull, 250000000ull, 500000000ull, 1000000000ull, 2500000000ull, 5000000000ull,
	  10000000000ull, 30000000000ull, 60000000000ull },
	1e9,
};

/* Records (of a burst): 1 .. 65536, powers of 4. */
static const struct dp_hist_spec dp_hist_records = {
	9,
	{ 1, 4, 16, 64, 256, 1024, 4096, 16384, 65536 },
	1,
};

struct dp_hist {
	uint64_t b[DP_HIST_MAXB + 1];  /* per bucket, not cumulative; [nb] is +Inf */
	uint64_t sum;                  /* of the values observed, in their unit */
};

static inline unsigned dp_hist_bucket(const struct dp_hist_spec *s, uint64_t v)
{
	unsigned i = 0;
	while (i < s->nb && v > s->le[i])
		i++;
	return i;
}

/* Owning thread only. */
static inline void dp_hist_observe(struct dp_hist *h, const struct dp_hist_spec *s, uint64_t v)
{
	unsigned i = dp_hist_bucket(s, v);
	DP_CNT_ADD(h->b[i], 1);
	DP_CNT_ADD(h->sum, v);
}

/* Any thread: dst (a reader's own, plain) += src (another thread's). */
static inline void dp_hist_add_to(struct dp_hist *dst, const struct dp_hist *src)
{
	for (unsigned i = 0; i <= DP_HIST_MAXB; i++)
		dst->b[i] += DP_CNT_GET(src->b[i]);
	dst->sum += DP_CNT_GET(src->sum);
}

/* A summed (reader's) histogram: observations in all. */
static inline uint64_t dp_hist_count(const struct dp_hist *h)
{
	uint64_t n = 0;
	for (unsigned i = 0; i <= DP_HIST_MAXB; i++)
		n += h->b[i];
	return n;
}

#endif
