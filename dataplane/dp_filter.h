/*
 * dp_filter.h — what a filter plugin is ([FILTER] sections: grep, parser,
 * multiline, modify, record_modifier, rewrite_tag, throttle, sampling).
 *
 * Filters run on the shard, one record at a time, right after the parser
 * has completed it: the record is the tail of its chunk (dp_edit.h), so a
 * filter drops it by returning DP_FILTER_DROP (the shard rolls the chunk
 * back, nothing is marked or copied) and edits it in place with the
 * dp_tail_* functions. The chain of a record is the filters whose Match
 * covers its tag, in configuration order, resolved once per input into a
 * list (never matched per record).
 *
 * Records a filter makes (rewrite_tag's re-tagged copies, multiline's
 * joined records) are emitted with dp_fx_emit into the filter's own
 * emitter: a hidden input with its own memory limit, whose chunks carry
 * their tag and are routed by it. Where they go on depends on the filter
 * (dp_filter_ops.emit_from_head):
 *   - rewrite_tag's re-tagged records are new records of a new tag: as in
 *     Fluent Bit (its in_emitter feeds them to the head of the chain) they
 *     run through every filter whose Match covers the new tag, from the
 *     first, except the filter that made them (Fluent Bit would loop there
 *     when a rule matches its own output);
 *   - multiline's joined records continue through the filters after it:
 *     Fluent Bit also starts them at the head, where the filters before
 *     multiline see the same text twice (a joined record parsed or
 *     grepped a second time).
 * A chain of emitters feeding each other stops at EMIT_DEPTH_MAX
 * (shards/shard_filter.c).
 *
 * Threads: setup/teardown on the control thread; everything else on the
 * shard that owns the context.
 */
#ifndef DP_FILTER_H
#define DP_FILTER_H

#include <stdbool.h>
#include <stdint.h>
#include "dp_chunk.h"
#include "dp_log.h"
#include "dp_conf.h"
#include "dp_edit.h"
#include "dp_opt.h"
#include "dp_route.h"

struct dp_filter;
struct dp_pipeline;
struct shard;

enum {
	DP_FILTER_KEEP = 0,  /* the record goes on (possibly edited) */
	DP_FILTER_DROP = 1,  /* the record is removed */
};

/* Builds the fields of a new record into the open record of c (time is
 * already set); 0, or -EINVAL to give up. It may be called twice for one
 * emit (when the first chunk was full), so it must not consume state. */
typedef int (*dp_build_fn)(struct dp_chunk *c, void *arg);

struct dp_fx;
typedef int (*dp_emit_fn)(struct dp_fx *fx, const char *tag, size_t tag_len, uint32_t sec,
			  uint32_t nsec, dp_build_fn build, void *arg);

/* What a filter sees while it runs on a shard. */
struct dp_fx {
	struct dp_chunk *c;       /* the record is the tail of c (dp_tail) */
	const char *tag;          /* the record's tag */
	size_t tag_len;
	unsigned input;           /* input instance the record came through */
	uint64_t now_ns;          /* CLOCK_MONOTONIC of this burst */
	uint64_t now_real_ns;     /* CLOCK_REALTIME of this burst */
	unsigned shard;
	dp_emit_fn emit;          /* set by the shard (tests set their own) */
	int origin;               /* SQL: the task whose result is emitted */
	/* private to the shard */
	struct shard *sh;
	unsigned filter;          /* index of the running filter */
	unsigned depth;
};

/* Emit a new record with this tag (NULL: the running record's tag) and
 * time into the running filter's emitter. 0, -EAGAIN when the emitter's
 * memory is exhausted (the record is counted as dropped by the emitter),
 * -EINVAL when build gave up or the record cannot fit in a chunk. */
static inline int dp_fx_emit(struct dp_fx *fx, const char *tag, size_t tag_len, uint32_t sec,
			     uint32_t nsec, dp_build_fn build, void *arg)
{
	return fx->emit(fx, tag, tag_len, sec, nsec, build, arg);
}

struct dp_filter_ops {
	const char *name;
	const char *desc;
	const struct dp_opt *opts;
	size_t cfg_size;
	/* Control thread: check the configuration and compile (regexes,
	 * rules). f->sec is the section, for keys that repeat (Regex, Rule,
	 * Add, ...) and whose order matters: walk f->sec->kv. */
	int (*setup)(struct dp_filter *f, struct dp_err *err);
	/* Shard thread, once at start: the per-shard context. */
	void *(*shard_ctx_create)(struct dp_filter *f, unsigned shard);
	void (*shard_ctx_destroy)(void *ctx);
	/* The record at the tail of fx->c: DP_FILTER_KEEP or DP_FILTER_DROP. */
	int (*record)(void *ctx, struct dp_fx *fx);
	/* Optional, shard thread, about every 50 ms and once more at shutdown
	 * with final=true (fx->c is NULL): timeouts such as multiline's
	 * flush_timeout, emitted with dp_fx_emit. */
	void (*tick)(void *ctx, struct dp_fx *fx, bool final);
	void (*teardown)(struct dp_filter *f);
	/* Does the filter emit records (needs an emitter)? */
	bool emits;
	/* Its records start at the head of the chain (less itself), not after
	 * it (see the top of this file). */
	bool emit_from_head;
};

struct dp_filter {
	unsigned id;              /* position in the chain */
	char name[48];            /* "grep.0" */
	const struct dp_filter_ops *ops;
	void *cfg;                /* the plugin's option struct */
	const struct dp_conf_section *sec; /* valid during setup only */
	const char *file;
	int line;
	struct dp_pipeline *pl;   /* parsers (dp_pipeline.h) */
	/* common keys */
	char *match_opt;
	char *match_regex_opt;
	char *alias;
	int64_t emitter_mem_buf_limit;
	int log_level;            /* enum dp_log_level, -1: the service's */
	struct dp_log_supp log_supp;   /* Log_Suppress_Interval (dp_log.h) */
	struct dp_match match;
	int emitter;              /* input id of its emitter, or -1 */
	/* Its emitter's storage.type (enum dp_storage_type): a filter with an
	 * emitter_storage.type key sets it in setup (rewrite_tag, multiline),
	 * with where the key was written for the store's errors. */
	int emitter_storage;
	const char *emitter_storage_file;
	int emitter_storage_line;
	void *priv;               /* the plugin's compiled state (setup) */
};

extern const struct dp_opt dp_filter_common_opts[];

/* setup: the emitter is stored as an input with `storage.type` `type`
 * (enum dp_storage_type) is; kv is the key that said so (NULL: default). */
void dp_filter_emitter_storage_set(struct dp_filter *f, int type, const struct dp_conf_kv *kv);

/* Build one error message naming the filter's section:
 * "FILE:LINE: [FILTER] grep: ...". For setup's own checks that are not
 * about one key. */
int dp_filter_err(const struct dp_filter *f, struct dp_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same pointing at the line of the key kv. */
int dp_filter_kv_err(const struct dp_filter *f, const struct dp_conf_kv *kv, struct dp_err *err,
		     int code, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
