/*
 * shard_filter.c — the filter chain on a shard (dp_filter.h): per-shard
 * filter contexts, running a record's chain while it is the tail of its
 * chunk, the emitters that carry records filters make, and filter ticks.
 *
 * The stream processor (sp/sp.h) sees every record after its filters;
 * its results go to its own hidden input, routed by tag, and on to the
 * other queries.
 *
 * An emitter is a hidden input (dp_pipeline_flt.c) with its own pool. Its
 * open chunk carries one tag; a record for another tag closes it and opens
 * the next, so a chunk is always routed by one tag, looked up once per
 * chunk (route and the rest of the chain), never per record.
 *
 * Threads: the shard's own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "dp_filter.h"
#include "dp_log.h"
#include "shard.h"
#include "sp.h"

#define EMIT_DEPTH_MAX 8   /* emitted records re-filtered at most this deep */
#define TICK_NS 50000000ull

/* A record emitted at EMIT_DEPTH_MAX still reaches the outputs, but is
 * not fed to more filters or queries: said once, not per record. */
static void depth_cut(void)
{
	static _Atomic int said;
	if (!atomic_exchange_explicit(&said, 1, memory_order_relaxed))
		dp_warn("records emitted %d levels deep (filters or stream tasks feeding each other) are "
			"not fed to further filters or stream tasks (logged once)", EMIT_DEPTH_MAX);
}

static int fx_emit(struct dp_fx *fx, const char *tag, size_t tag_len, uint32_t sec, uint32_t nsec,
		   dp_build_fn build, void *arg);

static void fx_init(struct dp_fx *fx, struct shard *sh, struct dp_chunk *c, const char *tag,
		    size_t tag_len, unsigned input, unsigned depth)
{
	fx->c = c;
	fx->tag = tag;
	fx->tag_len = tag_len;
	fx->input = input;
	fx->now_ns = sh->now_ns;
	fx->now_real_ns = sh->now_real_ns;
	fx->shard = sh->id;
	fx->emit = fx_emit;
	fx->sh = sh;
	fx->filter = 0;
	fx->depth = depth;
}

bool shard_filter_run(struct shard *sh, struct shard_in *si, struct dp_chunk *c, const char *tag,
		      size_t tag_len, uint64_t chain, unsigned depth)
{
	struct dp_fx fx;
	fx_init(&fx, sh, c, tag, tag_len, si->in->id, depth);
	uint32_t nrecs = c->nrecs;
	struct dp_filter *const *flt = sh->pl->flt;
	while (chain) {
		unsigned f = (unsigned)__builtin_ctzll(chain);
		chain &= chain - 1;
		fx.filter = f;
		int rc = flt[f]->ops->record(sh->flt_ctx[f], &fx);
		if (unlikely(c->nrecs != nrecs)) {
			/* An edit did not fit in what was left of the chunk
			 * (dp_tail_close dropped the record). */
			DP_CNT_ADD(si->cnt.oversize, 1);
			return false;
		}
		if (rc == DP_FILTER_DROP) {
			dp_tail_drop(c);
			DP_CNT_ADD(si->cnt.filtered, 1);
			DP_CNT_ADD(sh->flt_cnt[f].drop_records, 1);
			return false;
		}
	}
	return true;
}

static void set_tag(struct dp_chunk *c, const char *tag, size_t len)
{
	memcpy(c->tag, tag, len);
	c->tag_len = (uint16_t)len;
}

/* The filters a record emitted by filter f runs through (dp_filter.h). */
static uint64_t emit_chain(const struct dp_pipeline *pl, const struct dp_filter *f, const char *tag,
			   size_t tag_len)
{
	if (!f->ops->emit_from_head)
		return dp_pipeline_chain(pl, tag, tag_len, (int)f->id);
	return dp_pipeline_chain(pl, tag, tag_len, -1) & ~(1ull << f->id);
}

/* Append a record built by `build` to emitter si's chunk for `tag`,
 * opening a new chunk when the tag changes or the chunk is full. f: the
 * filter that emits (its chain, emit_chain), or NULL (no filters).
 * Returns the chunk holding the record at its tail, or NULL (*rc says why,
 * counted on si). */
static struct dp_chunk *emit_into(struct shard *sh, struct shard_in *si, const char *tag,
				  size_t tag_len, uint32_t sec, uint32_t nsec, dp_build_fn build,
				  void *arg, const struct dp_filter *f, int *rc)
{
	struct dp_pipeline *pl = sh->pl;
	if (tag_len == 0 || tag_len > DP_TAG_MAX) {
		DP_CNT_ADD(si->cnt.malformed, 1);
		*rc = -EINVAL;
		return NULL;
	}
	struct dp_chunk *c = si->open;
	if (c && (c->tag_len != tag_len || memcmp(c->tag, tag, tag_len))) {
		shard_chunk_push(sh, si);
		c = NULL;
	}
	for (;;) {
		if (!c) {
			if (!(c = shard_chunk_open(sh, si))) {
				DP_CNT_ADD(si->cnt.dropped, 1);
				*rc = -EAGAIN;
				return NULL;
			}
			set_tag(c, tag, tag_len);
			si->open_route = dp_pipeline_route(pl, tag, tag_len);
			si->open_chain = f ? emit_chain(pl, f, tag, tag_len) : 0;
		}
		dp_chunk_rec_begin(c, sec, nsec);
		if (build(c, arg) < 0) {
			dp_chunk_rec_abort(c);
			DP_CNT_ADD(si->cnt.malformed, 1);
			*rc = -EINVAL;
			return NULL;
		}
		if (dp_chunk_rec_end(c) == 0)
			break;
		if (c->nrecs == 0) {
			DP_CNT_ADD(si->cnt.oversize, 1);
			*rc = -EINVAL;
			return NULL;
		}
		shard_chunk_push(sh, si);
		c = NULL;
	}
	if (!si->count_stored)   /* emitter_storage.type filesystem: once stored */
		DP_CNT_ADD(si->cnt.records, 1);
	*rc = 0;
	return c;
}

static int fx_emit(struct dp_fx *fx, const char *tag, size_t tag_len, uint32_t sec, uint32_t nsec,
		   dp_build_fn build, void *arg)
{
	struct shard *sh = fx->sh;
	const struct dp_filter *f = sh->pl->flt[fx->filter];
	if (f->emitter < 0)
		return -EINVAL;
	struct shard_in *si = &sh->ins[f->emitter];
	if (!tag) {
		tag = fx->tag;
		tag_len = fx->tag_len;
	}
	int rc;
	struct dp_chunk *c = emit_into(sh, si, tag, tag_len, sec, nsec, build, arg, f, &rc);
	if (!c)
		return rc;
	DP_CNT_ADD(sh->flt_cnt[fx->filter].add_records, 1);
	bool kept = true;
	if (fx->depth >= EMIT_DEPTH_MAX) {
		if (si->open_chain || sh->sp)
			depth_cut();
		return 0;
	}
	if (si->open_chain)
		kept = shard_filter_run(sh, si, c, c->tag, c->tag_len, si->open_chain, fx->depth + 1);
	if (kept && sh->sp)
		shard_sp_record(sh, si, c, c->tag, c->tag_len, -1, fx->depth + 1);
	return 0;
}

/* ---- the stream processor's side ---- */

static int sp_emit(struct dp_fx *fx, const char *tag, size_t tag_len, uint32_t sec, uint32_t nsec,
		   dp_build_fn build, void *arg)
{
	struct shard *sh = fx->sh;
	struct shard_in *si = &sh->ins[sh->pl->sp_input];
	int rc;
	struct dp_chunk *c = emit_into(sh, si, tag, tag_len, sec, nsec, build, arg, NULL, &rc);
	if (!c)
		return rc;
	/* Results feed the other queries (FROM STREAM:name, or a TAG:
	 * pattern their tag matches), never the query that made them. */
	if (fx->depth < EMIT_DEPTH_MAX)
		shard_sp_record(sh, si, c, c->tag, c->tag_len, fx->origin, fx->depth + 1);
	else
		depth_cut();
	return 0;
}

void shard_sp_record(struct shard *sh, struct shard_in *si, struct dp_chunk *c, const char *tag,
		     size_t tag_len, int origin, unsigned depth)
{
	struct dp_fx fx;
	fx_init(&fx, sh, c, tag, tag_len, si->in->id, depth);
	fx.emit = sp_emit;
	fx.origin = origin;
	sp_shard_record(sh->sp, &fx, origin);
}

void shard_filters_tick(struct shard *sh, bool final)
{
	struct dp_pipeline *pl = sh->pl;
	sh->flt_tick_ns = sh->now_ns;
	if (sh->sp) {
		struct dp_fx fx;
		fx_init(&fx, sh, NULL, NULL, 0, 0, 0);
		fx.emit = sp_emit;
		fx.origin = -1;
		sp_shard_tick(sh->sp, &fx, final);
	}
	for (unsigned f = 0; f < pl->nflt; f++) {
		if (!pl->flt[f]->ops->tick || !sh->flt_ctx)
			continue;
		struct dp_fx fx;
		fx_init(&fx, sh, NULL, NULL, 0, 0, 0);
		fx.filter = f;
		pl->flt[f]->ops->tick(sh->flt_ctx[f], &fx, final);
	}
}

int shard_filters_init(struct shard *sh)
{
	struct dp_pipeline *pl = sh->pl;
	if (pl->sp) {
		sh->sp = sp_shard_create(pl->sp, sh->id);
		sh->flt_ticks = true;
	}
	if (!pl->nflt)
		return 0;
	sh->flt_ctx = calloc(pl->nflt, sizeof(*sh->flt_ctx));
	if (!sh->flt_ctx)
		return -ENOMEM;
	for (unsigned f = 0; f < pl->nflt; f++) {
		const struct dp_filter_ops *ops = pl->flt[f]->ops;
		if (ops->shard_ctx_create)
			sh->flt_ctx[f] = ops->shard_ctx_create(pl->flt[f], sh->id);
		if (ops->tick)
			sh->flt_ticks = true;
	}
	sh->flt_tick_ns = sh->now_ns;
	return 0;
}

void shard_filters_fini(struct shard *sh)
{
	struct dp_pipeline *pl = sh->pl;
	for (unsigned f = 0; sh->flt_ctx && f < pl->nflt; f++)
		if (sh->flt_ctx[f] && pl->flt[f]->ops->shard_ctx_destroy)
			pl->flt[f]->ops->shard_ctx_destroy(sh->flt_ctx[f]);
	free(sh->flt_ctx);
	sh->flt_ctx = NULL;
	if (sh->sp)
		sp_shard_destroy(sh->sp);
	sh->sp = NULL;
}
