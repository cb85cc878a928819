/*
 * sp_exec.c — running the queries on a shard: records in (sp_shard_record),
 * windows closed and handed to the merger (sp_shard_tick), and the merge
 * step itself, which runs inside shard 0's tick.
 *
 * Window time is processing time (the burst's CLOCK_REALTIME), as in
 * Fluent Bit, and windows are aligned on multiples of their advance since
 * the epoch: every shard computes the same window for the same instant
 * without talking to the others.
 *
 * When is window W complete? Each shard, at every tick, hands over every
 * window that has ended and then publishes "closed up to T" (release).
 * The merger reads every shard's T (acquire) before draining its ring, so
 * a window ending at or before min(T) has all its partials in hand. A
 * shard that stops ticking cannot hold results back forever: past
 * SP_MERGE_DEADLINE_S after its end the window is emitted with what
 * arrived, and partials that come later are counted as late.
 *
 * Event-time and session windows (q->win_x) take their own record path
 * and tick in sp_win.c; their windows are handed and merged here.
 *
 * Threads: the shard owning struct sp_shard; the merge parts on shard 0.
 */
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sp_int.h"

/* ---- writing results ---- */

static void put_val(struct dp_chunk *c, const char *k, size_t kl, const struct sp_val *v)
{
	switch (v->t) {
	case SP_V_MISSING:
		break;
	case SP_V_NIL: dp_chunk_put_nil(c, k, kl); break;
	case SP_V_BOOL: dp_chunk_put_bool(c, k, kl, v->b); break;
	case SP_V_INT: dp_chunk_put_int(c, k, kl, v->i); break;
	case SP_V_FLOAT: dp_chunk_put_double(c, k, kl, v->d); break;
	case SP_V_STR: dp_chunk_put_str(c, k, kl, v->s, v->len); break;
	default: {
		uint8_t h = v->raw[0];
		enum dp_type t = ((h & 0xf0) == 0x80 || h == 0xde || h == 0xdf) ? DP_T_MAP
				 : ((h & 0xf0) == 0x90 || h == 0xdc || h == 0xdd) ? DP_T_ARRAY
				 : (h >= 0xc4 && h <= 0xc6) ? DP_T_BIN : DP_T_EXT;
		dp_chunk_field_begin(c, k, kl);
		dp_chunk_write(c, v->raw, v->raw_len);
		dp_chunk_field_end(c, t);
		break;
	}
	}
}

static const char *now_str(struct sp_shard *s, uint64_t now_ns)
{
	uint64_t sec = now_ns / 1000000000ull;
	if (sec != s->now_str_sec || !s->now_str[0]) {
		/* Once per second per shard: localtime_r may read the zone. */
		time_t t = (time_t)sec;
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(s->now_str, sizeof(s->now_str), "%Y-%m-%d %H:%M:%S", &tm);
		s->now_str_sec = sec;
	}
	return s->now_str;
}

static void put_fn(struct sp_shard *s, struct dp_chunk *c, const struct sp_out *o,
		   const struct dp_fx *fx, const struct dp_rec *r, uint64_t now_ns)
{
	switch (o->fn) {
	case SP_FN_NOW: {
		const char *t = now_str(s, now_ns);
		dp_chunk_put_str(c, o->name, o->name_len, t, strlen(t));
		break;
	}
	case SP_FN_UNIX_TIMESTAMP:
		dp_chunk_put_int(c, o->name, o->name_len, (int64_t)(now_ns / 1000000000ull));
		break;
	case SP_FN_RECORD_TAG:
		dp_chunk_put_str(c, o->name, o->name_len, fx->tag, fx->tag_len);
		break;
	case SP_FN_RECORD_TIME:
		dp_chunk_put_double(c, o->name, o->name_len, r->ts_sec + r->ts_nsec / 1e9);
		break;
	default:
		break;
	}
}

struct rec_ctx {
	struct sp_shard *s;
	const struct sp_query *q;
	const struct dp_fx *fx;
	const struct dp_rec *r;
};

/* Does an item other than '*' give its result this key (plan_names)? */
static bool named(const struct sp_query *q, const char *k, size_t klen)
{
	for (unsigned i = 0; i < q->nout; i++) {
		const struct sp_out *o = &q->outs[i];
		if (o->kind != SP_OUT_STAR && o->name_len == klen && !memcmp(o->name, k, klen))
			return true;
	}
	return false;
}

/* A non-aggregating query's result for one record. */
static int build_rec(struct dp_chunk *c, void *arg)
{
	struct rec_ctx *x = arg;
	const struct sp_query *q = x->q;
	const struct dp_chunk *src = x->fx->c;
	for (unsigned i = 0; i < q->nout; i++) {
		const struct sp_out *o = &q->outs[i];
		switch (o->kind) {
		case SP_OUT_STAR: {
			const struct dp_field *f = dp_rec_fields(src, x->r);
			for (unsigned k = 0; k < x->r->nfields; k++)
				if (!q->star_skip || !named(q, dp_field_key(src, &f[k]), f[k].key_len))
					dp_chunk_put_copy(c, dp_field_key(src, &f[k]), f[k].key_len, src,
							  &f[k]);
			break;
		}
		case SP_OUT_KEY: {
			const struct sp_val *v = &x->s->vals[o->slot];
			if (v->f)
				dp_chunk_put_copy(c, o->name, o->name_len, src, v->f);
			else
				put_val(c, o->name, o->name_len, v);
			break;
		}
		case SP_OUT_FN:
			put_fn(x->s, c, o, x->fx, x->r, x->fx->now_real_ns);
			break;
		default:
			break;
		}
	}
	return 0;
}

struct res_ctx {
	const struct sp_query *q;
	const struct sp_val *v;
};

/* An aggregating query's result for one group (values computed before). */
static int build_res(struct dp_chunk *c, void *arg)
{
	struct res_ctx *x = arg;
	for (unsigned i = 0; i < x->q->nout; i++)
		put_val(c, x->q->outs[i].name, x->q->outs[i].name_len, &x->v[i]);
	return 0;
}

/* ---- records ---- */

/* Bit qi set when TAG: query qi's pattern matches fx's tag. */
static uint64_t tag_mask(struct sp_shard *s, const struct dp_fx *fx)
{
	if (s->tag_seen_valid && fx->tag_len == s->tag_seen_len &&
	    !memcmp(fx->tag, s->tag_seen, fx->tag_len))
		return s->tag_mask;
	const struct sp_engine *e = s->e;
	uint64_t m = 0;
	for (unsigned qi = 0; qi < e->nq && qi < 64; qi++)
		if (!e->q[qi].from_stream && dp_tag_wildcard_match(e->q[qi].pattern, fx->tag, fx->tag_len))
			m |= 1ull << qi;
	s->tag_mask = m;
	s->tag_seen_valid = fx->tag_len <= sizeof(s->tag_seen);
	s->tag_seen_len = (uint16_t)fx->tag_len;
	if (s->tag_seen_valid)
		memcpy(s->tag_seen, fx->tag, fx->tag_len);
	return m;
}

static bool from_matches(const struct sp_query *q, const struct dp_fx *fx, int origin,
			 uint64_t mask)
{
	if (q->from_stream)
		return q->from_input >= 0 ? origin < 0 && fx->input == (unsigned)q->from_input
					  : origin == q->from_task;
	if (origin == (int)q->idx)
		return false;
	if (q->idx < 64)
		return mask >> q->idx & 1;
	return dp_tag_wildcard_match(q->pattern, fx->tag, fx->tag_len);
}

static struct sp_win *window_for(struct sp_shard *s, unsigned qi, uint64_t start)
{
	struct sp_win *w = s->wins[qi], *free_w = NULL;
	unsigned n = s->e->nwin[qi];
	/* Acquire: a FREE window was last read by the merger, which stored
	 * FREE with release; the shard must see the table as it left it.
	 * (An acquire load costs nothing more than a plain one on x86, and
	 * unlike a relaxed load plus a fence, ThreadSanitizer follows it.) */
	for (unsigned i = 0; i < n; i++) {
		int st = atomic_load_explicit(&w[i].state, memory_order_acquire);
		if (st == WIN_OPEN && w[i].start == start)
			return &w[i];
		if (!free_w && st == WIN_FREE)
			free_w = &w[i];
	}
	if (!free_w)
		return NULL;
	free_w->start = start;
	free_w->end = start + s->e->q[qi].size_ns;
	sp_tab_reset(&free_w->tab);
	atomic_store_explicit(&free_w->state, WIN_OPEN, memory_order_relaxed);
	return free_w;
}

struct sp_win *sp_window_for(struct sp_shard *s, unsigned qi, uint64_t start)
{
	return window_for(s, qi, start);
}

static void aggregate(struct sp_shard *s, unsigned qi, const struct sp_query *q,
		      const struct dp_fx *fx, const struct dp_rec *r)
{
	uint64_t t = fx->now_real_ns;
	uint32_t klen = sp_gkey_encode(q, s->vals, s->gkey);
	struct sp_qstat *st = &s->st[qi];
	if (!klen) {
		SP_CNT_ADD(st->dropped, 1);
		return;
	}
	uint64_t h = sp_hash(s->gkey, klen);
	/* in integers first: doubles near 1.7e9 s keep only ~0.2 us */
	int64_t rt_ns = (int64_t)((uint64_t)r->ts_sec * 1000000000ull + r->ts_nsec);
	uint64_t last = t / q->adv_ns * q->adv_ns;
	for (unsigned k = 0; k < q->overlap; k++) {
		uint64_t start = sp_win_start(q, t, last, k);
		if (start == UINT64_MAX)
			break;
		if (start + q->size_ns <= s->closed_upto) {
			SP_CNT_ADD(st->late, 1);
			continue;
		}
		struct sp_win *w = window_for(s, qi, start);
		if (!w) {
			SP_CNT_ADD(st->dropped, 1);
			continue;
		}
		union sp_w *g = sp_tab_get(&w->tab, s->gkey, klen, h);
		if (!g) {
			SP_CNT_ADD(st->dropped, 1);
			continue;
		}
		/* forecast's x: record time from the window start, seconds */
		sp_agg_update(q, &w->tab, g, s->vals, (double)(rt_ns - (int64_t)start) / 1e9);
	}
}

void sp_shard_record(struct sp_shard *s, struct dp_fx *fx, int origin)
{
	struct sp_engine *e = s->e;
	const struct dp_rec *r = dp_tail(fx->c);
	if (!r)
		return;
	uint64_t mask = tag_mask(s, fx);
	for (unsigned qi = 0; qi < e->nq; qi++) {
		const struct sp_query *q = &e->q[qi];
		if (!from_matches(q, fx, origin, mask))
			continue;
		SP_CNT_ADD(s->st[qi].in, 1);
		sp_slots_load(q, fx->c, r, s->vals);
		if (q->where.n && !sp_prog_run(&q->where, s->vals))
			continue;
		if (q->st->kind >= SP_ST_CREATE_SNAPSHOT) {
			sp_snap_record(s, qi, fx, r);   /* sp_snap.c */
			continue;
		}
		if (q->aggregating) {
			if (__builtin_expect(q->win_x, 0))
				sp_win_record(s, qi, q, fx, r);
			else
				aggregate(s, qi, q, fx, r);
			continue;
		}
		struct rec_ctx x = { s, q, fx, r };
		fx->origin = (int)q->idx;   /* the shard feeds the result on */
		if (dp_fx_emit(fx, q->tag, q->tag_len, r->ts_sec, r->ts_nsec, build_rec, &x))
			SP_CNT_ADD(s->st[qi].emit_failed, 1);
		else
			SP_CNT_ADD(s->st[qi].emitted, 1);
	}
}

/* ---- the merger (shard 0) ---- */

static void merge_in(struct sp_shard *s0, struct sp_win *w)
{
	struct sp_engine *e = s0->e;
	const struct sp_query *q = &e->q[w->q];
	struct sp_qmerge *m = &e->m[w->q];
	struct sp_mwin *mw = NULL, *fw = NULL;
	if (w->end <= m->emitted_upto) {
		SP_CNT_ADD(s0->st[w->q].late, w->tab.n);
		return;
	}
	for (unsigned i = 0; i < m->nw; i++) {
		if (m->w[i].used && m->w[i].start == w->start)
			mw = &m->w[i];
		else if (!m->w[i].used && !fw)
			fw = &m->w[i];
	}
	if (!mw) {
		if (!fw) {
			SP_CNT_ADD(s0->st[w->q].late, w->tab.n);
			return;
		}
		mw = fw;
		mw->used = true;
		mw->due_since = 0;
		mw->start = w->start;
		mw->end = w->end;
		sp_tab_reset(&mw->tab);
	}
	const struct sp_tab *t = &w->tab;
	uint64_t before = mw->tab.dropped;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct sp_grp *g = &t->g[i];
		union sp_w *d = sp_tab_get(&mw->tab, t->keys + g->koff, g->klen, g->hash);
		if (d) {
			sp_agg_merge(q, &mw->tab, d, &t->w[(size_t)i * t->nwords]);
			if (q->session)
				sp_ses_merge_times(q, d, &t->w[(size_t)i * t->nwords]);
		}
	}
	SP_CNT_ADD(s0->st[w->q].dropped, mw->tab.dropped - before);
}

bool sp_emit_group(struct sp_shard *s0, struct dp_fx *fx, unsigned qi, const uint8_t *key,
		   uint32_t klen, const union sp_w *w, uint64_t t_ns, uint64_t now_ns)
{
	const struct sp_query *q = &s0->e->q[qi];
	struct sp_val *v = s0->outv;
	for (unsigned k = 0; k < q->nout; k++) {
		const struct sp_out *o = &q->outs[k];
		memset(&v[k], 0, sizeof(v[k]));
		if (o->kind == SP_OUT_KEY) {
			sp_gkey_decode(key, klen, (unsigned)o->group, &v[k]);
		} else if (o->kind == SP_OUT_AGG) {
			sp_agg_value(&q->aggs[o->agg], w, &v[k]);
		} else if (o->fn == SP_FN_NOW) {
			v[k].t = SP_V_STR;
			v[k].s = now_str(s0, now_ns);
			v[k].len = (uint32_t)strlen(v[k].s);
		} else if (o->fn == SP_FN_UNIX_TIMESTAMP) {
			v[k].t = SP_V_INT;
			v[k].i = (int64_t)(now_ns / 1000000000ull);
			v[k].d = (double)v[k].i;
		}
	}
	if (q->having.n && !sp_prog_run(&q->having, v))
		return false;
	struct res_ctx x = { q, v };
	fx->origin = (int)q->idx;
	if (dp_fx_emit(fx, q->tag, q->tag_len, (uint32_t)(t_ns / 1000000000ull),
		       (uint32_t)(t_ns % 1000000000ull), build_res, &x))
		SP_CNT_ADD(s0->st[qi].emit_failed, 1);
	else
		SP_CNT_ADD(s0->st[qi].emitted, 1);
	return true;
}

static void emit_window(struct sp_shard *s0, struct dp_fx *fx, unsigned qi, struct sp_mwin *mw,
			uint64_t now_ns)
{
	const struct sp_query *q = &s0->e->q[qi];
	const struct sp_tab *t = &mw->tab;
	int64_t left = q->limit;
	for (uint32_t i = 0; i < t->n && left != 0; i++) {
		const struct sp_grp *g = &t->g[i];
		/* The result's time is the window's end. */
		if (sp_emit_group(s0, fx, qi, t->keys + g->koff, g->klen,
				  &t->w[(size_t)i * t->nwords], mw->end, now_ns) && left > 0)
			left--;
	}
	mw->used = false;
	if (mw->end > s0->e->m[qi].emitted_upto)
		s0->e->m[qi].emitted_upto = mw->end;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void merge(struct sp_shard *s0, struct dp_fx *fx, bool final)
{
	struct sp_engine *e = s0->e;
	uint64_t now = fx->now_real_ns, minwm = UINT64_MAX;
	if (final) {
		/* Shutdown: give the other shards a moment to hand over. */
		uint64_t until = mono_ms() + SP_FINAL_WAIT_MS;
		for (unsigned s = 1; s < e->nshards; s++)
			while (atomic_load_explicit(&e->wm[s].v, memory_order_acquire) != UINT64_MAX &&
			       mono_ms() < until)
				sched_yield();
	}
	for (unsigned s = 0; s < e->nshards; s++) {
		uint64_t w = atomic_load_explicit(&e->wm[s].v, memory_order_acquire);
		if (w < minwm)
			minwm = w;
	}
	sp_win_merge_begin(s0);
	for (unsigned s = 0; s < e->nshards; s++) {
		void *objs[DP_BURST];
		unsigned n;
		while ((n = dp_ring_dequeue_burst(e->rings[s], objs, DP_BURST)) > 0)
			for (unsigned i = 0; i < n; i++) {
				struct sp_win *w = objs[i];
				merge_in(s0, w);
				atomic_store_explicit(&w->state, WIN_FREE, memory_order_release);
			}
	}
	uint64_t deadline = (uint64_t)SP_MERGE_DEADLINE_S * 1000000000ull;
	for (unsigned qi = 0; qi < e->nq; qi++) {
		struct sp_qmerge *m = &e->m[qi];
		const struct sp_query *q = &e->q[qi];
		/* due windows, in order of their end */
		for (;;) {
			struct sp_mwin *best = NULL;
			for (unsigned i = 0; i < m->nw; i++) {
				struct sp_mwin *mw = &m->w[i];
				if (!mw->used)
					continue;
				bool due = final || (q->evt ? sp_win_due(m, mw, now)
						     : mw->end <= minwm || mw->end + deadline <= now);
				if (due && (!best || mw->end < best->end))
					best = mw;
			}
			if (!best)
				break;
			if (q->session)
				sp_ses_stitch(s0, fx, qi, best, now);
			else
				emit_window(s0, fx, qi, best, now);
		}
		if (q->session)
			sp_ses_close(s0, fx, qi, minwm, final, now);
	}
}

/* ---- ticks ---- */

static void warn_dropped(struct sp_shard *s, uint64_t now)
{
	for (unsigned qi = 0; qi < s->e->nq; qi++) {
		const struct sp_qstat *st = &s->st[qi];
		uint64_t d = st->dropped + st->no_time + st->late;
		if (d == s->warned[qi] || !dp_ratelimit_ok(&s->rl[qi], now, 10000000000ull))
			continue;
		dp_warn("[sp] task %s: %llu more records dropped; so far on this shard: %llu over "
			"Max_Groups=%u groups per window, with a group key over %d bytes or without a "
			"free window, %llu late (their window had closed), %llu without a usable ON time",
			s->e->q[qi].task, (unsigned long long)(d - s->warned[qi]),
			(unsigned long long)st->dropped, s->e->q[qi].max_groups, SP_GKEY_MAX,
			(unsigned long long)st->late, (unsigned long long)st->no_time);
		s->warned[qi] = d;
	}
}

void sp_shard_tick(struct sp_shard *s, struct dp_fx *fx, bool final)
{
	struct sp_engine *e = s->e;
	uint64_t now = fx->now_real_ns;
	struct dp_ring *ring = e->rings[s->id];
	sp_snap_tick(s, fx, final);   /* sp_snap.c */
	for (unsigned qi = 0; qi < e->nq; qi++) {
		if (!e->nwin[qi] || e->q[qi].evt)
			continue;
		struct sp_win *w = s->wins[qi];
		for (unsigned i = 0; i < e->nwin[qi]; i++) {
			if (atomic_load_explicit(&w[i].state, memory_order_relaxed) != WIN_OPEN)
				continue;
			if (!final && w[i].end > now)
				continue;
			atomic_store_explicit(&w[i].state, WIN_HANDED, memory_order_relaxed);
			void *obj = &w[i];
			/* The ring holds every window of this shard: never full. */
			dp_ring_enqueue_burst(ring, &obj, 1);
		}
	}
	sp_win_tick(s, now, final);
	if (final)
		s->closed_upto = UINT64_MAX;
	else if (now > s->closed_upto)
		s->closed_upto = now;
	atomic_store_explicit(&e->wm[s->id].v, s->closed_upto, memory_order_release);
	if (s->id == 0)
		merge(s, fx, final);
	warn_dropped(s, now);
}
