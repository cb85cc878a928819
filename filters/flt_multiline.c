/*
 * flt_multiline.c — Fluent Bit's `multiline` filter in its buffered parser
 * mode: the string field multiline.key_content of each record is run
 * through the multiline parsers named by multiline.parser (psr_ml.h), one
 * stream per (input, tag) on each shard, and the lines of a stack trace
 * come out as one record.
 *
 * Records, as Fluent Bit's buffered mode does them: every record that has
 * the key leaves the filter (DP_FILTER_DROP) and comes back through the
 * filter's emitter — a line that belongs to no message as an unchanged copy
 * at once, the lines of one message as one record when it completes. That
 * keeps the order of a stream's records (they all travel one emitter), at
 * the cost of one copy of each record. A completed record is the group's
 * FIRST record (its fields in their order, its time) with the joined text
 * as the value of the content key. If the emitter refuses a single line
 * (its memory limit), the line is kept in place instead of being lost, out
 * of order. Records without the key (or whose value is not a string) pass
 * unchanged.
 *
 * A message completes when a line starts the next one, when a line matches
 * no rule, when flush_ms passes without a continuation line (tick), and at
 * shutdown (tick with final). Fluent Bit flushes all pending messages
 * every flush_ms instead, which may cut a trace that is still arriving.
 *
 * A parser's key_group (the first one's that has one; docker and cri:
 * "stream") keeps the messages of each of its values apart: a stream is
 * per (input, tag, key_group value), as Fluent Bit's stream groups.
 *
 * A [MULTILINE_PARSER] with `parser` parses the content first, as Fluent
 * Bit's ml_append_try_parser_type_map (src/multiline/flb_ml.c): the string
 * value of key_content is parsed by that [PARSER]; when it parses and the
 * result has key_content as a string, the parsed map is the line (its
 * key_content joined, key_pattern and key_group read from it, its time
 * the parsed one or else the record's), so a joined record is the FIRST
 * line's parsed map with key_content joined. Such filters keep one stream
 * per parser (Fluent Bit's parser instances): parsers are tried in order,
 * the one that took the last record first; one whose content does not
 * parse, or that no rule takes, leaves the record to the next; a record
 * none takes passes on unchanged (the original record, not parsed).
 * docker and cri do the same with their own parsers (the raw lines of
 * container log files, e.g. from a tail input without a parser); a record
 * that no parser parses is then offered to them as it is, so one that a
 * tail `Parser docker` or a cri regex already parsed ({"log": "...\n",
 * "stream": ...}, cri's "_p") is joined by its fields, where Fluent Bit
 * passes it on unchanged.
 *
 * `mode partial_message` (Docker's fluentd log driver's pieces of a long
 * line) is flt_multiline_partial.c; `buffer off` is taken as on.
 *
 * Bounds, per shard: FLT_ML_STREAMS streams (the least recently used one
 * is flushed and reused for a new (input, tag, group)), each holding at most
 * PSR_ML_GROUP_MAX bytes of text and, of the first record's other fields,
 * FLT_ML_CTX_FIELDS fields in FLT_ML_CTX_BYTES bytes (fields beyond are
 * left out of the joined record and counted). All of it is allocated when
 * the shard starts: about 2.3 MiB of address space per shard, resident
 * only where streams are used.
 *
 * Threads: setup/teardown on the control thread; the rest on the shard that
 * owns the context.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_filter.h"
#include "dp_pipeline.h"
#include "flt_multiline_int.h"
#include "psr_ml.h"
#include "psr_parser.h"

struct flt_ml_cfg {
	char *parser;
	char *key_content;
	int mode;
	bool buffer;
	int64_t flush_ms;
	char *emitter_name;
	int emitter_storage;
};

#define C(f) offsetof(struct flt_ml_cfg, f)
static const struct dp_opt flt_ml_opts[] = {
	{ "multiline.parser", DP_OPT_STR, NULL, C(parser), NULL, 0, 0, 0,
	  "multiline parsers to try, comma-separated, in order (built-ins java, python, go, ruby, nodejs, docker, cri "
	  "or a [MULTILINE_PARSER] name); may be repeated; required in mode parser" },
	{ "multiline.key_content", DP_OPT_STR, NULL, C(key_content), NULL, 0, 0, 0,
	  "key whose string value is matched and joined; unset: the first parser's key_content, else "
	  "'log'" },
	{ "mode", DP_OPT_ENUM, "parser", C(mode), "parser|partial_message", 0, 0, 0,
	  "parser: join lines with multiline parsers; partial_message: join the pieces Docker's "
	  "fluentd log driver cut (partial_message, partial_id, partial_last; needs "
	  "multiline.key_content)" },
	{ "buffer", DP_OPT_BOOL, "on", C(buffer), NULL, 0, 0, 0,
	  "buffer lines across chunks and emit joined records through the emitter; sluice always "
	  "does (off is accepted and buffers too: a message is never cut at a chunk's end)" },
	{ "flush_ms", DP_OPT_INT, "2000", C(flush_ms), NULL, 1, 3600000, 0,
	  "milliseconds without a continuation line after which a pending message is emitted" },
	{ "emitter_name", DP_OPT_STR, NULL, C(emitter_name), NULL, 0, 0, 0,
	  "name of the emitter in logs and metrics (default emitter_for_<filter name>)" },
	{ "emitter_storage.type", DP_OPT_ENUM, "memory", C(emitter_storage), "memory|filesystem", 0, 0, 0,
	  "storage of the emitter's records: filesystem stores them as an input with storage.type "
	  "filesystem (needs [SERVICE] storage.path)" },
	{ NULL },
};
#undef C

/* ---- setup (control thread) ---- */

static int parsers_add(struct dp_filter *f, struct flt_ml *ml, const struct dp_conf_kv *kv,
		       struct dp_err *err)
{
	const struct psr_ml_set *set = f->pl ? f->pl->ml_parsers : NULL;
	const char *s = kv->val;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		char name[64];
		if (!n || n >= sizeof(name))
			return dp_filter_kv_err(f, kv, err, -EINVAL,
						"invalid 'multiline.parser': empty or too long name in '%s'",
						kv->val);
		memcpy(name, s, n);
		name[n] = '\0';
		const struct psr_ml_parser *p = psr_ml_set_find(set, name);
		if (!p)
			return dp_filter_kv_err(f, kv, err, -EINVAL,
						"'multiline.parser': unknown multiline parser '%s'", name);
		if (ml->np == PSR_ML_MAX_PARSERS)
			return dp_filter_kv_err(f, kv, err, -EINVAL,
						"'multiline.parser': at most %d parsers", PSR_ML_MAX_PARSERS);
		ml->p[ml->np++] = p;
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

static int flt_ml_setup(struct dp_filter *f, struct dp_err *err)
{
	const struct flt_ml_cfg *cfg = f->cfg;
	const struct dp_conf_section *sec = f->sec;

	/* Fluent Bit's ml.c, cb_ml_init */
	if (cfg->mode == 1 && !cfg->key_content)
		return dp_filter_kv_err(f, dp_conf_kv_get(sec, "mode"), err, -EINVAL,
					"'mode' partial_message requires 'multiline.key_content'");
	/* filesystem: the emitter's chunks go through the store as a
	 * filesystem input's do (after the filters behind this one) */
	dp_filter_emitter_storage_set(f, cfg->emitter_storage,
				      dp_conf_kv_get(sec, "emitter_storage.type"));

	struct flt_ml *ml = calloc(1, sizeof(*ml));
	if (!ml)
		return dp_filter_err(f, err, -ENOMEM, "out of memory");
	int rc = 0;
	ml->partial = cfg->mode == 1;   /* multiline.parser is not used then, as in Fluent Bit */
	for (unsigned k = 0; k < sec->nkv && !rc && !ml->partial; k++)
		if (!strcasecmp(sec->kv[k].key, "multiline.parser"))
			rc = parsers_add(f, ml, &sec->kv[k], err);
	if (!rc && !ml->np && !ml->partial)
		rc = dp_filter_err(f, err, -EINVAL, "missing required key 'multiline.parser'");
	for (unsigned i = 0; !rc && i < ml->np; i++) {
		if ((ml->lp[i] = psr_ml_parser_line(ml->p[i]))) {
			ml->line = true;
			ml->as_is[i] = !psr_ml_parser_line_name(ml->p[i]);
		}
		ml->pk[i] = psr_ml_parser_key_pattern(ml->p[i]);
		ml->pkl[i] = ml->pk[i] ? strlen(ml->pk[i]) : 0;
		ml->gk[i] = psr_ml_parser_key_group(ml->p[i]);
		ml->gkl[i] = ml->gk[i] ? strlen(ml->gk[i]) : 0;
	}
	if (rc) {
		free(ml);
		return rc;
	}
	const char *key = cfg->key_content;
	if (!key && ml->np)
		key = psr_ml_parser_key_content(ml->p[0]);
	if (!key)
		key = "log";
	ml->key = strdup(key);
	ml->klen = strlen(key);
	for (unsigned i = 0; i < ml->np && !ml->pkey; i++)
		ml->pkey = psr_ml_parser_key_pattern(ml->p[i]);
	ml->pklen = ml->pkey ? strlen(ml->pkey) : 0;
	for (unsigned i = 0; i < ml->np && !ml->gkey; i++)
		ml->gkey = psr_ml_parser_key_group(ml->p[i]);
	ml->gklen = ml->gkey ? strlen(ml->gkey) : 0;
	ml->flush_ns = (uint64_t)cfg->flush_ms * 1000000ull;
	if (!ml->key) {
		free(ml);
		return dp_filter_err(f, err, -ENOMEM, "out of memory");
	}
	f->priv = ml;
	return 0;
}

static void flt_ml_teardown(struct dp_filter *f)
{
	struct flt_ml *ml = f->priv;
	if (ml)
		free(ml->key);
	free(ml);
	f->priv = NULL;
}

/* ---- building records (shard) ---- */

/* Keep the fields of the line's record other than the content key. */
static void slot_begin(void *arg)
{
	struct ml_slot *s = arg;
	struct flt_ml_ctx *x = s->ctx;
	x->stats.ctx_fields_dropped += psr_ml_keep(&s->kept, x->pc->c, x->pc->content);
}

struct group_build {
	const struct ml_slot *s;
	const struct psr_ml_group *g;
};

static int build_group(struct dp_chunk *c, void *arg)
{
	const struct group_build *b = arg;
	const struct flt_ml *ml = b->s->ctx->ml;
	psr_ml_put_kept(&b->s->kept, c, ml->key, ml->klen, b->g->text, b->g->len);
	return 0;
}

static void slot_flush(void *arg, const struct psr_ml_group *g)
{
	struct ml_slot *s = arg;
	struct flt_ml_ctx *x = s->ctx;
	struct group_build b = { s, g };

	x->stats.groups++;
	x->stats.truncated += g->truncated;
	if (dp_fx_emit(x->fx, s->tag, s->tag_len, g->sec, g->nsec, build_group, &b))
		x->stats.emit_failed++;
}

/* The running record, unchanged. */
static int build_copy(struct dp_chunk *c, void *arg)
{
	struct dp_chunk *src = arg;
	unsigned n = dp_tail_nfields(src);
	for (unsigned i = 0; i < n; i++) {
		const struct dp_field *f = dp_tail_field(src, i);
		dp_chunk_put_copy(c, dp_field_key(src, f), f->key_len, src, f);
	}
	return 0;
}

/* ---- streams (shard) ---- */

static void *flt_ml_ctx_create(struct dp_filter *f, unsigned shard)
{
	(void)shard;
	const struct flt_ml *ml = f->priv;
	struct flt_ml_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->ml = ml;
	if (ml->partial) {
		if (!(x->pm = flt_ml_partial_create(ml->key, &x->stats))) {
			free(x);
			return NULL;
		}
		return x;
	}
	if (ml->line && !(x->ln = flt_ml_line_create(ml))) {
		free(x);
		return NULL;
	}
	for (unsigned i = 0; i < FLT_ML_STREAMS; i++) {
		struct ml_slot *s = &x->slot[i];
		s->ctx = x;
		if (psr_ml_stream_init(&s->st, ml->p, ml->np, ml->flush_ns, slot_begin, slot_flush, s)) {
			for (unsigned j = 0; j < i; j++)
				psr_ml_stream_fini(&x->slot[j].st);
			flt_ml_line_free(x->ln);
			free(x);
			return NULL;
		}
	}
	return x;
}

static void flt_ml_ctx_destroy(void *ctx)
{
	struct flt_ml_ctx *x = ctx;
	if (!x)
		return;
	for (unsigned i = 0; i < FLT_ML_STREAMS && !x->pm; i++)
		psr_ml_stream_fini(&x->slot[i].st);
	flt_ml_partial_destroy(x->pm);
	flt_ml_line_free(x->ln);
	free(x);
}

/* The stream of (input, tag, parser pi (-1: all), key_group value): found,
 * free, or the least recently used one (flushed first). grp NULL: the
 * record has no string key_group (Fluent Bit's default stream group). */
struct ml_slot *flt_ml_slot_get(struct flt_ml_ctx *x, const struct dp_fx *fx, int pi,
				const char *grp, size_t glen)
{
	struct ml_slot *free_slot = NULL, *lru = &x->slot[0];
	size_t tl = fx->tag_len < DP_TAG_MAX ? fx->tag_len : DP_TAG_MAX;
	if (glen > FLT_ML_GROUP_MAX)
		glen = FLT_ML_GROUP_MAX;

	for (unsigned i = 0; i < FLT_ML_STREAMS; i++) {
		struct ml_slot *s = &x->slot[i];
		if (!s->used) {
			if (!free_slot)
				free_slot = s;
			continue;
		}
		if (s->input == fx->input && s->pi == pi && s->tag_len == tl &&
		    !memcmp(s->tag, fx->tag, tl) && s->has_grp == (grp != NULL) &&
		    (!grp || (s->grp_len == glen && !memcmp(s->grp, grp, glen))))
			return s;
		if (s->last_used < lru->last_used || !lru->used)
			lru = s;
	}
	struct ml_slot *s = free_slot;
	if (!s) {
		s = lru;
		psr_ml_stream_flush(&s->st);
		x->stats.evictions++;
	}
	s->used = true;
	s->pi = (int8_t)pi;
	s->input = (uint16_t)fx->input;
	s->tag_len = (uint16_t)tl;
	memcpy(s->tag, fx->tag, tl);
	s->has_grp = grp != NULL;
	s->grp_len = grp ? (uint8_t)glen : 0;
	if (grp)
		memcpy(s->grp, grp, glen);
	if (pi >= 0)
		psr_ml_stream_only(&s->st, x->ml->p[pi]);
	s->st.lru = 0;
	return s;
}

/* The record, part of no group: it goes on unchanged, through the emitter
 * to keep the stream's order. */
int flt_ml_pass_on(struct flt_ml_ctx *x, struct dp_fx *fx)
{
	const struct dp_rec *r = dp_tail(fx->c);
	x->stats.passed++;
	if (dp_fx_emit(fx, NULL, 0, r->ts_sec, r->ts_nsec, build_copy, fx->c)) {
		x->stats.pass_kept++;
		return DP_FILTER_KEEP;
	}
	return DP_FILTER_DROP;
}

static int flt_ml_record(void *ctx, struct dp_fx *fx)
{
	struct flt_ml_ctx *x = ctx;
	struct dp_chunk *c = fx->c;
	if (x->pm)
		return flt_ml_partial_record(x->pm, fx);
	int i = dp_tail_find(c, x->ml->key, x->ml->klen);
	if (i < 0)
		return DP_FILTER_KEEP;
	const struct dp_field *f = dp_tail_field(c, (unsigned)i);
	if (f->type != DP_T_STR)
		return DP_FILTER_KEEP;
	x->fx = fx;   /* before slot_get: an eviction emits */
	if (x->ml->line)
		return flt_ml_record_line(x, fx, i);

	const struct dp_rec *r = dp_tail(c);
	/* key_group: messages of each of its values are joined apart
	 * (flb_ml.c, process_append: val_group picks the stream group) */
	const char *grp = NULL;
	size_t glen = 0;
	int gi = x->ml->gkey ? dp_tail_find(c, x->ml->gkey, x->ml->gklen) : -1;
	if (gi >= 0 && dp_tail_field(c, (unsigned)gi)->type == DP_T_STR) {
		const struct dp_field *gf = dp_tail_field(c, (unsigned)gi);
		grp = dp_field_val(c, gf);
		glen = gf->val_len;
	}
	struct ml_slot *s = flt_ml_slot_get(x, fx, -1, grp, glen);
	s->last_used = fx->now_ns;
	/* key_pattern: its value decides (cri's "_p"), key_content's is joined;
	 * a record without it is decided by its content. */
	const char *pat = NULL;
	size_t plen = 0;
	int pi = x->ml->pkey ? dp_tail_find(c, x->ml->pkey, x->ml->pklen) : -1;
	if (pi >= 0 && dp_tail_field(c, (unsigned)pi)->type == DP_T_STR) {
		const struct dp_field *pf = dp_tail_field(c, (unsigned)pi);
		pat = dp_field_val(c, pf);
		plen = pf->val_len;
	}
	struct ml_piece pc = { .c = c, .content = i };
	x->pc = &pc;
	int v = psr_ml_stream_push_kp(&s->st, dp_field_val(c, f), f->val_len, pat, plen, r->ts_sec,
				      r->ts_nsec, fx->now_ns);
	x->pc = NULL;
	if (v != PSR_ML_PASS)
		return DP_FILTER_DROP;
	return flt_ml_pass_on(x, fx);
}

static void flt_ml_tick(void *ctx, struct dp_fx *fx, bool final)
{
	struct flt_ml_ctx *x = ctx;
	x->fx = fx;
	if (x->pm) {
		flt_ml_partial_tick(x->pm, fx, final, x->ml->flush_ns);
		return;
	}
	for (unsigned i = 0; i < FLT_ML_STREAMS; i++) {
		struct ml_slot *s = &x->slot[i];
		if (!s->used)
			continue;
		if (final)
			psr_ml_stream_flush(&s->st);
		else
			psr_ml_stream_tick(&s->st, fx->now_ns);
	}
}

const struct flt_ml_stats *flt_ml_ctx_stats(const void *ctx)
{
	return &((const struct flt_ml_ctx *)ctx)->stats;
}

const struct dp_filter_ops flt_multiline_ops = {
	.name = "multiline",
	.desc = "join the lines of stack traces and other multi-line messages into one record",
	.opts = flt_ml_opts,
	.cfg_size = sizeof(struct flt_ml_cfg),
	.setup = flt_ml_setup,
	.shard_ctx_create = flt_ml_ctx_create,
	.shard_ctx_destroy = flt_ml_ctx_destroy,
	.record = flt_ml_record,
	.tick = flt_ml_tick,
	.teardown = flt_ml_teardown,
	.emits = true,
};
