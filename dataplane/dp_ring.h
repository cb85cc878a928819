/*
 * dp_ring.h — a lock-free single-producer single-consumer ring of pointers.
 *
 * One thread enqueues, one other thread dequeues; nothing else touches it.
 * Head and tail sit on their own cache lines, and each side keeps a cached
 * copy of the other side's index so that a burst costs one shared-line read
 * at most (the DPDK rte_ring idea, reduced to the SPSC case).
 */
#ifndef DP_RING_H
#define DP_RING_H

#include <stdatomic.h>
#include <stdint.h>
#include "dp_common.h"

struct dp_ring {
	/* producer side */
	dp_cache_aligned _Atomic uint32_t head; /* next slot to write */
	uint32_t tail_cache;                     /* producer's view of tail */
	/* consumer side */
	dp_cache_aligned _Atomic uint32_t tail; /* next slot to read */
	uint32_t head_cache;                     /* consumer's view of head */
	/* constant after creation */
	dp_cache_aligned uint32_t mask;
	uint32_t size;
	dp_cache_aligned void *slots[];
};

/* size is rounded up to a power of two; NULL when size is 0 or over 2^30,
 * or on ENOMEM. */
struct dp_ring *dp_ring_create(uint32_t size);
void dp_ring_destroy(struct dp_ring *r);

/* Producer only. Enqueues up to n pointers; returns how many. */
static inline unsigned dp_ring_enqueue_burst(struct dp_ring *r, void *const *objs, unsigned n)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t free_slots = r->size - (head - r->tail_cache);
	if (free_slots < n) {
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		free_slots = r->size - (head - r->tail_cache);
		if (free_slots < n)
			n = free_slots;
	}
	if (n == 0)
		return 0;   /* an idle poll must not dirty the shared line */
	for (unsigned i = 0; i < n; i++)
		r->slots[(head + i) & r->mask] = objs[i];
	atomic_store_explicit(&r->head, head + n, memory_order_release);
	return n;
}

/* Consumer only. Dequeues up to n pointers; returns how many. */
static inline unsigned dp_ring_dequeue_burst(struct dp_ring *r, void **objs, unsigned n)
{
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t avail = r->head_cache - tail;
	if (avail < n) {
		r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
		avail = r->head_cache - tail;
		if (avail < n)
			n = avail;
	}
	if (n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		objs[i] = r->slots[(tail + i) & r->mask];
	atomic_store_explicit(&r->tail, tail + n, memory_order_release);
	return n;
}

/* Any thread; approximate while the sides run. Tail is read first so a
 * third thread never sees head behind tail. */
static inline uint32_t dp_ring_count(struct dp_ring *r)
{
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint32_t n = atomic_load_explicit(&r->head, memory_order_acquire) - tail;
	return n > r->size ? r->size : n;
}

#endif
