/*
 * out_goproxy.c — Fluent Bit's Go output plugin interface: a shared object
 * built with fluent-bit-go (or anything exporting the same functions)
 * becomes a sluice output, unchanged. What the object sees is what Fluent
 * Bit's proxy (src/proxy/go/go.c, include/fluent-bit/flb_plugin_proxy.h,
 * flb_api.h) gives it:
 *
 *   FLBPluginRegister(struct flb_plugin_proxy_def *)  once, when loaded:
 *       fills type (2, output), proxy (11, Go), flags, name, description;
 *   FLBPluginInit(struct flbgo_output_plugin *)        per instance, at
 *       start-up: FLB_OK (1) or it fails; it reads its keys through
 *       plugin->api->output_get_property(key, plugin->o_ins) (what
 *       fluent-bit-go's FLBPluginConfigKey calls) and may keep a context
 *       in plugin->context->remote_context (FLBPluginSetContext);
 *   FLBPluginFlushCtx(ctx, data, size, tag) or FLBPluginFlush(data, size,
 *       tag)                                           per chunk, on the
 *       instance's output worker: data is the chunk's msgpack events
 *       [time, map] in Fluent Bit's layout (dp_chunk.h) — the bytes as
 *       they are when no filter dropped a record, else the kept ones
 *       copied out; returns FLB_OK (1), FLB_RETRY (2) or FLB_ERROR (0);
 *   FLBPluginExitCtx(ctx) or FLBPluginExit()           when the instance
 *       is torn down.
 *
 * Return codes onto sluice's burst contract (dp_plugin.h): a burst's
 * chunks are flushed one by one as Fluent Bit flushes one chunk per call;
 * FLB_RETRY on any makes the burst retry through the worker's scheduler
 * (scheduler.base/cap, Retry_Limit), and on the retry the chunks already
 * answered FLB_OK or FLB_ERROR are skipped, so nothing is written twice.
 * FLB_ERROR drops that chunk, as Fluent Bit does: burst_failed names its
 * records, counted failed (and kept in the dead-letter queue if any).
 *
 * Keys: every key of the section that is not a common output key passes
 * through to the plugin (key_prefix "", dp_pipeline_inst.c); the section's
 * keys stay readable for the instance's life (dp_goproxy.c). The structs
 * and the registration are shared with the Go input (dp_goproxy.h).
 *
 * Threads: create, setup and teardown on the control thread; flush and
 * burst_failed on the instance's output workers (never a shard).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include "dp_log.h"
#include "out_goproxy.h"

typedef int (*go_flush_fn)(const void *, size_t, const char *);
typedef int (*go_flush_ctx_fn)(void *, const void *, size_t, const char *);

/* One loaded Go object; ops first, so an instance finds it from o->ops. */
struct goproxy {
	struct dp_output_ops ops;
	dp_goproxy_init_fn init;
	go_flush_fn flush;
	go_flush_ctx_fn flush_ctx;
	dp_goproxy_exit_fn exit;
	dp_goproxy_exit_ctx_fn exit_ctx;
	struct flb_plugin_proxy_def def;
};

/* An instance: its o->cfg (cfg_size), so the core allocates it. */
struct goproxy_inst {
	struct dp_goproxy_inst gi;  /* what the plugin sees: its o_ins */
	struct dp_output *o;
	struct goproxy *gp;
};

enum { ST_TODO, ST_OK, ST_RETRY, ST_ERROR };

struct goproxy_worker {
	struct goproxy_inst *gi;
	bool retrying;            /* st[] holds the answers of the burst being retried */
	uint8_t st[DP_BURST];
	char tag[DP_TAG_MAX + 1];
	uint8_t *buf;             /* the kept events of a chunk with dropped records */
};

static int setup(struct dp_output *o, struct dp_err *err)
{
	struct goproxy_inst *gi = o->cfg;
	struct goproxy *gp = (struct goproxy *)o->ops;
	gi->o = o;
	gi->gp = gp;
	return dp_goproxy_init(&gi->gi, gp->init, gp->def.name, o->sec, o->log_level, err);
}

static void teardown(struct dp_output *o)
{
	struct goproxy_inst *gi = o->cfg;
	if (gi)
		dp_goproxy_fini(&gi->gi, gi->gp ? gi->gp->exit : NULL, gi->gp ? gi->gp->exit_ctx : NULL);
}

static void *worker_create(struct dp_output *o, unsigned worker, struct dp_err *err)
{
	(void)worker;
	struct goproxy_worker *w = calloc(1, sizeof(*w));
	if (w)
		w->buf = malloc(DP_CHUNK_DATA);
	if (!w || !w->buf) {
		free(w);
		dp_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	w->gi = o->cfg;
	return w;
}

static void worker_destroy(void *wctx)
{
	struct goproxy_worker *w = wctx;
	free(w->buf);
	free(w);
}

/* The chunk's kept events as one buffer: its own bytes when nothing was
 * dropped (the common case), else copied into buf. */
static const uint8_t *kept(struct goproxy_worker *w, const struct dp_chunk *c, size_t *len)
{
	struct iovec iov[64];
	uint32_t rec = 0, nrecs = 0, total = 0;
	unsigned n = dp_chunk_kept_runs(c, &rec, iov, DP_ARRAY_SIZE(iov), &nrecs, &total);
	if (rec == c->nrecs && n == 1 && iov[0].iov_base == c->data && iov[0].iov_len == c->data_len) {
		*len = c->data_len;
		return c->data;
	}
	size_t off = 0;
	for (;;) {
		for (unsigned i = 0; i < n; i++) {
			memcpy(w->buf + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		if (rec >= c->nrecs)
			break;
		n = dp_chunk_kept_runs(c, &rec, iov, DP_ARRAY_SIZE(iov), &nrecs, &total);
	}
	*len = off;
	return w->buf;
}

static int flush(void *wctx, struct dp_chunk *const *c, unsigned n)
{
	struct goproxy_worker *w = wctx;
	const struct goproxy *gp = w->gi->gp;
	if (!w->retrying)
		memset(w->st, ST_TODO, n);
	bool retry = false;
	for (unsigned i = 0; i < n; i++) {
		if (w->st[i] == ST_OK || w->st[i] == ST_ERROR)
			continue;
		size_t len, tlen;
		const uint8_t *data = kept(w, c[i], &len);
		if (!len) {
			w->st[i] = ST_OK;   /* every record dropped by a filter */
			continue;
		}
		const char *tag = dp_chunk_tag(w->gi->o->pl, c[i], &tlen);
		tlen = tlen > DP_TAG_MAX ? DP_TAG_MAX : tlen;
		memcpy(w->tag, tag, tlen);
		w->tag[tlen] = 0;
		int rc = gp->flush_ctx ? gp->flush_ctx(w->gi->gi.pctx.remote_context, data, len, w->tag)
				       : gp->flush(data, len, w->tag);
		w->st[i] = rc == FLB_OK ? ST_OK : rc == FLB_RETRY ? ST_RETRY : ST_ERROR;
		retry |= rc == FLB_RETRY;
	}
	w->retrying = retry;
	return retry ? -EAGAIN : 0;
}

/* The burst is done: the records of chunks not answered FLB_OK (FLB_ERROR,
 * or still FLB_RETRY when Retry_Limit gave up) are the failed ones. */
static uint32_t burst_failed(void *wctx, struct dp_chunk *const *c, unsigned n,
			     uint64_t (*sel)[DP_CHUNK_RECS / 64])
{
	struct goproxy_worker *w = wctx;
	uint32_t bad = 0;
	for (unsigned i = 0; i < n; i++) {
		if (w->st[i] == ST_OK)
			continue;
		for (uint32_t r = 0; r < c[i]->nrecs; r++)
			if (!(c[i]->recs[r].flags & DP_REC_DROPPED)) {
				sel[i][r / 64] |= 1ull << (r % 64);
				bad++;
			}
	}
	w->retrying = false;
	return bad;
}

const struct dp_output_ops *out_goproxy_create(void *dl, const struct flb_plugin_proxy_def *def,
					       struct dp_err *err)
{
	struct goproxy *gp = calloc(1, sizeof(*gp));
	if (!gp) {
		dp_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	gp->def = *def;
	gp->init = (dp_goproxy_init_fn)dp_goproxy_sym(dl, "FLBPluginInit");
	gp->flush = (go_flush_fn)dp_goproxy_sym(dl, "FLBPluginFlush");
	gp->flush_ctx = (go_flush_ctx_fn)dp_goproxy_sym(dl, "FLBPluginFlushCtx");
	gp->exit = (dp_goproxy_exit_fn)dp_goproxy_sym(dl, "FLBPluginExit");
	gp->exit_ctx = (dp_goproxy_exit_ctx_fn)dp_goproxy_sym(dl, "FLBPluginExitCtx");
	if (!gp->flush && !gp->flush_ctx) {
		dp_err_set(err, -EINVAL, "it exports neither FLBPluginFlush nor FLBPluginFlushCtx");
		free(gp);
		return NULL;
	}
	gp->ops = (struct dp_output_ops){
		.name = gp->def.name,
		.desc = gp->def.description ? gp->def.description : "Go output plugin",
		.cfg_size = sizeof(struct goproxy_inst),
		.setup = setup,
		.worker_create = worker_create,
		.flush = flush,
		.burst_failed = burst_failed,
		.worker_destroy = worker_destroy,
		.teardown = teardown,
		.key_prefix = "",
	};
	return &gp->ops;
}
