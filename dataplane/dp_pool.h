/*
 * dp_pool.h — a fixed set of chunks for one input on one shard. Its size
 * is the input's Mem_Buf_Limit share: when it is empty the shard stops
 * reading that input (TCP backpressure) or drops and counts (UDP).
 *
 * Threads: get/put only on the owning shard. Chunks that went to output
 * workers come back through return rings (see shard.c) and are put here by
 * the shard, never by the worker. nfree is stored with a relaxed store so
 * that any thread may read how many chunks are out (dp_pool_in_use, the
 * metrics); on x86 and arm64 that is a plain store.
 */
#ifndef DP_POOL_H
#define DP_POOL_H

#include "dp_chunk.h"

struct dp_pool {
	struct dp_chunk **free;
	unsigned nfree;        /* written by the owning shard only (relaxed store) */
	unsigned total;        /* constant after init */
	void *mem;
};

/* Bytes one chunk costs (data + index + header), what limits are counted in. */
size_t dp_pool_chunk_footprint(void);

int dp_pool_init(struct dp_pool *p, unsigned nchunks, uint16_t shard, uint16_t input);
void dp_pool_fini(struct dp_pool *p);
/* The pool struct was moved to p (a reload gave its input another index):
 * its chunks, all of them in it, point at p and say `input` again. */
void dp_pool_moved(struct dp_pool *p, uint16_t input);

static inline struct dp_chunk *dp_pool_get(struct dp_pool *p)
{
	if (p->nfree == 0)
		return NULL;
	unsigned n = p->nfree - 1;
	struct dp_chunk *c = p->free[n];
	__atomic_store_n(&p->nfree, n, __ATOMIC_RELAXED);
	dp_chunk_reset(c);
	return c;
}

static inline void dp_pool_put(struct dp_pool *p, struct dp_chunk *c)
{
	p->free[p->nfree] = c;
	__atomic_store_n(&p->nfree, p->nfree + 1, __ATOMIC_RELAXED);
}

/* Any thread: chunks out of the pool now (open, queued, with workers). */
static inline unsigned dp_pool_in_use(const struct dp_pool *p)
{
	unsigned nfree = __atomic_load_n(&p->nfree, __ATOMIC_RELAXED);
	return nfree < p->total ? p->total - nfree : 0;
}

#endif
