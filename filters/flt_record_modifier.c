/*
 * flt_record_modifier.c — Fluent Bit's `record_modifier` filter: remove
 * fields (Remove_key) or keep only some (Allowlist_key, formerly
 * Whitelist_key), then append fixed pairs (Record) and a random UUID
 * (Uuid_key).
 *
 * Semantics of Fluent Bit's plugins/filter_record_modifier:
 *   - Remove_key and Allowlist_key compare keys case-insensitively; a
 *     trailing '*' makes the rest a prefix (`Remove_key Swap.*` removes
 *     every key starting with "swap.", any case). The two are exclusive (an error at start-up).
 *   - Record KEY VALUE appends the pair as a string, in configuration
 *     order, after the kept fields. VALUE is the rest of the line; a value
 *     wholly in double quotes loses them.
 *   - Uuid_key KEY appends a version 4 UUID, lowercase, after the Records.
 *   - Where KEY (of a Record or Uuid_key) already is in the record, Fluent
 *     Bit appends a second pair of the same key: a map with a duplicate
 *     key, which consumers resolve differently (most keep one at random).
 *     sluice replaces instead: the old pair is removed and the new one
 *     appended, as Fluent Bit's modify `Set` overwrites (keys compared
 *     case-sensitively, as a map's consumers do). Two Records of one KEY:
 *     the last wins. docs/OPERATIONS.md says so.
 * A Record with no value is an error here (Fluent Bit logs and skips it).
 *
 * The UUID comes from a per-shard xoshiro256** generator seeded once from
 * getrandom(2): no syscall per record. Its output is not meant to be
 * unpredictable to an attacker, only unique (2^122 random bits per UUID).
 *
 * Threads: setup/teardown on the control thread; shard contexts and
 * rm_record on their shard.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include "dp_filter.h"
#include "flt_util.h"

struct rm_cfg {
	char *record, *remove_key, *allowlist_key, *whitelist_key, *uuid_key;
};

static const struct dp_opt rm_opts[] = {
	{ "Record", DP_OPT_STR, NULL, offsetof(struct rm_cfg, record), NULL, 0, 0, 0,
	  "`Record KEY VALUE`: append the pair (VALUE is the rest of the line). Repeats, appended in "
	  "order" },
	{ "Remove_key", DP_OPT_STR, NULL, offsetof(struct rm_cfg, remove_key), NULL, 0, 0, 0,
	  "remove the fields with this key (case-insensitive; a trailing '*' matches a prefix). "
	  "Repeats; exclusive with Allowlist_key" },
	{ "Allowlist_key", DP_OPT_STR, NULL, offsetof(struct rm_cfg, allowlist_key), NULL, 0, 0, 0,
	  "keep only the fields with these keys (case-insensitive; a trailing '*' matches a prefix). "
	  "Repeats; exclusive with Remove_key" },
	{ "Whitelist_key", DP_OPT_STR, NULL, offsetof(struct rm_cfg, whitelist_key), NULL, 0, 0, 0,
	  "old name of Allowlist_key" },
	{ "Uuid_key", DP_OPT_STR, NULL, offsetof(struct rm_cfg, uuid_key), NULL, 0, 0, 0,
	  "append a random version 4 UUID to each record under this key" },
	{ NULL },
};

struct rm_key {
	char *k;
	size_t len;
	bool prefix;
};

struct rm_pair {
	char *k, *v;
	size_t klen, vlen;
};

struct rm_priv {
	struct rm_key *keys;    /* Remove_key or Allowlist_key patterns */
	unsigned nkeys;
	bool allow;             /* keys is an allowlist */
	struct rm_pair *recs;
	unsigned nrecs;
	/* The keys appended (Records, then Uuid_key), each once: an existing
	 * field of one of them is replaced, not duplicated. */
	struct rm_key *added;
	unsigned nadded;
	uint64_t added_lens;    /* bit l&63 set when some added key has length l */
	size_t recs_bytes;      /* room the Records need at most */
	char *uuid_key;
	size_t uuid_klen;
};

struct rm_shard {
	const struct rm_priv *p;
	uint64_t s[4];          /* xoshiro256** state */
	uint64_t nospace;       /* appends skipped because the chunk was full */
	bool keep[UINT16_MAX];  /* scratch: which fields stay (a map16 holds at most this many) */
} dp_cache_aligned;

static void priv_free(struct rm_priv *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->nkeys; i++)
		free(p->keys[i].k);
	for (unsigned i = 0; i < p->nrecs; i++) {
		free(p->recs[i].k);
		free(p->recs[i].v);
	}
	free(p->keys);
	free(p->recs);
	free(p->added);
	free(p->uuid_key);
	free(p);
}

/* "KEY VALUE..." into a pair: the key is the first word, the value the
 * rest with its blanks trimmed, quotes removed when they enclose it. */
static int record_parse(const char *s, struct rm_pair *r)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t kl = strcspn(s, " \t");
	const char *v = s + kl;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t vl = strlen(v);
	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	if (!kl || !vl)
		return -EINVAL;
	if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
		v++;
		vl -= 2;
	}
	r->k = strndup(s, kl);
	r->v = strndup(v, vl);
	r->klen = kl;
	r->vlen = vl;
	return r->k && r->v ? 0 : -ENOMEM;
}

static bool pair_key_eq(const struct rm_pair *a, const char *k, size_t klen)
{
	return a->klen == klen && !memcmp(a->k, k, klen);
}

/* The set of keys the filter appends. A Record whose KEY a later Record
 * or Uuid_key sets again is dropped here (the last one wins), so one
 * append never writes a key twice. */
static int added_build(struct rm_priv *p)
{
	unsigned n = 0;
	for (unsigned i = 0; i < p->nrecs; i++) {
		bool later = p->uuid_key && pair_key_eq(&p->recs[i], p->uuid_key, p->uuid_klen);
		for (unsigned j = i + 1; j < p->nrecs && !later; j++)
			later = pair_key_eq(&p->recs[i], p->recs[j].k, p->recs[j].klen);
		if (later) {
			p->recs_bytes -= flt_pair_size(p->recs[i].klen, p->recs[i].vlen);
			free(p->recs[i].k);
			free(p->recs[i].v);
			continue;
		}
		p->recs[n++] = p->recs[i];
	}
	p->nrecs = n;
	if (!(p->added = calloc(n + 1, sizeof(*p->added))))
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		p->added[p->nadded++] = (struct rm_key){ p->recs[i].k, p->recs[i].klen, false };
	if (p->uuid_key)
		p->added[p->nadded++] = (struct rm_key){ p->uuid_key, p->uuid_klen, false };
	for (unsigned i = 0; i < p->nadded; i++)
		p->added_lens |= 1ull << (p->added[i].len & 63);
	return 0;
}

static int rm_setup(struct dp_filter *f, struct dp_err *err)
{
	const struct dp_conf_section *s = f->sec;
	const struct dp_conf_kv *first_remove = NULL, *first_allow = NULL;
	struct rm_priv *p = calloc(1, sizeof(*p));
	if (!p || !(p->keys = calloc(s->nkv + 1, sizeof(*p->keys))) ||
	    !(p->recs = calloc(s->nkv + 1, sizeof(*p->recs)))) {
		priv_free(p);
		return dp_filter_err(f, err, -ENOMEM, "out of memory");
	}
	int rc = 0;
	for (unsigned i = 0; i < s->nkv && !rc; i++) {
		const struct dp_conf_kv *kv = &s->kv[i];
		if (!strcasecmp(kv->key, "Record")) {
			struct rm_pair *r = &p->recs[p->nrecs++];
			rc = record_parse(kv->val, r);
			if (rc == -EINVAL)
				dp_filter_kv_err(f, kv, err, rc, "Record: expects KEY VALUE, got '%s'",
						 kv->val);
			else if (rc)
				dp_filter_kv_err(f, kv, err, rc, "out of memory");
			else
				p->recs_bytes += flt_pair_size(r->klen, r->vlen);
		} else if (!strcasecmp(kv->key, "Remove_key") || !strcasecmp(kv->key, "Allowlist_key") ||
			   !strcasecmp(kv->key, "Whitelist_key")) {
			bool allow = strcasecmp(kv->key, "Remove_key") != 0;
			if (allow && !first_allow)
				first_allow = kv;
			if (!allow && !first_remove)
				first_remove = kv;
			if (first_allow && first_remove) {
				rc = dp_filter_kv_err(f, kv, err, -EINVAL,
						      "%s: Remove_key and Allowlist_key are exclusive",
						      kv->key);
				break;
			}
			struct rm_key *k = &p->keys[p->nkeys++];
			k->len = strlen(kv->val);
			if (!k->len) {
				rc = dp_filter_kv_err(f, kv, err, -EINVAL, "%s: empty key", kv->key);
				break;
			}
			k->prefix = kv->val[k->len - 1] == '*';
			k->len -= k->prefix;
			if (!(k->k = strndup(kv->val, k->len)))
				rc = dp_filter_kv_err(f, kv, err, -ENOMEM, "out of memory");
			p->allow = allow;
		} else if (!strcasecmp(kv->key, "Uuid_key")) {
			free(p->uuid_key);
			p->uuid_klen = strlen(kv->val);
			if (!p->uuid_klen)
				rc = dp_filter_kv_err(f, kv, err, -EINVAL, "Uuid_key: empty key");
			else if (!(p->uuid_key = strdup(kv->val)))
				rc = dp_filter_kv_err(f, kv, err, -ENOMEM, "out of memory");
		}
	}
	if (!rc)
		rc = added_build(p);
	if (rc) {
		if (rc == -ENOMEM)
			dp_filter_err(f, err, rc, "out of memory");
		priv_free(p);
		return rc;
	}
	f->priv = p;
	return 0;
}

static void rm_teardown(struct dp_filter *f)
{
	priv_free(f->priv);
	f->priv = NULL;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void *rm_shard_create(struct dp_filter *f, unsigned shard)
{
	struct rm_shard *s = aligned_alloc(DP_CACHE_LINE, sizeof(*s));
	if (!s)
		return NULL;
	memset(s, 0, offsetof(struct rm_shard, keep));
	s->p = f->priv;
	uint64_t seed;
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
		/* No entropy source (very old kernel): time and shard still
		 * keep shards and restarts apart. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^
		       ((uint64_t)shard << 48);
	}
	for (int i = 0; i < 4; i++)
		s->s[i] = splitmix64(&seed);
	return s;
}

static void rm_shard_destroy(void *ctx)
{
	free(ctx);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro(uint64_t *s)
{
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx, y in 8..b (RFC 4122 variant). */
static void uuid_v4(uint64_t *st, char out[36])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	uint64_t hi = xoshiro(st), lo = xoshiro(st);
	memcpy(b, &hi, 8);
	memcpy(b + 8, &lo, 8);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	char *w = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*w++ = '-';
		*w++ = hex[b[i] >> 4];
		*w++ = hex[b[i] & 15];
	}
}

static bool key_listed(const struct rm_priv *p, const struct dp_chunk *c, const struct dp_field *f)
{
	const char *k = flt_key(c, f);
	for (unsigned i = 0; i < p->nkeys; i++) {
		const struct rm_key *m = &p->keys[i];
		if ((m->prefix ? f->key_len >= m->len : f->key_len == m->len) &&
		    !strncasecmp(k, m->k, m->len))
			return true;
	}
	return false;
}

/* Is the field's key one the filter appends (exact, case-sensitive)?
 * The length mask rules out nearly every field without a compare. */
static inline __attribute__((always_inline)) bool key_added(const struct rm_priv *p,
							     const struct dp_chunk *c,
							     const struct dp_field *f)
{
	if (!(p->added_lens >> (f->key_len & 63) & 1))
		return false;
	for (unsigned i = 0; i < p->nadded; i++)
		if (flt_key_eq(c, f, p->added[i].k, p->added[i].len))
			return true;
	return false;
}

static int rm_record(void *ctx, struct dp_fx *fx)
{
	struct rm_shard *s = ctx;
	const struct rm_priv *p = s->p;
	struct dp_chunk *c = fx->c;

	/* Room for the appends is checked first: a field about to be
	 * replaced is removed only when its new value surely fits, so a full
	 * chunk costs the edit (counted), never the old value. */
	size_t need = p->recs_bytes + (p->uuid_key ? flt_pair_size(p->uuid_klen, 36) : 0);
	bool add = p->nadded && flt_room(c, need, p->nadded);
	if (p->nkeys) {
		bool *keep = s->keep;
		const struct dp_field *fs = flt_fields(c);
		unsigned n = dp_tail_nfields(c);
		for (unsigned i = 0; i < n; i++)
			keep[i] = key_listed(p, c, &fs[i]) == p->allow && !(add && key_added(p, c, &fs[i]));
		flt_tail_compact(c, keep);
	} else if (add) {
		/* Only appends: most records hold none of the keys, found by
		 * the length mask alone; the one-pass compaction runs only
		 * when one is there. */
		const struct dp_field *fs = flt_fields(c);
		unsigned n = dp_tail_nfields(c), i = 0;
		while (i < n && !key_added(p, c, &fs[i]))
			i++;
		if (i < n) {
			bool *keep = s->keep;
			for (unsigned j = 0; j < n; j++)
				keep[j] = j < i ? true : !key_added(p, c, &fs[j]);
			flt_tail_compact(c, keep);
		}
	}
	if (!add) {
		s->nospace += p->nadded != 0;
		return DP_FILTER_KEEP;
	}
	bool r = flt_append_begin(c);
	for (unsigned i = 0; i < p->nrecs; i++)
		dp_chunk_put_str(c, p->recs[i].k, p->recs[i].klen, p->recs[i].v, p->recs[i].vlen);
	if (p->uuid_key) {
		char u[36];
		uuid_v4(s->s, u);
		dp_chunk_put_str(c, p->uuid_key, p->uuid_klen, u, sizeof(u));
	}
	flt_append_end(c, r);
	return DP_FILTER_KEEP;
}

const struct dp_filter_ops flt_record_modifier_ops = {
	.name = "record_modifier",
	.desc = "append fixed fields or a UUID, remove fields or keep only some (Fluent Bit's "
		"record_modifier)",
	.opts = rm_opts,
	.cfg_size = sizeof(struct rm_cfg),
	.setup = rm_setup,
	.shard_ctx_create = rm_shard_create,
	.shard_ctx_destroy = rm_shard_destroy,
	.record = rm_record,
	.teardown = rm_teardown,
};
