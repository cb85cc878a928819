/*
 * psr_ml.c — multiline parsers: the set of them by name, the compilation
 * of a parser's rules into the state machine psr_ml_stream.c runs (the
 * [MULTILINE_PARSER] section is read in psr_ml_conf.c), and the one function that matches a line
 * against a list of rules (one re_set per list: Hyperscan, PCRE2 fallback).
 * Semantics in psr_ml.h. Control thread, except psr_ml_list_match (shards).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_log.h"
#include "psr_ml_int.h"
#include "psr_parser.h"
#include "re_onig.h"

/* ---- the regex engine ---- */

/* Check regex with PCRE2 now, so a bad rule is reported at its line with
 * PCRE2's message, and return the pattern to compile into the rule list's
 * re_set in psr_ml_parser_finish. */
static char *rx_check(const char *regex, char *msg, size_t msglen)
{
	size_t len = strlen(regex);
	int errcode;
	PCRE2_SIZE erroff;

	/* Fluent Bit's "/.../": strip the slashes when both are there. */
	if (len >= 2 && regex[0] == '/' && regex[len - 1] == '/') {
		regex++;
		len -= 2;
	}
	/* Checked as re_set will compile it: Onigmo syntax rewritten. */
	struct re_onig on;
	size_t bad;
	int trc = re_onig_translate(regex, len, &on, &bad);
	if (trc) {
		snprintf(msg, msglen, "invalid regex at offset %zu: %s", bad,
			 trc == -EINVAL ? on.err : "out of memory");
		return NULL;
	}
	if (on.utf) {
		/* rules are matched as bytes (re_set.h) */
		snprintf(msg, msglen, "%s", RE_ONIG_UTF_CLASS_MSG);
		re_onig_fini(&on);
		return NULL;
	}
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)on.pat, on.len, PCRE2_MULTILINE, &errcode,
				       &erroff, NULL);
	re_onig_fini(&on);
	if (!re) {
		PCRE2_UCHAR buf[96];
		pcre2_get_error_message(errcode, buf, sizeof(buf));
		snprintf(msg, msglen, "invalid regex at offset %zu: %s", (size_t)erroff, (char *)buf);
		return NULL;
	}
	pcre2_code_free(re);
	char *pat = strndup(regex, len);
	if (!pat)
		snprintf(msg, msglen, "out of memory");
	return pat;
}

/* One Hyperscan database per rule list (PCRE2 for what it rejects, with
 * re_set's start-up warning). Rules are Ruby-style: '^'/'$' at line breaks. */
static int list_compile(const struct psr_ml_parser *p, struct ml_list *l, const char *what,
			char *msg, size_t msglen)
{
	if (!l->n)
		return 0;
	const char *pats[l->n];
	unsigned flags[l->n];
	for (unsigned i = 0; i < l->n; i++) {
		pats[i] = p->rules[l->idx[i]].pat;
		flags[i] = RE_MULTILINE;
	}
	char name[96];
	snprintf(name, sizeof(name), "multiline_parser %s %s", p->name, what);
	struct dp_err err = { 0 };
	if (!(l->set = re_set_create(pats, flags, l->n, name, &err))) {
		snprintf(msg, msglen, "%s", err.msg);
		return -EINVAL;
	}
	return 0;
}

int psr_ml_scratch_create(const struct psr_ml_parser *const *p, unsigned np, struct re_scratch **out)
{
	struct re_scratch *sc = NULL;
	for (unsigned k = 0; k < np; k++) {
		for (int s = -1; s < (int)p[k]->nstates; s++) {
			for (int which = 0; which < 2; which++) {
				const struct re_set *set = s < 0 ? (which ? NULL : p[k]->starts.set)
							 : which ? p[k]->next[s].set : p[k]->cont[s].set;
				if (!set)
					continue;
				if (!sc ? !(sc = re_scratch_create(set)) : re_scratch_grow(sc, set) != 0) {
					re_scratch_destroy(sc);
					return -ENOMEM;
				}
			}
		}
	}
	*out = sc;
	return 0;
}

void psr_ml_scratch_destroy(struct re_scratch *sc)
{
	re_scratch_destroy(sc);
}

int psr_ml_list_match(const struct psr_ml_parser *p, const struct ml_list *l, const char *s, size_t n,
		  struct re_scratch *sc)
{
	(void)p;
	if (!l->set)
		return -1;
	int i = re_set_first(l->set, sc, s, n);
	return i < 0 ? -1 : (int)l->idx[i];
}

/* ---- building a parser ---- */

struct psr_ml_parser *psr_ml_parser_new(const char *name, int type, uint64_t flush_ms)
{
	struct psr_ml_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->name = strdup(name);
	p->states[0] = strdup("start_state");
	p->nstates = 1;
	p->type = type;
	p->flush_ns = flush_ms * 1000000ull;
	if (!p->name || !p->states[0]) {
		psr_ml_parser_free(p);
		return NULL;
	}
	return p;
}

void psr_ml_parser_free(struct psr_ml_parser *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->nrules; i++)
		free(p->rules[i].pat);
	for (unsigned i = 0; i < p->nstates; i++) {
		free(p->states[i]);
		free(p->cont[i].idx);
		re_set_destroy(p->cont[i].set);
		free(p->next[i].idx);
		re_set_destroy(p->next[i].set);
	}
	free(p->starts.idx);
	re_set_destroy(p->starts.set);
	free(p->rules);
	free(p->name);
	free(p->key_content);
	free(p->key_pattern);
	free(p->match_str);
	free(p->key_group);
	free(p->line_name);
	free(p->line_file);
	psr_parsers_destroy(p->lines);
	free(p);
}

/* The id of state name[0..n), added when new; -1 when there are too many. */
static int state_id(struct psr_ml_parser *p, const char *name, size_t n)
{
	for (unsigned i = 0; i < p->nstates; i++)
		if (strlen(p->states[i]) == n && !memcmp(p->states[i], name, n))
			return (int)i;
	if (p->nstates == PSR_ML_MAX_STATES)
		return -1;
	char *s = strndup(name, n);
	if (!s)
		return -1;
	p->states[p->nstates] = s;
	return (int)p->nstates++;
}

static const char *trim(const char *s, const char *end, size_t *n)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*n = (size_t)(end - s);
	return s;
}

int psr_ml_parser_rule(struct psr_ml_parser *p, const char *from, const char *regex, const char *to,
		   char *msg, size_t msglen)
{
	if (p->nrules == p->cap) {
		unsigned cap = p->cap ? 2 * p->cap : 8;
		if (cap > 1024) {
			snprintf(msg, msglen, "too many rules (at most 1024)");
			return -EINVAL;
		}
		struct ml_rule *r = realloc(p->rules, cap * sizeof(*r));
		if (!r) {
			snprintf(msg, msglen, "out of memory");
			return -ENOMEM;
		}
		p->rules = r;
		p->cap = cap;
	}
	struct ml_rule *r = &p->rules[p->nrules];
	memset(r, 0, sizeof(*r));
	for (const char *s = from;;) {
		const char *comma = strchr(s, ',');
		const char *end = comma ? comma : s + strlen(s);
		size_t n;
		const char *name = trim(s, end, &n);
		if (!n) {
			snprintf(msg, msglen, "empty state name in '%s'", from);
			return -EINVAL;
		}
		int id = state_id(p, name, n);
		if (id < 0) {
			snprintf(msg, msglen, "too many states (at most %d)", PSR_ML_MAX_STATES);
			return -EINVAL;
		}
		r->from |= 1ull << id;
		if (!comma)
			break;
		s = comma + 1;
	}
	size_t n;
	const char *name = trim(to, to + strlen(to), &n);
	if (!n) {
		snprintf(msg, msglen, "empty next state");
		return -EINVAL;
	}
	if ((r->to = state_id(p, name, n)) < 0) {
		snprintf(msg, msglen, "too many states (at most %d)", PSR_ML_MAX_STATES);
		return -EINVAL;
	}
	r->start = r->from & 1;
	if (!(r->pat = rx_check(regex, msg, msglen)))
		return -EINVAL;
	p->nrules++;
	return 0;
}

static int list_add(struct ml_list *l, unsigned r)
{
	uint16_t *idx = realloc(l->idx, (l->n + 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	idx[l->n++] = (uint16_t)r;
	l->idx = idx;
	return 0;
}

int psr_ml_parser_finish(struct psr_ml_parser *p, char *msg, size_t msglen)
{
	p->bad_rule = -1;
	if (p->type != ML_REGEX)
		return 0;
	uint64_t defined = 0;
	for (unsigned r = 0; r < p->nrules; r++)
		defined |= p->rules[r].from;
	if (!(defined & 1)) {
		snprintf(msg, msglen, "no rule for \"start_state\" (a multiline regex parser needs one)");
		return -EINVAL;
	}
	for (unsigned r = 0; r < p->nrules; r++) {
		const struct ml_rule *ru = &p->rules[r];
		if (!(defined & (1ull << ru->to))) {
			p->bad_rule = (int)r;
			snprintf(msg, msglen, "rule %u: next state \"%s\" is not the state of any rule", r + 1,
				 p->states[ru->to]);
			return -EINVAL;
		}
		int rc = 0;
		if (ru->start) {
			rc = list_add(&p->starts, r);
			p->ends |= ru->from;
		} else {
			for (unsigned s = 0; s < p->nstates && !rc; s++)
				if (ru->from & (1ull << s))
					rc = list_add(&p->cont[s], r);
		}
		if (rc) {
			snprintf(msg, msglen, "out of memory");
			return rc;
		}
	}
	if (list_compile(p, &p->starts, "start_state", msg, msglen))
		return -EINVAL;
	for (unsigned s = 0; s < p->nstates; s++) {
		if (list_compile(p, &p->cont[s], p->states[s], msg, msglen))
			return -EINVAL;
		if (!p->cont[s].n)
			continue;
		int rc = 0;
		for (unsigned i = 0; i < p->cont[s].n && !rc; i++)
			rc = list_add(&p->next[s], p->cont[s].idx[i]);
		for (unsigned i = 0; i < p->starts.n && !rc; i++)
			rc = list_add(&p->next[s], p->starts.idx[i]);
		if (rc) {
			snprintf(msg, msglen, "out of memory");
			return rc;
		}
		char what[96];
		snprintf(what, sizeof(what), "%s+start_state", p->states[s]);
		if (list_compile(p, &p->next[s], what, msg, msglen))
			return -EINVAL;
	}
	return 0;
}

/* ---- the set ---- */

struct psr_ml_parser *psr_ml_set_find_raw(const struct psr_ml_set *s, const char *name)
{
	for (unsigned i = 0; s && i < s->n; i++)
		if (!strcmp(s->p[i]->name, name))
			return s->p[i];
	return NULL;
}

int psr_ml_set_insert(struct psr_ml_set *s, struct psr_ml_parser *p)
{
	if (psr_ml_set_find_raw(s, p->name))
		return -EEXIST;
	if (s->n == s->cap) {
		unsigned cap = s->cap ? 2 * s->cap : 8;
		struct psr_ml_parser **a = realloc(s->p, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		s->p = a;
		s->cap = cap;
	}
	s->p[s->n++] = p;
	return 0;
}

struct psr_ml_set *psr_ml_set_create(struct dp_err *err)
{
	struct psr_ml_set *s = calloc(1, sizeof(*s));
	if (!s) {
		dp_err_set(err, -ENOMEM, "multiline parsers: out of memory");
		return NULL;
	}
	if (psr_ml_builtin_add(s, err)) {
		psr_ml_set_destroy(s);
		return NULL;
	}
	return s;
}

void psr_ml_set_destroy(struct psr_ml_set *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->n; i++)
		psr_ml_parser_free(s->p[i]);
	free(s->p);
	free(s);
}

void psr_ml_set_remove(struct psr_ml_set *s, const struct psr_ml_parser *p)
{
	for (unsigned i = 0; i < s->n; i++) {
		if (s->p[i] != p)
			continue;
		psr_ml_parser_free(s->p[i]);
		memmove(&s->p[i], &s->p[i + 1], (s->n - i - 1) * sizeof(*s->p));
		s->n--;
		return;
	}
}

/* The set is const to its users, who look parsers up while setting up
 * (control thread); compiling a pending built-in on the way is a cache
 * fill, not a change they can see. */
const struct psr_ml_parser *psr_ml_set_find(const struct psr_ml_set *s, const char *name)
{
	struct psr_ml_parser *p = psr_ml_set_find_raw(s, name);
	if (p && p->pending) {
		char msg[160];
		p->pending = false;
		if (psr_ml_parser_finish(p, msg, sizeof(msg))) {
			dp_error("built-in multiline parser %s: %s", name, msg);
			return NULL;
		}
	}
	if (p && p->line_def && !p->lines) {
		struct dp_err err = { 0 };
		if (psr_ml_builtin_line(p, &err)) {
			dp_error("built-in multiline parser %s: %s", name, err.msg);
			return NULL;
		}
	}
	return p;
}

const struct psr_parser *psr_ml_parser_line(const struct psr_ml_parser *p)
{
	return p->line;
}

const char *psr_ml_parser_key_group(const struct psr_ml_parser *p)
{
	return p->key_group;
}

const char *psr_ml_parser_line_name(const struct psr_ml_parser *p)
{
	return p->line_name;
}

const char *psr_ml_parser_name(const struct psr_ml_parser *p)
{
	return p->name;
}

const char *psr_ml_parser_key_content(const struct psr_ml_parser *p)
{
	return p->key_content;
}

const char *psr_ml_parser_key_pattern(const struct psr_ml_parser *p)
{
	return p->key_pattern;
}

uint64_t psr_ml_parser_flush_timeout_ns(const struct psr_ml_parser *p)
{
	return p->flush_ns;
}
