/*
 * shard_park.c — a shard's side of a reload (runtime/dp_reload.c).
 *
 * Parking: the control thread sets sh->park and rings the shard's bell.
 * At the top of its loop the shard stops reading (its sockets stay open
 * and registered; the kernel holds what arrives, TCP's window pushes back
 * on the senders), hands on every open chunk and whatever its filters and
 * SQL windows hold (their final tick, as at shutdown), and waits on its
 * bell, still taking the chunks the workers return and pumping the store,
 * until every chunk is home: then parked = 1. Nothing is in flight from
 * this shard any more, so the old pipeline's workers can stop without
 * losing a record.
 *
 * The control thread may then ask a parked shard to retire inputs (park =
 * RETIRE with sh->retire set: shard_net_retire reads their connections
 * to the end of what arrived and closes their listeners; the shard hands
 * that on and parks again), and then either resumes the shard (park =
 * NONE: nothing changed) or asks for a rebind (park = REBIND with
 * sh->rebind filled): the shard, on its own thread, lets go of its filter
 * contexts, its SQL part and the inputs the new pipeline does not keep
 * (their connections closed), moves the kept ones to their new index
 * (move_inputs: the state moves whole, the chunks' pool and input and the
 * connections' input follow; epoll tags name the input object, not the
 * index), opens the new ones, takes the new pipeline and its channels,
 * and goes on. Kept inputs keep their listeners, connections (with their
 * unread bytes and TLS sessions), contexts and counters.
 *
 * Threads: shard_park is called by the control thread; shard_park_run
 * runs on the shard. The handshake is park (control -> shard) and parked
 * (shard -> control), both with release/acquire order.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include "dp_log.h"
#include "dp_time.h"
#include "shard.h"
#include "shard_conn.h"
#include "shard_store.h"

void shard_park(struct shard *sh, enum shard_park how)
{
	atomic_store_explicit(&sh->park, how, memory_order_release);
	dp_bell_ring_always(&sh->bell);
}

/* Every chunk of every input is in its pool (an open chunk with nothing
 * in it counts as home), none waits in a memrb queue or the store. */
static bool all_home(const struct shard *sh)
{
	for (unsigned i = 0; i < sh->nin; i++) {
		const struct shard_in *si = &sh->ins[i];
		unsigned open = si->open ? 1 : 0;
		if (si->pool.nfree + open != si->pool.total)
			return false;
	}
	return !shard_memrb_waiting(sh) && shard_store_idle(sh);
}

/* Hand on what is held: open chunks, filters' and SQL's state. */
static void hand_on(struct shard *sh)
{
	shard_clocks(sh);
	shard_filters_tick(sh, true);
	shard_flush_due(sh, true);
	shard_memrb_pump(sh, true);
	shard_wake_flush(sh);
}

/* The kept inputs to their new index: the state moves whole (pool,
 * counters, context, socket); what points into it follows. */
static void move_inputs(struct shard *sh, const struct shard_rebind *rb, const bool *kept,
			struct shard_in *was)
{
	int to[DP_MAX_INPUTS];
	unsigned old_nin = sh->nin;
	memcpy(was, sh->ins, sizeof(*was) * old_nin);
	for (unsigned i = 0; i < rb->pl->nin; i++)
		if (rb->from[i] >= 0)
			to[rb->from[i]] = (int)i;
	for (struct shard_conn *c = sh->conns; c; c = c->next) {
		unsigned j = (unsigned)(c->si - sh->ins);
		c->si = &sh->ins[to[j]];   /* the going inputs' are closed */
	}
	memset(sh->ins, 0, sizeof(*sh->ins) * DP_MAX(old_nin, rb->pl->nin));
	for (unsigned j = 0; j < old_nin; j++) {
		if (!kept[j])
			continue;
		struct shard_in *si = &sh->ins[to[j]];
		*si = was[j];
		dp_pool_moved(&si->pool, (uint16_t)to[j]);
	}
}

static int rebind(struct shard *sh, const struct shard_rebind *rb)
{
	struct dp_pipeline *pl = rb->pl;
	bool kept[DP_MAX_INPUTS] = { false };
	for (unsigned i = 0; i < pl->nin; i++)
		if (rb->from[i] >= 0)
			kept[rb->from[i]] = true;
	struct shard_in *was;
	if (posix_memalign((void **)&was, DP_CACHE_LINE, sizeof(*was) * DP_MAX_INPUTS))
		return -ENOMEM;
	/* An open chunk still here is empty (hand_on pushed the others), but
	 * it carries the old routes: let it go, the next record opens one
	 * with the new. */
	for (unsigned i = 0; i < sh->nin; i++)
		if (kept[i] && sh->ins[i].open)
			shard_chunk_push(sh, &sh->ins[i]);
	/* The old pipeline's filters, SQL part, and inputs it alone had. */
	shard_filters_fini(sh);
	for (unsigned i = 0; i < sh->nin; i++)
		if (!kept[i]) {
			shard_net_close_input(sh, &sh->ins[i]);
			shard_in_fini(sh, &sh->ins[i]);
		}
	unsigned nw = pl->nworkers ? pl->nworkers : 1;
	unsigned *wake_pend = calloc(nw, sizeof(*wake_pend));
	uint8_t *wake_is_pend = calloc(nw, 1);
	struct shard_flt_counters *flt_cnt = calloc(pl->nflt ? pl->nflt : 1, sizeof(*flt_cnt));
	if (!wake_pend || !wake_is_pend || !flt_cnt) {
		free(was);
		free(wake_pend);
		free(wake_is_pend);
		free(flt_cnt);
		return -ENOMEM;
	}
	free(sh->wake_pend);
	free(sh->wake_is_pend);
	free(sh->flt_cnt);
	free(sh->chan);
	sh->wake_pend = wake_pend;
	sh->wake_is_pend = wake_is_pend;
	sh->nwake_pend = 0;
	sh->flt_cnt = flt_cnt;
	sh->chan = rb->chan;
	sh->ring_cap = rb->ring_cap;
	move_inputs(sh, rb, kept, was);
	free(was);
	sh->pl = pl;
	sh->nin = pl->nin;
	sh->flush_ns = (uint64_t)(pl->svc.flush * 1e9);
	sh->flt_ticks = false;
	int rc = 0;
	for (unsigned i = 0; i < pl->nin; i++) {
		struct shard_in *si = &sh->ins[i];
		if (rb->from[i] >= 0) {
			si->in = pl->in[i];
			continue;
		}
		struct dp_err err = { 0 };
		if (shard_in_init(sh, i, &err) || shard_in_open(sh, si, &err)) {
			dp_error("shard %u: reload: %s", sh->id, err.msg);
			rc = rc ? rc : -EIO;
		}
		if (si->in->ops->shard_ctx_create)
			si->ctx = si->in->ops->shard_ctx_create(si->in, sh->id);
		si->count_stored = sh->store && si->in->storage_type == DP_STORAGE_FILESYSTEM;
	}
	if (shard_filters_init(sh))
		rc = -ENOMEM;
	return rc;
}

/* The inputs that go: read what arrived for them, then park again. */
static void retire(struct shard *sh)
{
	shard_net_retire(sh, sh->retire, dp_time_mono_ns() + (uint64_t)(sh->pl->svc.grace * 1e9));
	hand_on(sh);
}

void shard_park_run(struct shard *sh)
{
	hand_on(sh);
	struct pollfd pfd = { .fd = sh->bell.fd, .events = POLLIN };
	for (;;) {
		int how = atomic_load_explicit(&sh->park, memory_order_acquire);
		if (how == SHARD_PARK_NONE)
			break;
		if (how == SHARD_PARK_REBIND) {
			sh->rebind->rc = rebind(sh, sh->rebind);
			atomic_store_explicit(&sh->park, SHARD_PARK_NONE, memory_order_relaxed);
			break;
		}
		if (how == SHARD_PARK_RETIRE) {
			/* parked says "not yet" before park says "done" (the
			 * control thread reads park first) */
			atomic_store_explicit(&sh->parked, 2, memory_order_relaxed);
			retire(sh);
			atomic_store_explicit(&sh->park, SHARD_PARK_HOLD, memory_order_release);
			continue;
		}
		shard_clocks(sh);
		if (shard_reclaim(sh))
			shard_memrb_pump(sh, true);
		if (sh->store) {
			shard_store_tick(sh);
			shard_store_pump(sh);
		}
		shard_wake_flush(sh);
		bool home = all_home(sh);
		atomic_store_explicit(&sh->parked, home ? 1 : 2, memory_order_release);
		/* Sleep until a return or the control thread rings; the
		 * handshake of dp_chan.h, so no return slips by. */
		dp_bell_sleep_begin(&sh->bell);
		if (!shard_reclaim(sh))
			poll(&pfd, 1, home ? 50 : 5);
		else
			shard_memrb_pump(sh, true);
		dp_bell_sleep_end(&sh->bell);
		dp_bell_clear(&sh->bell);
	}
	shard_clocks(sh);
	atomic_store_explicit(&sh->parked, 0, memory_order_release);
}
