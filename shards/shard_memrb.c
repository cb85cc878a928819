/*
 * shard_memrb.c — [INPUT] storage.type memrb: Fluent Bit's memory ring
 * buffer. When the input's memory (Mem_Buf_Limit) is used up, its oldest
 * chunks that no output has taken yet are dropped, and counted, to make
 * room for new ones, instead of pausing the input.
 *
 * A chunk handed to a worker's ring cannot be taken back (the worker owns
 * that end), so a memrb input keeps its full chunks in a queue of its own
 * and hands them on only while fewer than half of its chunks are with the
 * workers. The queue is what can be dropped: when the pool is empty, the
 * oldest queued chunk is reset and reused. Order is kept: chunks leave the
 * queue oldest first, and what is dropped is only ever its head.
 *
 * Threads: the owning shard.
 */
#include <stdlib.h>
#include "shard.h"

struct shard_memrb {
	struct dp_chunk **q;
	unsigned head, n, cap;
};

int shard_memrb_init(struct shard_in *si)
{
	struct shard_memrb *rb = calloc(1, sizeof(*rb));
	if (!rb)
		return -1;
	rb->cap = si->pool.total;
	rb->q = calloc(rb->cap, sizeof(*rb->q));
	if (!rb->q) {
		free(rb);
		return -1;
	}
	si->rb = rb;
	return 0;
}

void shard_memrb_fini(struct shard_in *si)
{
	if (!si->rb)
		return;
	free(si->rb->q);
	free(si->rb);
	si->rb = NULL;
}

/* Chunks of this input with the workers now. */
static unsigned with_workers(const struct shard_in *si)
{
	return si->pool.total - si->pool.nfree - si->rb->n - (si->open ? 1 : 0);
}

bool shard_memrb_pump(struct shard *sh, bool all)
{
	bool sent = false;
	for (unsigned i = 0; i < sh->nin; i++) {
		struct shard_in *si = &sh->ins[i];
		struct shard_memrb *rb = si->rb;
		while (rb && rb->n && (all || with_workers(si) * 2 < si->pool.total)) {
			struct dp_chunk *c = rb->q[rb->head];
			rb->head = (rb->head + 1) % rb->cap;
			rb->n--;
			shard_chunk_send(sh, c, c->route, &si->pool);
			sent = true;
		}
	}
	return sent;
}

void shard_memrb_push(struct shard *sh, struct shard_in *si, struct dp_chunk *c, uint64_t route)
{
	struct shard_memrb *rb = si->rb;
	c->route = route;
	rb->q[(rb->head + rb->n++) % rb->cap] = c;
	shard_memrb_pump(sh, false);
}

struct dp_chunk *shard_memrb_steal(struct shard_in *si)
{
	struct shard_memrb *rb = si->rb;
	if (!rb || !rb->n)
		return NULL;
	struct dp_chunk *c = rb->q[rb->head];
	rb->head = (rb->head + 1) % rb->cap;
	rb->n--;
	DP_CNT_ADD(si->cnt.dropped, c->nrecs);
	DP_CNT_ADD(si->cnt.memrb_dropped, c->nrecs);
	/* An input that acknowledges its source moves on past them, as
	 * Fluent Bit's memrb does: they are given up, counted. */
	if (si->in->ops->chunk_released)
		si->in->ops->chunk_released(si->in, si->ctx, c);
	dp_chunk_reset(c);
	return c;
}

bool shard_memrb_waiting(const struct shard *sh)
{
	for (unsigned i = 0; i < sh->nin; i++)
		if (sh->ins[i].rb && sh->ins[i].rb->n)
			return true;
	return false;
}
