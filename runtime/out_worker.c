/*
 * out_worker.c — the output worker loop (see out_worker.h).
 *
 * Bursts: the worker takes up to DP_BURST chunks from each shard's ring in
 * turn and gives them to the plugin's flush in one call, so an output pays
 * its per-call cost (a write, a produce batch) per burst, not per record.
 * A chunk is returned to its shard only after flush confirmed it and only
 * by the last output holding it (refs), through this worker's return ring
 * for that shard.
 *
 * A burst is counted when the worker is done with it: delivered (flush
 * returned 0) or failed (DP_FLUSH_FAILED, or Retry_Limit gave up), all of
 * it, unless the output has burst_failed (dp_plugin.h): then it names the
 * records its destination did not accept (a bulk API answers per record),
 * only those are counted failed and kept in the dead-letter queue.
 *
 * Distributions (out_worker.h, struct out_worker_hist): per burst, its
 * records and its latency (first flush call to confirmation; asynchronous
 * outputs: to the poll that settled it, through the hand-over times in
 * w->sent), and per chunk confirmed, its input lag. A clock read per burst
 * and a bucket walk per burst or chunk, nothing per record.
 *
 * Threads: the worker's own loop; the control thread creates, starts, stops
 * and joins it (out_worker.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dp_log.h"
#include "dp_sched.h"
#include "dp_time.h"
#include "out_worker.h"

static void release(struct out_worker *w, struct dp_chunk *c)
{
	DP_CNT_ADD(w->released, 1);
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* Once on the ring the chunk is the shard's again: read it before. */
	struct dp_chan *ch = w->chan[c->shard];
	void *obj = c;
	dp_ring_enqueue_burst(ch->back, &obj, 1);
	if (dp_bell_asleep(ch->shard))
		dp_bell_ring(ch->shard);
}

static void backoff(struct out_worker *w, int attempt)
{
	/* Fluent Bit's backoff with full jitter (dp_sched.h): attempt 0 is
	 * Fluent Bit's first retry (n = 1), so it waits in [base, 2 base].
	 * Cut short by stop so a shutdown does not wait out a long backoff. */
	const struct dp_service *svc = &w->pl->svc;
	uint64_t ms = dp_sched_backoff_ms(svc->sched_base, svc->sched_cap, (unsigned)attempt + 1);
	uint64_t until = dp_time_mono_ns() + ms * 1000000ull;
	while (dp_time_mono_ns() < until) {
		if (atomic_load(&w->stop) == 2)
			return;
		struct pollfd p = { .fd = w->bell.fd, .events = POLLIN };
		poll(&p, 1, 100);
	}
}

/* The input lag of a chunk confirmed at real time now: since the event
 * time of its first record (the "now - record time at output";
 * records of a chunk arrived together, so the first stands for them). A
 * record time in the future (a sender's clock ahead) is not counted. */
static void observe_lag(struct out_worker *w, const struct dp_chunk *c, uint64_t now)
{
	if (!c->nrecs)
		return;
	uint64_t t = (uint64_t)c->recs[0].ts_sec * 1000000000ull + c->recs[0].ts_nsec;
	if (t && t <= now)
		dp_hist_observe(&w->hist.lag, &dp_hist_seconds, now - t);
}

/* An asynchronous output took n chunks at t_ns. */
static void sent_push(struct out_worker *w, uint64_t t_ns, unsigned n)
{
	if (w->sent_tail - w->sent_head < OUT_SENT_CAP) {
		struct out_worker_sent *e = &w->sent[w->sent_tail++ & (OUT_SENT_CAP - 1)];
		e->t_ns = t_ns;
		e->nchunks = n;
	} else {
		w->sent[(w->sent_tail - 1) & (OUT_SENT_CAP - 1)].nchunks += n;
	}
}

/* The oldest chunk held is settled: when was it handed over (0: unknown). */
static uint64_t sent_pop(struct out_worker *w)
{
	if (w->sent_head == w->sent_tail)
		return 0;
	struct out_worker_sent *e = &w->sent[w->sent_head & (OUT_SENT_CAP - 1)];
	uint64_t t = e->t_ns;
	if (--e->nchunks == 0)
		w->sent_head++;
	return t;
}

/* Chunks an asynchronous output settled: count and return them. */
static void settle(struct out_worker *w, const struct dp_out_done *d, unsigned n)
{
	uint64_t now = n ? dp_time_mono_ns() : 0, real = n ? dp_time_real_ns() : 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t t = sent_pop(w);
		if (d[i].delivered || !d[i].failed) {
			if (t && t <= now)
				dp_hist_observe(&w->hist.latency, &dp_hist_seconds, now - t);
			observe_lag(w, d[i].c, real);
		}
		if (w->has_cur && d[i].c->st_seq)
			dp_store_cur_settle(&w->cur, d[i].c->st_dir, d[i].c->st_seq);
		DP_CNT_ADD(w->cnt.records, d[i].delivered);
		DP_CNT_ADD(w->cnt.failed, d[i].failed);
		if (d[i].failed)
			DP_CNT_ADD(w->cnt.retries_failed, 1);
		DP_CNT_ADD(w->cnt.bytes, d[i].bytes);
		DP_CNT_ADD(w->cnt.chunks, 1);
		release(w, d[i].c);
	}
	w->inflight -= n;
	if (w->has_cur && n)
		dp_store_cur_save(&w->cur);
}

/* Ask an asynchronous output what it settled, waiting up to timeout_ms. */
static void poll_async(struct out_worker *w, int timeout_ms)
{
	struct dp_out_done d[DP_BURST];
	unsigned n;
	do {
		n = 0;
		int rc = w->o->ops->poll(w->ctx, timeout_ms, d, DP_BURST, &n, &w->acnt);
		w->busy = rc == DP_FLUSH_BUSY;
		settle(w, d, n);
		timeout_ms = 0;
	} while (n == DP_BURST);
}

static void deliver(struct out_worker *w, struct dp_chunk **c, unsigned n)
{
	struct dp_output *o = w->o;
	int attempt = 0;
	int rc;
	uint64_t recs = 0, bytes = 0;
	for (unsigned i = 0; i < n; i++) {
		recs += c[i]->nrecs;
		bytes += c[i]->data_len;
	}
	dp_hist_observe(&w->hist.batch, &dp_hist_records, recs);
	/* Latency from the first flush call: retries and backoff are part of
	 * what a burst waits. Two vDSO clock reads per burst. */
	uint64_t t0 = dp_time_mono_ns();
	while ((rc = o->ops->flush(w->ctx, c, n)) != 0) {
		if (rc == DP_FLUSH_FAILED)
			break;
		if (rc > 0 && o->ops->poll) {
			/* Kept by the output until poll settles it. */
			for (unsigned i = 0; w->has_cur && i < n; i++)
				if (c[i]->st_seq)
					dp_store_cur_hold(&w->cur, c[i]->st_dir, c[i]->st_seq);
			sent_push(w, t0, n);
			w->inflight += n;
			w->busy = rc == DP_FLUSH_BUSY;
			return;
		}
		if (o->retry_limit >= 0 && attempt >= o->retry_limit)
			break;
		DP_CNT_ADD(w->cnt.retries, 1);
		for (unsigned i = 0; i < n; i++)
			DP_CNT_ADD(w->cnt.retried_records, c[i]->nrecs);
		if (attempt == 0)
			dp_plg_warn(o, "flush failed (%s), retrying", strerror(-rc));
		backoff(w, attempt++);
	}
	if (rc == 0) {
		uint64_t now = dp_time_mono_ns();
		dp_hist_observe(&w->hist.latency, &dp_hist_seconds, now - t0);
		uint64_t real = dp_time_real_ns();
		for (unsigned i = 0; i < n; i++)
			observe_lag(w, c[i], real);
	}
	if (o->ops->burst_failed) {
		/* The output says record by record what was not accepted
		 * (a bulk API): a burst can be part delivered, part failed. */
		uint64_t sel[DP_BURST][DP_CHUNK_RECS / 64];
		memset(sel, 0, sizeof(sel[0]) * n);
		uint64_t bad = o->ops->burst_failed(w->ctx, c, n, sel);
		if (bad > recs)
			bad = recs;
		if (rc < 0)
			dp_error("[%s] giving up on %llu records after %d retries: %s", o->name,
				 (unsigned long long)bad, attempt, strerror(-rc));
		DP_CNT_ADD(w->cnt.failed, bad);
		if (rc < 0)
			DP_CNT_ADD(w->cnt.retries_failed, 1);
		else if (bad)
			DP_CNT_ADD(w->cnt.rejected_bursts, 1);
		DP_CNT_ADD(w->cnt.records, recs - bad);
		DP_CNT_ADD(w->cnt.bytes, recs ? bytes * (recs - bad) / recs : 0);
		const char *cause = rc == DP_FLUSH_FAILED || rc == 0 ? "rejected" : attempt ? "retries" : "error";
		for (unsigned i = 0; bad && i < n; i++) {
			bool any = false;
			for (unsigned k = 0; k < DP_CHUNK_RECS / 64 && !any; k++)
				any = sel[i][k] != 0;
			int dl = any ? dp_store_dlq_write_sel(w->pl, o, c[i], sel[i], cause) : 0;
			if (dl)
				dp_error("[%s] cannot keep them in the dead-letter queue: %s", o->name, strerror(-dl));
		}
	} else if (rc < 0 || rc == DP_FLUSH_FAILED) {
		if (rc < 0)
			dp_plg_error(o, "giving up on %llu records after %d retries: %s",
				 (unsigned long long)recs, attempt, strerror(-rc));
		DP_CNT_ADD(w->cnt.failed, recs);
		if (rc < 0)
			DP_CNT_ADD(w->cnt.retries_failed, 1);
		else
			DP_CNT_ADD(w->cnt.rejected_bursts, 1);
		int dl = dp_store_dlq_write(w->pl, o, c, n,
					    rc == DP_FLUSH_FAILED ? "rejected" : attempt ? "retries" : "error");
		if (dl)
			dp_plg_error(o, "cannot keep them in the dead-letter queue: %s", strerror(-dl));
	} else {
		DP_CNT_ADD(w->cnt.records, recs);
		DP_CNT_ADD(w->cnt.bytes, bytes);
	}
	DP_CNT_ADD(w->cnt.chunks, n);
	/* Confirmed, or given up on and counted: not to be sent again after
	 * a restart. Before release: then the chunk is no longer ours. */
	if (w->has_cur) {
		for (unsigned i = 0; i < n; i++)
			if (c[i]->st_seq)
				dp_store_cur_done(&w->cur, c[i]->st_dir, c[i]->st_seq);
		dp_store_cur_save(&w->cur);
	}
	for (unsigned i = 0; i < n; i++)
		release(w, c[i]);
}

static unsigned drain_rings(struct out_worker *w)
{
	struct dp_chunk *c[DP_BURST];
	unsigned got = 0;
	/* A busy output (full queue) takes nothing more: the rings fill and
	 * the shards feel the backpressure. */
	for (unsigned s = 0; s < w->pl->nshards && !w->busy; s++) {
		unsigned n = dp_ring_dequeue_burst(w->chan[s]->out, (void **)c, DP_BURST);
		if (n) {
			DP_CNT_ADD(w->taken, n);
			deliver(w, c, n);
			got += n;
		}
	}
	return got;
}

static bool shards_done(struct out_worker *w)
{
	for (unsigned s = 0; s < w->pl->nshards; s++)
		if (!dp_chan_closed(w->chan[s]))
			return false;
	return true;
}

static void *worker_main(void *arg)
{
	struct out_worker *w = arg;
	if (w->o->ops->worker_create) {
		w->ctx = w->o->ops->worker_create(w->o, w->nth, &w->err);
		if (!w->ctx) {
			dp_plg_error(w->o, "worker %u: %s", w->nth, w->err.msg);
			atomic_store(&w->started, -1);
			return NULL;
		}
	}
	atomic_store(&w->started, 1);
	bool async = w->o->ops->poll != NULL;
	for (;;) {
		unsigned got = drain_rings(w);
		if (async && (w->inflight || w->busy)) {
			/* Busy: wait in poll for the queue to drain (no sleep,
			 * the delivery reports wake it). */
			poll_async(w, w->busy && !got ? 100 : 0);
			if (w->busy && atomic_load(&w->stop) == 2)
				break;
			if (w->busy)
				continue;
		}
		if (got)
			continue;
		/* Stop only when no shard can produce any more, the rings
		 * are empty and nothing is waiting for a delivery report
		 * (Grace cuts it short: stop == 2). */
		if (atomic_load(&w->stop) == 2)
			break;
		if (atomic_load(&w->stop) && shards_done(w) && !drain_rings(w) && !w->inflight)
			break;
		if (async && w->inflight) {
			/* Reports pending: wait for them in the output's
			 * poll, briefly, so new chunks are not held up. */
			poll_async(w, 5);
			continue;
		}
		dp_bell_sleep_begin(&w->bell);
		bool empty = true;
		for (unsigned s = 0; s < w->pl->nshards && empty; s++)
			if (dp_ring_count(w->chan[s]->out))
				empty = false;
		if (empty) {
			struct pollfd p = { .fd = w->bell.fd, .events = POLLIN };
			poll(&p, 1, 100);
			dp_bell_clear(&w->bell);
		}
		dp_bell_sleep_end(&w->bell);
	}
	if (w->ctx && w->o->ops->worker_destroy)
		w->o->ops->worker_destroy(w->ctx);
	w->ctx = NULL;
	return NULL;
}

struct out_worker *out_worker_create(struct dp_pipeline *pl, struct dp_output *o, unsigned id,
				     unsigned nth, struct dp_err *err)
{
	struct out_worker *w;
	if (posix_memalign((void **)&w, DP_CACHE_LINE, sizeof(*w)))
		return NULL;
	memset(w, 0, sizeof(*w));
	w->id = id;
	w->nth = nth;
	w->o = o;
	w->pl = pl;
	int brc = dp_bell_init(&w->bell);
	w->chan = calloc(pl->nshards, sizeof(*w->chan));
	w->cur.fd = -1;
	if (o->ops->poll)
		w->sent = calloc(OUT_SENT_CAP, sizeof(*w->sent));
	if (brc || !w->chan || (o->ops->poll && !w->sent)) {
		dp_err_set(err, -ENOMEM, "[%s] cannot create worker", o->name);
		out_worker_destroy(w);
		return NULL;
	}
	if (pl->store) {
		w->has_cur = true;
		if (dp_store_cur_open(&w->cur, pl->store, o, nth, err)) {
			out_worker_destroy(w);
			return NULL;
		}
	}
	return w;
}

int out_worker_start(struct out_worker *w, struct dp_err *err)
{
	int rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc)
		return dp_err_set(err, -rc, "[%s] pthread_create: %s", w->o->name, strerror(rc));
	return 0;
}

void out_worker_request_stop(struct out_worker *w)
{
	atomic_store(&w->stop, 1);
	dp_bell_ring_always(&w->bell);
}

int out_worker_join(struct out_worker *w, uint64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ns / 1000000000ull),
		.tv_nsec = (long)(deadline_ns % 1000000000ull),
	};
	/* pthread_timedjoin_np takes CLOCK_REALTIME; convert. */
	uint64_t now_m = dp_time_mono_ns();
	uint64_t left = deadline_ns > now_m ? deadline_ns - now_m : 0;
	uint64_t abs = dp_time_real_ns() + left;
	ts.tv_sec = (time_t)(abs / 1000000000ull);
	ts.tv_nsec = (long)(abs % 1000000000ull);
	int rc = pthread_timedjoin_np(w->thread, NULL, &ts);
	if (rc == 0)
		w->thread = 0;
	return rc == 0 ? 0 : -ETIMEDOUT;
}

void out_worker_destroy(struct out_worker *w)
{
	if (!w)
		return;
	dp_bell_fini(&w->bell);
	if (w->has_cur)
		dp_store_cur_close(&w->cur);
	free(w->chan);   /* the channels are the runtime's */
	free(w->sent);
	free(w);
}
