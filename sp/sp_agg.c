/*
 * sp_agg.c — group tables, group keys and partial aggregates (sp_agg.h).
 * On the record path: sp_tab_get, sp_gkey_encode, sp_agg_update; they
 * allocate only when a table grows past anything it held before.
 *
 * Threads: a table belongs to one thread at a time (sp_agg.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp_agg.h"

int sp_tab_init(struct sp_tab *t, unsigned nwords, uint32_t max_groups)
{
	memset(t, 0, sizeof(*t));
	t->nwords = nwords;
	t->max = max_groups;
	t->cap = 64;
	t->gcap = 32;
	t->kcap = 1024;
	t->idx = calloc(t->cap, sizeof(*t->idx));
	t->g = malloc(t->gcap * sizeof(*t->g));
	t->w = malloc((size_t)t->gcap * (nwords ? nwords : 1) * sizeof(*t->w));
	t->keys = malloc(t->kcap);
	sp_skmem_init(&t->sk);
	if (!t->idx || !t->g || !t->w || !t->keys) {
		sp_tab_fini(t);
		return -ENOMEM;
	}
	return 0;
}

void sp_tab_reset(struct sp_tab *t)
{
	if (t->n)
		memset(t->idx, 0, t->cap * sizeof(*t->idx));
	t->n = 0;
	t->klen = 0;
	sp_skmem_reset(&t->sk);
}

void sp_tab_fini(struct sp_tab *t)
{
	free(t->idx);
	free(t->g);
	free(t->w);
	free(t->keys);
	sp_skmem_fini(&t->sk);
	memset(t, 0, sizeof(*t));
}

static int grow(struct sp_tab *t)
{
	uint32_t gcap = t->gcap * 2, cap = t->cap * 2;
	struct sp_grp *g = realloc(t->g, gcap * sizeof(*g));
	if (!g)
		return -ENOMEM;
	t->g = g;
	union sp_w *w = realloc(t->w, (size_t)gcap * (t->nwords ? t->nwords : 1) * sizeof(*w));
	if (!w)
		return -ENOMEM;
	t->w = w;
	uint32_t *idx = calloc(cap, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t s = (uint32_t)t->g[i].hash & (cap - 1);
		while (idx[s])
			s = (s + 1) & (cap - 1);
		idx[s] = i + 1;
	}
	free(t->idx);
	t->idx = idx;
	t->cap = cap;
	t->gcap = gcap;
	return 0;
}

union sp_w *sp_tab_get(struct sp_tab *t, const uint8_t *key, uint32_t klen, uint64_t hash)
{
	uint32_t mask = t->cap - 1, s = (uint32_t)hash & mask;
	for (;;) {
		uint32_t e = t->idx[s];
		if (!e)
			break;
		struct sp_grp *g = &t->g[e - 1];
		if (g->hash == hash && g->klen == klen && memcmp(t->keys + g->koff, key, klen) == 0)
			return &t->w[(size_t)(e - 1) * t->nwords];
		s = (s + 1) & mask;
	}
	if (t->n >= t->max)
		goto drop;
	if (t->klen + klen > t->kcap) {
		size_t kcap = t->kcap * 2;
		while (kcap < t->klen + klen)
			kcap *= 2;
		uint8_t *k = realloc(t->keys, kcap);
		if (!k)
			goto drop;
		t->keys = k;
		t->kcap = kcap;
	}
	/* load factor at most 1/2 */
	if (t->n + 1 > t->gcap || (t->n + 1) * 2 > t->cap) {
		if (grow(t))
			goto drop;
		mask = t->cap - 1;
		s = (uint32_t)hash & mask;
		while (t->idx[s])
			s = (s + 1) & mask;
	}
	uint32_t n = t->n++;
	t->idx[s] = n + 1;
	t->g[n] = (struct sp_grp){ hash, (uint32_t)t->klen, klen };
	memcpy(t->keys + t->klen, key, klen);
	t->klen += klen;
	union sp_w *w = &t->w[(size_t)n * t->nwords];
	memset(w, 0, t->nwords * sizeof(*w));
	return w;
drop:
	t->dropped++;
	return NULL;
}

uint64_t sp_hash(const uint8_t *p, size_t n)
{
	/* 8 bytes a step, multiply-xorshift; good enough for a table that
	 * probes linearly and compares whole keys. */
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
		p += 8;
		n -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * 0x94d049bb133111ebull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

/* Group key encoding: per key a type byte, then
 *   INT: 8 bytes; FLOAT: 8 bytes (integral floats are encoded as INT so
 *   5 and 5.0 are one group); STR, OTHER: 4-byte length and the bytes
 *   (OTHER: the msgpack object). Missing and nil are one group (SQL). */
enum { GK_NULL, GK_FALSE, GK_TRUE, GK_INT, GK_FLOAT, GK_STR, GK_OTHER };

uint32_t sp_gkey_encode(const struct sp_query *q, const struct sp_val *slots, uint8_t *buf)
{
	uint32_t o = 0;
	for (unsigned g = 0; g < q->ngroup; g++) {
		const struct sp_val *v = &slots[q->group_slot[g]];
		if (o + 9 > SP_GKEY_MAX)
			return 0;
		switch (v->t) {
		case SP_V_BOOL:
			buf[o++] = v->b ? GK_TRUE : GK_FALSE;
			break;
		case SP_V_FLOAT:
			if (v->d == floor(v->d) && fabs(v->d) < 9e18) {
				int64_t i = (int64_t)v->d;
				buf[o++] = GK_INT;
				memcpy(buf + o, &i, 8);
			} else {
				buf[o++] = GK_FLOAT;
				memcpy(buf + o, &v->d, 8);
			}
			o += 8;
			break;
		case SP_V_INT:
			buf[o++] = GK_INT;
			memcpy(buf + o, &v->i, 8);
			o += 8;
			break;
		case SP_V_STR:
		case SP_V_OTHER: {
			const void *p = v->t == SP_V_STR ? (const void *)v->s : v->raw;
			uint32_t n = v->t == SP_V_STR ? v->len : v->raw_len;
			if (o + 5 + (uint64_t)n > SP_GKEY_MAX)
				return 0;
			buf[o++] = v->t == SP_V_STR ? GK_STR : GK_OTHER;
			memcpy(buf + o, &n, 4);
			memcpy(buf + o + 4, p, n);
			o += 4 + n;
			break;
		}
		default:
			buf[o++] = GK_NULL;
			break;
		}
	}
	return o ? o : 1; /* no GROUP BY: one group, key "" padded to 1 byte */
}

void sp_gkey_decode(const uint8_t *key, uint32_t klen, unsigned g, struct sp_val *v)
{
	uint32_t o = 0;
	memset(v, 0, sizeof(*v));
	for (unsigned i = 0; o < klen; i++) {
		uint8_t t = key[o++];
		uint32_t n = 0;
		if (t == GK_INT || t == GK_FLOAT)
			n = 8;
		else if (t == GK_STR || t == GK_OTHER) {
			memcpy(&n, key + o, 4);
			o += 4;
		}
		if (i == g) {
			switch (t) {
			case GK_NULL: v->t = SP_V_NIL; break;
			case GK_FALSE: case GK_TRUE: v->t = SP_V_BOOL; v->b = t == GK_TRUE; break;
			case GK_INT: v->t = SP_V_INT; memcpy(&v->i, key + o, 8); v->d = (double)v->i; break;
			case GK_FLOAT: v->t = SP_V_FLOAT; memcpy(&v->d, key + o, 8); break;
			case GK_STR: v->t = SP_V_STR; v->s = (const char *)key + o; v->len = n; break;
			default: v->t = SP_V_OTHER; v->raw = key + o; v->raw_len = n; break;
			}
			return;
		}
		o += n;
	}
}

/* A whole string of the form [+-]digits[.digits][e[+-]digits] (spaces
 * around): an integer when it has neither '.' nor exponent and fits. */
static bool str_num(const char *s, uint32_t n, struct sp_val *out)
{
	char buf[64];
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(buf))
		return false;
	uint32_t i = 0, digits = 0;
	bool is_int = true, neg = s[0] == '-';
	uint64_t iv = 0;
	if (s[i] == '+' || s[i] == '-')
		i++;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
		iv = iv * 10 + (uint64_t)(s[i] - '0');  /* wraps past 18 digits: unused then */
	if (i < n && s[i] == '.') {
		is_int = false;
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	}
	if (!digits)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		is_int = false;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		uint32_t ed = 0;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			ed++;
		if (!ed)
			return false;
	}
	if (i != n)
		return false;
	memset(out, 0, sizeof(*out));
	if (is_int && digits <= 18) {
		/* the common case (syslog's pid, a latency): no strtoll */
		out->t = SP_V_INT;
		out->i = neg ? -(int64_t)iv : (int64_t)iv;
		out->d = (double)out->i;
	} else {
		memcpy(buf, s, n);
		buf[n] = 0;
		/* the grammar above leaves strtod no locale- or hex-dependent
		 * forms; overflow gives inf, refused below */
		out->t = SP_V_FLOAT;
		out->d = strtod(buf, NULL);
		if (!isfinite(out->d))
			return false;
	}
	return true;
}

const struct sp_val *sp_agg_num(const struct sp_val *v, struct sp_val *out, bool from_str)
{
	if (!v)
		return NULL;
	if (v->t == SP_V_INT || v->t == SP_V_FLOAT)
		return v;
	if (v->t == SP_V_STR && from_str && str_num(v->s, v->len, out))
		return out;
	return NULL;
}

/* COUNT(DISTINCT)'s hash of a value: 5 and 5.0 are one value (as in
 * GROUP BY), "5" another; NULL and missing are no value. */
static bool distinct_hash(const struct sp_val *v, uint64_t *h)
{
	switch (v->t) {
	case SP_V_BOOL:
		*h = sp_mix64(0x5bd1e995u + v->b);
		return true;
	case SP_V_INT:
		*h = sp_mix64((uint64_t)v->i ^ 0x9e3779b97f4a7c15ull);
		return true;
	case SP_V_FLOAT:
		if (v->d == floor(v->d) && fabs(v->d) < 9e18) {
			*h = sp_mix64((uint64_t)(int64_t)v->d ^ 0x9e3779b97f4a7c15ull);
		} else {
			uint64_t u;
			memcpy(&u, &v->d, 8);
			*h = sp_mix64(u ^ 0xc2b2ae3d27d4eb4full);
		}
		return true;
	case SP_V_STR:
		*h = sp_mix64(sp_hash((const uint8_t *)v->s, v->len) + 0x165667b19e3779f9ull);
		return true;
	case SP_V_OTHER:
		*h = sp_mix64(sp_hash(v->raw, v->raw_len) + 0x27d4eb2f165667c5ull);
		return true;
	default:
		return false;
	}
}

void sp_agg_update(const struct sp_query *q, struct sp_tab *t, union sp_w *w0,
		   const struct sp_val *slots, double x)
{
	bool from_str = !q->no_str_num;   /* sp.convert_from_str_to_num */
	for (unsigned k = 0; k < q->nagg; k++) {
		const struct sp_agg *a = &q->aggs[k];
		union sp_w *w = w0 + a->word;
		const struct sp_val *raw = a->slot >= 0 ? &slots[a->slot] : NULL, *v;
		struct sp_val conv;
		switch (a->fn) {
		case SP_FN_COUNT:
			/* COUNT(key) counts records where key holds a value */
			if (!raw || (raw->t != SP_V_MISSING && raw->t != SP_V_NIL))
				w[0].u++;
			break;
		case SP_FN_COUNT_DISTINCT: {
			uint64_t h;
			if (raw && distinct_hash(raw, &h) &&
			    !sp_hll_add(&t->sk, (struct sp_hll_w *)w, h))
				t->sk_failed++;
			break;
		}
		case SP_FN_PERCENTILE:
			if ((v = sp_agg_num(raw, &conv, from_str)) && isfinite(v->d) &&
			    !sp_qs_add(&t->sk, (struct sp_qs *)w, v->d))
				t->sk_failed++;
			break;
		case SP_FN_AVG:
			if ((v = sp_agg_num(raw, &conv, from_str))) {
				w[0].u++;
				w[1].d += v->d;
			}
			break;
		case SP_FN_SUM:
			if ((v = sp_agg_num(raw, &conv, from_str))) {
				w[0].u++;
				w[1].d += v->d;
				if (v->t == SP_V_INT)
					w[2].u += (uint64_t)v->i; /* wraps like int64 */
				else
					w[3].u = 1;
			}
			break;
		case SP_FN_MIN:
		case SP_FN_MAX:
			if ((v = sp_agg_num(raw, &conv, from_str))) {
				bool better = a->fn == SP_FN_MIN ? v->d < w[1].d : v->d > w[1].d;
				if (w[0].u == 0 || better)
					w[1].d = v->d;
				w[0].u++;
				if (v->t == SP_V_FLOAT)
					w[2].u = 1;
			}
			break;
		case SP_FN_FORECAST:
			if ((v = sp_agg_num(raw, &conv, from_str))) {
				if (w[0].u == 0 || x > w[5].d)
					w[5].d = x;
				w[0].u++;
				w[1].d += x;
				w[2].d += v->d;
				w[3].d += x * x;
				w[4].d += x * v->d;
			}
			break;
		default:
			break;
		}
	}
}

void sp_agg_merge(const struct sp_query *q, struct sp_tab *dt, union sp_w *d0,
		  const union sp_w *s0)
{
	for (unsigned k = 0; k < q->nagg; k++) {
		const struct sp_agg *a = &q->aggs[k];
		union sp_w *d = d0 + a->word;
		const union sp_w *s = s0 + a->word;
		switch (a->fn) {
		case SP_FN_COUNT:
			d[0].u += s[0].u;
			break;
		case SP_FN_AVG:
			d[0].u += s[0].u;
			d[1].d += s[1].d;
			break;
		case SP_FN_COUNT_DISTINCT:
			if (!sp_hll_merge(&dt->sk, (struct sp_hll_w *)d, (const struct sp_hll_w *)s))
				dt->sk_failed++;
			break;
		case SP_FN_PERCENTILE:
			if (!sp_qs_merge(&dt->sk, (struct sp_qs *)d, (const struct sp_qs *)s))
				dt->sk_failed++;
			break;
		case SP_FN_SUM:
			d[0].u += s[0].u;
			d[1].d += s[1].d;
			d[2].u += s[2].u;
			d[3].u |= s[3].u;
			break;
		case SP_FN_MIN:
		case SP_FN_MAX:
			if (s[0].u) {
				bool better = a->fn == SP_FN_MIN ? s[1].d < d[1].d : s[1].d > d[1].d;
				if (d[0].u == 0 || better)
					d[1].d = s[1].d;
				d[0].u += s[0].u;
				d[2].u |= s[2].u;
			}
			break;
		case SP_FN_FORECAST:
			if (s[0].u) {
				if (d[0].u == 0 || s[5].d > d[5].d)
					d[5].d = s[5].d;
				d[0].u += s[0].u;
				for (int i = 1; i < 5; i++)
					d[i].d += s[i].d;
			}
			break;
		default:
			break;
		}
	}
}

void sp_agg_value(const struct sp_agg *a, const union sp_w *w0, struct sp_val *v)
{
	const union sp_w *w = w0 + a->word;
	memset(v, 0, sizeof(*v));
	switch (a->fn) {
	case SP_FN_COUNT:
		v->t = SP_V_INT;
		v->i = (int64_t)w[0].u;
		break;
	case SP_FN_COUNT_DISTINCT:
		v->t = SP_V_INT;
		v->i = (int64_t)sp_hll_count((const struct sp_hll_w *)w);
		break;
	case SP_FN_PERCENTILE:
		v->t = sp_qs_quantile((const struct sp_qs *)w, a->arg2, &v->d) ? SP_V_FLOAT : SP_V_NIL;
		break;
	case SP_FN_AVG:
		if (w[0].u) {
			v->t = SP_V_FLOAT;
			v->d = w[1].d / (double)w[0].u;
		} else {
			v->t = SP_V_NIL;
		}
		break;
	case SP_FN_SUM:
		if (w[3].u) {
			v->t = SP_V_FLOAT;
			v->d = w[1].d;
		} else {
			v->t = SP_V_INT;
			v->i = w[2].i;
		}
		break;
	case SP_FN_MIN:
	case SP_FN_MAX:
		if (!w[0].u) {
			v->t = SP_V_NIL;
		} else if (w[2].u) {
			v->t = SP_V_FLOAT;
			v->d = w[1].d;
		} else {
			v->t = SP_V_INT;
			v->i = (int64_t)w[1].d;
		}
		break;
	case SP_FN_FORECAST: {
		/* least squares y = a + b x, evaluated at the last x + seconds */
		double n = (double)w[0].u, sx = w[1].d, sy = w[2].d, sxx = w[3].d, sxy = w[4].d;
		if (!w[0].u) {
			v->t = SP_V_NIL;
			break;
		}
		double den = n * sxx - sx * sx, b = 0;
		if (fabs(den) > 1e-12 * (n * sxx + 1))
			b = (n * sxy - sx * sy) / den;
		double a0 = (sy - b * sx) / n;
		v->t = SP_V_FLOAT;
		v->d = a0 + b * (w[5].d + a->arg2);
		break;
	}
	default:
		v->t = SP_V_NIL;
		break;
	}
	if (v->t == SP_V_INT)
		v->d = (double)v->i;
}
