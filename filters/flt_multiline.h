/*
 * flt_multiline.h — the `multiline` filter (flt_multiline.c): its bounds
 * and the counters a shard context keeps. The counters are plain integers
 * of the owning shard; read them from that shard (tests) or, later, sum
 * them in the stats reader.
 */
#ifndef FLT_MULTILINE_H
#define FLT_MULTILINE_H

#include <stdint.h>
#include "dp_filter.h"
#include "psr_ml.h"

#define FLT_ML_STREAMS     32    /* (input, tag) streams per shard */
#define FLT_ML_CTX_FIELDS  PSR_ML_KEPT_FIELDS  /* fields kept of a group's first record */
#define FLT_ML_CTX_BYTES   PSR_ML_KEPT_BYTES   /* bytes of keys and values kept of it */
#define FLT_ML_GROUP_MAX   32    /* bytes of a key_group value told apart */
#define FLT_ML_PARTIALS    32    /* mode partial_message: messages open per shard */
#define FLT_ML_PID_MAX     64    /* bytes of a partial_id told apart */

struct flt_ml_stats {
	uint64_t groups;              /* joined records emitted (or tried) */
	uint64_t truncated;           /* of them, cut at PSR_ML_GROUP_MAX */
	uint64_t passed;              /* lines that were part of no group */
	uint64_t pass_kept;           /* of them, kept in place: the emitter refused */
	uint64_t emit_failed;         /* joined records the emitter refused (lost) */
	uint64_t evictions;           /* streams flushed to make room for another */
	uint64_t ctx_fields_dropped;  /* first-record fields over the bounds */
};

extern const struct dp_filter_ops flt_multiline_ops;

/* The counters of a shard context (what shard_ctx_create returned). */
const struct flt_ml_stats *flt_ml_ctx_stats(const void *ctx);

/* mode partial_message (flt_multiline_partial.c), per shard: key is
 * multiline.key_content, stats the context's counters. */
struct flt_ml_partial;
struct flt_ml_partial *flt_ml_partial_create(const char *key, struct flt_ml_stats *stats);
void flt_ml_partial_destroy(struct flt_ml_partial *p);
int flt_ml_partial_record(struct flt_ml_partial *p, struct dp_fx *fx);
void flt_ml_partial_tick(struct flt_ml_partial *p, struct dp_fx *fx, bool final, uint64_t flush_ns);

#endif
