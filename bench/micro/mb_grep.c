/*
 * mb_grep.c — the timed loops of the grep benchmark (mb_grep.h), in C
 * because dp_chunk.h uses C11 atomics. Records are built once into chunks;
 * a pass visits each record as the tail of its chunk (nrecs set to i + 1),
 * which is how a filter sees a record right after the parser.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dp_filter.h"
#include "dp_log.h"
#include "dp_ra.h"
#include "mb_grep.h"
#include "mb_shim.h"
#include "re_set.h"

extern const struct dp_filter_ops re_grep_ops;

#define MB_MAX_CHUNKS 64

struct mb_grep {
	int mode;
	unsigned nchunks;
	struct dp_chunk ch[MB_MAX_CHUNKS];
	uint32_t nrecs[MB_MAX_CHUNKS];
	uint64_t records, bytes;
	/* set modes */
	struct dp_ra ra;
	struct re_set *set;
	struct re_scratch *sc;
	uint64_t bits[2];
	/* filter mode */
	struct dp_conf *conf;
	struct dp_filter f;
	void *ctx;
};

/* Patterns an operator would grep syslog for; the first 1, 8 or 64. */
static const char *const base_pats[] = {
	"ERROR",
	"timeout.*upstream",
	"is DOWN, reason: Layer4 timeout",
	"maximum authentication attempts",
	"Invalid user (root|admin|oracle)",
	"latency_ms=[0-9]{5}",
	"currency=(USD|GBP)",
	"\\bpanic\\b|segfault at [0-9a-f]+",
};

static int make_pats(unsigned n, char (*buf)[64], const char **pats)
{
	for (unsigned i = 0; i < n; i++) {
		if (i < DP_ARRAY_SIZE(base_pats))
			snprintf(buf[i], 64, "%s", base_pats[i]);
		else if (i % 4 == 0)
			snprintf(buf[i], 64, "be_api/srv%u is (UP|DOWN)", i % 13);
		else if (i % 4 == 1)
			snprintf(buf[i], 64, "user_id=u%u[0-9]{3}\\b", i);
		else if (i % 4 == 2)
			snprintf(buf[i], 64, "HTTP/1\\.1\" 5%02u", i % 100);
		else
			snprintf(buf[i], 64, "session opened for user \\w+\\(uid=1%u", i % 5);
		pats[i] = buf[i];
	}
	return 0;
}

static int build_records(struct mb_grep *g, unsigned nlines)
{
	struct mb_corpus c;
	if (mb_corpus_make(&c, MB_3164, 0, nlines))
		return -1;
	const char *p = c.buf, *end = c.buf + c.len;
	unsigned k = 0;
	while (p < end && k < MB_MAX_CHUNKS) {
		struct dp_chunk *ch = &g->ch[k];
		if (!ch->data) {
			dp_chunk_init(ch, calloc(DP_CHUNK_RECS, sizeof(struct dp_rec)),
				      calloc(DP_CHUNK_FIELDS, sizeof(struct dp_field)),
				      malloc(DP_CHUNK_DATA));
			g->nchunks = k + 1;
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		dp_chunk_rec_begin(ch, 1, 0);
		dp_chunk_put_str(ch, "message", 7, p, len);
		if (dp_chunk_rec_end(ch) == -ENOSPC) {
			k++;
			continue;
		}
		g->records++;
		g->bytes += len;
		p += len + 1;
	}
	for (unsigned i = 0; i < g->nchunks; i++)
		g->nrecs[i] = g->ch[i].nrecs;
	mb_corpus_free(&c);
	return 0;
}

static int make_filter(struct mb_grep *g, const char *const *pats, unsigned n)
{
	struct dp_err err = { 0 };
	g->conf = dp_conf_create();
	struct dp_conf_section *s = dp_conf_section_add(g->conf, "FILTER", "bench", 1);
	dp_conf_kv_add(g->conf, s, "Logical_Op", "OR", "bench", 2);
	for (unsigned i = 0; i < n; i++) {
		char v[80];
		snprintf(v, sizeof(v), "message %s", pats[i]);
		dp_conf_kv_add(g->conf, s, "Regex", v, "bench", 3 + (int)i);
	}
	g->f.ops = &re_grep_ops;
	g->f.sec = s;
	g->f.file = "bench";
	strcpy(g->f.name, "grep.0");
	g->f.cfg = calloc(1, re_grep_ops.cfg_size);
	const struct dp_opt *const tabs[] = { dp_filter_common_opts, re_grep_ops.opts };
	void *const cfgs[] = { &g->f, g->f.cfg };
	if (dp_opt_apply(tabs, cfgs, 2, s, "[FILTER] grep", NULL, &err) ||
	    re_grep_ops.setup(&g->f, &err)) {
		fprintf(stderr, "mb_grep: %s\n", err.msg);
		return -1;
	}
	g->ctx = re_grep_ops.shard_ctx_create(&g->f, 0);
	return g->ctx ? 0 : -1;
}

struct mb_grep *mb_grep_create(unsigned nlines, unsigned npat, int mode)
{
	struct mb_grep *g = calloc(1, sizeof(*g));
	char buf[64][64];
	const char *pats[64];
	if (!g || npat > 64)
		goto fail;
	g->mode = mode;
	dp_log_level = DP_LOG_ERROR;
	make_pats(npat, buf, pats);
	if (build_records(g, nlines))
		goto fail;
	if (mode == MB_GREP_FILTER) {
		if (make_filter(g, pats, npat))
			goto fail;
		return g;
	}
	struct dp_err err = { 0 };
	dp_ra_parse("message", &g->ra, &err);
	g->set = re_set_create_ex(pats, NULL, npat, "bench",
				  mode == MB_GREP_PCRE ? RE_SET_PCRE_ONLY : 0, &err);
	if (!g->set || !(g->sc = re_scratch_create(g->set))) {
		fprintf(stderr, "mb_grep: %s\n", err.msg);
		goto fail;
	}
	return g;
fail:
	mb_grep_destroy(g);
	return NULL;
}

uint64_t mb_grep_pass(struct mb_grep *g)
{
	uint64_t hit = 0;
	for (unsigned k = 0; k < g->nchunks; k++) {
		struct dp_chunk *c = &g->ch[k];
		for (uint32_t i = 0; i < g->nrecs[k]; i++) {
			c->nrecs = i + 1;
			if (g->mode == MB_GREP_FILTER) {
				struct dp_fx fx = { .c = c, .tag = "t", .tag_len = 1 };
				hit += re_grep_ops.record(g->ctx, &fx) == DP_FILTER_KEEP;
			} else {
				struct dp_ra_val v;
				if (dp_ra_get_tail(&g->ra, c, &v) && v.type == DP_T_STR)
					hit += re_set_match(g->set, g->sc, v.str, v.len, g->bits) > 0;
			}
		}
		c->nrecs = g->nrecs[k];
	}
	return hit;
}

uint64_t mb_grep_records(const struct mb_grep *g)
{
	return g->records;
}

uint64_t mb_grep_bytes(const struct mb_grep *g)
{
	return g->bytes;
}

unsigned mb_grep_fallbacks(const struct mb_grep *g)
{
	return g->set ? re_set_fallbacks(g->set) : 0;
}

void mb_grep_destroy(struct mb_grep *g)
{
	if (!g)
		return;
	re_scratch_destroy(g->sc);
	re_set_destroy(g->set);
	if (g->ctx)
		re_grep_ops.shard_ctx_destroy(g->ctx);
	if (g->f.priv)
		re_grep_ops.teardown(&g->f);
	if (g->f.cfg) {
		dp_opt_free(dp_filter_common_opts, &g->f);
		dp_opt_free(re_grep_ops.opts, g->f.cfg);
		free(g->f.cfg);
	}
	if (g->conf)
		dp_conf_destroy(g->conf);
	for (unsigned k = 0; k < g->nchunks; k++) {
		free(g->ch[k].recs);
		free(g->ch[k].fields);
		free(g->ch[k].data);
	}
	free(g);
}
