/*
 * flt_nest.c — Fluent Bit's `nest` filter: move top-level fields under a
 * new map (Operation nest) or lift the fields of a nested map to the top
 * level (Operation lift), optionally adding or removing a key prefix.
 *
 * Semantics of Fluent Bit's plugins/filter_nest/nest.c:
 *   - Wildcard repeats; a trailing '*' matches a prefix, otherwise the key
 *     must be equal; keys compare case-sensitively.
 *   - nest: the fields that do not match keep their order, then comes the
 *     Nest_under map holding the matched fields in their order (keys with
 *     Add_prefix prepended or Remove_prefix removed). Nothing matched: the
 *     record is unchanged.
 *   - lift: the fields other than the Nested_under maps keep their order,
 *     then come the fields of every Nested_under map (a Nested_under whose
 *     value is not a map stays as it is), keys with the prefix rule.
 *   - Add_prefix (old name Prefix_with) and Remove_prefix are exclusive;
 *     Operation is "nest" or "lift".
 * Better than Fluent Bit (docs/OPERATIONS.md, Differences): no map with
 * duplicate keys is ever written. nest when a top-level Nest_under already
 * exists: a map is merged (its fields first, a nested field of the same
 * key replacing its own), any other value is replaced; Fluent Bit writes
 * the key twice. lift when a lifted key already exists at the top level or
 * in an earlier lifted map: the later value wins (Fluent Bit writes both).
 * A nested map with a key that is not a string is not lifted.
 * Missing Nest_under (nest), Nested_under (lift) or Wildcard (nest) is a
 * start-up error here; Fluent Bit starts and then fails on every record.
 *
 * Records are edited in place at the tail of their chunk: the kept fields
 * are compacted, then the new fields are appended from a per-shard
 * scratch copy (the record's bytes are at most a chunk). Nested maps are
 * written with the 32-bit header sluice writes nested containers with.
 * When the result does not fit in the chunk, the record is kept unchanged
 * and counted (nospace).
 *
 * Threads: setup/teardown on the control thread; shard contexts and
 * nest_record on their shard.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_filter.h"
#include "flt_util.h"

struct nest_cfg {
	char *operation, *wildcard, *nest_under, *nested_under, *add_prefix, *prefix_with,
		*remove_prefix;
};

static const struct dp_opt nest_opts[] = {
	{ "Operation", DP_OPT_STR, NULL, offsetof(struct nest_cfg, operation), NULL, 0, 0,
	  DP_OPT_REQUIRED, "`nest` (move matching fields under a map) or `lift` (move a map's fields "
	  "to the top level)" },
	{ "Wildcard", DP_OPT_STR, NULL, offsetof(struct nest_cfg, wildcard), NULL, 0, 0, 0,
	  "nest: the keys to move (exact, or a prefix with a trailing '*'). Repeats" },
	{ "Nest_under", DP_OPT_STR, NULL, offsetof(struct nest_cfg, nest_under), NULL, 0, 0, 0,
	  "nest: the key of the new map" },
	{ "Nested_under", DP_OPT_STR, NULL, offsetof(struct nest_cfg, nested_under), NULL, 0, 0, 0,
	  "lift: the key of the map whose fields go to the top level" },
	{ "Add_prefix", DP_OPT_STR, NULL, offsetof(struct nest_cfg, add_prefix), NULL, 0, 0, 0,
	  "prepend this to the keys moved; exclusive with Remove_prefix" },
	{ "Prefix_with", DP_OPT_STR, NULL, offsetof(struct nest_cfg, prefix_with), NULL, 0, 0,
	  DP_OPT_HIDDEN, "old name of Add_prefix" },
	{ "Remove_prefix", DP_OPT_STR, NULL, offsetof(struct nest_cfg, remove_prefix), NULL, 0, 0, 0,
	  "remove this prefix from the keys moved that start with it" },
	{ NULL },
};

struct nest_wc {
	char *k;
	size_t len;
	bool prefix;
};

struct nest_priv {
	bool lift;
	struct nest_wc *wc;
	unsigned nwc;
	char *key;              /* Nest_under or Nested_under */
	size_t klen;
	char *prefix;           /* Add_prefix or Remove_prefix, or NULL */
	size_t plen;
	bool remove;            /* prefix is Remove_prefix */
};

/* One field to append: its new key and its value's msgpack bytes, both in
 * the scratch buffer. */
struct nest_item {
	uint32_t koff, voff, vlen;
	uint16_t klen;
	bool dead;              /* replaced by a later item of the same key */
};

/* A set of the items' keys, to find duplicates in one pass instead of
 * comparing every pair (a record of thousands of fields would otherwise
 * cost a shard milliseconds). Open addressing over twice as many slots as
 * a record can have fields; a slot is live when its generation is the
 * set's, so emptying the set is one increment. */
#define NEST_SLOTS (1u << 17)

struct nest_slot {
	uint32_t gen;
	uint32_t item;
};

struct nest_shard {
	const struct nest_priv *p;
	uint64_t nospace;       /* records left unchanged: the result did not fit */
	uint8_t *scratch;       /* DP_CHUNK_DATA bytes */
	struct nest_item *items;  /* UINT16_MAX */
	struct nest_slot *slots;  /* NEST_SLOTS */
	uint32_t gen;
	bool keep[UINT16_MAX];
} dp_cache_aligned;

static void priv_free(struct nest_priv *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->nwc; i++)
		free(p->wc[i].k);
	free(p->wc);
	free(p->key);
	free(p->prefix);
	free(p);
}

static int nest_setup(struct dp_filter *f, struct dp_err *err)
{
	const struct dp_conf_section *s = f->sec;
	struct nest_priv *p = calloc(1, sizeof(*p));
	if (!p || !(p->wc = calloc(s->nkv + 1, sizeof(*p->wc)))) {
		priv_free(p);
		return dp_filter_err(f, err, -ENOMEM, "out of memory");
	}
	const struct dp_conf_kv *op = NULL, *key = NULL, *add = NULL, *rem = NULL, *wc = NULL;
	int rc = 0;
	for (unsigned i = 0; i < s->nkv && !rc; i++) {
		const struct dp_conf_kv *kv = &s->kv[i];
		if (!strcasecmp(kv->key, "Operation")) {
			op = kv;
		} else if (!strcasecmp(kv->key, "Nest_under") || !strcasecmp(kv->key, "Nested_under")) {
			/* one key in Fluent Bit too: the last one set wins */
			key = kv;
		} else if (!strcasecmp(kv->key, "Add_prefix") || !strcasecmp(kv->key, "Prefix_with")) {
			add = kv;
		} else if (!strcasecmp(kv->key, "Remove_prefix")) {
			rem = kv;
		} else if (!strcasecmp(kv->key, "Wildcard")) {
			struct nest_wc *w = &p->wc[p->nwc++];
			w->len = strlen(kv->val);
			if (!w->len) {
				rc = dp_filter_kv_err(f, kv, err, -EINVAL, "Wildcard: empty key");
				break;
			}
			w->prefix = kv->val[w->len - 1] == '*';
			w->len -= w->prefix;
			if (!(w->k = strndup(kv->val, w->len)))
				rc = dp_filter_kv_err(f, kv, err, -ENOMEM, "out of memory");
			wc = kv;
		}
	}
	if (rc)
		goto fail;
	if (strcmp(op->val, "nest") && strcmp(op->val, "lift")) {
		rc = dp_filter_kv_err(f, op, err, -EINVAL,
				      "Operation: '%s' is neither 'nest' nor 'lift'", op->val);
		goto fail;
	}
	p->lift = !strcmp(op->val, "lift");
	const char *kname = p->lift ? "Nested_under" : "Nest_under";
	if (!key || strcasecmp(key->key, kname)) {
		rc = key ? dp_filter_kv_err(f, key, err, -EINVAL, "%s: Operation %s needs %s",
					    key->key, op->val, kname)
			 : dp_filter_kv_err(f, op, err, -EINVAL, "Operation %s needs %s", op->val,
					    kname);
		goto fail;
	}
	if (!*key->val) {
		rc = dp_filter_kv_err(f, key, err, -EINVAL, "%s: empty key", key->key);
		goto fail;
	}
	if (!p->lift && !p->nwc) {
		rc = dp_filter_kv_err(f, op, err, -EINVAL, "Operation nest needs Wildcard");
		goto fail;
	}
	if (p->lift && wc) {
		rc = dp_filter_kv_err(f, wc, err, -EINVAL, "Wildcard: only for Operation nest");
		goto fail;
	}
	if (add && rem) {
		rc = dp_filter_kv_err(f, add->line > rem->line ? add : rem, err, -EINVAL,
				      "Add_prefix and Remove_prefix are exclusive");
		goto fail;
	}
	const struct dp_conf_kv *pre = add ? add : rem;
	if (pre && !*pre->val) {
		rc = dp_filter_kv_err(f, pre, err, -EINVAL, "%s: empty prefix", pre->key);
		goto fail;
	}
	p->klen = strlen(key->val);
	if (!(p->key = strdup(key->val)) || (pre && !(p->prefix = strdup(pre->val)))) {
		rc = dp_filter_err(f, err, -ENOMEM, "out of memory");
		goto fail;
	}
	p->plen = pre ? strlen(pre->val) : 0;
	p->remove = rem != NULL;
	f->priv = p;
	return 0;
fail:
	priv_free(p);
	return rc;
}

static void nest_teardown(struct dp_filter *f)
{
	priv_free(f->priv);
	f->priv = NULL;
}

static void nest_shard_destroy(void *ctx)
{
	struct nest_shard *s = ctx;
	if (!s)
		return;
	free(s->scratch);
	free(s->items);
	free(s->slots);
	free(s);
}

static void *nest_shard_create(struct dp_filter *f, unsigned shard)
{
	(void)shard;
	struct nest_shard *s = aligned_alloc(DP_CACHE_LINE, sizeof(*s));
	if (!s)
		return NULL;
	memset(s, 0, offsetof(struct nest_shard, keep));
	s->p = f->priv;
	s->scratch = malloc(DP_CHUNK_DATA);
	s->items = calloc(UINT16_MAX, sizeof(*s->items));
	s->slots = calloc(NEST_SLOTS, sizeof(*s->slots));
	if (!s->scratch || !s->items || !s->slots) {
		nest_shard_destroy(s);
		return NULL;
	}
	return s;
}

static bool wc_match(const struct nest_priv *p, const uint8_t *k, size_t klen)
{
	for (unsigned i = 0; i < p->nwc; i++) {
		const struct nest_wc *w = &p->wc[i];
		if ((w->prefix ? klen >= w->len : klen == w->len) && !memcmp(k, w->k, w->len))
			return true;
	}
	return false;
}

/* The key of a msgpack str (or bin) object at p (n bytes): its bytes and
 * length, or NULL when it is not one. */
static const uint8_t *mp_key(const uint8_t *p, size_t n, size_t *len)
{
	size_t h, l;
	if (!n)
		return NULL;
	if ((p[0] & 0xe0) == 0xa0) {
		h = 1, l = p[0] & 0x1f;
	} else if ((p[0] == 0xd9 || p[0] == 0xc4) && n >= 2) {
		h = 2, l = p[1];
	} else if ((p[0] == 0xda || p[0] == 0xc5) && n >= 3) {
		h = 3, l = dp_mp_rd16(p + 1);
	} else if ((p[0] == 0xdb || p[0] == 0xc6) && n >= 5) {
		h = 5, l = dp_mp_rd32(p + 1);
	} else {
		return NULL;
	}
	if (h + l > n || l > UINT16_MAX)
		return NULL;
	*len = l;
	return p + h;
}

/* The number of pairs of the msgpack map at p and where they start, or -1
 * when p is not a map. */
static int64_t mp_map(const uint8_t *p, size_t n, const uint8_t **pairs)
{
	if (!n)
		return -1;
	if ((p[0] & 0xf0) == 0x80) {
		*pairs = p + 1;
		return p[0] & 0x0f;
	}
	if (p[0] == 0xde && n >= 3) {
		*pairs = p + 3;
		return dp_mp_rd16(p + 1);
	}
	if (p[0] == 0xdf && n >= 5) {
		*pairs = p + 5;
		return dp_mp_rd32(p + 1);
	}
	return -1;
}

/* Scratch writer: the new key (prefix rule applied) and the value bytes. */
struct nest_out {
	struct nest_shard *s;
	uint32_t len;
	unsigned n;
	bool full;
};

static void out_item(struct nest_out *o, const uint8_t *k, size_t klen, const uint8_t *v,
		     size_t vlen, bool raw)
{
	const struct nest_priv *p = o->s->p;
	const uint8_t *pre = (const uint8_t *)p->prefix;
	size_t plen = 0;
	if (raw) {
		/* a merged map's own fields keep their keys */
	} else if (p->prefix && p->remove) {
		if (klen >= p->plen && !memcmp(k, p->prefix, p->plen)) {
			k += p->plen;
			klen -= p->plen;
		}
	} else if (p->prefix) {
		plen = p->plen;
	}
	if (o->full || o->n >= UINT16_MAX || plen + klen > UINT16_MAX ||
	    (size_t)o->len + plen + klen + vlen > DP_CHUNK_DATA) {
		o->full = true;
		return;
	}
	struct nest_item *it = &o->s->items[o->n++];
	uint8_t *w = o->s->scratch + o->len;
	it->koff = o->len;
	it->klen = (uint16_t)(plen + klen);
	it->dead = false;
	if (plen)
		memcpy(w, pre, plen);
	memcpy(w + plen, k, klen);
	memcpy(w + plen + klen, v, vlen);
	it->voff = o->len + (uint32_t)(plen + klen);
	it->vlen = (uint32_t)vlen;
	o->len += (uint32_t)(plen + klen + vlen);
}

/* The value object of field f, header included: pairs are contiguous, so
 * it starts where the key ends. */
static const uint8_t *field_obj(const struct dp_chunk *c, const struct dp_field *f, size_t *n)
{
	uint32_t start = f->key_off + f->key_len;
	*n = f->val_off + f->val_len - start;
	return c->data + start;
}

/* Walk the pairs of the map object m (n bytes), calling out_item for each
 * (raw: no prefix rule, for merged maps). false when a key is not a
 * string or the map is malformed. */
static bool map_walk(struct nest_out *o, const uint8_t *m, size_t n, bool raw, bool dry)
{
	const uint8_t *q;
	int64_t cnt = mp_map(m, n, &q);
	if (cnt < 0)
		return false;
	const uint8_t *end = m + n;
	for (int64_t i = 0; i < cnt; i++) {
		size_t klen, ksz = dp_mp_object_size(q, (size_t)(end - q));
		const uint8_t *k = ksz ? mp_key(q, ksz, &klen) : NULL;
		if (!k)
			return false;
		const uint8_t *v = q + ksz;
		size_t vsz = dp_mp_object_size(v, (size_t)(end - v));
		if (!vsz)
			return false;
		if (!dry)
			out_item(o, k, klen, v, vsz, raw);
		q = v + vsz;
	}
	return true;
}

static void set_clear(struct nest_shard *s)
{
	if (++s->gen == 0) {
		memset(s->slots, 0, NEST_SLOTS * sizeof(*s->slots));
		s->gen = 1;
	}
}

/* The item with key k in the set, or -1; add: insert `item` when absent. */
static int64_t set_get(struct nest_shard *s, const uint8_t *k, size_t klen, bool add,
		       uint32_t item)
{
	uint32_t h = 2166136261u;  /* FNV-1a */
	for (size_t i = 0; i < klen; i++)
		h = (h ^ k[i]) * 16777619u;
	for (uint32_t i = h & (NEST_SLOTS - 1);; i = (i + 1) & (NEST_SLOTS - 1)) {
		struct nest_slot *sl = &s->slots[i];
		if (sl->gen != s->gen) {
			if (add) {
				sl->gen = s->gen;
				sl->item = item;
			}
			return -1;
		}
		const struct nest_item *it = &s->items[sl->item];
		if (it->klen == klen && !memcmp(s->scratch + it->koff, k, klen))
			return sl->item;
	}
}

/* Later items replace earlier ones of the same key; the set is left
 * holding the live items' keys. Returns how many are live. */
static unsigned items_dedupe(struct nest_out *o)
{
	struct nest_shard *s = o->s;
	unsigned live = 0;
	set_clear(s);
	for (unsigned j = o->n; j-- > 0;) {
		struct nest_item *it = &s->items[j];
		it->dead = set_get(s, s->scratch + it->koff, it->klen, true, j) >= 0;
		live += !it->dead;
	}
	return live;
}

static int nest_do(struct nest_shard *s, struct dp_chunk *c)
{
	const struct nest_priv *p = s->p;
	struct dp_field *fs = flt_fields(c);
	unsigned n = dp_tail_nfields(c), matched = 0;
	int ex = -1;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *k = c->data + fs[i].key_off;
		s->keep[i] = !wc_match(p, k, fs[i].key_len);
		matched += !s->keep[i];
		if (s->keep[i] && ex < 0 && fs[i].key_len == p->klen && !memcmp(k, p->key, p->klen))
			ex = (int)i;
	}
	if (!matched)
		return DP_FILTER_KEEP;
	struct nest_out o = { .s = s };
	if (ex >= 0) {
		size_t vn;
		const uint8_t *v = field_obj(c, &fs[ex], &vn);
		if (fs[ex].type == DP_T_MAP && !map_walk(&o, v, vn, true, true))
			ex = -1;        /* a map we cannot merge: keep it */
		else if (fs[ex].type == DP_T_MAP)
			map_walk(&o, v, vn, true, false);
	}
	for (unsigned i = 0; i < n; i++) {
		if (s->keep[i])
			continue;
		size_t vn;
		const uint8_t *v = field_obj(c, &fs[i], &vn);
		out_item(&o, c->data + fs[i].key_off, fs[i].key_len, v, vn, false);
	}
	unsigned live = items_dedupe(&o);
	if (o.full || !flt_room(c, o.len + 10 * (size_t)live + p->klen + 10, 1)) {
		s->nospace++;
		return DP_FILTER_KEEP;
	}
	if (ex >= 0)
		s->keep[ex] = false;
	flt_tail_compact(c, s->keep);
	bool r = flt_append_begin(c);
	dp_chunk_field_begin(c, p->key, p->klen);
	uint32_t h = dp_mp_map_open(c);
	for (unsigned i = 0; i < o.n; i++) {
		const struct nest_item *it = &s->items[i];
		if (it->dead)
			continue;
		dp_mp_str(c, (const char *)s->scratch + it->koff, it->klen);
		dp_chunk_write(c, s->scratch + it->voff, it->vlen);
	}
	dp_mp_container_patch(c, h, live);
	dp_chunk_field_end(c, DP_T_MAP);
	flt_append_end(c, r);
	return DP_FILTER_KEEP;
}

static int lift_do(struct nest_shard *s, struct dp_chunk *c)
{
	const struct nest_priv *p = s->p;
	struct dp_field *fs = flt_fields(c);
	unsigned n = dp_tail_nfields(c), lifted = 0;
	struct nest_out o = { .s = s };
	for (unsigned i = 0; i < n; i++) {
		s->keep[i] = true;
		if (fs[i].type != DP_T_MAP || fs[i].key_len != p->klen ||
		    memcmp(c->data + fs[i].key_off, p->key, p->klen))
			continue;
		size_t vn;
		const uint8_t *v = field_obj(c, &fs[i], &vn);
		if (!map_walk(&o, v, vn, false, true))
			continue;
		map_walk(&o, v, vn, false, false);
		s->keep[i] = false;
		lifted++;
	}
	if (!lifted)
		return DP_FILTER_KEEP;
	unsigned live = items_dedupe(&o), removed = lifted;
	/* A lifted key replaces a top-level field of the same key. */
	for (unsigned i = 0; i < n; i++) {
		if (s->keep[i] && set_get(s, c->data + fs[i].key_off, fs[i].key_len, false, 0) >= 0) {
			s->keep[i] = false;
			removed++;
		}
	}
	if (o.full || n - removed + live > UINT16_MAX ||
	    !flt_room(c, o.len + 10 * (size_t)live, live > removed ? live - removed : 0)) {
		s->nospace++;
		return DP_FILTER_KEEP;
	}
	flt_tail_compact(c, s->keep);
	bool r = flt_append_begin(c);
	for (unsigned i = 0; i < o.n; i++) {
		const struct nest_item *it = &s->items[i];
		if (it->dead)
			continue;
		dp_chunk_field_begin(c, (const char *)s->scratch + it->koff, it->klen);
		dp_chunk_write(c, s->scratch + it->voff, it->vlen);
		dp_chunk_field_end(c, dp_mp_type_hdr(s->scratch[it->voff]));
	}
	flt_append_end(c, r);
	return DP_FILTER_KEEP;
}

static int nest_record(void *ctx, struct dp_fx *fx)
{
	struct nest_shard *s = ctx;
	return s->p->lift ? lift_do(s, fx->c) : nest_do(s, fx->c);
}

const struct dp_filter_ops flt_nest_ops = {
	.name = "nest",
	.desc = "move fields under a map or lift a map's fields to the top level (Fluent Bit's "
		"nest)",
	.opts = nest_opts,
	.cfg_size = sizeof(struct nest_cfg),
	.setup = nest_setup,
	.shard_ctx_create = nest_shard_create,
	.shard_ctx_destroy = nest_shard_destroy,
	.record = nest_record,
	.teardown = nest_teardown,
};
