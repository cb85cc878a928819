/*
 * flt_parser.c — Fluent Bit's `parser` filter: parse one field of the
 * record (Key_Name) with the named [PARSER]s (Parser, repeatable, tried in
 * order, the first that matches wins) and put the fields it yields in the
 * record.
 *
 * On a match: the parsed fields are appended to the record, the record's
 * time becomes the parsed time when the parser found one, and the original
 * fields are removed except Key_Name with Preserve_Key and the others with
 * Reserve_Data (Fluent Bit's defaults remove them all). The kept fields
 * come first and the parsed ones after them (Fluent Bit writes the parsed
 * ones first; the set of pairs is the same). A kept field whose key
 * the parser yields too is replaced by the parsed one: no key twice.
 * No match, a missing key or a value that is not a string: the record goes
 * on unchanged, and a per-shard counter says so.
 *
 * With two or more byte-mode regex parsers, their regexes are one re_set
 * (one Hyperscan pass over the value says which can match); only those
 * run psr_parser_exec (PCRE2 captures), still in configuration order, so
 * one that matches but fails (e.g. Time_Strict) falls through as before.
 *
 * Threads: setup/teardown on the control thread; contexts and record() on
 * the shard that owns them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_filter.h"
#include "dp_pipeline.h"
#include "flt_parser.h"
#include "flt_util.h"
#include "psr_kv.h"
#include "psr_parser.h"
#include "re_set.h"

#define FLT_PARSER_MAX 16  /* Parser entries in one filter */

struct flt_parser_cfg {
	char *key_name;
	char *parser;        /* last one; all of them are walked from the section */
	bool reserve_data;
	bool preserve_key;
	bool unescape_key;
};

static const struct dp_opt flt_parser_opts[] = {
	{ "Key_Name", DP_OPT_STR, NULL, offsetof(struct flt_parser_cfg, key_name), NULL, 0, 0,
	  DP_OPT_REQUIRED, "field of the record to parse" },
	{ "Parser", DP_OPT_STR, NULL, offsetof(struct flt_parser_cfg, parser), NULL, 0, 0,
	  DP_OPT_REQUIRED,
	  "name of a [PARSER] to apply; may repeat: tried in order, the first that matches wins" },
	{ "Reserve_Data", DP_OPT_BOOL, "off", offsetof(struct flt_parser_cfg, reserve_data), NULL, 0,
	  0, 0, "keep the record's other fields beside the parsed ones" },
	{ "Preserve_Key", DP_OPT_BOOL, "off", offsetof(struct flt_parser_cfg, preserve_key), NULL, 0,
	  0, 0, "keep the Key_Name field itself" },
	{ "Unescape_Key", DP_OPT_BOOL, "off", offsetof(struct flt_parser_cfg, unescape_key), NULL, 0,
	  0, 0, "decode backslash escapes in the value before parsing it (deprecated in Fluent Bit)" },
	{ NULL },
};

struct flt_parser {
	const struct psr_parser *ps[FLT_PARSER_MAX];
	unsigned n;
	const char *key;
	size_t klen;
	bool reserve_data, preserve_key, unescape_key;
	struct re_set *set;             /* NULL unless 2+ regex parsers */
	int in_set[FLT_PARSER_MAX];     /* pattern index of parser i in set, or -1 */
};

struct flt_parser_ctx {
	const struct flt_parser *fp;
	struct psr_parser_state *st[FLT_PARSER_MAX];
	struct re_scratch *sc;  /* for fp->set */
	char *scratch;        /* Unescape_Key */
	/* counters (this shard) */
	uint64_t parsed;
	uint64_t no_match;    /* no parser matched the value */
	uint64_t no_field;    /* Key_Name absent or not a string */
	uint64_t no_room;     /* parsed fields did not fit the chunk: left unparsed */
} dp_cache_aligned;

static int setup(struct dp_filter *f, struct dp_err *err)
{
	const struct flt_parser_cfg *cfg = f->cfg;
	struct flt_parser *fp = calloc(1, sizeof(*fp));
	if (!fp)
		return dp_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < FLT_PARSER_MAX; i++)
		fp->in_set[i] = -1;
	fp->key = cfg->key_name;
	fp->klen = strlen(cfg->key_name);
	fp->reserve_data = cfg->reserve_data;
	fp->preserve_key = cfg->preserve_key;
	fp->unescape_key = cfg->unescape_key;
	const struct psr_parsers *set = f->pl ? f->pl->parsers : NULL;
	for (unsigned i = 0; f->sec && i < f->sec->nkv; i++) {
		const struct dp_conf_kv *kv = &f->sec->kv[i];
		if (strcasecmp(kv->key, "Parser"))
			continue;
		const struct psr_parser *p = psr_parsers_find(set, kv->val);
		int rc = 0;
		if (!p)
			rc = dp_filter_kv_err(f, kv, err, -EINVAL, "unknown parser '%s'%s", kv->val,
					      set ? "" : " (no [PARSER] is defined)");
		else if (fp->n == FLT_PARSER_MAX)
			rc = dp_filter_kv_err(f, kv, err, -E2BIG, "too many Parser entries (max %d)",
					      FLT_PARSER_MAX);
		if (rc) {
			free(fp);
			return rc;
		}
		fp->ps[fp->n++] = p;
	}
	if (!fp->n) {
		free(fp);
		return dp_filter_err(f, err, -EINVAL, "missing required key 'Parser'");
	}
	const char *pats[FLT_PARSER_MAX];
	unsigned flags[FLT_PARSER_MAX], np = 0;
	for (unsigned i = 0; i < fp->n; i++)
		if ((pats[np] = psr_parser_regex(fp->ps[i], &flags[np])))
			fp->in_set[i] = (int)np++;
	if (np >= 2 && !(fp->set = re_set_create(pats, flags, np, "parser filter", err))) {
		free(fp);
		return err->code ? err->code : -EINVAL;
	}
	if (np < 2)
		for (unsigned i = 0; i < fp->n; i++)
			fp->in_set[i] = -1;
	f->priv = fp;
	return 0;
}

static void teardown(struct dp_filter *f)
{
	struct flt_parser *fp = f->priv;
	if (fp)
		re_set_destroy(fp->set);
	free(fp);
	f->priv = NULL;
}

static void ctx_destroy(void *p)
{
	struct flt_parser_ctx *ctx = p;
	if (!ctx)
		return;
	for (unsigned i = 0; i < FLT_PARSER_MAX; i++)
		psr_parser_state_destroy(ctx->st[i]);
	re_scratch_destroy(ctx->sc);
	free(ctx->scratch);
	free(ctx);
}

static void *ctx_create(struct dp_filter *f, unsigned shard)
{
	(void)shard;
	const struct flt_parser *fp = f->priv;
	struct flt_parser_ctx *ctx = aligned_alloc(DP_CACHE_LINE, sizeof(*ctx));
	if (!ctx)
		return NULL;
	memset(ctx, 0, sizeof(*ctx));
	ctx->fp = fp;
	for (unsigned i = 0; i < fp->n; i++)
		if (!(ctx->st[i] = psr_parser_state_create(fp->ps[i])))
			goto fail;
	if (fp->set && !(ctx->sc = re_scratch_create(fp->set)))
		goto fail;
	if (fp->unescape_key && !(ctx->scratch = malloc(DP_CHUNK_DATA)))
		goto fail;
	return ctx;
fail:
	ctx_destroy(ctx);
	return NULL;
}

static int record(void *p, struct dp_fx *fx)
{
	struct flt_parser_ctx *ctx = p;
	const struct flt_parser *fp = ctx->fp;
	struct dp_chunk *c = fx->c;
	int ki = dp_tail_find(c, fp->key, fp->klen);
	if (ki < 0 || dp_tail_field(c, (unsigned)ki)->type != DP_T_STR) {
		ctx->no_field++;
		return DP_FILTER_KEEP;
	}
	const struct dp_field *kf = dp_tail_field(c, (unsigned)ki);
	const char *text = dp_field_val(c, kf);
	size_t len = kf->val_len;
	if (fp->unescape_key && memchr(text, '\\', len)) {
		len = psr_kv_unescape(text, len, ctx->scratch);
		text = ctx->scratch;
	}

	dp_tail_reopen(c);
	unsigned n0 = dp_tail_nfields(c);
	struct dp_mark m = dp_chunk_mark(c);
	/* Which regex parsers can match: one scan; the others are skipped. */
	uint64_t can[1] = { ~0ull };
	if (fp->set)
		re_set_match(fp->set, ctx->sc, text, len, can);
	unsigned i;
	for (i = 0; i < fp->n; i++) {
		int k = fp->in_set[i];
		if (k >= 0 && !(can[0] >> k & 1))
			continue;
		if (psr_parser_exec(fp->ps[i], ctx->st[i], c, text, len) == 0)
			break;
	}
	if (i == fp->n || c->overflow) {
		/* Unchanged: nothing was appended (or it is taken back). */
		if (i == fp->n)
			ctx->no_match++;
		else
			ctx->no_room++;
		dp_chunk_rollback(c, m);
		dp_tail_close(c);
		return DP_FILTER_KEEP;
	}
	/* From the last down, so indexes below stay valid. A kept field
	 * whose key the parser also yielded goes too: the parsed value wins,
	 * and the record never holds a key twice. */
	unsigned n1 = dp_tail_nfields(c);
	for (unsigned j = n0; j-- > 0;) {
		bool keep = j == (unsigned)ki ? fp->preserve_key : fp->reserve_data;
		if (keep) {
			const struct dp_field *fs = flt_fields(c), *o = &fs[j];
			for (unsigned q = n0; q < n1 && keep; q++)
				keep = !flt_key_eq(c, &fs[q], flt_key(c, o), o->key_len);
		}
		if (!keep) {
			dp_tail_remove(c, j);
			n0--;
			n1--;
		}
	}
	ctx->parsed++;
	dp_tail_close(c);
	return DP_FILTER_KEEP;
}

void flt_parser_stats_get(const void *p, struct flt_parser_stats *out)
{
	const struct flt_parser_ctx *ctx = p;
	out->parsed = ctx->parsed;
	out->no_match = ctx->no_match;
	out->no_field = ctx->no_field;
	out->no_room = ctx->no_room;
}

const struct dp_filter_ops flt_parser_ops = {
	.name = "parser",
	.desc = "parse a field of the record with [PARSER] definitions",
	.opts = flt_parser_opts,
	.cfg_size = sizeof(struct flt_parser_cfg),
	.setup = setup,
	.shard_ctx_create = ctx_create,
	.shard_ctx_destroy = ctx_destroy,
	.record = record,
	.teardown = teardown,
};
