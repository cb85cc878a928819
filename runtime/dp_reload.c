/*
 * dp_reload.c — hot reload (dp_reload.h): the control thread's side.
 *
 * The order is what makes it lossless:
 *  1. park every shard (shards/shard_park.c): it stops reading, hands on
 *     its open chunks and what its filters hold, and waits until every
 *     chunk it sent is back, i.e. delivered by the outputs it was routed
 *     to. Past Grace the shards resume and the reload is refused: the old
 *     configuration runs on, nothing was lost or changed.
 *  2. keep what can be kept: when the parsers, shards and store are as
 *     they were, each [INPUT] section written as before is the input that
 *     runs (match_inputs; wherever it stands now). Those that go are
 *     retired first: the shards read their connections to the end of
 *     what arrived and park again once that is delivered. Then start the
 *     new pipeline's workers on channels to the parked shards, stop the
 *     old workers (idle by now), and have each shard rebind to the new
 *     pipeline on its own thread: kept inputs move to their new index,
 *     new ones open (their addresses were checked before step 1, so a
 *     port in use refuses the reload while nothing has changed). The
 *     kept input objects move to the new pipeline; the new pipeline's own
 *     copies of them, never started, go with the old one.
 *  3. otherwise stop the old pipeline (what the shards read after the
 *     park is drained as at shutdown) and start the new one.
 * The HTTP server reads the pipeline under its lock, which a reload holds
 * while the shards change hands (dp_http_pipeline_lock).
 *
 * Control thread, except dp_reload_ask / dp_reload_count.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dp_http.h"
#include "dp_log.h"
#include "dp_pipeline_int.h"
#include "dp_reload.h"
#include "dp_store.h"
#include "dp_time.h"
#include "out_worker.h"
#include "shard.h"
#include "shard_rx.h"

/* ---- requests (HTTP server -> control thread) ---- */

struct dp_reload {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t asked, done;
	unsigned count;
	int rc;
	char msg[sizeof(((struct dp_err *)0)->msg)];
};

struct dp_reload *dp_reload_new(void)
{
	struct dp_reload *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	return r;
}

void dp_reload_free(struct dp_reload *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}

int dp_reload_ask(struct dp_reload *r, char *msg, size_t cap)
{
	pthread_mutex_lock(&r->mu);
	uint64_t mine = ++r->asked;
	pthread_mutex_unlock(&r->mu);
	if (kill(getpid(), SIGHUP)) {
		snprintf(msg, cap, "cannot signal the control thread: %s", strerror(errno));
		return -errno;
	}
	pthread_mutex_lock(&r->mu);
	while (r->done < mine)
		pthread_cond_wait(&r->cv, &r->mu);
	int rc = r->rc;
	snprintf(msg, cap, "%s", r->msg);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

unsigned dp_reload_count(struct dp_reload *r)
{
	pthread_mutex_lock(&r->mu);
	unsigned n = r->count;
	pthread_mutex_unlock(&r->mu);
	return n;
}

uint64_t dp_reload_begin(struct dp_reload *r)
{
	if (!r)
		return 0;
	pthread_mutex_lock(&r->mu);
	uint64_t upto = r->asked;
	pthread_mutex_unlock(&r->mu);
	return upto;
}

void dp_reload_end(struct dp_reload *r, uint64_t upto, int rc, const char *msg)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	if (upto > r->done)
		r->done = upto;
	r->rc = rc;
	if (!rc)
		r->count++;
	snprintf(r->msg, sizeof(r->msg), "%s", msg ? msg : "");
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* ---- parking ---- */

static void park_all(struct dp_pipeline *pl, enum shard_park how)
{
	for (unsigned s = 0; s < pl->nshards; s++)
		shard_park(pl->shards[s], how);
}

/* Wait until every shard says `want` (parked: 1 all home, 0 running). */
static bool wait_parked(struct dp_pipeline *pl, int want, uint64_t deadline_ns)
{
	for (;;) {
		unsigned n = 0;
		for (unsigned s = 0; s < pl->nshards; s++) {
			/* park first: a shard done with a retire stored parked
			 * = 2 before it set park back to HOLD */
			int how = atomic_load_explicit(&pl->shards[s]->park, memory_order_acquire);
			n += how != SHARD_PARK_REBIND && how != SHARD_PARK_RETIRE &&
			     atomic_load_explicit(&pl->shards[s]->parked, memory_order_acquire) == want;
		}
		if (n == pl->nshards)
			return true;
		if (deadline_ns && dp_time_mono_ns() > deadline_ns)
			return false;
		usleep(1000);
	}
}

/* The outputs still holding chunks, for the message of a refused reload. */
static void behind(const struct dp_pipeline *pl, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = 0;
	for (unsigned w = 0; w < pl->nworkers && n < cap; w++) {
		const struct out_worker *wk = pl->workers[w];
		bool held = DP_CNT_GET(wk->taken) != DP_CNT_GET(wk->released);
		for (unsigned s = 0; !held && s < pl->nshards; s++)
			held = dp_ring_count(wk->chan[s]->out) > 0;
		if (held && !strstr(out, wk->o->name))
			n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? ", " : "", wk->o->name);
	}
	if (!out[0])
		snprintf(out, cap, "the outputs");
}

/* ---- what a reload may keep ---- */

static unsigned regular_inputs(const struct dp_pipeline *pl)
{
	unsigned n = 0;
	while (n < pl->nin && pl->in[n]->emitter_of < 0)
		n++;
	return n;
}

static bool streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_store(const struct dp_pipeline *a, const struct dp_pipeline *b)
{
	const struct dp_service *x = &a->svc, *y = &b->svc;
	if (!x->storage_path && !y->storage_path)
		return true;
	if (!streq(x->storage_path, y->storage_path) || x->storage_sync != y->storage_sync ||
	    x->storage_checksum != y->storage_checksum || x->storage_max_chunks_up != y->storage_max_chunks_up ||
	    x->storage_backlog_mem_limit != y->storage_backlog_mem_limit ||
	    x->storage_delete_irrecoverable != y->storage_delete_irrecoverable ||
	    x->storage_full_action != y->storage_full_action ||
	    x->storage_keep_rejected != y->storage_keep_rejected ||
	    !streq(x->storage_rejected_path, y->storage_rejected_path))
		return false;
	/* The store keeps a position per output: the outputs must be too. */
	if (a->nout != b->nout)
		return false;
	for (unsigned o = 0; o < a->nout; o++)
		if (a->out[o]->sig != b->out[o]->sig)
			return false;
	return true;
}

/* Why the inputs cannot be kept, or NULL when they can. */
static const char *why_not_kept(const struct dp_pipeline *a, const struct dp_pipeline *b)
{
	if (a->parsers_sig != b->parsers_sig)
		return "the parsers changed";
	if (a->nshards != b->nshards || memcmp(a->cpu, b->cpu, sizeof(a->cpu[0]) * a->nshards))
		return "Shards or CPUs changed";
	if (!same_store(a, b))
		return "the store or, with a store, the outputs changed";
	return NULL;
}

static bool same_input(const struct dp_input *a, const struct dp_input *b)
{
	return a->sig == b->sig && a->ops == b->ops && a->pool_chunks == b->pool_chunks;
}

/* Which running input each of next's is (from[i], or -1: a new one), by
 * its section, the same name first (two alike sections stay in order);
 * the old inputs nothing takes go (bits of *going). Emitters are made
 * anew: they hold no sockets. */
static void match_inputs(const struct dp_pipeline *old, const struct dp_pipeline *next, int *from,
			 uint64_t *going)
{
	unsigned ko = regular_inputs(old), kn = regular_inputs(next);
	bool used[DP_MAX_INPUTS] = { false };
	for (unsigned i = 0; i < next->nin; i++)
		from[i] = -1;
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < kn; i++)
			for (unsigned j = 0; from[i] < 0 && j < ko; j++)
				if (!used[j] && same_input(old->in[j], next->in[i]) &&
				    (pass || !strcmp(old->in[j]->name, next->in[i]->name))) {
					from[i] = (int)j;
					used[j] = true;
				}
	*going = 0;
	for (unsigned j = 0; j < ko; j++)
		if (!used[j])
			*going |= 1ull << j;
}

/* An input that comes or goes with a polling receive queue, or a new
 * input's address taken: the reload is refused before anything changed. */
static int can_open(const struct dp_pipeline *old, const struct dp_pipeline *next, const int *from,
		    uint64_t going, struct dp_err *err)
{
	for (unsigned j = 0; j < regular_inputs(old); j++)
		if ((going >> j & 1) && old->in[j]->rx && old->in[j]->rx->backend != SHARD_RX_EPOLL)
			return dp_err_set(err, -EINVAL, "reload refused: %s reads a DPDK or AF_XDP queue, "
					  "which cannot be closed in place: restart sluice", old->in[j]->name);
	for (unsigned i = 0; i < regular_inputs(next); i++) {
		const struct dp_input *in = next->in[i];
		if (from[i] >= 0)
			continue;
		if (in->rx && in->rx->backend != SHARD_RX_EPOLL)
			return dp_err_set(err, -EINVAL, "reload refused: %s would read a DPDK or AF_XDP queue, "
					  "which cannot be opened in place: restart sluice", in->name);
		bool freed = false;   /* by an input that goes (a changed section) */
		for (unsigned j = 0; !freed && j < regular_inputs(old); j++) {
			const struct dp_input *o = old->in[j];
			freed = (going >> j & 1) && o->net == in->net &&
				(dp_net_is_unix(in->net) ? streq(o->path, in->path) :
				 o->port == in->port && streq(o->listen, in->listen));
		}
		struct dp_err why = { 0 };
		if (!freed && shard_net_check_bind(in, &why))
			return dp_err_set(err, why.code, "reload refused: %s", why.msg);
	}
	return 0;
}

static bool polls_rx(const struct dp_pipeline *pl)
{
	for (unsigned i = 0; i < pl->nin; i++)
		if (pl->in[i]->rx && pl->in[i]->rx->backend != SHARD_RX_EPOLL)
			return true;
	return false;
}

/* ---- the two ways ---- */

/* An output written alike (same section, same name) carries on with its
 * counters, so a dashboard's totals do not drop at each reload. The old
 * workers are idle (every chunk is home): their counters are final. */
static void carry_counters(const struct dp_pipeline *old, struct dp_pipeline *pl)
{
	for (unsigned o = 0; o < pl->nout; o++) {
		const struct dp_output *n = pl->out[o];
		for (unsigned p = 0; p < old->nout; p++) {
			const struct dp_output *q = old->out[p];
			if (q->sig != n->sig || strcmp(q->name, n->name) || q->workers != n->workers)
				continue;
			for (unsigned k = 0; k < (unsigned)n->workers; k++)
				pl->workers[n->worker_base + k]->cnt = old->workers[q->worker_base + k]->cnt;
			break;
		}
	}
}

static int keep_inputs(struct dp_pipeline *old, struct dp_pipeline *pl, const int *from,
		       struct dp_http *http, struct dp_err *err)
{
	struct dp_chan ***chans = calloc(pl->nshards, sizeof(*chans));
	struct shard_rebind *rb = calloc(pl->nshards, sizeof(*rb));
	int rc = chans && rb ? 0 : dp_err_set(err, -ENOMEM, "reload: out of memory");
	for (unsigned s = 0; !rc && s < pl->nshards; s++)
		if (!(chans[s] = calloc(pl->nworkers ? pl->nworkers : 1, sizeof(**chans))))
			rc = dp_err_set(err, -ENOMEM, "reload: out of memory");
	/* The store and the parsers of the kept inputs go first: the new
	 * workers' ring sizes count the store's chunks. */
	if (!rc && old->store && dp_store_adopt(pl, old->store))
		rc = dp_err_set(err, -ENOMEM, "reload: out of memory");
	if (!rc)
		rc = dp_pipeline_workers_create(pl, old->shards, chans, err);
	if (!rc) {
		carry_counters(old, pl);
		rc = dp_pipeline_workers_start(pl, err);
	}
	if (rc) {
		pl->store = NULL;
		dp_pipeline_workers_stop(pl);
		for (unsigned s = 0; chans && s < pl->nshards; s++)
			free(chans[s]);
		free(chans);
		free(rb);
		park_all(old, SHARD_PARK_NONE);
		return rc;
	}
	/* Nothing is in flight: the old workers finish at once. */
	dp_pipeline_workers_stop(old);
	dp_http_pipeline_lock(http);
	old->store = NULL;
	for (unsigned i = 0; i < pl->nin; i++) {
		if (from[i] < 0)
			continue;
		unsigned j = (unsigned)from[i];
		struct dp_input *kept = old->in[j], *fresh = pl->in[i];
		char name[sizeof(kept->name)];
		memcpy(name, kept->name, sizeof(name));
		memcpy(kept->name, fresh->name, sizeof(name));   /* "tcp.1" may be "tcp.0" now */
		memcpy(fresh->name, name, sizeof(name));
		kept->route = fresh->route;
		kept->filters = fresh->filters;
		kept->file = fresh->file;
		kept->line = fresh->line;
		kept->sec = NULL;
		kept->pl = pl;
		kept->id = i;
		fresh->pl = old;
		fresh->id = j;
		pl->in[i] = kept;
		old->in[j] = fresh;
	}
	if (old->kept_parsers || old->kept_ml_parsers) {
		pl->kept_parsers = old->kept_parsers;
		pl->kept_ml_parsers = old->kept_ml_parsers;
		old->kept_parsers = NULL;
		old->kept_ml_parsers = NULL;
	} else {
		pl->kept_parsers = old->parsers;
		pl->kept_ml_parsers = old->ml_parsers;
		old->parsers = NULL;
		old->ml_parsers = NULL;
	}
	pl->shards = old->shards;
	old->shards = NULL;
	pl->start_ns = old->start_ns;
	unsigned cap = shard_ring_cap(pl);
	for (unsigned s = 0; s < pl->nshards; s++) {
		rb[s] = (struct shard_rebind){ .pl = pl, .from = from, .chan = chans[s], .ring_cap = cap };
		pl->shards[s]->rebind = &rb[s];
	}
	park_all(pl, SHARD_PARK_REBIND);
	wait_parked(pl, 0, 0);
	for (unsigned s = 0; s < pl->nshards; s++) {
		pl->shards[s]->rebind = NULL;
		if (rb[s].rc && !rc)
			rc = dp_err_set(err, rb[s].rc, "reload: shard %u could not take on the new pipeline", s);
	}
	dp_http_pipeline_set(http, pl);
	free(chans);
	free(rb);
	dp_pipeline_destroy(old);
	/* A shard short of memory for an emitter runs without it, but the
	 * new configuration is in place: say so, as a done reload. */
	if (rc)
		dp_error("%s", err->msg);
	return 0;
}

static int restart(struct dp_pipeline **cur, struct dp_pipeline *pl, struct dp_http *http, struct dp_err *err)
{
	struct dp_pipeline *old = *cur;
	dp_http_pipeline_lock(http);
	/* Parked, every chunk home: stop, then let them leave the park. */
	for (unsigned s = 0; s < old->nshards; s++)
		atomic_store(&old->shards[s]->stop, 1);
	park_all(old, SHARD_PARK_NONE);
	int src = dp_pipeline_stop(old);
	if (src == -ETIMEDOUT || dp_pipeline_has_stuck_worker(old))
		dp_error("reload: an output of the old configuration did not finish within Grace");
	else
		dp_pipeline_destroy(old);
	*cur = NULL;
	int rc = dp_pipeline_start(pl, err);
	if (rc) {
		dp_pipeline_stop(pl);
		dp_pipeline_destroy(pl);
		dp_http_pipeline_set(http, NULL);
		return -EAGAIN;
	}
	*cur = pl;
	dp_http_pipeline_set(http, pl);
	return 0;
}

/* The inputs that go: each shard reads their connections to the end of
 * what arrived and closes their listeners; what that read is delivered
 * before the shards park again. */
static bool retire_inputs(struct dp_pipeline *old, uint64_t going)
{
	uint64_t deadline = dp_time_mono_ns() + (uint64_t)(old->svc.grace * 1e9);
	for (unsigned s = 0; s < old->nshards; s++)
		old->shards[s]->retire = going;
	park_all(old, SHARD_PARK_RETIRE);
	return wait_parked(old, 1, deadline);
}

int dp_reload_apply(struct dp_pipeline **cur, struct dp_pipeline *next, struct dp_http *http,
		    struct dp_err *err)
{
	struct dp_pipeline *old = *cur;
	const char *why = why_not_kept(old, next);
	int from[DP_MAX_INPUTS];
	uint64_t going = 0;
	if (why && (polls_rx(old) || polls_rx(next))) {
		dp_pipeline_destroy(next);
		return dp_err_set(err, -EINVAL,
				  "reload refused: %s, and a DPDK or AF_XDP input cannot be restarted in place: "
				  "restart sluice", why);
	}
	if (!why) {
		match_inputs(old, next, from, &going);
		if (can_open(old, next, from, going, err)) {
			dp_pipeline_destroy(next);
			return err->code;
		}
	}
	uint64_t t0 = dp_time_mono_ns();
	park_all(old, SHARD_PARK_HOLD);
	if (!wait_parked(old, 1, t0 + (uint64_t)(old->svc.grace * 1e9))) {
		char who[256];
		behind(old, who, sizeof(who));
		park_all(old, SHARD_PARK_NONE);
		wait_parked(old, 0, 0);
		dp_pipeline_destroy(next);
		return dp_err_set(err, -ETIMEDOUT,
				  "reload refused: %s did not deliver the records in flight within Grace (%.1fs); "
				  "the running configuration is unchanged", who, old->svc.grace);
	}
	/* Past this point the reload happens: an input that goes may have
	 * lost its listener. */
	if (!why && going && !retire_inputs(old, going))
		why = "the records read from the inputs that go were not delivered within Grace";
	uint64_t t1 = dp_time_mono_ns();
	int rc;
	if (!why) {
		rc = keep_inputs(old, next, from, http, err);
		if (rc) {
			dp_pipeline_destroy(next);
			return rc;
		}
		*cur = next;
		unsigned kept = 0;
		for (unsigned i = 0; i < next->nin; i++)
			kept += from[i] >= 0;
		dp_info("reloaded: %u inputs kept with their connections and counters, %u opened, %u closed; "
			"drain %.1f ms, switch %.1f ms", kept, next->nin - kept,
			(unsigned)__builtin_popcountll(going), (double)(t1 - t0) / 1e6,
			(double)(dp_time_mono_ns() - t1) / 1e6);
		return 0;
	}
	dp_info("reload: %s: restarting the inputs (their connections are closed once read)", why);
	rc = restart(cur, next, http, err);
	if (!rc)
		dp_info("reloaded: drain %.1f ms, restart %.1f ms", (double)(t1 - t0) / 1e6,
			(double)(dp_time_mono_ns() - t1) / 1e6);
	return rc;
}
