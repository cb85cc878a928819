/*
 * re_rewrite_tag.c — the rewrite_tag filter: re-emit records whose value
 * matches a regex under a new tag made from the old tag, the regex's
 * captures and other values of the record (Fluent Bit's filter_rewrite_tag:
 * same keys, same rule syntax).
 *
 *   Rule  $KEY  REGEX  NEW_TAG  KEEP      (repeats; the first that matches wins)
 *   Emitter_Name           name of the emitter (default emitter_for_<filter>)
 *   Emitter_Storage.type   memory or filesystem (the emitter's chunks go
 *                          through the store as a filesystem input's do)
 *   Emitter_Mem_Buf_Limit  common to all filters (dp_filter_common_opts)
 *
 * A rule's four parts are separated by spaces; a part may be written
 * "between double quotes" to hold spaces (no escapes inside). KEY is a
 * record accessor (dp_ra.h). NEW_TAG is a template:
 *   $TAG        the record's tag
 *   $TAG[n]     part n of the tag split on '.' (empty when there is none)
 *   $0 .. $9    the regex's captures ($0 the whole match; empty when unset)
 *   $key['a']   a value of the record: strings as they are, integers in
 *               decimal, booleans as true/false, anything else or a
 *               missing key empty (as Fluent Bit's record accessor)
 *   ${VAR}      already replaced by the configuration reader
 *   anything else is literal. A '$' followed by none of these is literal.
 * KEEP (true/false) says whether the original record goes on.
 *
 * Matching: rules are grouped by KEY into one re_set each (re_keyed.h);
 * captures are taken with PCRE2 only for the rule that matched, and only
 * when its NEW_TAG uses them. A value that is not a string never matches.
 * When the new tag would be empty or longer than DP_TAG_MAX, or the
 * emitter refuses the record (its memory is full), nothing is emitted and
 * the original record is kept whatever KEEP says, so no record is lost;
 * both are counted per shard.
 *
 * Threads: setup/teardown on the control thread, the rest on the shard
 * that owns the context.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_filter.h"
#include "dp_ra.h"
#include "dp_tmpl.h"
#include "re_keyed.h"

struct rt_cfg {
	char *rule;            /* the last one; setup walks every kv */
	char *emitter_name;
	int emitter_storage;
};

static const struct dp_opt rt_opts[] = {
	{ "Rule", DP_OPT_STR, NULL, offsetof(struct rt_cfg, rule), NULL, 0, 0, DP_OPT_REQUIRED,
	  "$KEY REGEX NEW_TAG KEEP: re-emit records whose KEY matches REGEX under NEW_TAG ($TAG, "
	  "$TAG[n], $0..$9, $key['sub']); KEEP true keeps the original; repeats, the first match "
	  "wins" },
	{ "Emitter_Name", DP_OPT_STR, NULL, offsetof(struct rt_cfg, emitter_name), NULL, 0, 0, 0,
	  "name of the emitter that carries the new records (default emitter_for_<filter name>)" },
	{ "Emitter_Storage.type", DP_OPT_ENUM, "memory", offsetof(struct rt_cfg, emitter_storage),
	  "memory|filesystem", 0, 0, 0,
	  "where the emitter buffers new records: filesystem stores them as an input with "
	  "storage.type filesystem (needs [SERVICE] storage.path)" },
	{ NULL },
};

struct rt_rule {
	struct re_keyed_rule at;
	bool keep;
	struct dp_tmpl tag;    /* NEW_TAG (dp_tmpl.h) */
};

struct rt {
	unsigned nrules;
	struct rt_rule *rules;
	struct re_keyed *keyed;
};

/* Per shard. The counters are read by tests and, later, metrics. */
struct rt_shard {
	const struct rt *rt;
	struct re_keyed_scan *scan;
	uint64_t emitted, emit_failed, tag_failed;
};

static void rt_free(struct rt *rt)
{
	if (!rt)
		return;
	re_keyed_destroy(rt->keyed);
	for (unsigned i = 0; i < rt->nrules; i++)
		dp_tmpl_free(&rt->rules[i].tag);
	free(rt->rules);
	free(rt);
}

/* Split a rule into 4 parts in place (NUL-terminated); parts may be
 * double-quoted. Returns the number of parts found (at most 5). */
static unsigned split_rule(char *s, char *part[5])
{
	unsigned n = 0;
	while (*s && n < 5) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		char *end;
		if (*s == '"' && (end = strchr(s + 1, '"')) && (end[1] == 0 || end[1] == ' ' ||
								  end[1] == '\t')) {
			part[n++] = s + 1;
			*end = 0;
			s = end + 1;
			continue;
		}
		part[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (*s)
			*s++ = 0;
	}
	return n;
}

static int rt_setup(struct dp_filter *f, struct dp_err *err)
{
	struct rt_cfg *cfg = f->cfg;
	const struct dp_conf_section *sec = f->sec;
	unsigned cap = sec->nkv ? sec->nkv : 1;
	struct rt *rt = calloc(1, sizeof(*rt));
	int rc = 0;
	if (!rt || !(rt->rules = calloc(cap, sizeof(*rt->rules))) || !(rt->keyed = re_keyed_create())) {
		rc = dp_filter_err(f, err, -ENOMEM, "out of memory");
		goto out;
	}
	const char *what = f->name[0] ? f->name : "rewrite_tag";
	dp_filter_emitter_storage_set(f, cfg->emitter_storage,
				      dp_conf_kv_get(sec, "Emitter_Storage.type"));
	if (!cfg->emitter_name) {
		char buf[80];
		snprintf(buf, sizeof(buf), "emitter_for_%s", what);
		if (!(cfg->emitter_name = strdup(buf))) {
			rc = dp_filter_err(f, err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	for (unsigned k = 0; k < sec->nkv; k++) {
		const struct dp_conf_kv *kv = &sec->kv[k];
		if (strcasecmp(kv->key, "Rule"))
			continue;
		char *copy = strdup(kv->val), *part[5];
		if (!copy) {
			rc = dp_filter_err(f, err, -ENOMEM, "out of memory");
			goto out;
		}
		struct rt_rule *r = &rt->rules[rt->nrules];
		struct dp_err e = { 0 };
		struct dp_ra ra;
		bool keep;
		if (split_rule(copy, part) != 4) {
			free(copy);
			rc = dp_filter_kv_err(f, kv, err, -EINVAL,
					      "Rule: expected '$KEY REGEX NEW_TAG KEEP', got '%s'",
					      kv->val);
			goto out;
		}
		if (dp_ra_parse(part[0], &ra, &e) ||
		    (dp_opt_parse_bool(part[3], &keep) &&
		     dp_err_set(&e, -EINVAL, "KEEP must be true or false, not '%s'", part[3])) ||
		    dp_tmpl_parse(&r->tag, part[2], DP_TMPL_CAPS, "NEW_TAG", &e)) {
			free(copy);
			dp_tmpl_free(&r->tag);
			rc = dp_filter_kv_err(f, kv, err, -EINVAL, "Rule: %s",
					      e.msg[0] ? e.msg : "out of memory");
			goto out;
		}
		rt->nrules++;  /* from here on its template is freed with rt */
		rc = re_keyed_add(rt->keyed, &ra, part[1], what, &r->at, &e);
		free(copy);
		if (rc) {
			rc = dp_filter_kv_err(f, kv, err, rc, "%s", e.msg);
			goto out;
		}
		r->keep = keep;
	}
	struct dp_err e = { 0 };
	if ((rc = re_keyed_compile(rt->keyed, what, RE_SET_CAPTURES, &e))) {
		rc = dp_filter_err(f, err, rc, "%s", e.msg);
		goto out;
	}
	f->priv = rt;
	rt = NULL;
out:
	rt_free(rt);
	return rc;
}

static void rt_teardown(struct dp_filter *f)
{
	rt_free(f->priv);
	f->priv = NULL;
}

static void rt_ctx_destroy(void *ctx)
{
	struct rt_shard *s = ctx;
	if (!s)
		return;
	re_keyed_scan_destroy(s->scan);
	free(s);
}

static void *rt_ctx_create(struct dp_filter *f, unsigned shard)
{
	(void)shard;
	const struct rt *rt = f->priv;
	struct rt_shard *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->rt = rt;
	if (!(s->scan = re_keyed_scan_create(rt->keyed))) {
		rt_ctx_destroy(s);
		return NULL;
	}
	return s;
}

/* ---- shard side ---- */

/* NEW_TAG for the record at the tail of fx->c, whose KEY value subj
 * matched rule r: its length, or -1 when longer than buf. */
static ssize_t make_tag(struct rt_shard *s, const struct rt_rule *r, struct dp_fx *fx,
			const struct dp_ra_val *subj, char *buf, size_t cap)
{
	size_t ov[20];
	struct dp_tmpl_caps caps = { subj->str, ov, 0 };
	if (r->tag.uses_caps)
		caps.n = re_set_capture(re_keyed_set(s->rt->keyed, r->at.group),
					re_keyed_scratch(s->scan, r->at.group), r->at.idx, subj->str, subj->len,
					ov, 10);
	return dp_tmpl_expand(&r->tag, buf, cap, fx->tag, fx->tag_len, fx->c, dp_tail_field(fx->c, 0),
			      dp_tail_nfields(fx->c), &caps);
}

struct copy_arg {
	const struct dp_chunk *src;
	const struct dp_field *fields;
	unsigned n;
};

/* Copies the fields of the original record into the emitter's record. */
static int copy_fields(struct dp_chunk *c, void *arg)
{
	const struct copy_arg *a = arg;
	for (unsigned i = 0; i < a->n; i++) {
		const struct dp_field *f = &a->fields[i];
		dp_chunk_put_copy(c, dp_field_key(a->src, f), f->key_len, a->src, f);
	}
	return 0;
}

static int rt_record(void *ctx, struct dp_fx *fx)
{
	struct rt_shard *s = ctx;
	const struct rt *rt = s->rt;
	re_keyed_scan_reset(s->scan);
	for (unsigned i = 0; i < rt->nrules; i++) {
		const struct rt_rule *r = &rt->rules[i];
		struct dp_ra_val v;
		if (!re_keyed_matches(s->scan, fx->c, r->at, &v))
			continue;
		char tag[DP_TAG_MAX];
		ssize_t n = make_tag(s, r, fx, &v, tag, sizeof(tag));
		if (n <= 0) {
			s->tag_failed++;
			return DP_FILTER_KEEP;
		}
		const struct dp_rec *rec = dp_tail(fx->c);
		struct copy_arg a = { fx->c, dp_tail_field(fx->c, 0), dp_tail_nfields(fx->c) };
		if (dp_fx_emit(fx, tag, (size_t)n, rec->ts_sec, rec->ts_nsec, copy_fields, &a)) {
			s->emit_failed++;
			return DP_FILTER_KEEP;
		}
		s->emitted++;
		return r->keep ? DP_FILTER_KEEP : DP_FILTER_DROP;
	}
	return DP_FILTER_KEEP;
}

const struct dp_filter_ops re_rewrite_tag_ops = {
	.name = "rewrite_tag",
	.desc = "re-emit records whose value matches a regex under a new tag",
	.opts = rt_opts,
	.cfg_size = sizeof(struct rt_cfg),
	.setup = rt_setup,
	.shard_ctx_create = rt_ctx_create,
	.shard_ctx_destroy = rt_ctx_destroy,
	.record = rt_record,
	.teardown = rt_teardown,
	.emits = true,
	.emit_from_head = true,
};
