/*
 * sp_sketch.c — HyperLogLog, DDSketch and their block allocator
 * (sp_sketch.h). On the record path (sp_hll_add, sp_qs_add): malloc only
 * when a table's sketches need a slab more than they ever held.
 *
 * Threads: the thread owning the table the sketch belongs to.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sp_sketch.h"

/* ---- blocks ---- */

struct sp_skslab {
	struct sp_skslab *next;
	uint64_t data[SP_SK_SLAB / 8];
};

static size_t class_size(unsigned k)
{
	return 16 + ((size_t)8 << k);
}

void sp_skmem_init(struct sp_skmem *m)
{
	memset(m, 0, sizeof(*m));
}

void sp_skmem_reset(struct sp_skmem *m)
{
	m->cur = m->head;
	m->used = 0;
	memset(m->free, 0, sizeof(m->free));
}

void sp_skmem_fini(struct sp_skmem *m)
{
	struct sp_skslab *s = m->head;
	while (s) {
		struct sp_skslab *n = s->next;
		free(s);
		s = n;
	}
	memset(m, 0, sizeof(*m));
}

void *sp_skmem_alloc(struct sp_skmem *m, unsigned k)
{
	if (m->free[k]) {
		void *p = m->free[k];
		memcpy(&m->free[k], p, sizeof(void *));
		return p;
	}
	size_t n = class_size(k);
	if (!m->cur || m->used + n > SP_SK_SLAB) {
		struct sp_skslab *s = m->cur ? m->cur->next : m->head;
		if (!s) {
			if (!(s = malloc(sizeof(*s))))
				return NULL;
			s->next = NULL;
			if (m->cur)
				m->cur->next = s;
			else
				m->head = s;
			m->slab_bytes += sizeof(*s);
		}
		m->cur = s;
		m->used = 0;
	}
	void *p = (char *)m->cur->data + m->used;
	m->used += n;
	return p;
}

void sp_skmem_free(struct sp_skmem *m, void *p, unsigned k)
{
	memcpy(p, &m->free[k], sizeof(void *));
	m->free[k] = p;
}

/* ---- HyperLogLog ---- */

#define HLL_Q (64 - SP_HLL_P)      /* bits left for the rank */
#define HLL_DENSE_K 9              /* 16 + 4096 bytes: the registers */
#define HLL_SET_K0 2

struct sp_hll {
	uint32_t dense;
	uint32_t n;                /* set: hashes held */
	uint32_t k;                /* set: 1 << k slots (0 marks empty) */
	uint32_t pad;
	uint64_t d[];              /* set slots, or the registers as bytes */
};

_Static_assert(sizeof(struct sp_hll) == 16, "header of a class block");
_Static_assert((8u << HLL_DENSE_K) >= SP_HLL_M, "registers fit their block");

static void reg_add(uint8_t *reg, uint64_t h)
{
	uint32_t i = (uint32_t)(h >> HLL_Q);
	uint8_t r = (uint8_t)(__builtin_clzll((h << SP_HLL_P) | (1ull << (SP_HLL_P - 1))) + 1);
	if (r > reg[i])
		reg[i] = r;
}

/* Insert h (never 0) into a set with room; false if it was there. */
static bool set_put(struct sp_hll *s, uint64_t h)
{
	uint32_t mask = (1u << s->k) - 1, i = (uint32_t)h & mask;
	while (s->d[i]) {
		if (s->d[i] == h)
			return false;
		i = (i + 1) & mask;
	}
	s->d[i] = h;
	s->n++;
	return true;
}

static bool set_has(const struct sp_hll *s, uint64_t h)
{
	uint32_t mask = (1u << s->k) - 1, i = (uint32_t)h & mask;
	while (s->d[i]) {
		if (s->d[i] == h)
			return true;
		i = (i + 1) & mask;
	}
	return false;
}

/* The set in w becomes registers (in place when it is as big). */
static bool to_dense(struct sp_skmem *m, struct sp_hll_w *w)
{
	struct sp_hll *s = w->h;
	uint64_t keep[SP_HLL_EXACT + 1];
	uint32_t n = 0;
	for (uint32_t i = 0; i < (1u << s->k); i++)
		if (s->d[i])
			keep[n++] = s->d[i];
	struct sp_hll *d = s;
	if (s->k != HLL_DENSE_K) {
		if (!(d = sp_skmem_alloc(m, HLL_DENSE_K)))
			return false;
		sp_skmem_free(m, s, s->k);
	}
	memset(d, 0, class_size(HLL_DENSE_K));
	d->dense = 1;
	for (uint32_t i = 0; i < n; i++)
		reg_add((uint8_t *)d->d, keep[i]);
	w->h = d;
	return true;
}

static bool set_grow(struct sp_skmem *m, struct sp_hll_w *w)
{
	struct sp_hll *s = w->h, *g = sp_skmem_alloc(m, s->k + 1);
	if (!g)
		return false;
	memset(g, 0, class_size(s->k + 1));
	g->k = s->k + 1;
	for (uint32_t i = 0; i < (1u << s->k); i++)
		if (s->d[i])
			set_put(g, s->d[i]);
	sp_skmem_free(m, s, s->k);
	w->h = g;
	return true;
}

bool sp_hll_add(struct sp_skmem *m, struct sp_hll_w *w, uint64_t h)
{
	h = h ? h : 1;  /* 0 marks an empty slot */
	struct sp_hll *s = w->h;
	if (!s) {
		if (!(s = sp_skmem_alloc(m, HLL_SET_K0)))
			return false;
		memset(s, 0, class_size(HLL_SET_K0));
		s->k = HLL_SET_K0;
		w->h = s;
	}
	if (s->dense) {
		reg_add((uint8_t *)s->d, h);
		return true;
	}
	/* load at most 3/4; past SP_HLL_EXACT the registers are smaller */
	if ((s->n + 1) * 4 > (3u << s->k) && !set_has(s, h)) {
		if (s->n + 1 > SP_HLL_EXACT) {
			if (!to_dense(m, w))
				return false;
			reg_add((uint8_t *)w->h->d, h);
			return true;
		}
		if (!set_grow(m, w))
			return false;
	}
	set_put(w->h, h);
	return true;
}

bool sp_hll_merge(struct sp_skmem *m, struct sp_hll_w *dst, const struct sp_hll_w *src)
{
	const struct sp_hll *s = src->h;
	if (!s)
		return true;
	if (!s->dense) {
		for (uint32_t i = 0; i < (1u << s->k); i++)
			if (s->d[i] && !sp_hll_add(m, dst, s->d[i]))
				return false;
		return true;
	}
	if (!dst->h) {
		struct sp_hll *d = sp_skmem_alloc(m, HLL_DENSE_K);
		if (!d)
			return false;
		memset(d, 0, class_size(HLL_DENSE_K));
		d->dense = 1;
		dst->h = d;
	} else if (!dst->h->dense && !to_dense(m, dst)) {
		return false;
	}
	uint8_t *dr = (uint8_t *)dst->h->d;
	const uint8_t *sr = (const uint8_t *)s->d;
	for (uint32_t i = 0; i < SP_HLL_M; i++)
		if (sr[i] > dr[i])
			dr[i] = sr[i];
	return true;
}

bool sp_hll_is_dense(const struct sp_hll_w *w)
{
	return w->h && w->h->dense;
}

/* Ertl 2017, algorithm 6: sigma and tau series of the improved estimator. */
static double hll_sigma(double x)
{
	if (x == 1.0)
		return INFINITY;
	double y = 1, z = x, zp;
	do {
		x *= x;
		zp = z;
		z += x * y;
		y += y;
	} while (z != zp);
	return z;
}

static double hll_tau(double x)
{
	if (x == 0.0 || x == 1.0)
		return 0;
	double y = 1, z = 1 - x, zp;
	do {
		x = sqrt(x);
		zp = z;
		y *= 0.5;
		z -= (1 - x) * (1 - x) * y;
	} while (z != zp);
	return z / 3;
}

uint64_t sp_hll_count(const struct sp_hll_w *w)
{
	const struct sp_hll *s = w->h;
	if (!s)
		return 0;
	if (!s->dense)
		return s->n;
	uint32_t c[HLL_Q + 2] = { 0 };
	const uint8_t *reg = (const uint8_t *)s->d;
	for (uint32_t i = 0; i < SP_HLL_M; i++)
		c[reg[i]]++;
	double m = SP_HLL_M;
	double z = m * hll_tau(1 - c[HLL_Q + 1] / m);
	for (int k = HLL_Q; k >= 1; k--)
		z = 0.5 * (z + c[k]);
	z += m * hll_sigma(c[0] / m);
	double e = m * m / (2 * M_LN2) / z;
	return (uint64_t)llround(e);
}

/* ---- DDSketch ---- */

#define QS_K0 3

struct sp_qs_store {
	int32_t lo;                /* bucket index of c[0] */
	int32_t imin, imax;        /* non-empty buckets lie in [imin, imax] */
	uint32_t k;                /* 1 << k buckets */
	uint64_t c[];
};

_Static_assert(sizeof(struct sp_qs_store) == 16, "header of a class block");
_Static_assert((1u << (SP_SK_CLASSES - 1)) >= SP_QS_MAXB, "largest store fits a class");

static double qs_gamma(void)
{
	return (1 + SP_QS_ALPHA) / (1 - SP_QS_ALPHA);
}

static int32_t qs_index(double ax)
{
	/* Computed once; every thread would store the same value, so a
	 * relaxed atomic is all it needs (and ThreadSanitizer sees that). */
	static double inv_ln_gamma;
	double inv;
	__atomic_load(&inv_ln_gamma, &inv, __ATOMIC_RELAXED);
	if (!inv) {
		inv = 1 / log(qs_gamma());
		__atomic_store(&inv_ln_gamma, &inv, __ATOMIC_RELAXED);
	}
	return (int32_t)ceil(log(ax) * inv);
}

static double qs_value(int32_t i)
{
	double g = qs_gamma();
	return exp(i * log(g)) * 2 / (1 + g);
}

static void store_bounds(struct sp_qs_store *st)
{
	uint32_t cap = 1u << st->k, a = 0, b = cap;
	while (a < cap && !st->c[a])
		a++;
	while (b > a && !st->c[b - 1])
		b--;
	st->imin = st->lo + (int32_t)a;
	st->imax = st->lo + (int32_t)b - 1;
}

/* Count n values in bucket i of the store in *sp, growing it (or, past
 * SP_QS_MAXB buckets, folding its lowest buckets into one). */
static bool store_add(struct sp_skmem *m, struct sp_qs_store **sp, int32_t i, uint64_t n)
{
	struct sp_qs_store *st = *sp;
	if (!st) {
		if (!(st = sp_skmem_alloc(m, QS_K0)))
			return false;
		memset(st, 0, class_size(QS_K0));
		st->k = QS_K0;
		st->lo = i - (1 << (QS_K0 - 1));
		st->imin = st->imax = i;
		st->c[i - st->lo] = n;
		*sp = st;
		return true;
	}
	int64_t cap = 1ll << st->k;
	if (i >= st->lo && i < st->lo + cap) {
		st->c[i - st->lo] += n;
		if (i < st->imin)
			st->imin = i;
		if (i > st->imax)
			st->imax = i;
		return true;
	}
	int32_t nmin = i < st->imin ? i : st->imin, nmax = i > st->imax ? i : st->imax;
	int32_t keep = nmin;           /* lowest bucket kept */
	if ((int64_t)nmax - nmin + 1 > SP_QS_MAXB)
		keep = nmax - SP_QS_MAXB + 1;
	uint32_t span = (uint32_t)(nmax - keep + 1), k = st->k;
	while ((1u << k) < span)
		k++;
	struct sp_qs_store *ns = st;
	if (k != st->k && !(ns = sp_skmem_alloc(m, k)))
		return false;
	int32_t nlo = keep - (int32_t)(((1u << k) - span) / 2);
	uint64_t folded = 0;
	for (int32_t j = st->imin; j < keep && j <= st->imax; j++) {
		folded += st->c[j - st->lo];
		st->c[j - st->lo] = 0;
	}
	if (i < keep) {
		folded += n;
		n = 0;
		i = keep;
	}
	int32_t a = st->imin > keep ? st->imin : keep, b = st->imax;
	if (ns != st) {
		memset(ns, 0, class_size(k));
		if (a <= b)
			memcpy(&ns->c[a - nlo], &st->c[a - st->lo], (size_t)(b - a + 1) * 8);
		sp_skmem_free(m, st, st->k);
	} else if (a <= b) {
		memmove(&ns->c[a - nlo], &st->c[a - st->lo], (size_t)(b - a + 1) * 8);
		memset(ns->c, 0, (size_t)(a - nlo) * 8);
		memset(&ns->c[b - nlo + 1], 0, ((1u << k) - (size_t)(b - nlo + 1)) * 8);
	} else {
		memset(ns->c, 0, ((size_t)1 << k) * 8);
	}
	ns->k = k;
	ns->lo = nlo;
	ns->c[keep - nlo] += folded;
	ns->c[i - nlo] += n;
	store_bounds(ns);
	*sp = ns;
	return true;
}

bool sp_qs_add(struct sp_skmem *m, struct sp_qs *s, double x)
{
	bool ok = true;
	if (x > 0)
		ok = store_add(m, &s->pos, qs_index(x), 1);
	else if (x < 0)
		ok = store_add(m, &s->neg, qs_index(-x), 1);
	else
		s->zero++;
	if (!ok)
		return false;
	if (!s->n || x < s->min)
		s->min = x;
	if (!s->n || x > s->max)
		s->max = x;
	s->n++;
	return true;
}

static bool store_merge(struct sp_skmem *m, struct sp_qs_store **dst, const struct sp_qs_store *src)
{
	if (!src)
		return true;
	for (int32_t j = src->imin; j <= src->imax; j++) {
		uint64_t c = src->c[j - src->lo];
		if (c && !store_add(m, dst, j, c))
			return false;
	}
	return true;
}

bool sp_qs_merge(struct sp_skmem *m, struct sp_qs *d, const struct sp_qs *s)
{
	if (!s->n)
		return true;
	if (!store_merge(m, &d->pos, s->pos) || !store_merge(m, &d->neg, s->neg))
		return false;
	if (!d->n || s->min < d->min)
		d->min = s->min;
	if (!d->n || s->max > d->max)
		d->max = s->max;
	d->n += s->n;
	d->zero += s->zero;
	return true;
}

bool sp_qs_quantile(const struct sp_qs *s, double q, double *out)
{
	if (!s->n)
		return false;
	double rr = ceil(q * (double)s->n);
	uint64_t rank = rr < 1 ? 1 : rr > (double)s->n ? s->n : (uint64_t)rr, cum = 0;
	double r = s->max;
	/* the extremes are known exactly */
	if (rank == 1 || rank == s->n) {
		*out = rank == 1 ? s->min : s->max;
		return true;
	}
	const struct sp_qs_store *st = s->neg;
	/* ascending values: negatives by falling |x|, zero, positives */
	for (int32_t j = st ? st->imax : 0; st && j >= st->imin; j--)
		if ((cum += st->c[j - st->lo]) >= rank) {
			r = -qs_value(j);
			goto found;
		}
	if ((cum += s->zero) >= rank) {
		r = 0;
		goto found;
	}
	st = s->pos;
	for (int32_t j = st ? st->imin : 0; st && j <= st->imax; j++)
		if ((cum += st->c[j - st->lo]) >= rank) {
			r = qs_value(j);
			goto found;
		}
found:
	*out = r < s->min ? s->min : r > s->max ? s->max : r;
	return true;
}
