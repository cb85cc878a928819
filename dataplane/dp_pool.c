/*
 * dp_pool.c — allocation of a shard's chunk pool, once, at start-up.
 * Pages are touched only when a chunk is first used, so a large limit costs
 * address space, not resident memory, until traffic needs it.
 *
 * Threads: made and freed on the control thread; its chunks are taken and
 * given back on the owning shard only (dp_pool.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "dp_pool.h"

struct slot {
	struct dp_chunk c;
	struct dp_rec recs[DP_CHUNK_RECS];
	struct dp_field fields[DP_CHUNK_FIELDS];
	uint8_t data[DP_CHUNK_DATA];
};

size_t dp_pool_chunk_footprint(void)
{
	return sizeof(struct slot);
}

int dp_pool_init(struct dp_pool *p, unsigned nchunks, uint16_t shard, uint16_t input)
{
	p->total = nchunks;
	p->nfree = 0;
	p->free = calloc(nchunks, sizeof(*p->free));
	size_t len = sizeof(struct slot) * nchunks;
	p->mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!p->free || p->mem == MAP_FAILED) {
		free(p->free);
		p->free = NULL;
		p->mem = NULL;
		return -ENOMEM;
	}
	struct slot *s = p->mem;
	for (unsigned i = 0; i < nchunks; i++) {
		dp_chunk_init(&s[i].c, s[i].recs, s[i].fields, s[i].data);
		s[i].c.shard = shard;
		s[i].c.input = input;
		s[i].c.pool = p;
		p->free[p->nfree++] = &s[i].c;
	}
	return 0;
}

void dp_pool_moved(struct dp_pool *p, uint16_t input)
{
	struct slot *s = p->mem;
	for (unsigned i = 0; s && i < p->total; i++) {
		s[i].c.input = input;
		s[i].c.pool = p;
	}
}

void dp_pool_fini(struct dp_pool *p)
{
	if (p->mem)
		munmap(p->mem, sizeof(struct slot) * p->total);
	free(p->free);
	p->mem = NULL;
	p->free = NULL;
}
