/*
 * psr_ml.c — multiline parsers: the set of them by name, the reading of a
 * [MULTILINE_PARSER] section, the compilation of its rules into the state
 * machine psr_ml_stream.c runs, and the one function that matches a line
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

struct psr_ml_set {
	struct psr_ml_parser **p;
	unsigned n, cap;
};

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

static struct psr_ml_parser *find_raw(const struct psr_ml_set *s, const char *name)
{
	for (unsigned i = 0; s && i < s->n; i++)
		if (!strcmp(s->p[i]->name, name))
			return s->p[i];
	return NULL;
}

int psr_ml_set_insert(struct psr_ml_set *s, struct psr_ml_parser *p)
{
	if (find_raw(s, p->name))
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

/* Take p out of the set and free it. */
static void ml_set_remove(struct psr_ml_set *s, const struct psr_ml_parser *p)
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
	struct psr_ml_parser *p = find_raw(s, name);
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

/* ---- [MULTILINE_PARSER] sections ---- */

struct ml_cfg {
	char *name;
	int type;
	int64_t flush_timeout;
	char *key_content;
	char *key_pattern;
	char *key_group;
	char *parser;
	char *match_string;
	bool negate;
	char *rule;
};

#define C(f) offsetof(struct ml_cfg, f)
const struct dp_opt psr_ml_opts[] = {
	{ "name", DP_OPT_STR, NULL, C(name), NULL, 0, 0, DP_OPT_REQUIRED,
	  "name of the multiline parser, as multiline.parser refers to it; one named like a built-in "
	  "(java, python, go, ruby, nodejs, docker, cri) replaces it" },
	{ "type", DP_OPT_ENUM, NULL, C(type), "regex|endswith|equal|eq", 0, 0, DP_OPT_REQUIRED,
	  "regex: rules (a state machine) decide; endswith / equal: a line ending with / equal to "
	  "match_string ends the message" },
	{ "flush_timeout", DP_OPT_INT, "4000", C(flush_timeout), NULL, 1, 3600000, 0,
	  "milliseconds without a continuation line after which a pending message is flushed (a filter's "
	  "flush_ms takes precedence)" },
	{ "key_content", DP_OPT_STR, NULL, C(key_content), NULL, 0, 0, 0,
	  "key of a structured record holding the text to match and join (multiline.key_content of the "
	  "filter overrides it)" },
	{ "key_pattern", DP_OPT_STR, NULL, C(key_pattern), NULL, 0, 0, 0,
	  "key of a structured record whose value the rules (or match_string) test, when it is not "
	  "key_content's: key_content is still what is joined" },
	{ "key_group", DP_OPT_STR, NULL, C(key_group), NULL, 0, 0, 0,
	  "key of a structured record whose value tells interleaved messages apart (e.g. stream: "
	  "stdout and stderr are joined apart); records without it are one group" },
	{ "parser", DP_OPT_STR, NULL, C(parser), NULL, 0, 0, 0,
	  "[PARSER] applied to each raw line of the tail input first: the rules then test its "
	  "key_content (needed) and the message is the first line's record with key_content joined; "
	  "a line it does not parse ends the open messages and goes out alone as {key_content: line}" },
	{ "match_string", DP_OPT_STR, NULL, C(match_string), NULL, 0, 0, 0,
	  "endswith / equal: the string that ends a message" },
	{ "negate", DP_OPT_BOOL, "false", C(negate), NULL, 0, 0, 0,
	  "endswith / equal: a line NOT ending with / equal to match_string ends the message" },
	{ "rule", DP_OPT_STR, NULL, C(rule), NULL, 0, 0, 0,
	  "regex: one rule, repeated in order: \"STATE[, STATE]\" \"/REGEX/\" \"NEXT_STATE\"; lines matching a "
	  "rule of \"start_state\" begin a message, the rules of the current state continue it" },
	{ NULL },
};
#undef C

/* Split `"a, b" "/x \"y\"/" "c"` into three tokens in buf (a quoted token
 * ends at the next unescaped quote; \" inside it is a quote, every other
 * backslash is kept for the regex). Returns the number of tokens. */
static int rule_tokens(const char *v, char *buf, const char *tok[], int max)
{
	int n = 0;
	char *w = buf;
	while (*v) {
		while (*v == ' ' || *v == '\t')
			v++;
		if (!*v)
			break;
		if (n == max)
			return max + 1;
		tok[n++] = w;
		if (*v == '"') {
			for (v++; *v && *v != '"'; v++) {
				if (*v == '\\' && v[1] == '"')
					v++;
				*w++ = *v;
			}
			if (*v != '"')
				return -1;
			v++;
		} else {
			while (*v && *v != ' ' && *v != '\t')
				*w++ = *v++;
		}
		*w++ = '\0';
	}
	return n;
}

static int sec_rules(struct psr_ml_parser *p, const struct dp_conf_section *sec, const char *what,
		     struct dp_err *err)
{
	char msg[120];
	unsigned nrules = 0;

	for (unsigned k = 0; k < sec->nkv; k++) {
		const struct dp_conf_kv *kv = &sec->kv[k];
		if (strcasecmp(kv->key, "rule"))
			continue;
		if (p->type != ML_REGEX)
			return dp_err_set(err, -EINVAL, "%s:%d: %s: 'rule' needs type regex", kv->file,
					  kv->line, what);
		char *buf = malloc(strlen(kv->val) + 1);
		const char *tok[3];
		if (!buf)
			return dp_err_set(err, -ENOMEM, "%s: out of memory", what);
		int n = rule_tokens(kv->val, buf, tok, 3);
		int rc = n == 3 ? psr_ml_parser_rule(p, tok[0], tok[1], tok[2], msg, sizeof(msg)) : -EINVAL;
		free(buf);
		if (n != 3)
			return dp_err_set(err, -EINVAL,
					  "%s:%d: %s: invalid 'rule': expected \"STATE\" \"/REGEX/\" "
					  "\"NEXT_STATE\"",
					  kv->file, kv->line, what);
		if (rc)
			return dp_err_set(err, rc, "%s:%d: %s: 'rule': %s", kv->file, kv->line, what, msg);
		nrules++;
	}
	if (p->type == ML_REGEX && !nrules)
		return dp_err_set(err, -EINVAL, "%s:%d: %s: type regex needs at least one 'rule'",
				  sec->file, sec->line, what);
	if (psr_ml_parser_finish(p, msg, sizeof(msg))) {
		/* Point at the rule at fault when there is one. */
		const char *file = sec->file;
		int line = sec->line;
		for (unsigned k = 0, r = 0; k < sec->nkv && p->bad_rule >= 0; k++) {
			if (strcasecmp(sec->kv[k].key, "rule"))
				continue;
			if (r++ == (unsigned)p->bad_rule) {
				file = sec->kv[k].file;
				line = sec->kv[k].line;
				break;
			}
		}
		return dp_err_set(err, -EINVAL, "%s:%d: %s: 'rule': %s", file, line, what, msg);
	}
	return 0;
}

/* `parser`: kept by name (with where it was written) until
 * psr_ml_set_resolve, as [PARSER] sections may come later or from another
 * file (Fluent Bit's flb_ml_parsers_init, src/multiline/flb_ml.c). */
static int sec_line(struct psr_ml_parser *p, const struct dp_conf_section *sec,
		    const struct ml_cfg *cfg, const char *what, struct dp_err *err)
{
	if (!cfg->parser)
		return 0;
	const struct dp_conf_kv *kv = dp_conf_kv_get(sec, "parser");
	err->key = "parser";
	if (!cfg->parser[0])
		return dp_err_set(err, -EINVAL, "%s:%d: %s: 'parser': empty name", kv->file, kv->line,
				  what);
	/* the parsed record's key_content is what the rules test and join:
	 * without one no line could be taken (flb_ml.c, process_append) */
	if (!p->key_content || !p->key_content[0])
		return dp_err_set(err, -EINVAL,
				  "%s:%d: %s: 'parser' needs 'key_content', the key of the parsed "
				  "record whose value the rules test and join",
				  kv->file, kv->line, what);
	p->line_name = strdup(cfg->parser);
	p->line_file = strdup(kv->file);
	p->line_line = kv->line;
	if (!p->line_name || !p->line_file)
		return dp_err_set(err, -ENOMEM, "%s: out of memory", what);
	err->key = NULL;
	return 0;
}

int psr_ml_set_resolve(struct psr_ml_set *s, const struct psr_parsers *parsers, struct dp_err *err)
{
	for (unsigned i = 0; s && i < s->n; i++) {
		struct psr_ml_parser *p = s->p[i];
		if (!p->line_name)
			continue;
		p->line = parsers ? psr_parsers_find(parsers, p->line_name) : NULL;
		if (!p->line) {
			err->key = "parser";
			return dp_err_set(err, -EINVAL,
					  "%s:%d: [MULTILINE_PARSER] %s: 'parser': no [PARSER] named '%s'",
					  p->line_file, p->line_line, p->name, p->line_name);
		}
	}
	return 0;
}

int psr_ml_set_add(struct psr_ml_set *s, const struct dp_conf_section *sec, struct dp_err *err)
{
	static const char *const ignore[] = { "rule", NULL };
	const struct dp_opt *const tabs[] = { psr_ml_opts };
	struct ml_cfg cfg;
	void *const cfgs[] = { &cfg };
	char what[96];
	const struct dp_conf_kv *nkv = dp_conf_kv_get(sec, "name");

	if (nkv)
		snprintf(what, sizeof(what), "[MULTILINE_PARSER] %s", nkv->val);
	else
		snprintf(what, sizeof(what), "[MULTILINE_PARSER]");
	int rc = dp_opt_apply(tabs, cfgs, 1, sec, what, ignore, err);
	if (rc)
		return rc;
	if (!cfg.name[0]) {
		rc = dp_err_set(err, -EINVAL, "%s:%d: %s: empty 'name'", nkv->file, nkv->line, what);
		goto out;
	}
	/* A definition replaces a built-in of its name: Fluent Bit has no
	 * `nodejs` built-in, so its users define their own under that name. */
	const struct psr_ml_parser *old = find_raw(s, cfg.name);
	if (old && old->builtin) {
		ml_set_remove(s, old);
		dp_debug("%s:%d: %s replaces the built-in multiline parser of that name", nkv->file,
			 nkv->line, what);
	} else if (old) {
		rc = dp_err_set(err, -EEXIST, "%s:%d: %s: 'name': a multiline parser '%s' is already defined",
				nkv->file, nkv->line, what, cfg.name);
		goto out;
	}
	int type = cfg.type == 3 ? ML_EQUAL : cfg.type;
	if (type != ML_REGEX && (!cfg.match_string || !cfg.match_string[0])) {
		rc = dp_err_set(err, -EINVAL, "%s:%d: %s: type %s needs 'match_string'", sec->file,
				sec->line, what, type == ML_ENDSWITH ? "endswith" : "equal");
		goto out;
	}
	struct psr_ml_parser *p = psr_ml_parser_new(cfg.name, type, (uint64_t)cfg.flush_timeout);
	if (!p) {
		rc = dp_err_set(err, -ENOMEM, "%s: out of memory", what);
		goto out;
	}
	p->negate = cfg.negate;
	/* Take the strings over from cfg. */
	p->key_content = cfg.key_content;
	cfg.key_content = NULL;
	p->key_pattern = cfg.key_pattern;
	cfg.key_pattern = NULL;
	if (cfg.match_string) {
		p->match_str = cfg.match_string;
		p->match_len = strlen(cfg.match_string);
		cfg.match_string = NULL;
	}
	if (cfg.key_group && cfg.key_group[0]) {
		p->key_group = cfg.key_group;
		cfg.key_group = NULL;
	}
	rc = sec_line(p, sec, &cfg, what, err);
	if (!rc)
		rc = sec_rules(p, sec, what, err);
	if (!rc && (rc = psr_ml_set_insert(s, p)))
		dp_err_set(err, rc, "%s: out of memory", what);
	if (rc)
		psr_ml_parser_free(p);
out:
	dp_opt_free(psr_ml_opts, &cfg);
	return rc;
}
