/*
 * flt_nest.c — Fluent Bit's `nest` filter: move fields into a map under
 * one key (Operation nest) or a map's pairs up to the top (Operation lift).
 *
 * Semantics of Fluent Bit's plugins/filter_nest/nest.c:
 *   - nest: the fields whose key matches a Wildcard (exact, or a prefix
 *     when it ends in '*'; case-sensitive) leave the record, in order, and
 *     become the pairs of a map appended under Nest_under. A record with no
 *     such field is unchanged.
 *   - lift: a field named Nested_under whose value is a map is replaced by
 *     that map's pairs, appended after the other fields. A value that is
 *     not a map is left alone.
 *   - the keys moved (nested or lifted) lose Remove_prefix when they start
 *     with it, or gain Add_prefix; the two are exclusive.
 * Where Fluent Bit writes a key twice, sluice does not:
 *   - nest with a Nest_under key already in the record (not itself
 *     nested): Fluent Bit writes a second key of that name. Here, when
 *     that value is a map its pairs come first in the new map (a nested
 *     pair of the same key replaces one); when it is not a map the record
 *     is left unchanged and counted (`conflict`).
 *   - lift of a pair whose key the record has at the top already: the
 *     lifted value replaces the old field.
 * docs/OPERATIONS.md says both.
 *
 * The record is the tail of its chunk (dp_edit.h): the new fields are
 * appended, the moved ones removed in one pass (flt_tail_compact). No
 * allocation per record.
 *
 * Threads: setup/teardown on the control thread; contexts and nest_record
 * on their shard.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_filter.h"
#include "flt_util.h"

enum { OP_NEST, OP_LIFT };

struct nest_cfg {
	int operation;
	char *wildcard;        /* the last one; setup walks every kv */
	char *nest_under, *nested_under, *add_prefix, *remove_prefix;
};

#define C(f) offsetof(struct nest_cfg, f)

static const struct dp_opt nest_opts[] = {
	{ "Operation", DP_OPT_ENUM, NULL, C(operation), "nest|lift", 0, 0, DP_OPT_REQUIRED,
	  "nest: move the fields matching Wildcard into a map under Nest_under; lift: replace the "
	  "map under Nested_under by its pairs" },
	{ "Wildcard", DP_OPT_STR, NULL, C(wildcard), NULL, 0, 0, 0,
	  "nest: a key to move, or a prefix when it ends in '*' (case-sensitive). Repeats" },
	{ "Nest_under", DP_OPT_STR, NULL, C(nest_under), NULL, 0, 0, 0,
	  "nest: the key of the new map" },
	{ "Nested_under", DP_OPT_STR, NULL, C(nested_under), NULL, 0, 0, 0,
	  "lift: the key of the map whose pairs move up" },
	{ "Add_prefix", DP_OPT_STR, NULL, C(add_prefix), NULL, 0, 0, 0,
	  "prefix the keys moved with this string" },
	{ "Remove_prefix", DP_OPT_STR, NULL, C(remove_prefix), NULL, 0, 0, 0,
	  "remove this prefix from the keys moved that start with it" },
	{ NULL },
};

struct nest_wc {
	char *k;
	size_t len;
	bool prefix;
};

struct nest_priv {
	int op;
	struct nest_wc *wc;
	unsigned nwc;
	const char *key;       /* Nest_under or Nested_under */
	size_t klen;
	const char *pfx;       /* Add_prefix or Remove_prefix, or NULL */
	size_t plen;
	bool add;
};

struct nest_shard {
	const struct nest_priv *p;
	uint64_t conflict;     /* nest: Nest_under held a value that is not a map */
	uint64_t nospace;      /* edits skipped: the chunk was full */
	bool keep[UINT16_MAX];
	char key[UINT16_MAX];  /* lift: a key with Add_prefix */
} dp_cache_aligned;

static void priv_free(struct nest_priv *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->nwc; i++)
		free(p->wc[i].k);
	free(p->wc);
	free(p);
}

static int nest_setup(struct dp_filter *f, struct dp_err *err)
{
	const struct nest_cfg *cfg = f->cfg;
	struct nest_priv *p = calloc(1, sizeof(*p));
	if (!p || !(p->wc = calloc(f->sec->nkv + 1, sizeof(*p->wc)))) {
		priv_free(p);
		return dp_filter_err(f, err, -ENOMEM, "out of memory");
	}
	p->op = cfg->operation;
	int rc = 0;
	for (unsigned i = 0; i < f->sec->nkv && !rc; i++) {
		const struct dp_conf_kv *kv = &f->sec->kv[i];
		if (strcasecmp(kv->key, "Wildcard"))
			continue;
		struct nest_wc *w = &p->wc[p->nwc++];
		w->len = strlen(kv->val);
		w->prefix = w->len && kv->val[w->len - 1] == '*';
		w->len -= w->prefix;
		if (!(w->k = strndup(kv->val, w->len)))
			rc = dp_filter_kv_err(f, kv, err, -ENOMEM, "out of memory");
	}
	if (!rc && cfg->add_prefix && cfg->remove_prefix)
		rc = dp_filter_err(f, err, -EINVAL, "Add_prefix and Remove_prefix are exclusive");
	if (!rc && p->op == OP_NEST && (!p->nwc || !cfg->nest_under))
		rc = dp_filter_err(f, err, -EINVAL,
				   "Operation nest needs 'Wildcard' and 'Nest_under'");
	if (!rc && p->op == OP_LIFT && !cfg->nested_under)
		rc = dp_filter_err(f, err, -EINVAL, "Operation lift needs 'Nested_under'");
	if (rc) {
		priv_free(p);
		return rc;
	}
	p->key = p->op == OP_NEST ? cfg->nest_under : cfg->nested_under;
	p->klen = strlen(p->key);
	p->add = cfg->add_prefix != NULL;
	p->pfx = p->add ? cfg->add_prefix : cfg->remove_prefix;
	p->plen = p->pfx ? strlen(p->pfx) : 0;
	f->priv = p;
	return 0;
}

static void nest_teardown(struct dp_filter *f)
{
	priv_free(f->priv);
	f->priv = NULL;
}

static void *nest_shard_create(struct dp_filter *f, unsigned shard)
{
	(void)shard;
	struct nest_shard *s = aligned_alloc(DP_CACHE_LINE, sizeof(*s));
	if (s) {
		memset(s, 0, offsetof(struct nest_shard, keep));
		s->p = f->priv;
	}
	return s;
}

static void nest_shard_destroy(void *ctx)
{
	free(ctx);
}

static bool wc_match(const struct nest_priv *p, const char *k, size_t n)
{
	for (unsigned i = 0; i < p->nwc; i++) {
		const struct nest_wc *w = &p->wc[i];
		if ((w->prefix ? n >= w->len : n == w->len) && !memcmp(k, w->k, w->len))
			return true;
	}
	return false;
}

/* A moved key as it will be written: Remove_prefix cut (the part kept is
 * [*k, *k + *n)), or Add_prefix to write before it (*pre). */
static void key_moved(const struct nest_priv *p, const char **k, size_t *n, const char **pre,
		      size_t *plen)
{
	*pre = NULL;
	*plen = 0;
	if (!p->pfx)
		return;
	if (p->add) {
		*pre = p->pfx;
		*plen = p->plen;
	} else if (*n >= p->plen && !memcmp(*k, p->pfx, p->plen)) {
		*k += p->plen;
		*n -= p->plen;
	}
}

static bool moved_eq(const struct nest_priv *p, const char *k, size_t n, const char *other,
		     size_t on)
{
	const char *pre;
	size_t pl;
	key_moved(p, &k, &n, &pre, &pl);
	return pl + n == on && !memcmp(other, pre ? pre : "", pl) && !memcmp(other + pl, k, n);
}

/* The key of a moved pair, raw (inside a map). */
static void put_key(struct dp_chunk *c, const struct nest_priv *p, const char *k, size_t n)
{
	const char *pre;
	size_t pl;
	key_moved(p, &k, &n, &pre, &pl);
	uint8_t *w = dp_chunk_reserve(c, 5 + pl + n);
	if (!w)
		return;
	uint32_t h = dp_mp_str_hdr(w, pl + n);
	if (pl)
		memcpy(w + h, pre, pl);
	memcpy(w + h + pl, k, n);
	dp_chunk_commit(c, h + pl + n);
}

/* A field's value as a raw msgpack object. */
static void put_value(struct dp_chunk *c, const struct dp_field *f)
{
	const char *v = dp_field_val(c, f);
	if (f->type == DP_T_STR) {
		dp_mp_str(c, v, f->val_len);
	} else if (f->type == DP_T_BIN) {
		uint8_t *w = dp_chunk_reserve(c, 5 + f->val_len);
		if (!w)
			return;
		w[0] = 0xc6;
		w[1] = (uint8_t)(f->val_len >> 24);
		w[2] = (uint8_t)(f->val_len >> 16);
		w[3] = (uint8_t)(f->val_len >> 8);
		w[4] = (uint8_t)f->val_len;
		memcpy(w + 5, v, f->val_len);
		dp_chunk_commit(c, 5 + f->val_len);
	} else {
		dp_chunk_write(c, v, f->val_len);
	}
}

/* Walk the pairs of the map object at m (n bytes): calls fn(key, klen,
 * value object, its size) for each pair with a string key; false when the
 * map is malformed. */
typedef void (*pair_fn)(void *arg, const char *k, size_t kn, const uint8_t *v, size_t vn);

static bool map_pairs(const uint8_t *m, size_t n, pair_fn fn, void *arg)
{
	uint32_t cnt;
	size_t hdr;
	if (!dp_mp_container(m, n, true, &cnt, &hdr))
		return false;
	const uint8_t *q = m + hdr, *end = m + n;
	for (uint32_t i = 0; i < cnt; i++) {
		size_t ks = dp_mp_object_size(q, (size_t)(end - q));
		if (!ks)
			return false;
		size_t vs = dp_mp_object_size(q + ks, (size_t)(end - q - ks));
		if (!vs)
			return false;
		bool bin;
		size_t kh, kl;
		if (dp_mp_strbin(q, ks, &bin, &kh, &kl))
			fn(arg, (const char *)q + kh, kl, q + ks, vs);
		q += ks + vs;
	}
	return true;
}

/* ---- nest ---- */

struct merge {
	struct dp_chunk *c;
	const struct nest_priv *p;
	const struct dp_field *fs;
	const bool *keep;      /* false: the field is nested */
	unsigned n;
	int old;               /* the field already under Nest_under */
	uint32_t count;
};

/* A pair of the map already under Nest_under: kept unless a nested field
 * gives its key again. */
static void merge_pair(void *arg, const char *k, size_t kn, const uint8_t *v, size_t vn)
{
	struct merge *m = arg;
	for (unsigned i = 0; i < m->n; i++)
		if (!m->keep[i] && (int)i != m->old &&
		    moved_eq(m->p, dp_field_key(m->c, &m->fs[i]), m->fs[i].key_len, k, kn))
			return;
	dp_mp_str(m->c, k, kn);
	dp_chunk_write(m->c, v, vn);
	m->count++;
}

static int do_nest(struct nest_shard *s, struct dp_chunk *c)
{
	const struct nest_priv *p = s->p;
	const struct dp_field *fs = flt_fields(c);
	unsigned n = dp_tail_nfields(c), moved = 0;
	int old = -1;
	size_t need = flt_pair_size(p->klen, 0);
	for (unsigned i = 0; i < n; i++) {
		const char *k = dp_field_key(c, &fs[i]);
		bool m = wc_match(p, k, fs[i].key_len);
		s->keep[i] = !m;
		if (m) {
			moved++;
			need += flt_pair_size(fs[i].key_len + p->plen, fs[i].val_len);
		} else if (fs[i].key_len == p->klen && !memcmp(k, p->key, p->klen)) {
			old = (int)i;
		}
	}
	if (!moved)
		return DP_FILTER_KEEP;
	if (old >= 0) {
		if (fs[old].type != DP_T_MAP) {
			s->conflict++;
			return DP_FILTER_KEEP;
		}
		need += fs[old].val_len;
	}
	if (!flt_room(c, need, 1)) {
		s->nospace++;
		return DP_FILTER_KEEP;
	}
	bool r = flt_append_begin(c);
	fs = flt_fields(c);
	dp_chunk_field_begin(c, p->key, p->klen);
	uint32_t h = dp_mp_map_open(c);
	struct merge m = { c, p, fs, s->keep, n, old, 0 };
	if (old >= 0) {
		s->keep[old] = false;
		map_pairs(c->data + fs[old].val_off, fs[old].val_len, merge_pair, &m);
	}
	for (unsigned i = 0; i < n; i++) {
		if (s->keep[i] || (int)i == old)
			continue;
		put_key(c, p, dp_field_key(c, &fs[i]), fs[i].key_len);
		put_value(c, &fs[i]);
		m.count++;
	}
	dp_mp_container_patch(c, h, m.count);
	dp_chunk_field_end(c, DP_T_MAP);
	flt_append_end(c, r);
	s->keep[n] = true;
	flt_tail_compact(c, s->keep);
	return DP_FILTER_KEEP;
}

/* ---- lift ---- */

struct lift {
	struct dp_chunk *c;
	const struct nest_priv *p;
	struct nest_shard *s;
	bool *keep;
	unsigned n;            /* fields before the lift */
	size_t need;
	unsigned count;
	bool write;
};

/* A lifted pair: sized first (write false), then appended; a top-level
 * field of the same key is dropped (the lifted value wins). */
static void lift_pair(void *arg, const char *k, size_t kn, const uint8_t *v, size_t vn)
{
	struct lift *l = arg;
	if (!l->write) {
		l->need += flt_pair_size(kn + l->p->plen, vn);
		l->count++;
		const struct dp_field *fs = flt_fields(l->c);
		for (unsigned i = 0; i < l->n; i++)
			if (l->keep[i] && moved_eq(l->p, k, kn, dp_field_key(l->c, &fs[i]), fs[i].key_len))
				l->keep[i] = false;
		return;
	}
	const char *pre;
	size_t pl;
	key_moved(l->p, &k, &kn, &pre, &pl);
	if (pl) {
		/* the new key whole: Add_prefix and the old key */
		if (pl + kn > sizeof(l->s->key)) {
			l->c->overflow = true;
			return;
		}
		memcpy(l->s->key, pre, pl);
		memcpy(l->s->key + pl, k, kn);
		k = l->s->key;
	}
	dp_chunk_field_begin(l->c, k, pl + kn);
	dp_chunk_write(l->c, v, vn);
	dp_chunk_field_end(l->c, dp_mp_type(v, vn));
}

static int do_lift(struct nest_shard *s, struct dp_chunk *c)
{
	const struct nest_priv *p = s->p;
	const struct dp_field *fs = flt_fields(c);
	unsigned n = dp_tail_nfields(c), maps = 0;
	struct lift l = { c, p, s, s->keep, n, 0, 0, false };
	for (unsigned i = 0; i < n; i++)
		s->keep[i] = true;
	for (unsigned i = 0; i < n; i++) {
		if (fs[i].type != DP_T_MAP || fs[i].key_len != p->klen ||
		    memcmp(dp_field_key(c, &fs[i]), p->key, p->klen))
			continue;
		s->keep[i] = false;
		maps++;
		if (!map_pairs(c->data + fs[i].val_off, fs[i].val_len, lift_pair, &l)) {
			s->keep[i] = true;   /* malformed: leave it */
			maps--;
		}
	}
	if (!maps)
		return DP_FILTER_KEEP;
	if (!flt_room(c, l.need, l.count)) {
		s->nospace++;
		return DP_FILTER_KEEP;
	}
	bool r = flt_append_begin(c);
	fs = flt_fields(c);
	l.write = true;
	for (unsigned i = 0; i < n; i++)
		if (!s->keep[i] && fs[i].type == DP_T_MAP && fs[i].key_len == p->klen &&
		    !memcmp(dp_field_key(c, &fs[i]), p->key, p->klen))
			map_pairs(c->data + fs[i].val_off, fs[i].val_len, lift_pair, &l);
	flt_append_end(c, r);
	for (unsigned i = n; i < n + l.count; i++)
		s->keep[i] = true;
	flt_tail_compact(c, s->keep);
	return DP_FILTER_KEEP;
}

static int nest_record(void *ctx, struct dp_fx *fx)
{
	struct nest_shard *s = ctx;
	return s->p->op == OP_NEST ? do_nest(s, fx->c) : do_lift(s, fx->c);
}

const struct dp_filter_ops flt_nest_ops = {
	.name = "nest",
	.desc = "move fields into a map under one key, or a map's pairs up to the top (Fluent Bit's "
		"nest)",
	.opts = nest_opts,
	.cfg_size = sizeof(struct nest_cfg),
	.setup = nest_setup,
	.shard_ctx_create = nest_shard_create,
	.shard_ctx_destroy = nest_shard_destroy,
	.record = nest_record,
	.teardown = nest_teardown,
};
