/*
 * dp_chan.c — channels and doorbells (dp_chan.h).
 *
 * Threads: as dp_chan.h says: each ring by its two ends, a bell rung by any
 * thread; creation and destruction on the control thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "dp_chan.h"

int dp_bell_init(struct dp_bell *b)
{
	atomic_store(&b->sleeping, 0);
	b->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return b->fd < 0 ? -errno : 0;
}

void dp_bell_fini(struct dp_bell *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

void dp_bell_clear(struct dp_bell *b)
{
	uint64_t v;
	ssize_t r = read(b->fd, &v, sizeof(v));
	(void)r;
}

void dp_bell_ring_always(struct dp_bell *b)
{
	uint64_t one = 1;
	ssize_t r = write(b->fd, &one, sizeof(one));
	(void)r;   /* EAGAIN: the counter is full, the owner will wake anyway */
}

void dp_bell_ring(struct dp_bell *b)
{
	if (atomic_exchange_explicit(&b->sleeping, 0, memory_order_relaxed))
		dp_bell_ring_always(b);
}

struct dp_chan *dp_chan_create(unsigned cap, struct dp_bell *shard, struct dp_bell *worker)
{
	struct dp_chan *ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	ch->out = dp_ring_create(cap);
	ch->back = dp_ring_create(cap);
	ch->shard = shard;
	ch->worker = worker;
	if (!ch->out || !ch->back) {
		dp_chan_destroy(ch);
		return NULL;
	}
	return ch;
}

void dp_chan_destroy(struct dp_chan *ch)
{
	if (!ch)
		return;
	dp_ring_destroy(ch->out);
	dp_ring_destroy(ch->back);
	free(ch);
}
