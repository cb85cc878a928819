/*
 * dp_chan.h — the channel between a shard and an output worker, and the
 * doorbell each of them sleeps on.
 *
 * A channel is two single-producer rings: `out` carries chunks from the
 * shard to the worker, `back` carries them home once delivered. Each end
 * owns a doorbell (struct dp_bell): an eventfd it blocks on and a
 * `sleeping` flag. The channel points at both bells, so neither thread
 * knows the other's struct; the runtime (dp_pipeline.c) makes the channels
 * and hands each end its list.
 *
 * The wake-up handshake, the one place it is written:
 *
 *   sleeper:  dp_bell_sleep_begin (sleeping = 1; seq_cst fence)
 *             look at its rings once more; block on the eventfd only if
 *             they are empty; dp_bell_sleep_end (sleeping = 0)
 *   producer: enqueue; dp_bell_asleep (seq_cst fence; read sleeping)
 *             and, if set, dp_bell_ring
 *
 * With a seq_cst fence on both sides (the store-buffer pattern), either the
 * sleeper's second look sees the chunk or the producer sees the flag: no
 * wake-up is lost. dp_bell_ring clears the flag with an exchange, so of
 * several producers that find it set only one writes the eventfd: a write
 * and the wake-up behind it cost microseconds on a VM, which is why shards
 * also batch their wake-ups of workers (shard.c, wake_worker).
 *
 * A closed channel (dp_chan_close, by the runtime once the shard thread has
 * ended) tells the worker that nothing more will come on `out`.
 *
 * Threads: `out` is written by the shard and read by the worker, `back`
 * the other way round; bells are rung by any thread; creation and
 * destruction on the control thread while neither end runs.
 */
#ifndef DP_CHAN_H
#define DP_CHAN_H

#include <stdatomic.h>
#include <stdbool.h>
#include "dp_common.h"
#include "dp_ring.h"

struct dp_bell {
	dp_cache_aligned _Atomic int sleeping;
	int fd;                       /* eventfd, non-blocking */
};

/* 0, or -errno when no eventfd could be made. */
int dp_bell_init(struct dp_bell *b);
void dp_bell_fini(struct dp_bell *b);
/* The bell's owner: about to sleep, and awake again. */
static inline void dp_bell_sleep_begin(struct dp_bell *b)
{
	atomic_store(&b->sleeping, 1);
	atomic_thread_fence(memory_order_seq_cst);
}

static inline void dp_bell_sleep_end(struct dp_bell *b)
{
	atomic_store_explicit(&b->sleeping, 0, memory_order_relaxed);
}

/* The owner, after a wake-up: empty the eventfd. */
void dp_bell_clear(struct dp_bell *b);

/* A producer, after it enqueued: is the other end asleep (or going to)? */
static inline bool dp_bell_asleep(struct dp_bell *b)
{
	atomic_thread_fence(memory_order_seq_cst);
	return atomic_load_explicit(&b->sleeping, memory_order_relaxed);
}

/* Wake the owner if it still sleeps (one eventfd write among all ringers). */
void dp_bell_ring(struct dp_bell *b);
/* Wake the owner whatever its flag says (a stop request). */
void dp_bell_ring_always(struct dp_bell *b);

struct dp_chan {
	struct dp_ring *out;          /* shard -> worker: chunks to deliver */
	struct dp_ring *back;         /* worker -> shard: chunks done with */
	struct dp_bell *shard;        /* the shard's bell */
	struct dp_bell *worker;       /* the worker's bell */
	_Atomic int closed;           /* the shard will put nothing more on out */
};

/* Rings of `cap` chunks each (all a shard's chunks fit: an enqueue never
 * fails). NULL on ENOMEM. */
struct dp_chan *dp_chan_create(unsigned cap, struct dp_bell *shard, struct dp_bell *worker);
void dp_chan_destroy(struct dp_chan *ch);

static inline void dp_chan_close(struct dp_chan *ch)
{
	atomic_store(&ch->closed, 1);
}

static inline bool dp_chan_closed(const struct dp_chan *ch)
{
	return atomic_load(&ch->closed);
}

#endif
