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
 * Speed: rules are grouped by KEY (re_keyed.h): one Hyperscan database per
 * key, one scan of a value answers every rule on it, and a key is scanned
 * only when a rule first needs it for this record.
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
#include "re_keyed.h"

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

struct grep_rule {
	uint8_t type;
	struct re_keyed_rule at;
};

struct grep {
	int op;
	unsigned nrules;
	struct grep_rule *rules;
	struct re_keyed *keyed;
};

static void grep_free(struct grep *g)
{
	if (!g)
		return;
	re_keyed_destroy(g->keyed);
	free(g->rules);
	free(g);
}

static int grep_setup(struct dp_filter *f, struct dp_err *err)
{
	const struct grep_cfg *cfg = f->cfg;
	const struct dp_conf_section *sec = f->sec;
	struct grep *g = calloc(1, sizeof(*g));
	int rc = 0;
	if (!g || !(g->rules = calloc(sec->nkv ? sec->nkv : 1, sizeof(*g->rules))) ||
	    !(g->keyed = re_keyed_create())) {
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
		struct grep_rule *r = &g->rules[g->nrules];
		if ((rc = re_keyed_add(g->keyed, &ra, re, what, &r->at, &e))) {
			rc = dp_filter_kv_err(f, kv, err, rc, "%s", e.msg);
			goto out;
		}
		r->type = (uint8_t)type;
		g->nrules++;
	}
	struct dp_err e = { 0 };
	if ((rc = re_keyed_compile(g->keyed, what, 0, &e))) {
		rc = dp_filter_err(f, err, rc, "%s", e.msg);
		goto out;
	}
	f->priv = g;
	g = NULL;
out:
	grep_free(g);
	return rc;
}

static void grep_teardown(struct dp_filter *f)
{
	grep_free(f->priv);
	f->priv = NULL;
}

struct grep_shard {
	const struct grep *g;
	struct re_keyed_scan *scan;
};

static void grep_ctx_destroy(void *ctx)
{
	struct grep_shard *s = ctx;
	if (!s)
		return;
	re_keyed_scan_destroy(s->scan);
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
	if (!(s->scan = re_keyed_scan_create(g->keyed))) {
		grep_ctx_destroy(s);
		return NULL;
	}
	return s;
}

static inline bool rule_matches(struct grep_shard *s, const struct grep_rule *r,
				const struct dp_chunk *c)
{
	return re_keyed_matches(s->scan, c, r->at, NULL);
}

static int grep_record(void *ctx, struct dp_fx *fx)
{
	struct grep_shard *s = ctx;
	const struct grep *g = s->g;
	re_keyed_scan_reset(s->scan);
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
