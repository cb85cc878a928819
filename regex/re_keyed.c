/*
 * re_keyed.c — regex rules grouped by the key they read (re_keyed.h).
 *
 * Threads: building on the control thread; a scan (and its scratch)
 * belongs to one shard (re_keyed.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "re_keyed.h"

struct group {
	struct dp_ra ra;
	struct re_set *set;
	char **pats;        /* until compiled */
	unsigned *flags;
	unsigned n, cap;
};

struct re_keyed {
	struct group *g;
	unsigned n, cap;
};

struct re_keyed_scan {
	const struct re_keyed *k;
	struct re_scratch **sc;
	uint64_t **bits;     /* per group, (n + 63) / 64 words */
	uint8_t *state;      /* per group: 0 not scanned, 1 scanned, 2 no string */
	struct dp_ra_val *val; /* per group: the value scanned */
};

struct re_keyed *re_keyed_create(void)
{
	return calloc(1, sizeof(struct re_keyed));
}

static void group_free_pats(struct group *g)
{
	for (unsigned i = 0; g->pats && i < g->n; i++)
		free(g->pats[i]);
	free(g->pats);
	free(g->flags);
	g->pats = NULL;
	g->flags = NULL;
}

void re_keyed_destroy(struct re_keyed *k)
{
	if (!k)
		return;
	for (unsigned i = 0; i < k->n; i++) {
		re_set_destroy(k->g[i].set);
		group_free_pats(&k->g[i]);
	}
	free(k->g);
	free(k);
}

static struct group *group_for(struct re_keyed *k, const struct dp_ra *ra)
{
	for (unsigned i = 0; i < k->n; i++)
		if (!memcmp(&k->g[i].ra, ra, sizeof(*ra)))
			return &k->g[i];
	if (k->n == UINT16_MAX)
		return NULL;
	if (k->n == k->cap) {
		unsigned cap = k->cap ? 2 * k->cap : 4;
		struct group *g = realloc(k->g, cap * sizeof(*g));
		if (!g)
			return NULL;
		k->g = g;
		k->cap = cap;
	}
	struct group *g = &k->g[k->n++];
	memset(g, 0, sizeof(*g));
	g->ra = *ra;
	return g;
}

int re_keyed_add(struct re_keyed *k, const struct dp_ra *ra, const char *pattern, const char *what,
		 struct re_keyed_rule *out, struct dp_err *e)
{
	size_t plen = strlen(pattern) + 1;
	char *pat = malloc(plen);
	unsigned fl = 0;
	if (!pat || re_pattern_from_fb(pattern, pat, plen, &fl)) {
		free(pat);
		return dp_err_set(e, -ENOMEM, "out of memory");
	}
	/* Check the pattern alone so an error names its own line. */
	struct re_set *one = re_set_create_ex((const char *const *)&pat, &fl, 1, what,
					      RE_SET_PCRE_ONLY, e);
	if (!one) {
		free(pat);
		return e->code ? e->code : -EINVAL;
	}
	re_set_destroy(one);
	struct group *g = group_for(k, ra);
	if (g && g->n == g->cap) {
		unsigned cap = g->cap ? 2 * g->cap : 4;
		char **p = realloc(g->pats, cap * sizeof(*p));
		unsigned *f = p ? realloc(g->flags, cap * sizeof(*f)) : NULL;
		if (p)
			g->pats = p;
		if (f) {
			g->flags = f;
			g->cap = cap;
		}
	}
	if (!g || g->n == g->cap || g->n == UINT16_MAX) {
		free(pat);
		return dp_err_set(e, -ENOMEM, "out of memory");
	}
	out->group = (uint16_t)(g - k->g);
	out->idx = (uint16_t)g->n;
	g->pats[g->n] = pat;
	g->flags[g->n++] = fl;
	return 0;
}

int re_keyed_compile(struct re_keyed *k, const char *what, unsigned set_flags, struct dp_err *e)
{
	for (unsigned i = 0; i < k->n; i++) {
		struct group *g = &k->g[i];
		char gwhat[96];
		snprintf(gwhat, sizeof(gwhat), "%s (key %s)", what, g->ra.text + g->ra.part[0].off);
		g->set = re_set_create_ex((const char *const *)g->pats, g->flags, g->n, gwhat, set_flags, e);
		if (!g->set)
			return e->code ? e->code : -EINVAL;
		group_free_pats(g);
	}
	return 0;
}

const struct re_set *re_keyed_set(const struct re_keyed *k, unsigned group)
{
	return k->g[group].set;
}

void re_keyed_scan_destroy(struct re_keyed_scan *s)
{
	if (!s)
		return;
	for (unsigned i = 0; s->k && i < s->k->n; i++) {
		re_scratch_destroy(s->sc ? s->sc[i] : NULL);
		free(s->bits ? s->bits[i] : NULL);
	}
	free(s->sc);
	free(s->bits);
	free(s->state);
	free(s->val);
	free(s);
}

struct re_keyed_scan *re_keyed_scan_create(const struct re_keyed *k)
{
	struct re_keyed_scan *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->k = k;
	unsigned n = k->n ? k->n : 1;
	if (!(s->sc = calloc(n, sizeof(*s->sc))) || !(s->bits = calloc(n, sizeof(*s->bits))) ||
	    !(s->state = calloc(n, 1)) || !(s->val = calloc(n, sizeof(*s->val))))
		goto fail;
	for (unsigned i = 0; i < k->n; i++)
		if (!(s->sc[i] = re_scratch_create(k->g[i].set)) ||
		    !(s->bits[i] = calloc((k->g[i].n + 63) / 64, sizeof(uint64_t))))
			goto fail;
	return s;
fail:
	re_keyed_scan_destroy(s);
	return NULL;
}

void re_keyed_scan_reset(struct re_keyed_scan *s)
{
	memset(s->state, 0, s->k->n);
}

bool re_keyed_matches(struct re_keyed_scan *s, const struct dp_chunk *c, struct re_keyed_rule r,
		      struct dp_ra_val *v)
{
	unsigned gi = r.group;
	if (!s->state[gi]) {
		const struct group *g = &s->k->g[gi];
		struct dp_ra_val *gv = &s->val[gi];
		if (dp_ra_get_tail(&g->ra, c, gv) && gv->type == DP_T_STR) {
			re_set_match(g->set, s->sc[gi], gv->str, gv->len, s->bits[gi]);
			s->state[gi] = 1;
		} else {
			s->state[gi] = 2;
		}
	}
	if (s->state[gi] != 1 || !(s->bits[gi][r.idx / 64] >> (r.idx % 64) & 1))
		return false;
	if (v)
		*v = s->val[gi];
	return true;
}

struct re_scratch *re_keyed_scratch(struct re_keyed_scan *s, unsigned group)
{
	return s->sc[group];
}
