/*
 * dp_pool.h — a fixed set of chunks for one input on one shard. Its size
 * is the input's Mem_Buf_Limit share: when it is empty the shard stops
 * reading that input (TCP backpressure) or drops and counts (UDP).
 *
 * Threads: get/put only on the owning shard. Chunks that went to output
 * workers come back through return rings (see shard.c) and are put here by
 * the shard, never by the worker.
 */
#ifndef DP_POOL_H
#define DP_POOL_H

#include "dp_chunk.h"

struct dp_pool {
	struct dp_chunk **free;
	unsigned nfree;
	unsigned total;
	void *mem;
};

/* Bytes one chunk costs (data + index + header), what limits are counted in. */
size_t dp_pool_chunk_footprint(void);

int dp_pool_init(struct dp_pool *p, unsigned nchunks, uint16_t shard, uint16_t input);
void dp_pool_fini(struct dp_pool *p);

static inline struct dp_chunk *dp_pool_get(struct dp_pool *p)
{
	if (p->nfree == 0)
		return NULL;
	struct dp_chunk *c = p->free[--p->nfree];
	dp_chunk_reset(c);
	return c;
}

static inline void dp_pool_put(struct dp_pool *p, struct dp_chunk *c)
{
	p->free[p->nfree++] = c;
}

#endif
