/*
 * re_grep.c — the grep filter: keep or drop records by regular expressions
 * over their values (Fluent Bit's filter_grep: same keys, same semantics).
 *
 *   Regex      KEY REGEX   keep records whose KEY matches (repeats)
 *   Exclude    KEY REGEX   drop records whose KEY matches (repeats)
 *   Logical_Op legacy | AND | OR   (default legacy)
 *
 * KEY is a record accessor (dp_ra.h): "log", "$log",
 * "$kubernetes['labels']['app']". REGEX is everything after the first
 * space, bare or "/re/" with Ruby options (re_pattern_from_fb).
 *
 * Evaluation, as Fluent Bit's flb_grep.c does it (not as its docs put it):
 *   - legacy: rules in configuration order; the first that decides wins.
 *     A Regex that does not match drops the record, a Regex that matches
 *     KEEPS it at once (later rules are not looked at), an Exclude that
 *     matches drops it; when no rule decided, the record is kept. With only
 *     Regex rules that is "the first Regex decides"; Fluent Bit's
 *     maintainers kept this on purpose (fluent-bit#6721) and added
 *     Logical_Op for the rest, so a configuration behaves here as there.
 *   - AND / OR: Regex and Exclude cannot be mixed (a start-up error, as in
 *     Fluent Bit). Regex: keep when all (AND) / any (OR) match. Exclude:
 *     drop when all (AND) / any (OR) match.
 *   - a missing key, or a value that is not a string, does not match
 *     (Fluent Bit's docs: "If you use REGEX or EXCLUDE with a number, it
 *     will never match it").
 *
 * Speed: rules are grouped by KEY; each group is one re_set (one Hyperscan
 * database), so one scan of a value answers every rule on that key. A
 * group is scanned only when a rule first needs it for this record.
 *
 * Threads: setup/teardown on the control thread; record() on the shard
 * that owns the context (its scratches and bit buffers).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_filter.h"
#include "dp_ra.h"
#include "re_set.h"

enum { GREP_REGEX, GREP_EXCLUDE };
enum { OP_LEGACY, OP_AND, OP_OR };

struct grep_cfg {
	char *regex;        /* the last one; setup walks every kv */
	char *exclude;
	int logical_op;
};

static const struct dp_opt grep_opts[] = {
	{ "Regex", DP_OPT_STR, NULL, offsetof(struct grep_cfg, regex), NULL, 0, 0, 0,
	  "KEY REGEX: keep records whose KEY (a record accessor such as $a['b']) matches REGEX; "
	  "repeats" },
	{ "Exclude", DP_OPT_STR, NULL, offsetof(struct grep_cfg, exclude), NULL, 0, 0, 0,
	  "KEY REGEX: drop records whose KEY matches REGEX; repeats" },
	{ "Logical_Op", DP_OPT_ENUM, "legacy", offsetof(struct grep_cfg, logical_op),
	  "legacy|AND|OR", 0, 0, 0,
	  "how rules combine: AND or OR (Regex and Exclude cannot then be mixed), or legacy: the "
	  "first rule that decides wins (Fluent Bit's behaviour before 2.1)" },
	{ NULL },
};

struct grep_group {
	struct dp_ra ra;
	struct re_set *set;
	unsigned n;          /* patterns in set */
};

struct grep_rule {
	uint8_t type;
	uint16_t group;
	uint16_t idx;        /* pattern index within its group */
};

struct grep {
	int op;
	unsigned nrules, ngroups;
	struct grep_rule *rules;
	struct grep_group *groups;
};

struct grep_shard {
	const struct grep *g;
	struct re_scratch **sc;
	uint64_t **bits;     /* per group, (n + 63) / 64 words */
	uint8_t *state;      /* per group: 0 not scanned, 1 scanned, 2 no string */
};

static void grep_free(struct grep *g)
{
	if (!g)
		return;
	for (unsigned i = 0; i < g->ngroups; i++)
		re_set_destroy(g->groups[i].set);
	free(g->groups);
	free(g->rules);
	free(g);
}

/* Patterns and flags per rule, kept until the groups are compiled. */
struct pending {
	const struct dp_conf_kv *kv;
	char *pat;
	unsigned flags;
};

static int grep_setup(struct dp_filter *f, struct dp_err *err)
{
	const struct grep_cfg *cfg = f->cfg;
	const struct dp_conf_section *sec = f->sec;
	struct grep *g = calloc(1, sizeof(*g));
	struct pending *pend = calloc(sec->nkv ? sec->nkv : 1, sizeof(*pend));
	const char **pats = calloc(sec->nkv ? sec->nkv : 1, sizeof(*pats));
	unsigned *pflags = calloc(sec->nkv ? sec->nkv : 1, sizeof(*pflags));
	int rc = 0;
	if (!g || !pend || !pats || !pflags ||
	    !(g->rules = calloc(sec->nkv ? sec->nkv : 1, sizeof(*g->rules))) ||
	    !(g->groups = calloc(sec->nkv ? sec->nkv : 1, sizeof(*g->groups)))) {
		rc = dp_filter_err(f, err, -ENOMEM, "out of memory");
		goto out;
	}
	g->op = cfg->logical_op;
	const char *what = f->name[0] ? f->name : "grep";

	for (unsigned k = 0; k < sec->nkv; k++) {
		const struct dp_conf_kv *kv = &sec->kv[k];
		int type;
		if (!strcasecmp(kv->key, "Regex"))
			type = GREP_REGEX;
		else if (!strcasecmp(kv->key, "Exclude"))
			type = GREP_EXCLUDE;
		else
			continue;
		if (g->op != OP_LEGACY && g->nrules && g->rules[0].type != type) {
			rc = dp_filter_kv_err(f, kv, err, -EINVAL,
					      "both 'Regex' and 'Exclude' are set; with Logical_Op AND "
					      "or OR use only one kind");
			goto out;
		}
		/* "KEY REGEX": the key up to the first space, the regex the rest. */
		const char *v = kv->val, *sp = strchr(v, ' ');
		const char *re = sp;
		while (re && *re == ' ')
			re++;
		if (!sp || sp == v || !*re) {
			rc = dp_filter_kv_err(f, kv, err, -EINVAL,
					      "%s: expected 'KEY REGEX', got '%s'", kv->key, v);
			goto out;
		}
		char keybuf[DP_RA_MAX_TEXT + 64];
		struct dp_ra ra;
		struct dp_err e = { 0 };
		if ((size_t)(sp - v) >= sizeof(keybuf)) {
			rc = dp_filter_kv_err(f, kv, err, -EINVAL, "%s: key too long", kv->key);
			goto out;
		}
		memcpy(keybuf, v, (size_t)(sp - v));
		keybuf[sp - v] = '\0';
		if (dp_ra_parse(keybuf, &ra, &e)) {
			rc = dp_filter_kv_err(f, kv, err, -EINVAL, "%s: %s", kv->key, e.msg);
			goto out;
		}
		struct pending *p = &pend[g->nrules];
		p->kv = kv;
		size_t plen = strlen(re) + 1;
		if (!(p->pat = malloc(plen)) || re_pattern_from_fb(re, p->pat, plen, &p->flags)) {
			rc = dp_filter_kv_err(f, kv, err, -ENOMEM, "out of memory");
			goto out;
		}
		/* Check the pattern alone so an error names its own line. */
		struct re_set *one = re_set_create_ex((const char *const *)&p->pat, &p->flags, 1,
						      what, RE_SET_PCRE_ONLY, &e);
		if (!one) {
			rc = dp_filter_kv_err(f, kv, err, -EINVAL, "%s", e.msg);
			goto out;
		}
		re_set_destroy(one);
		unsigned gi;
		for (gi = 0; gi < g->ngroups; gi++)
			if (!memcmp(&g->groups[gi].ra, &ra, sizeof(ra)))
				break;
		if (gi == g->ngroups)
			g->groups[g->ngroups++].ra = ra;
		struct grep_rule *r = &g->rules[g->nrules++];
		r->type = (uint8_t)type;
		r->group = (uint16_t)gi;
		r->idx = (uint16_t)g->groups[gi].n++;
	}

	/* One set per key, its patterns in rule order. */
	for (unsigned gi = 0; gi < g->ngroups; gi++) {
		unsigned m = 0;
		for (unsigned i = 0; i < g->nrules; i++)
			if (g->rules[i].group == gi) {
				pats[m] = pend[i].pat;
				pflags[m++] = pend[i].flags;
			}
		char gwhat[96];
		snprintf(gwhat, sizeof(gwhat), "%s (key %s)", what,
			 g->groups[gi].ra.text + g->groups[gi].ra.part[0].off);
		struct dp_err e = { 0 };
		g->groups[gi].set = re_set_create(pats, pflags, m, gwhat, &e);
		if (!g->groups[gi].set) {
			rc = dp_filter_err(f, err, e.code ? e.code : -EINVAL, "%s", e.msg);
			goto out;
		}
	}
	f->priv = g;
	g = NULL;
out:
	for (unsigned i = 0; i < sec->nkv; i++)
		free(pend ? pend[i].pat : NULL);
	free(pend);
	free(pats);
	free(pflags);
	grep_free(g);
	return rc;
}

static void grep_teardown(struct dp_filter *f)
{
	grep_free(f->priv);
	f->priv = NULL;
}

static void grep_ctx_destroy(void *ctx)
{
	struct grep_shard *s = ctx;
	if (!s)
		return;
	for (unsigned i = 0; s->g && i < s->g->ngroups; i++) {
		re_scratch_destroy(s->sc ? s->sc[i] : NULL);
		free(s->bits ? s->bits[i] : NULL);
	}
	free(s->sc);
	free(s->bits);
	free(s->state);
	free(s);
}

static void *grep_ctx_create(struct dp_filter *f, unsigned shard)
{
	(void)shard;
	const struct grep *g = f->priv;
	struct grep_shard *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->g = g;
	unsigned n = g->ngroups ? g->ngroups : 1;
	if (!(s->sc = calloc(n, sizeof(*s->sc))) || !(s->bits = calloc(n, sizeof(*s->bits))) ||
	    !(s->state = calloc(n, 1)))
		goto fail;
	for (unsigned i = 0; i < g->ngroups; i++) {
		if (!(s->sc[i] = re_scratch_create(g->groups[i].set)) ||
		    !(s->bits[i] = calloc((g->groups[i].n + 63) / 64, sizeof(uint64_t))))
			goto fail;
	}
	return s;
fail:
	grep_ctx_destroy(s);
	return NULL;
}

/* Does rule r match the tail record? Scans r's group on first need. */
static bool rule_matches(struct grep_shard *s, const struct grep_rule *r, const struct dp_chunk *c)
{
	unsigned gi = r->group;
	if (!s->state[gi]) {
		const struct grep_group *gr = &s->g->groups[gi];
		struct dp_ra_val v;
		if (dp_ra_get_tail(&gr->ra, c, &v) && v.type == DP_T_STR) {
			re_set_match(gr->set, s->sc[gi], v.str, v.len, s->bits[gi]);
			s->state[gi] = 1;
		} else {
			s->state[gi] = 2;
		}
	}
	return s->state[gi] == 1 && (s->bits[gi][r->idx / 64] >> (r->idx % 64) & 1);
}

static int grep_record(void *ctx, struct dp_fx *fx)
{
	struct grep_shard *s = ctx;
	const struct grep *g = s->g;
	memset(s->state, 0, g->ngroups);
	if (g->op == OP_LEGACY) {
		for (unsigned i = 0; i < g->nrules; i++) {
			const struct grep_rule *r = &g->rules[i];
			bool m = rule_matches(s, r, fx->c);
			if (r->type == GREP_REGEX)
				return m ? DP_FILTER_KEEP : DP_FILTER_DROP;
			if (m)
				return DP_FILTER_DROP;
		}
		return DP_FILTER_KEEP;
	}
	if (!g->nrules)
		return DP_FILTER_KEEP;
	bool found = false;
	for (unsigned i = 0; i < g->nrules; i++) {
		found = rule_matches(s, &g->rules[i], fx->c);
		if (g->op == OP_OR ? found : !found)
			break;
	}
	if (g->rules[0].type == GREP_REGEX)
		return found ? DP_FILTER_KEEP : DP_FILTER_DROP;
	return found ? DP_FILTER_DROP : DP_FILTER_KEEP;
}

const struct dp_filter_ops re_grep_ops = {
	.name = "grep",
	.desc = "keep or drop records by regular expressions over their values (Hyperscan)",
	.opts = grep_opts,
	.cfg_size = sizeof(struct grep_cfg),
	.setup = grep_setup,
	.shard_ctx_create = grep_ctx_create,
	.shard_ctx_destroy = grep_ctx_destroy,
	.record = grep_record,
	.teardown = grep_teardown,
};
