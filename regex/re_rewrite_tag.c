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
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_filter.h"
#include "dp_ra.h"
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

enum { TP_LIT, TP_TAG, TP_TAG_PART, TP_CAP, TP_RA };

struct rt_piece {
	uint8_t kind;
	uint16_t n;            /* TAG_PART / CAP index; RA: index in rule's ra[] */
	uint32_t off, len;     /* TP_LIT: bytes of rule->tmpl */
};

#define RT_MAX_PIECES 32
#define RT_MAX_RA     8

struct rt_rule {
	struct re_keyed_rule at;
	bool keep;
	bool uses_caps;
	unsigned npieces, nra;
	struct rt_piece piece[RT_MAX_PIECES];
	struct dp_ra ra[RT_MAX_RA];
	char *tmpl;
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
		free(rt->rules[i].tmpl);
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

static int add_piece(struct rt_rule *r, uint8_t kind, uint16_t n, uint32_t off, uint32_t len)
{
	if (kind == TP_LIT && r->npieces && r->piece[r->npieces - 1].kind == TP_LIT &&
	    r->piece[r->npieces - 1].off + r->piece[r->npieces - 1].len == off) {
		r->piece[r->npieces - 1].len += len;
		return 0;
	}
	if (r->npieces >= RT_MAX_PIECES)
		return -E2BIG;
	r->piece[r->npieces++] = (struct rt_piece){ kind, n, off, len };
	return 0;
}

/* Compile NEW_TAG (r->tmpl) into pieces. */
static int parse_tmpl(struct rt_rule *r, struct dp_err *e)
{
	const char *t = r->tmpl;
	size_t len = strlen(t), i = 0;
	while (i < len) {
		int rc = 0;
		if (t[i] != '$') {
			rc = add_piece(r, TP_LIT, 0, (uint32_t)i, 1);
			i++;
		} else if (i + 1 < len && t[i + 1] >= '0' && t[i + 1] <= '9') {
			rc = add_piece(r, TP_CAP, (uint16_t)(t[i + 1] - '0'), 0, 0);
			r->uses_caps = true;
			i += 2;
		} else if (!strncmp(t + i, "$TAG", 4) && t[i + 4] == '[') {
			size_t j = i + 5;
			unsigned v = 0;
			while (j < len && t[j] >= '0' && t[j] <= '9' && v < 1000)
				v = v * 10 + (unsigned)(t[j++] - '0');
			if (j == i + 5 || j >= len || t[j] != ']')
				return dp_err_set(e, -EINVAL, "NEW_TAG '%s': bad $TAG[n]", t);
			rc = add_piece(r, TP_TAG_PART, (uint16_t)v, 0, 0);
			i = j + 1;
		} else if (!strncmp(t + i, "$TAG", 4) &&
			   !(t[i + 4] && (isalnum((unsigned char)t[i + 4]) || t[i + 4] == '_' ||
					  t[i + 4] == '-'))) {
			rc = add_piece(r, TP_TAG, 0, 0, 0);
			i += 4;
		} else {
			size_t used;
			struct dp_err ignore;
			if (r->nra < RT_MAX_RA &&
			    !dp_ra_parse_prefix(t + i, len - i, &used, &r->ra[r->nra], &ignore)) {
				rc = add_piece(r, TP_RA, (uint16_t)r->nra++, 0, 0);
				i += used;
			} else if (r->nra >= RT_MAX_RA) {
				return dp_err_set(e, -E2BIG, "NEW_TAG '%s': more than %d record keys", t,
						  RT_MAX_RA);
			} else {
				rc = add_piece(r, TP_LIT, 0, (uint32_t)i, 1);
				i++;
			}
		}
		if (rc)
			return dp_err_set(e, rc, "NEW_TAG '%s': more than %d parts", t, RT_MAX_PIECES);
	}
	return 0;
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
		    !(r->tmpl = strdup(part[2])) || parse_tmpl(r, &e)) {
			free(copy);
			free(r->tmpl);
			r->tmpl = NULL;
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

struct tagbuf {
	char b[DP_TAG_MAX];
	size_t n;
	bool over;
};

static void tb_put(struct tagbuf *t, const char *p, size_t n)
{
	if (t->n + n > sizeof(t->b)) {
		t->over = true;
		return;
	}
	memcpy(t->b + t->n, p, n);
	t->n += n;
}

/* Part n of tag split on '.'. */
static void tag_part(struct tagbuf *t, const char *tag, size_t len, unsigned n)
{
	size_t a = 0;
	for (unsigned k = 0; k < n; k++) {
		const char *dot = memchr(tag + a, '.', len - a);
		if (!dot)
			return;
		a = (size_t)(dot - tag) + 1;
	}
	const char *dot = memchr(tag + a, '.', len - a);
	tb_put(t, tag + a, dot ? (size_t)(dot - tag) - a : len - a);
}

static void put_ra(struct tagbuf *t, const struct dp_ra *ra, const struct dp_chunk *c)
{
	struct dp_ra_val v;
	char num[32];
	if (!dp_ra_get_tail(ra, c, &v))
		return;
	switch (v.type) {
	case DP_T_STR:
		tb_put(t, v.str, v.len);
		break;
	case DP_T_INT:
		tb_put(t, num, (size_t)snprintf(num, sizeof(num), "%" PRId64, dp_field_int(c, &v.f)));
		break;
	case DP_T_UINT:
		tb_put(t, num, (size_t)snprintf(num, sizeof(num), "%" PRIu64,
						(uint64_t)dp_field_int(c, &v.f)));
		break;
	case DP_T_BOOL:
		if (dp_field_bool(c, &v.f))
			tb_put(t, "true", 4);
		else
			tb_put(t, "false", 5);
		break;
	default:
		break;
	}
}

static void make_tag(struct rt_shard *s, const struct rt_rule *r, struct dp_fx *fx,
		     const struct dp_ra_val *subj, struct tagbuf *t)
{
	size_t ov[20];
	int ncap = 0;
	if (r->uses_caps)
		ncap = re_set_capture(re_keyed_set(s->rt->keyed, r->at.group),
				      re_keyed_scratch(s->scan, r->at.group), r->at.idx, subj->str, subj->len,
				      ov, 10);
	for (unsigned i = 0; i < r->npieces; i++) {
		const struct rt_piece *p = &r->piece[i];
		switch (p->kind) {
		case TP_LIT:
			tb_put(t, r->tmpl + p->off, p->len);
			break;
		case TP_TAG:
			tb_put(t, fx->tag, fx->tag_len);
			break;
		case TP_TAG_PART:
			tag_part(t, fx->tag, fx->tag_len, p->n);
			break;
		case TP_CAP:
			if ((int)p->n < ncap && ov[2 * p->n] != SIZE_MAX)
				tb_put(t, subj->str + ov[2 * p->n], ov[2 * p->n + 1] - ov[2 * p->n]);
			break;
		case TP_RA:
			put_ra(t, &r->ra[p->n], fx->c);
			break;
		}
	}
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
		struct tagbuf t;
		t.n = 0;
		t.over = false;
		make_tag(s, r, fx, &v, &t);
		if (t.over || t.n == 0) {
			s->tag_failed++;
			return DP_FILTER_KEEP;
		}
		const struct dp_rec *rec = dp_tail(fx->c);
		struct copy_arg a = { fx->c, dp_tail_field(fx->c, 0), dp_tail_nfields(fx->c) };
		if (dp_fx_emit(fx, t.b, t.n, rec->ts_sec, rec->ts_nsec, copy_fields, &a)) {
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
