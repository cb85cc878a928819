/*
 * sp_snap.c — CREATE SNAPSHOT / FLUSH SNAPSHOT (sp_snap.h): checking the
 * statements at start-up, the per-shard store of a snapshot, flushing it.
 *
 * Semantics, as Fluent Bit's flb_sp_snapshot.c has them:
 * - CREATE SNAPSHOT stores every record of its source (sluice also applies
 *   a WHERE, which Fluent Bit's grammar does not accept), whole, with its
 *   time. It emits nothing by itself. `tag` is required; LIMIT n and/or
 *   WITH (seconds=n) give its size (one of them is required).
 * - After a record is stored, the oldest records are removed while there
 *   are more than LIMIT, or while the oldest is more than `seconds` older
 *   (whole seconds of record time) than the record just stored; removal
 *   stops at the first oldest record within both bounds.
 * - FLUSH SNAPSHOT: each record matching its FROM and WHERE emits the
 *   snapshot's records, oldest first, with their own times and the
 *   snapshot's tag, and empties it. The trigger record itself is not
 *   emitted by the flush; it is in the snapshot if the snapshot's source
 *   matched it in a task listed before the FLUSH task (tasks run in order).
 *
 * The store of one snapshot on one shard: a ring of entries (offset,
 * length, time) over a byte ring. A record is written contiguously; when it
 * does not fit before the end of the buffer it goes to the start (the tail
 * left unused until the ring wraps past it). Both are allocated once when
 * the shard starts: rows = LIMIT (or max_bytes / SP_SNAP_ROW_BYTES without
 * LIMIT) and max_bytes. A record is stored as:
 *
 *   u16 nfields, then per field: u16 key_len, u8 dp_type, u32 val_len,
 *   key bytes, value bytes (strings: the payload; bin: header and payload;
 *   anything else: the msgpack object as in the chunk). Native byte order:
 *   the bytes never leave the shard.
 *
 * Threads: sp_snap_plan and the engine part on the control thread; the
 * rest on the shard owning struct sp_shard. The only shared datum is the
 * flush epoch of each snapshot (relaxed atomics: it publishes no data).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_opt.h"
#include "sp_int.h"
#include "sp_snap.h"

struct sp_snap_ep {
	dp_cache_aligned _Atomic uint64_t v;
};

struct snap_ent {
	uint32_t off, len;
	uint32_t ts_sec, ts_nsec;
};

struct sp_snap {
	struct snap_ent *ent;
	uint32_t rows;             /* capacity of ent */
	uint32_t head, n;          /* oldest entry, entries held */
	uint8_t *buf;
	uint32_t bytes;            /* capacity of buf */
	uint32_t wr;               /* end of the newest record */
	uint64_t seen;             /* the flush epoch last acted on */
	bool flushing;             /* re-entry guard: see flush() */
	uint64_t dropped, warned;
	struct dp_ratelimit rl;
};

/* ---- start-up ---- */

static int snap_props(struct sp_query *q, const struct sp_stmt *st, struct dp_err *err)
{
	bool tag = false;
	q->snap_bytes = SP_SNAP_MAX_BYTES_DEFAULT;
	for (unsigned i = 0; i < st->nprops; i++) {
		const char *k = st->props[i].name, *v = st->props[i].val;
		char *end;
		if (strcasecmp(k, "tag") == 0) {
			tag = *v != 0;
		} else if (strcasecmp(k, "seconds") == 0) {
			unsigned long n = strtoul(v, &end, 10);
			if (!*v || *end || n == 0 || n > 366ul * 24 * 3600)
				return dp_err_set(err, -EINVAL,
						  "seconds: expected a whole number of seconds from 1 to a year, got '%s'",
						  v);
			q->snap_seconds = (uint32_t)n;
		} else if (strcasecmp(k, "max_bytes") == 0) {
			int64_t n;
			if (dp_opt_parse_size(v, &n) || n < SP_SNAP_MAX_BYTES_MIN ||
			    n > SP_SNAP_MAX_BYTES_MAX)
				return dp_err_set(err, -EINVAL,
						  "max_bytes: expected a size from %u to %u bytes (k, M suffixes), got '%s'",
						  SP_SNAP_MAX_BYTES_MIN, SP_SNAP_MAX_BYTES_MAX, v);
			q->snap_bytes = (uint32_t)n;
		} else {
			return dp_err_set(err, -EINVAL,
					  "unknown property '%s' (a snapshot takes tag, seconds, max_bytes)", k);
		}
	}
	if (!tag)
		return dp_err_set(err, -EINVAL,
				  "snapshot '%s' needs a tag: WITH (tag='...'), as in Fluent Bit", st->name);
	return 0;
}

int sp_snap_plan(struct sp_query *q, struct sp_stmt *st, struct sp_stmt *const *tasks,
		 unsigned ntasks, struct dp_err *err)
{
	struct sp_select *s = &st->sel;
	bool create = st->kind == SP_ST_CREATE_SNAPSHOT;
	const char *what = create ? "CREATE SNAPSHOT" : "FLUSH SNAPSHOT";
	const struct sp_item *it = &s->items[s->nitems > 1 && s->items[0].kind == SP_ITEM_STAR];
	if (s->nitems != 1 || it->kind != SP_ITEM_STAR)
		return sp_plan_err(err, it->line, it->col, "%s selects * only, as in Fluent Bit", what);
	if (s->win != SP_WIN_NONE || s->ngroup)
		return sp_plan_err(err, s->from_line, s->from_col, "%s takes no %s", what,
				s->win != SP_WIN_NONE ? "WINDOW" : "GROUP BY");
	if (s->having)
		return sp_plan_err(err, s->having->line, s->having->col, "%s takes no HAVING", what);

	if (!create) {
		if (s->limit >= 0)
			return sp_plan_err(err, s->from_line, s->from_col, "FLUSH SNAPSHOT takes no LIMIT");
		for (unsigned i = 0; i < ntasks; i++)
			if (tasks[i] && tasks[i]->kind == SP_ST_CREATE_SNAPSHOT &&
			    strcmp(tasks[i]->name, st->name) == 0) {
				q->snap_task = i;
				return 0;
			}
		return dp_err_set(err, -EINVAL, "line 1, column 1: unknown snapshot '%s'", st->name);
	}

	for (unsigned i = 0; i < ntasks; i++)
		if (i != q->idx && tasks[i] && strcmp(tasks[i]->name ? tasks[i]->name : "", st->name) == 0 &&
		    (tasks[i]->kind == SP_ST_CREATE_STREAM || tasks[i]->kind == SP_ST_CREATE_SNAPSHOT))
			return dp_err_set(err, -EINVAL,
					  "line 1, column 1: '%s' names another stream or snapshot too",
					  st->name);
	int rc = snap_props(q, st, err);
	if (rc)
		return rc;
	if (s->limit > (int64_t)SP_SNAP_LIMIT_MAX)
		return sp_plan_err(err, s->from_line, s->from_col, "a snapshot's LIMIT is at most %u",
				SP_SNAP_LIMIT_MAX);
	/* LIMIT 0 is no limit (Fluent Bit's record_limit 0) */
	q->snap_limit = s->limit > 0 ? (uint32_t)s->limit : 0;
	if (!q->snap_limit && !q->snap_seconds)
		return dp_err_set(err, -EINVAL,
				  "snapshot '%s' has no size: give LIMIT n or WITH (seconds=n)", st->name);
	/* Here LIMIT sizes the snapshot; it is no limit on results, which is
	 * what the rest of the planner would take it for. */
	s->limit = -1;
	q->limit = -1;
	return 0;
}

bool sp_snap_stream_is(const struct sp_stmt *t, const char *from)
{
	if (t->kind != SP_ST_CREATE_SNAPSHOT)
		return false;
	if (strncmp(from, "__flush_", 8) == 0)
		from += 8;
	return strcmp(t->name, from) == 0;
}

int sp_snap_engine_init(struct sp_engine *e)
{
	e->snap_ep = aligned_alloc(DP_CACHE_LINE, (e->nq + 1) * sizeof(*e->snap_ep));
	if (!e->snap_ep)
		return -ENOMEM;
	for (unsigned i = 0; i <= e->nq; i++)
		atomic_init(&e->snap_ep[i].v, 0);
	return 0;
}

void sp_snap_engine_fini(struct sp_engine *e)
{
	free(e->snap_ep);
	e->snap_ep = NULL;
}

int sp_snap_shard_init(struct sp_shard *s)
{
	const struct sp_engine *e = s->e;
	s->snaps = calloc(e->nq + 1, sizeof(*s->snaps));
	if (!s->snaps)
		return -ENOMEM;
	for (unsigned qi = 0; qi < e->nq; qi++) {
		const struct sp_query *q = &e->q[qi];
		if (q->st->kind != SP_ST_CREATE_SNAPSHOT)
			continue;
		struct sp_snap *sn = &s->snaps[qi];
		sn->bytes = q->snap_bytes;
		sn->rows = q->snap_limit ? q->snap_limit : q->snap_bytes / SP_SNAP_ROW_BYTES;
		sn->ent = malloc((size_t)sn->rows * sizeof(*sn->ent));
		sn->buf = malloc(sn->bytes);
		if (!sn->ent || !sn->buf)
			return -ENOMEM;
	}
	return 0;
}

void sp_snap_shard_fini(struct sp_shard *s)
{
	for (unsigned qi = 0; s->snaps && qi < s->e->nq; qi++) {
		free(s->snaps[qi].ent);
		free(s->snaps[qi].buf);
	}
	free(s->snaps);
	s->snaps = NULL;
}

uint64_t sp_snap_dropped(const struct sp_shard *s, unsigned qi)
{
	return s->snaps && qi < s->e->nq ? __atomic_load_n(&s->snaps[qi].dropped, __ATOMIC_RELAXED) : 0;
}

/* ---- the store ---- */

static void pop(struct sp_snap *sn)
{
	sn->head = sn->head + 1 == sn->rows ? 0 : sn->head + 1;
	if (--sn->n == 0)
		sn->wr = 0;
}

/* Where `need` contiguous bytes can go without removing anything. */
static bool fits(const struct sp_snap *sn, uint32_t need, uint32_t *at)
{
	if (sn->n == 0) {
		*at = 0;
		return need <= sn->bytes;
	}
	uint32_t rd = sn->ent[sn->head].off;
	if (rd < sn->wr) {         /* held: [rd, wr) */
		if (sn->bytes - sn->wr >= need) {
			*at = sn->wr;
			return true;
		}
		*at = 0;
		return rd >= need;
	}
	/* wrapped (or full when rd == wr): held [rd, old end) and [0, wr) */
	*at = sn->wr;
	return rd - sn->wr >= need;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* The bytes stored for a field's value (see the top of the file). */
static const uint8_t *val_bytes(const struct dp_chunk *c, const struct dp_field *f, uint32_t *len)
{
	if (f->type == DP_T_BIN) {
		/* as dp_chunk_put_copy: bin keeps its header */
		uint32_t h = f->val_len < 256 ? 2 : f->val_len < 65536 ? 3 : 5;
		*len = f->val_len + h;
		return c->data + f->val_off - h;
	}
	*len = f->val_len;
	return c->data + f->val_off;
}

static void store(struct sp_snap *sn, const struct sp_query *q, const struct dp_chunk *c,
		  const struct dp_rec *r)
{
	const struct dp_field *f = dp_rec_fields(c, r);
	uint64_t need = 2;
	for (unsigned i = 0; i < r->nfields; i++)
		need += 7u + f[i].key_len + f[i].val_len + (f[i].type == DP_T_BIN ? 5u : 0u);
	if (need > sn->bytes) {
		SP_CNT_ADD(sn->dropped, 1);
		return;
	}
	/* Fluent Bit's bounds: LIMIT rows, `seconds` behind this record. */
	while (sn->n) {
		const struct snap_ent *old = &sn->ent[sn->head];
		bool over = q->snap_limit && sn->n >= q->snap_limit;
		bool stale = q->snap_seconds &&
			     (int64_t)r->ts_sec - (int64_t)old->ts_sec > (int64_t)q->snap_seconds;
		if (!over && !stale)
			break;
		pop(sn);
	}
	/* The memory budget: records pushed out before their time. */
	while (sn->n == sn->rows) {
		pop(sn);
		SP_CNT_ADD(sn->dropped, 1);
	}
	uint32_t at;
	while (!fits(sn, (uint32_t)need, &at)) {
		pop(sn);
		SP_CNT_ADD(sn->dropped, 1);
	}
	uint8_t *w = sn->buf + at;
	put16(w, r->nfields);
	w += 2;
	for (unsigned i = 0; i < r->nfields; i++) {
		uint32_t vl;
		const uint8_t *v = val_bytes(c, &f[i], &vl);
		put16(w, f[i].key_len);
		w[2] = f[i].type;
		put32(w + 3, vl);
		w += 7;
		memcpy(w, c->data + f[i].key_off, f[i].key_len);
		w += f[i].key_len;
		memcpy(w, v, vl);
		w += vl;
	}
	uint32_t len = (uint32_t)(w - (sn->buf + at));
	uint32_t slot = sn->head + sn->n;
	if (slot >= sn->rows)
		slot -= sn->rows;
	sn->ent[slot] = (struct snap_ent){ at, len, r->ts_sec, r->ts_nsec };
	sn->n++;
	sn->wr = at + len;
}

struct snap_rd {
	const uint8_t *p;
	uint32_t len;
};

/* One stored record into the emitter's open record. */
static int build_snap(struct dp_chunk *c, void *arg)
{
	const struct snap_rd *x = arg;
	const uint8_t *p = x->p;
	uint16_t nf = get16(p);
	p += 2;
	for (unsigned i = 0; i < nf; i++) {
		uint16_t kl = get16(p);
		uint8_t type = p[2];
		uint32_t vl = get32(p + 3);
		const char *k = (const char *)p + 7;
		const uint8_t *v = p + 7 + kl;
		p = v + vl;
		if (type == DP_T_STR) {
			dp_chunk_put_str(c, k, kl, (const char *)v, vl);
		} else {
			dp_chunk_field_begin(c, k, kl);
			dp_chunk_write(c, v, vl);
			dp_chunk_field_end(c, (enum dp_type)type);
		}
	}
	return 0;
}

/* Emit this shard's part of snapshot qi, oldest first, and empty it.
 * Emitted records go on to the other tasks at once (sp_emit), so this can
 * be re-entered: a record it emits may match the FLUSH task again (ignored:
 * `flushing`), or reach the snapshot through another stream and be stored
 * (it stays for the next flush: only the records held at the start are
 * emitted). Each record is taken off the ring before it is emitted, and
 * its bytes are read (build) before anything else can store. */
static void flush(struct sp_shard *s, unsigned qi, struct dp_fx *fx)
{
	struct sp_snap *sn = &s->snaps[qi];
	const struct sp_query *q = &s->e->q[qi];
	if (sn->flushing)
		return;
	sn->flushing = true;
	int origin = fx->origin;
	for (uint32_t todo = sn->n; todo && sn->n; todo--) {
		struct snap_ent en = sn->ent[sn->head];
		pop(sn);
		struct snap_rd x = { sn->buf + en.off, en.len };
		/* origin: the snapshot, which then never stores its own flush */
		fx->origin = (int)qi;
		if (dp_fx_emit(fx, q->tag, q->tag_len, en.ts_sec, en.ts_nsec, build_snap, &x))
			SP_CNT_ADD(s->st[qi].emit_failed, 1);
		else
			SP_CNT_ADD(s->st[qi].emitted, 1);
	}
	fx->origin = origin;
	sn->flushing = false;
}

/* The epoch moved since this shard last flushed: another shard (or this
 * one) triggered a flush. */
static void catch_up(struct sp_shard *s, unsigned qi, struct dp_fx *fx)
{
	struct sp_snap *sn = &s->snaps[qi];
	uint64_t ep = atomic_load_explicit(&s->e->snap_ep[qi].v, memory_order_relaxed);
	if (ep == sn->seen || sn->flushing)
		return;
	sn->seen = ep;
	flush(s, qi, fx);
}

void sp_snap_record(struct sp_shard *s, unsigned qi, struct dp_fx *fx, const struct dp_rec *r)
{
	const struct sp_query *q = &s->e->q[qi];
	if (q->st->kind == SP_ST_FLUSH_SNAPSHOT) {
		unsigned si = q->snap_task;
		struct sp_snap *sn = &s->snaps[si];
		if (sn->flushing)
			return;  /* emitted by this very flush: no loop */
		sn->seen = atomic_fetch_add_explicit(&s->e->snap_ep[si].v, 1, memory_order_relaxed) + 1;
		flush(s, si, fx);
		return;
	}
	/* A flush triggered elsewhere comes first: this record is after it. */
	catch_up(s, qi, fx);
	store(&s->snaps[qi], q, fx->c, r);
}

void sp_snap_tick(struct sp_shard *s, struct dp_fx *fx, bool final)
{
	const struct sp_engine *e = s->e;
	uint64_t now = fx->now_real_ns;
	for (unsigned qi = 0; qi < e->nq; qi++) {
		if (e->q[qi].st->kind != SP_ST_CREATE_SNAPSHOT)
			continue;
		struct sp_snap *sn = &s->snaps[qi];
		if (!final)
			catch_up(s, qi, fx);
		if (sn->dropped == sn->warned || !dp_ratelimit_ok(&sn->rl, now, 10000000000ull))
			continue;
		dp_warn("[sp] task %s: snapshot %s dropped %llu records (max_bytes=%u per shard%s, "
			"or a record bigger than that)", e->q[qi].task, e->q[qi].st->name,
			(unsigned long long)(sn->dropped - sn->warned), sn->bytes,
			e->q[qi].snap_limit ? "" : " and its row budget");
		sn->warned = sn->dropped;
	}
}
