/*
 * out_ccount.c — a C output plugin for sluice's plugin API, built by
 * tests/e2e/test_plugins.py from the headers `meson install` puts in
 * <prefix>/include/sluice (and docs/PLUGINS.md's example). Output
 * `ccount` appends one line per chunk to its Path: "tag records first_sec".
 * -DBAD_ABI builds it claiming another ABI; -DFAIL_LOAD makes its load fail.
 *
 * Threads: setup on the control thread, flush on its output worker.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <sluice_plugin.h>

struct ccount_cfg {
	char *path;
	int64_t every;
};

static const struct dp_opt ccount_opts[] = {
	{ "Path", DP_OPT_STR, NULL, offsetof(struct ccount_cfg, path), NULL, 0, 0, DP_OPT_REQUIRED,
	  "File the counts are appended to." },
	{ "Every", DP_OPT_INT, "1", offsetof(struct ccount_cfg, every), NULL, 1, 1000, 0,
	  "Unused; shows an option with a range in -h." },
	{ NULL },
};

struct ccount_worker {
	struct dp_output *o;
	FILE *f;
};

static int setup(struct dp_output *o, struct dp_err *err)
{
	const struct ccount_cfg *cfg = o->cfg;
	FILE *f = fopen(cfg->path, "a");
	if (!f) {
		err->key = "Path";
		return dp_err_set(err, -errno, "cannot open '%s'", cfg->path);
	}
	fclose(f);
	return 0;
}

static void *worker_create(struct dp_output *o, unsigned worker, struct dp_err *err)
{
	(void)worker;
	const struct ccount_cfg *cfg = o->cfg;
	struct ccount_worker *w = calloc(1, sizeof(*w));
	if (!w || !(w->f = fopen(cfg->path, "a"))) {
		free(w);
		dp_err_set(err, -ENOMEM, "cannot open '%s'", cfg->path);
		return NULL;
	}
	w->o = o;
	return w;
}

static int flush(void *wctx, struct dp_chunk *const *c, unsigned n)
{
	struct ccount_worker *w = wctx;
	for (unsigned i = 0; i < n; i++) {
		size_t tlen;
		const char *tag = dp_chunk_tag(w->o->pl, c[i], &tlen);
		uint32_t kept = 0;
		for (uint32_t r = 0; r < c[i]->nrecs; r++)
			kept += !(c[i]->recs[r].flags & DP_REC_DROPPED);
		fprintf(w->f, "%.*s %u %u\n", (int)tlen, tag, kept, c[i]->nrecs ? c[i]->recs[0].ts_sec : 0);
	}
	return fflush(w->f) ? -errno : 0;
}

static void worker_destroy(void *wctx)
{
	struct ccount_worker *w = wctx;
	fclose(w->f);
	free(w);
}

static const struct dp_output_ops ccount_ops = {
	.name = "ccount",
	.desc = "Counts records per chunk (a test plugin)",
	.opts = ccount_opts,
	.cfg_size = sizeof(struct ccount_cfg),
	.setup = setup,
	.worker_create = worker_create,
	.flush = flush,
	.worker_destroy = worker_destroy,
};

static const struct dp_output_ops *const outputs[] = { &ccount_ops, NULL };

#ifdef FAIL_LOAD
static int load(struct dp_err *err)
{
	return dp_err_set(err, -EIO, "the test asked it to fail");
}
#endif

const struct sluice_plugin sluice_plugin = {
	SLUICE_PLUGIN_HEADER,
#ifdef BAD_ABI
	.abi = SLUICE_PLUGIN_ABI + 1000,
#endif
#ifdef FAIL_LOAD
	.load = load,
#endif
	.name = "ccount",
	.outputs = outputs,
};
