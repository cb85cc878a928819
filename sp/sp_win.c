/*
 * sp_win.c — event-time and session windows (how they work: sp_win.h).
 * The record path (sp_win_record) allocates nothing; the merger's
 * session tables grow like any group table.
 *
 * Threads: see sp_win.h.
 */
#include <stdlib.h>
#include <string.h>
#include "sp_int.h"

#define NS 1000000000ull

int sp_win_engine_init(struct sp_engine *e)
{
	size_t n = (size_t)e->nq * e->nshards + 1;
	e->qwm = aligned_alloc(DP_CACHE_LINE, n * sizeof(*e->qwm));
	if (!e->qwm)
		return -1;
	for (size_t i = 0; i < n; i++) {
		atomic_init(&e->qwm[i].wm, 0);
		atomic_init(&e->qwm[i].maxev, 0);
		atomic_init(&e->qwm[i].last, 0);
	}
	for (unsigned qi = 0; qi < e->nq; qi++) {
		const struct sp_query *q = &e->q[qi];
		if (!q->session)
			continue;
		for (int k = 0; k < 2; k++)
			if (sp_tab_init(&e->m[qi].ses[k], q->nwords, q->max_groups))
				return -1;
		e->m[qi].ses_min_close = UINT64_MAX;
	}
	return 0;
}

void sp_win_engine_fini(struct sp_engine *e)
{
	free(e->qwm);
	e->qwm = NULL;
	for (unsigned qi = 0; e->m && qi < e->nq; qi++)
		for (int k = 0; k < 2; k++)
			if (e->m[qi].ses[k].idx)
				sp_tab_fini(&e->m[qi].ses[k]);
}

int sp_win_shard_init(struct sp_shard *s)
{
	s->wx = calloc(s->e->nq + 1, sizeof(*s->wx));
	return s->wx ? 0 : -1;
}

void sp_win_shard_fini(struct sp_shard *s)
{
	free(s->wx);
	s->wx = NULL;
}

static struct sp_qwm *pub(struct sp_engine *e, unsigned qi, unsigned shard)
{
	return &e->qwm[(size_t)qi * e->nshards + shard];
}

/* ---- shard: records ---- */

/* The record's event time in ns since the epoch; false when the ON key
 * is missing, not a number, negative or past the year 2286. */
static bool event_time(const struct sp_query *q, const struct sp_val *vals,
		       const struct dp_rec *r, uint64_t *t)
{
	if (q->evt_slot < 0) {
		*t = (uint64_t)r->ts_sec * NS + r->ts_nsec;
		return true;
	}
	const struct sp_val *v = &vals[q->evt_slot];
	if (v->t == SP_V_INT) {
		if (v->i < 0 || v->i >= 10000000000ll)
			return false;
		*t = (uint64_t)v->i * NS;
		return true;
	}
	if (v->t == SP_V_FLOAT) {
		if (!(v->d >= 0 && v->d < 1e10))
			return false;
		/* whole seconds apart: a double near 1.7e9 keeps ~0.2 us */
		uint64_t sec = (uint64_t)v->d;
		*t = sec * NS + (uint64_t)((v->d - (double)sec) * 1e9);
		return true;
	}
	return false;
}

void sp_win_record(struct sp_shard *s, unsigned qi, const struct sp_query *q,
		   const struct dp_fx *fx, const struct dp_rec *r)
{
	struct sp_qstat *st = &s->st[qi];
	struct sp_wshard *wx = &s->wx[qi];
	uint64_t t = fx->now_real_ns, wm = s->closed_upto;
	if (q->evt) {
		if (!event_time(q, s->vals, r, &t)) {
			SP_CNT_ADD(st->no_time, 1);
			return;
		}
		wm = wx->wm;
		if (fx->now_real_ns != wx->last) {
			/* the others' idle rule reads it (once per burst) */
			wx->last = fx->now_real_ns;
			atomic_store_explicit(&pub(s->e, qi, s->id)->last, wx->last, memory_order_relaxed);
		}
		if (t > wx->maxev) {
			wx->maxev = t;
			/* at once, not at the tick: the other shards' watermarks
			 * follow it (sp_win.h) */
			atomic_store_explicit(&pub(s->e, qi, s->id)->maxev, t, memory_order_relaxed);
		}
	}
	uint32_t klen = sp_gkey_encode(q, s->vals, s->gkey);
	if (!klen) {
		SP_CNT_ADD(st->dropped, 1);
		return;
	}
	uint64_t h = sp_hash(s->gkey, klen);
	bool late = false;
	uint64_t last = t / q->adv_ns * q->adv_ns;
	for (unsigned k = 0; k < q->overlap; k++) {
		uint64_t start = sp_win_start(q, t, last, k);
		if (start == UINT64_MAX)
			break;
		if (start + q->size_ns <= wm) {
			late = true;
			continue;
		}
		struct sp_win *w = wx->hit;
		if (!w || w->start != start ||
		    atomic_load_explicit(&w->state, memory_order_relaxed) != WIN_OPEN) {
			w = sp_window_for(s, qi, start);
			if (!w) {
				SP_CNT_ADD(st->dropped, 1);
				continue;
			}
			wx->hit = w;
		}
		union sp_w *g = sp_tab_get(&w->tab, s->gkey, klen, h);
		if (!g) {
			SP_CNT_ADD(st->dropped, 1);
			continue;
		}
		/* forecast's x: the time from the window start, seconds */
		sp_agg_update(q, &w->tab, g, s->vals, (double)(int64_t)(t - start) / 1e9);
		if (q->session) {
			/* first as its complement, last + 1: both combine
			 * by max, and 0 (a new group) means none yet */
			union sp_w *sw = g + q->ses_word;
			if (UINT64_MAX - t > sw[0].u)
				sw[0].u = UINT64_MAX - t;
			if (t + 1 > sw[1].u)
				sw[1].u = t + 1;
		}
	}
	if (late)
		SP_CNT_ADD(st->late, 1);
}

/* ---- shard: ticks ---- */

static void hand(struct sp_shard *s, unsigned qi, uint64_t wm)
{
	struct sp_engine *e = s->e;
	struct sp_win *w = s->wins[qi];
	for (unsigned i = 0; i < e->nwin[qi]; i++) {
		if (atomic_load_explicit(&w[i].state, memory_order_relaxed) != WIN_OPEN ||
		    w[i].end > wm)
			continue;
		atomic_store_explicit(&w[i].state, WIN_HANDED, memory_order_relaxed);
		void *obj = &w[i];
		/* The ring holds every window of this shard: never full. */
		dp_ring_enqueue_burst(e->rings[s->id], &obj, 1);
	}
}

void sp_win_tick(struct sp_shard *s, uint64_t now, bool final)
{
	struct sp_engine *e = s->e;
	for (unsigned qi = 0; qi < e->nq; qi++) {
		const struct sp_query *q = &e->q[qi];
		if (!q->evt || !e->nwin[qi])
			continue;
		struct sp_wshard *wx = &s->wx[qi];
		struct sp_qwm *mine = pub(e, qi, s->id);
		uint64_t wm = wx->wm;
		if (final) {
			wm = UINT64_MAX;
		} else {
			uint64_t gmax = wx->maxev, glast = wx->last;
			for (unsigned o = 0; o < e->nshards; o++) {
				if (o == s->id)
					continue;
				uint64_t m = atomic_load_explicit(&pub(e, qi, o)->maxev, memory_order_relaxed);
				uint64_t l = atomic_load_explicit(&pub(e, qi, o)->last, memory_order_relaxed);
				gmax = m > gmax ? m : gmax;
				glast = l > glast ? l : glast;
			}
			if (gmax) {
				uint64_t c = gmax > q->lateness_ns ? gmax - q->lateness_ns : 0;
				uint64_t idle = (uint64_t)SP_IDLE_S * NS;
				if (now > glast + idle)
					c += now - glast - idle;
				if (c > wm)
					wm = c;
			}
		}
		hand(s, qi, wm);
		wx->wm = wm;
		atomic_store_explicit(&mine->wm, wm, memory_order_release);
	}
}

/* ---- merger: event time ---- */

void sp_win_merge_begin(struct sp_shard *s0)
{
	struct sp_engine *e = s0->e;
	for (unsigned qi = 0; qi < e->nq; qi++) {
		if (!e->q[qi].evt)
			continue;
		uint64_t lo = UINT64_MAX, hi = 0;
		for (unsigned s = 0; s < e->nshards; s++) {
			uint64_t w = atomic_load_explicit(&pub(e, qi, s)->wm, memory_order_acquire);
			lo = w < lo ? w : lo;
			hi = w > hi ? w : hi;
		}
		e->m[qi].wm_min = lo;
		e->m[qi].wm_max = hi;
	}
}

bool sp_win_due(struct sp_qmerge *m, struct sp_mwin *mw, uint64_t now)
{
	if (mw->end <= m->wm_min)
		return true;
	if (mw->end > m->wm_max)
		return false;
	/* Some shard passed it, another has not: wait for that one, but not
	 * forever (it may have stopped ticking). */
	if (!mw->due_since)
		mw->due_since = now;
	return now >= mw->due_since + (uint64_t)SP_MERGE_DEADLINE_S * NS;
}

/* ---- merger: sessions ---- */

static uint64_t ses_first(const struct sp_query *q, const union sp_w *w)
{
	return UINT64_MAX - w[q->ses_word].u;
}

static uint64_t ses_last(const struct sp_query *q, const union sp_w *w)
{
	return w[q->ses_word + 1].u - 1;
}

void sp_ses_merge_times(const struct sp_query *q, union sp_w *d, const union sp_w *s)
{
	for (unsigned k = q->ses_word; k < q->ses_word + 2; k++)
		if (s[k].u > d[k].u)
			d[k].u = s[k].u;
}

/* d (zeroed or a session, of table dt) += s (a fragment or a session). */
static void ses_absorb(const struct sp_query *q, struct sp_tab *dt, union sp_w *d, const union sp_w *s)
{
	sp_agg_merge(q, dt, d, s);
	sp_ses_merge_times(q, d, s);
}

static void ses_emit(struct sp_shard *s0, struct dp_fx *fx, unsigned qi, const uint8_t *key,
		     uint32_t klen, const union sp_w *w, uint64_t now)
{
	const struct sp_query *q = &s0->e->q[qi];
	sp_emit_group(s0, fx, qi, key, klen, w, ses_last(q, w) + q->gap_ns, now);
}

void sp_ses_stitch(struct sp_shard *s0, struct dp_fx *fx, unsigned qi, struct sp_mwin *mw,
		   uint64_t now)
{
	struct sp_engine *e = s0->e;
	const struct sp_query *q = &e->q[qi];
	struct sp_qmerge *m = &e->m[qi];
	struct sp_tab *cur = &m->ses[m->ses_cur];
	const struct sp_tab *t = &mw->tab;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct sp_grp *g = &t->g[i];
		const uint8_t *key = t->keys + g->koff;
		const union sp_w *f = &t->w[(size_t)i * t->nwords];
		union sp_w *ses = sp_tab_get(cur, key, g->klen, g->hash);
		if (!ses) {
			SP_CNT_ADD(s0->st[qi].dropped, 1);
			continue;
		}
		/* Buckets come in order: f starts after all of ses. */
		if (ses[q->ses_word + 1].u && ses_first(q, f) > ses_last(q, ses) + q->gap_ns) {
			ses_emit(s0, fx, qi, key, g->klen, ses, now);
			memset(ses, 0, cur->nwords * sizeof(*ses));
		}
		ses_absorb(q, cur, ses, f);
		uint64_t close = ses_last(q, ses) + q->gap_ns;
		if (close < m->ses_min_close)
			m->ses_min_close = close;
	}
	if (mw->end > m->ses_upto)
		m->ses_upto = mw->end;
	mw->used = false;
	if (mw->end > m->emitted_upto)
		m->emitted_upto = mw->end;
}

void sp_ses_close(struct sp_shard *s0, struct dp_fx *fx, unsigned qi, uint64_t minwm,
		  bool final, uint64_t now)
{
	struct sp_engine *e = s0->e;
	const struct sp_query *q = &e->q[qi];
	struct sp_qmerge *m = &e->m[qi];
	/* A record still to come falls in a bucket that no shard has closed:
	 * one ending after the lowest watermark, so it is later than
	 * wm - bucket. Nothing stitched later starts before `from`. */
	uint64_t wm = q->evt ? m->wm_min : minwm;
	uint64_t from = wm > q->size_ns ? wm - q->size_ns : 0;
	if (m->ses_upto > from)
		from = m->ses_upto;
	struct sp_tab *cur = &m->ses[m->ses_cur];
	if (!cur->n || (!final && from <= m->ses_min_close))
		return;
	struct sp_tab *next = &m->ses[m->ses_cur ^ 1];
	uint64_t min_close = UINT64_MAX;
	sp_tab_reset(next);
	for (uint32_t i = 0; i < cur->n; i++) {
		const struct sp_grp *g = &cur->g[i];
		const uint8_t *key = cur->keys + g->koff;
		const union sp_w *w = &cur->w[(size_t)i * cur->nwords];
		uint64_t close = ses_last(q, w) + q->gap_ns;
		if (final || close < from) {
			ses_emit(s0, fx, qi, key, g->klen, w, now);
			continue;
		}
		union sp_w *d = sp_tab_get(next, key, g->klen, g->hash);
		if (!d) {
			SP_CNT_ADD(s0->st[qi].dropped, 1);
			continue;
		}
		ses_absorb(q, next, d, w);
		if (close < min_close)
			min_close = close;
	}
	sp_tab_reset(cur);
	m->ses_cur ^= 1;
	m->ses_min_close = min_close;
}
