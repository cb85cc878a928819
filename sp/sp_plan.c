/*
 * sp_plan.c — the planner (sp_plan.h). Control thread, at start-up; the
 * one function shards call, sp_slots_load, is at the end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "sp.h"
#include "sp_plan.h"
#include "sp_snap.h"
#include "sp_sketch.h"

#define PROG_MAX 256
#define STACK_MAX 64

/* Compile state of one program. */
struct cc {
	struct sp_query *q;
	struct sp_ins ins[PROG_MAX];
	unsigned n;
	struct sp_val consts[PROG_MAX];
	unsigned nconsts;
	unsigned depth, max_depth;
	bool having;
	struct dp_err *err;
};

int sp_plan_err(struct dp_err *err, uint32_t line, uint32_t col, const char *fmt, ...)
{
	char what[120];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return dp_err_set(err, -EINVAL, "line %u, column %u: %s", line, col, what);
}

static bool key_eq(const struct sp_key *a, const struct sp_key *b)
{
	if (strcmp(a->name, b->name) || a->nsub != b->nsub)
		return false;
	for (unsigned i = 0; i < a->nsub; i++)
		if (strcmp(a->sub[i], b->sub[i]))
			return false;
	return true;
}

static int slot_of(struct sp_query *q, struct sp_key *k)
{
	for (unsigned i = 0; i < q->nslots; i++)
		if (key_eq(q->slots[i], k))
			return (int)i;
	if (q->nslots == 64)
		return -1;
	if (!q->slots) {
		q->slots = calloc(64, sizeof(*q->slots));
		q->slot_name_len = calloc(64, sizeof(size_t));
		if (!q->slots || !q->slot_name_len)
			return -1;
	}
	q->slots[q->nslots] = k;
	q->slot_name_len[q->nslots] = strlen(k->name);
	return (int)q->nslots++;
}

static int emit(struct cc *c, uint8_t op, uint8_t cmp, unsigned slot, uint32_t arg, int push)
{
	if (c->n == PROG_MAX)
		return dp_err_set(c->err, -EINVAL, "condition too long");
	c->ins[c->n++] = (struct sp_ins){ op, cmp, (uint16_t)slot, arg };
	c->depth += push;
	if (c->depth > c->max_depth)
		c->max_depth = c->depth;
	if (c->max_depth > STACK_MAX)
		return dp_err_set(c->err, -EINVAL, "condition nested too deeply");
	return 0;
}

static bool is_lit(const struct sp_expr *e)
{
	return e->kind == SP_E_STR || e->kind == SP_E_INT || e->kind == SP_E_FLOAT ||
	       e->kind == SP_E_BOOL || e->kind == SP_E_NULL;
}

static void lit_val(const struct sp_expr *e, struct sp_val *v)
{
	memset(v, 0, sizeof(*v));
	switch (e->kind) {
	case SP_E_STR: v->t = SP_V_STR; v->s = e->str; v->len = e->slen; break;
	case SP_E_INT: v->t = SP_V_INT; v->i = e->i; v->d = (double)e->i; break;
	case SP_E_FLOAT: v->t = SP_V_FLOAT; v->d = e->d; break;
	case SP_E_BOOL: v->t = SP_V_BOOL; v->b = e->b; break;
	default: v->t = SP_V_NIL; break;
	}
}

static const char *lit_type(const struct sp_expr *e)
{
	switch (e->kind) {
	case SP_E_STR: return "a string";
	case SP_E_INT: case SP_E_FLOAT: return "a number";
	case SP_E_BOOL: return "a boolean";
	case SP_E_NULL: return "NULL";
	default: return "a key";
	}
}

/* The slot an operand reads: in WHERE a record key; in HAVING a result
 * (by alias or name, or an aggregate call that is in the select list). */
static int operand_slot(struct cc *c, struct sp_expr *e)
{
	struct sp_query *q = c->q;
	if (!c->having) {
		if (e->kind == SP_E_CALL)
			return sp_plan_err(c->err, e->line, e->col, "%s is not allowed in WHERE",
				    e->call.text);
		int s = slot_of(q, &e->key);
		if (s < 0)
			return dp_err_set(c->err, -EINVAL, "more than 64 keys in one query");
		return s;
	}
	const char *want = e->kind == SP_E_CALL ? e->call.text : e->key.text;
	for (unsigned i = 0; i < q->nout; i++) {
		const struct sp_out *o = &q->outs[i];
		if (o->kind == SP_OUT_STAR)
			continue;
		if (strlen(want) == o->name_len && memcmp(want, o->name, o->name_len) == 0)
			return (int)i;
	}
	/* COUNT(*) AS n: HAVING COUNT(*) > 1 still finds it (outputs are
	 * one per select item, in order). */
	if (e->kind == SP_E_CALL) {
		for (unsigned i = 0; i < q->st->sel.nitems; i++) {
			const struct sp_item *it = &q->st->sel.items[i];
			if (it->kind == SP_ITEM_CALL && strcmp(it->call.text, want) == 0)
				return (int)i;
		}
	}
	return sp_plan_err(c->err, e->line, e->col, "HAVING: '%s' is not in the select list", want);
}

static int comp(struct cc *c, struct sp_expr *e)
{
	int rc, a, b;
	switch (e->kind) {
	case SP_E_AND:
	case SP_E_OR:
		if ((rc = comp(c, e->l)) || (rc = comp(c, e->r)))
			return rc;
		return emit(c, e->kind == SP_E_AND ? SP_I_AND : SP_I_OR, 0, 0, 0, -1);
	case SP_E_NOT:
		if ((rc = comp(c, e->l)))
			return rc;
		return emit(c, SP_I_NOT, 0, 0, 0, 0);
	case SP_E_CONTAINS:
		if (c->having)
			return sp_plan_err(c->err, e->line, e->col, "@record.contains is not allowed in HAVING");
		if ((a = slot_of(c->q, &e->key)) < 0)
			return dp_err_set(c->err, -EINVAL, "more than 64 keys in one query");
		return emit(c, SP_I_HAS, 0, (unsigned)a, 0, 1);
	case SP_E_ISNULL:
	case SP_E_NOTNULL:
		if (is_lit(e->l))
			return emit(c, SP_I_CONST, 0, 0,
				    (e->l->kind == SP_E_NULL) == (e->kind == SP_E_ISNULL), 1);
		if ((a = operand_slot(c, e->l)) < 0)
			return a;
		return emit(c, e->kind == SP_E_ISNULL ? SP_I_ISNULL : SP_I_NOTNULL, 0, (unsigned)a, 0, 1);
	case SP_E_BOOL:
		return emit(c, SP_I_CONST, 0, 0, e->b, 1);
	case SP_E_KEY:
	case SP_E_CALL:
		if ((a = operand_slot(c, e)) < 0)
			return a;
		return emit(c, SP_I_TRUTH, 0, (unsigned)a, 0, 1);
	case SP_E_CMP: {
		struct sp_expr *l = e->l, *r = e->r;
		enum sp_cmp op = e->cmp;
		if (is_lit(l) && !is_lit(r)) {
			/* 5 < x is x > 5 */
			static const enum sp_cmp flip[] = { SP_EQ, SP_NE, SP_GT, SP_GE, SP_LT, SP_LE };
			struct sp_expr *t = l;
			l = r;
			r = t;
			op = flip[op];
		}
		if (is_lit(r)) {
			bool ordered = op != SP_EQ && op != SP_NE;
			if ((r->kind == SP_E_BOOL || r->kind == SP_E_NULL) && ordered)
				return sp_plan_err(c->err, r->line, r->col,
					    "type mismatch: %s cannot be ordered", lit_type(r));
			if (is_lit(l)) {
				bool num_l = l->kind == SP_E_INT || l->kind == SP_E_FLOAT;
				bool num_r = r->kind == SP_E_INT || r->kind == SP_E_FLOAT;
				if (l->kind != r->kind && !(num_l && num_r))
					return sp_plan_err(c->err, e->line, e->col,
						    "type mismatch: %s compared with %s",
						    lit_type(l), lit_type(r));
				struct sp_val lv, rv;
				lit_val(l, &lv);
				lit_val(r, &rv);
				return emit(c, SP_I_CONST, 0, 0, sp_val_cmp(&lv, op, &rv), 1);
			}
			if ((a = operand_slot(c, l)) < 0)
				return a;
			if (c->nconsts == PROG_MAX)
				return dp_err_set(c->err, -EINVAL, "condition too long");
			lit_val(r, &c->consts[c->nconsts]);
			return emit(c, SP_I_CMP, op, (unsigned)a, c->nconsts++, 1);
		}
		if ((a = operand_slot(c, l)) < 0 || (b = operand_slot(c, r)) < 0)
			return a < 0 ? a : b;
		return emit(c, SP_I_CMP2, op, (unsigned)a, (uint32_t)b, 1);
	}
	default:
		return sp_plan_err(c->err, e->line, e->col,
			    "type mismatch: a condition must be true or false, not %s", lit_type(e));
	}
}

static int compile(struct sp_query *q, struct sp_expr *e, bool having, struct sp_prog *out,
		   struct dp_err *err)
{
	struct cc *c = calloc(1, sizeof(*c));
	if (!c)
		return dp_err_set(err, -ENOMEM, "out of memory");
	c->q = q;
	c->having = having;
	c->err = err;
	int rc = comp(c, e);
	if (rc == 0) {
		out->ins = malloc(c->n * sizeof(c->ins[0]));
		out->consts = malloc((c->nconsts + 1) * sizeof(c->consts[0]));
		if (!out->ins || !out->consts) {
			rc = dp_err_set(err, -ENOMEM, "out of memory");
		} else {
			memcpy(out->ins, c->ins, c->n * sizeof(c->ins[0]));
			memcpy(out->consts, c->consts, c->nconsts * sizeof(c->consts[0]));
			out->n = c->n;
			out->nconsts = c->nconsts;
		}
	}
	free(c);
	return rc;
}

static unsigned agg_words(enum sp_fn fn)
{
	switch (fn) {
	case SP_FN_COUNT: return 1;              /* n */
	case SP_FN_AVG: return 2;                /* n, sum */
	case SP_FN_MIN: case SP_FN_MAX: return 3; /* n, v, any float */
	case SP_FN_SUM: return 4;                /* n, float sum, int sum, any float */
	case SP_FN_FORECAST: return 6;           /* n, sx, sy, sxx, sxy, max x */
	case SP_FN_COUNT_DISTINCT: return sizeof(struct sp_hll_w) / sizeof(union sp_w);
	case SP_FN_PERCENTILE: return sizeof(struct sp_qs) / sizeof(union sp_w);
	default: return 0;
	}
}


/* A result is a map: no key twice. Two items of one name (`SELECT a, a`,
 * `x AS n, y AS n`) or two `*` are start-up errors; a key `*` brings that
 * an item names too is left to the item (`SELECT app, *` has app once,
 * where app is written), so star_skip says the executor must check. */
static int plan_names(struct sp_query *q, const struct sp_select *s, struct dp_err *err)
{
	bool star = false;
	for (unsigned i = 0; i < q->nout; i++) {
		const struct sp_out *o = &q->outs[i];
		const struct sp_item *it = &s->items[i];
		if (o->kind == SP_OUT_STAR) {
			if (star)
				return sp_plan_err(err, it->line, it->col, "'*' selected twice");
			star = true;
			continue;
		}
		for (unsigned j = 0; j < i; j++) {
			const struct sp_out *p = &q->outs[j];
			if (p->kind != SP_OUT_STAR && p->name_len == o->name_len &&
			    !memcmp(p->name, o->name, o->name_len))
				return sp_plan_err(err, it->line, it->col,
						   "result key '%s' selected twice (a result is a map: name "
						   "one of them with AS)", o->name);
		}
	}
	q->star_skip = star && q->nout > 1;
	return 0;
}

static int plan_outputs(struct sp_query *q, struct dp_err *err)
{
	struct sp_select *s = &q->st->sel;
	q->outs = calloc(s->nitems, sizeof(*q->outs));
	q->aggs = calloc(s->nitems, sizeof(*q->aggs));
	if (!q->outs || !q->aggs)
		return dp_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < s->nitems; i++)
		if (s->items[i].kind == SP_ITEM_CALL && sp_fn_is_agg(s->items[i].call.fn))
			q->aggregating = true;
	if (s->ngroup && !q->aggregating)
		return sp_plan_err(err, s->from_line, s->from_col, "GROUP BY needs an aggregate function");
	if (s->having && !q->aggregating)
		return sp_plan_err(err, s->having->line, s->having->col,
			    "HAVING needs an aggregate function");
	if (s->limit >= 0 && !q->aggregating)
		return sp_plan_err(err, s->from_line, s->from_col,
			    "LIMIT applies to aggregating queries only");
	for (unsigned i = 0; i < s->ngroup; i++) {
		int sl = slot_of(q, &s->group[i]);
		if (sl < 0)
			return dp_err_set(err, -EINVAL, "more than 64 keys in one query");
	}
	q->group_slot = calloc(s->ngroup + 1, sizeof(unsigned));
	if (!q->group_slot)
		return dp_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < s->ngroup; i++)
		q->group_slot[i] = (unsigned)slot_of(q, &s->group[i]);
	q->ngroup = s->ngroup;

	for (unsigned i = 0; i < s->nitems; i++) {
		struct sp_item *it = &s->items[i];
		struct sp_out *o = &q->outs[q->nout++];
		o->slot = o->group = o->agg = -1;
		switch (it->kind) {
		case SP_ITEM_STAR:
			if (q->aggregating)
				return sp_plan_err(err, it->line, it->col,
					    "'*' cannot be selected beside aggregate functions");
			o->kind = SP_OUT_STAR;
			break;
		case SP_ITEM_KEY:
			o->kind = SP_OUT_KEY;
			o->name = it->alias ? it->alias : it->key.text;
			if (q->aggregating) {
				for (unsigned g = 0; g < s->ngroup; g++)
					if (key_eq(&s->group[g], &it->key))
						o->group = (int)g;
				if (o->group < 0)
					return sp_plan_err(err, it->line, it->col,
						    "'%s' must appear in GROUP BY to be selected beside aggregate functions",
						    it->key.text);
			} else if ((o->slot = slot_of(q, &it->key)) < 0) {
				return dp_err_set(err, -EINVAL, "more than 64 keys in one query");
			}
			break;
		case SP_ITEM_CALL:
			o->name = it->alias ? it->alias : it->call.text;
			if (!sp_fn_is_agg(it->call.fn)) {
				o->kind = SP_OUT_FN;
				o->fn = it->call.fn;
				if (q->aggregating && (o->fn == SP_FN_RECORD_TAG || o->fn == SP_FN_RECORD_TIME))
					return sp_plan_err(err, it->line, it->col,
						    "%s belongs to one record, not to an aggregate",
						    it->call.text);
				break;
			}
			o->kind = SP_OUT_AGG;
			o->agg = (int)q->nagg;
			struct sp_agg *a = &q->aggs[q->nagg++];
			a->fn = it->call.fn;
			a->slot = -1;
			a->arg2 = it->call.arg2;
			a->word = q->nwords;
			q->nwords += agg_words(a->fn);
			if (it->call.has_key && (a->slot = slot_of(q, &it->call.key)) < 0)
				return dp_err_set(err, -EINVAL, "more than 64 keys in one query");
			break;
		}
		if (o->name)
			o->name_len = strlen(o->name);
	}
	return plan_names(q, s, err);
}

/* Most windows of one task a shard may hold open with event time (they
 * stay open until the watermark passes them: lateness / advance more). */
#define OPEN_MAX 1024
/* Windows beyond (lateness + size) / advance that event time may open
 * between two ticks, when it runs ahead (replayed logs). */
#define OPEN_SLACK 8

/* Event time (ON) and session windows (sp_win.h). */
static int plan_window(struct sp_query *q, struct sp_select *s, struct dp_err *err)
{
	if (s->win == SP_WIN_SESSION) {
		for (unsigned i = 0; i < q->nagg; i++)
			if (q->aggs[i].fn == SP_FN_FORECAST)
				return sp_plan_err(err, s->win_line, s->win_col,
					    "TIMESERIES_FORECAST cannot be used with SESSION windows");
		if (s->limit >= 0)
			return sp_plan_err(err, s->win_line, s->win_col,
				    "LIMIT cannot be used with SESSION windows");
		q->session = true;
		q->gap_ns = s->win_size_s * 1000000000ull;
		/* Buckets of gap/4 (1 s at least, the gap at most): records of
		 * one bucket are within the gap of each other, so a shard may
		 * sum them; a session is emitted at most a bucket after its
		 * gap ran out. */
		uint64_t b = q->gap_ns / 4;
		if (b < 1000000000ull)
			b = q->gap_ns < 1000000000ull ? q->gap_ns : 1000000000ull;
		q->size_ns = q->adv_ns = b;
		q->overlap = q->open_max = 1;
		q->ses_word = q->nwords;
		q->nwords += 2;
	}
	if (s->win_on) {
		q->evt = true;
		q->lateness_ns = s->win_lateness_s * 1000000000ull;
		if (!s->win_on_rtime) {
			int sl = slot_of(q, &s->win_on_key);
			if (sl < 0)
				return dp_err_set(err, -EINVAL, "more than 64 keys in one query");
			q->evt_slot = sl;
		}
		uint64_t open = (q->lateness_ns + q->size_ns + q->adv_ns - 1) / q->adv_ns + 1;
		if (open > OPEN_MAX)
			return sp_plan_err(err, s->win_line, s->win_col,
				    "LATENESS too long for the window: %llu windows would be open at once (at most %d)",
				    (unsigned long long)open, OPEN_MAX);
		q->open_max = (unsigned)open + OPEN_SLACK;
	}
	q->win_x = q->evt || q->session;
	return 0;
}

/* Input named or aliased name, or -1. */
static int input_named(const struct sp_inputs *in, const char *name)
{
	for (unsigned i = 0; in && i < in->n; i++)
		if ((in->alias && in->alias[i] && strcmp(in->alias[i], name) == 0) ||
		    (in->name && in->name[i] && strcmp(in->name[i], name) == 0))
			return (int)i;
	return -1;
}

int sp_plan(struct sp_query *q, struct sp_stmt *st, struct sp_stmt *const *tasks,
	    unsigned ntasks, const struct sp_inputs *inputs, struct dp_err *err)
{
	int rc;
	struct sp_select *s = &st->sel;
	q->st = st;
	q->limit = s->limit;
	if ((st->kind == SP_ST_CREATE_SNAPSHOT || st->kind == SP_ST_FLUSH_SNAPSHOT) &&
	    (rc = sp_snap_plan(q, st, tasks, ntasks, err)))
		return rc;
	q->from_stream = s->from_stream;
	q->from_task = -1;
	q->from_input = -1;
	if (s->from_stream) {
		for (unsigned i = 0; i < ntasks; i++)
			if (tasks[i] && ((tasks[i]->kind == SP_ST_CREATE_STREAM &&
					  strcmp(tasks[i]->name, s->from) == 0) ||
					 sp_snap_stream_is(tasks[i], s->from)))
				q->from_task = (int)i;
		/* Fluent Bit: STREAM:name is also an input, by its Alias or
		 * its instance name. */
		if (q->from_task < 0 && (q->from_input = input_named(inputs, s->from)) >= 0)
			goto from_done;
		if (q->from_task < 0)
			return sp_plan_err(err, s->from_line, s->from_col, "unknown stream '%s'", s->from);
		if ((unsigned)q->from_task == q->idx)
			return sp_plan_err(err, s->from_line, s->from_col, "a stream cannot read itself");
	} else {
		q->pattern = s->from;
	}
from_done:
	if ((rc = plan_outputs(q, err)))
		return rc;
	if (s->where && (rc = compile(q, s->where, false, &q->where, err)))
		return rc;
	if (s->having && (rc = compile(q, s->having, true, &q->having, err)))
		return rc;
	if (q->aggregating) {
		/* Without WINDOW Fluent Bit aggregates whatever chunk it holds;
		 * a chunk means nothing across shards, so sluice uses a 1 s
		 * tumbling window (docs/SQL.md). */
		uint64_t size = s->win == SP_WIN_NONE ? 1 : s->win_size_s;
		uint64_t adv = s->win == SP_WIN_NONE ? 1 : s->win_advance_s;
		q->size_ns = size * 1000000000ull;
		q->adv_ns = adv * 1000000000ull;
		q->overlap = (unsigned)((size + adv - 1) / adv);
		q->open_max = q->overlap;
		q->evt_slot = -1;
		if ((rc = plan_window(q, s, err)))
			return rc;
	}
	return 0;
}

void sp_plan_fini(struct sp_query *q)
{
	free(q->slots);
	free(q->slot_name_len);
	free(q->where.ins);
	free(q->where.consts);
	free(q->having.ins);
	free(q->having.consts);
	free(q->group_slot);
	free(q->aggs);
	free(q->outs);
}

void sp_slots_load(const struct sp_query *q, const struct dp_chunk *c, const struct dp_rec *r,
		   struct sp_val *v)
{
	unsigned ns = q->nslots, left = ns;
	for (unsigned j = 0; j < ns; j++) {
		v[j].t = SP_V_MISSING;
		v[j].f = NULL;
	}
	const struct dp_field *f = dp_rec_fields(c, r);
	/* One pass over the record's fields for all slots; the first field
	 * of a name wins, as dp_rec_field_get. */
	for (unsigned i = 0; i < r->nfields && left; i++) {
		for (unsigned j = 0; j < ns; j++) {
			if (v[j].t != SP_V_MISSING || v[j].f || f[i].key_len != q->slot_name_len[j])
				continue;
			if (memcmp(c->data + f[i].key_off, q->slots[j]->name, f[i].key_len))
				continue;
			left--;
			const struct sp_key *k = q->slots[j];
			if (k->nsub == 0) {
				sp_val_from_field(&v[j], c, &f[i]);
			} else if (f[i].type != DP_T_MAP) {
				memset(&v[j], 0, sizeof(v[j]));
				v[j].f = &f[i];
			} else {
				sp_val_nested(&v[j], c->data + f[i].val_off, f[i].val_len, k->sub, k->nsub);
				v[j].f = &f[i]; /* found the top: do not look again */
			}
		}
	}
	for (unsigned j = 0; j < ns; j++)
		if (q->slots[j]->nsub)
			v[j].f = NULL;
}
