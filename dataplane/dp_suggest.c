/*
 * dp_suggest.c — nearest valid name for "did you mean" hints (see
 * dp_suggest.h). Control thread only; no allocation (names longer than
 * SUGGEST_MAX are compared by their first SUGGEST_MAX bytes).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "dp_common.h"
#include "dp_filter.h"
#include "dp_plugin.h"
#include "dp_suggest.h"

#define SUGGEST_MAX 64
#define SUGGEST_FAR 0xffffu

/* Case-insensitive edit distance over a[0..na) and b[0..nb): insertions,
 * deletions, substitutions and swaps of two neighbours ("kafak"), each 1
 * (the optimal string alignment distance). Three rows. */
static unsigned lev(const char *a, size_t na, const char *b, size_t nb)
{
	unsigned r0[SUGGEST_MAX + 1], r1[SUGGEST_MAX + 1], r2[SUGGEST_MAX + 1];
	unsigned *pp = r0, *prev = r1, *cur = r2;
#define LC(c) tolower((unsigned char)(c))

	for (size_t j = 0; j <= nb; j++)
		prev[j] = (unsigned)j;
	for (size_t i = 1; i <= na; i++) {
		cur[0] = (unsigned)i;
		for (size_t j = 1; j <= nb; j++) {
			unsigned cost = LC(a[i - 1]) != LC(b[j - 1]);
			unsigned v = prev[j - 1] + cost;
			v = DP_MIN(v, prev[j] + 1);
			v = DP_MIN(v, cur[j - 1] + 1);
			if (i > 1 && j > 1 && LC(a[i - 1]) == LC(b[j - 2]) && LC(a[i - 2]) == LC(b[j - 1]))
				v = DP_MIN(v, pp[j - 2] + 1);
			cur[j] = v;
		}
		unsigned *t = pp;
		pp = prev;
		prev = cur;
		cur = t;
	}
#undef LC
	return prev[nb];
}

/* Lower case without the separators people drop or add: '_', '.', '-', ' '. */
static size_t fold(const char *s, char *out)
{
	size_t n = 0;
	for (; *s && n < SUGGEST_MAX; s++)
		if (*s != '_' && *s != '.' && *s != '-' && *s != ' ')
			out[n++] = (char)tolower((unsigned char)*s);
	return n;
}

unsigned dp_suggest_distance(const char *a, const char *b)
{
	char fa[SUGGEST_MAX], fb[SUGGEST_MAX];
	size_t na = strnlen(a, SUGGEST_MAX), nb = strnlen(b, SUGGEST_MAX);
	unsigned d = lev(a, na, b, nb);
	size_t nfa = fold(a, fa), nfb = fold(b, fb);
	return DP_MIN(d, lev(fa, nfa, fb, nfb));
}

/* How far a candidate may be and still be suggested (see dp_suggest.h). */
static bool near(const char *a, const char *b, unsigned d)
{
	size_t len = DP_MAX(strlen(a), strlen(b));
	return d == 0 || (d <= 2 && d * 3 <= len);
}

void dp_suggest_init(struct dp_suggest *s, const char *name)
{
	s->name = name;
	s->best = NULL;
	s->dist = SUGGEST_FAR;
}

void dp_suggest_add(struct dp_suggest *s, const char *cand)
{
	if (!cand || !*cand || !s->name || !strcmp(cand, s->name))
		return;
	unsigned d = dp_suggest_distance(s->name, cand);
	if (d < s->dist && near(s->name, cand, d)) {
		s->best = cand;
		s->dist = d;
	}
}

void dp_suggest_add_choices(struct dp_suggest *s, const char *choices, char *buf, size_t n)
{
	char one[SUGGEST_MAX + 1];
	for (const char *c = choices; c && *c;) {
		const char *bar = strchr(c, '|');
		size_t len = bar ? (size_t)(bar - c) : strlen(c);
		snprintf(one, sizeof(one), "%.*s", (int)DP_MIN(len, (size_t)SUGGEST_MAX), c);
		const char *before = s->best;
		dp_suggest_add(s, one);
		if (s->best != before) {
			snprintf(buf, n, "%s", one);
			s->best = buf;
		}
		c = bar ? bar + 1 : NULL;
	}
}

const char *dp_suggest_hint(const struct dp_suggest *s, char *buf, size_t n)
{
	if (s->best)
		snprintf(buf, n, " (did you mean '%s'?)", s->best);
	else if (n)
		buf[0] = '\0';
	return buf;
}

const char *dp_suggest_section_hint(const char *name, char *buf, size_t n)
{
	static const char *const sections[] = {
		"SERVICE", "INPUT", "FILTER", "OUTPUT", "PARSER", "MULTILINE_PARSER", "STREAM_TASK",
	};
	struct dp_suggest s;
	dp_suggest_init(&s, name);
	for (size_t i = 0; i < DP_ARRAY_SIZE(sections); i++)
		dp_suggest_add(&s, sections[i]);
	return dp_suggest_hint(&s, buf, n);
}
