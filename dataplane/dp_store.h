/*
 * dp_store.h — the filesystem store of one pipeline, seen from the control
 * thread and the output workers: where it lives, how its directories map
 * to shards, and the per-output acknowledgement cursors. The shard's side
 * (writing, backlog, replay) is shards/shard_store.c; the segment files
 * are dp_store_seg.h. docs/STORAGE.md says what is guaranteed.
 *
 * Layout under storage.path:
 *   shard-<k>/          segments written by shard k (dp_store_seg.h)
 *   cursors/<out>.<n>   output <out>'s worker n: per directory, the seq up
 *                       to which every chunk routed to it was confirmed
 *   rejected/           (storage.rejected.path) copies of segments found
 *                       corrupt in the middle, and the dead-letter queue
 *
 * Threads: dp_store_* on the control thread while the pipeline starts or
 * stops; a dp_store_cur belongs to its output worker.
 */
#ifndef DP_STORE_H
#define DP_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include "dp_common.h"

struct dp_pipeline;
struct dp_output;

struct dp_store {
	char *path;
	bool sync_full;
	unsigned ndirs;           /* shard-<k> directories: nshards, or more found on disk */
	unsigned backlog_chunks;  /* per shard: chunks for what is read back */
	uint64_t *cursor;         /* [output * ndirs + dir], as read at start */
	uint64_t out_limit[64];   /* [output] per shard: storage.total_limit_size, 0: none */
	bool any_limit;
	bool full_pause;          /* storage.full_action pause: else drop the oldest */
};

/* dp_pipeline_create: storage.type filesystem needs storage.path; pool
 * sizes of filesystem inputs (storage.max_chunks_up). */
int dp_store_check(struct dp_pipeline *pl, struct dp_err *err);
/* A reload that keeps the inputs (runtime/dp_reload.c) hands the running
 * store to the new pipeline pl, whose outputs are the same: the cursors are
 * read again from the old workers' files, which hold what they confirmed.
 * 0, or -ENOMEM. */
int dp_store_adopt(struct dp_pipeline *pl, struct dp_store *st);
/* dp_pipeline_start, before the shards: create the folders, count the
 * shard directories, read the cursors. NULL store when no input uses it. */
int dp_store_open(struct dp_pipeline *pl, struct dp_err *err);
void dp_store_close(struct dp_pipeline *pl);
/* The directory of shard directory k, into buf. */
void dp_store_dir(const struct dp_store *st, unsigned k, char *buf, size_t cap);

/* storage.keep.rejected: write the records of c[0..n) that output o gave
 * up on (cause "retries" or "error") to the dead-letter folder
 * (dp_store_dlq.c). 0 (also when the feature is off) or -errno. */
struct dp_chunk;
int dp_store_dlq_write(const struct dp_pipeline *pl, const struct dp_output *o,
		       struct dp_chunk *const *c, unsigned n, const char *cause);
/* The same for the records of one chunk whose bit is set in sel (an
 * asynchronous output that gives up on records one by one: kafka). */
int dp_store_dlq_write_sel(const struct dp_pipeline *pl, const struct dp_output *o,
			   const struct dp_chunk *c, const uint64_t *sel, const char *cause);

/* One output worker's cursors (see the layout above). */
struct dp_store_cur {
	int fd;
	unsigned ndirs;
	uint64_t *seq;            /* [dir] */
	bool dirty;
	/* Asynchronous outputs settle out of order: the stored chunks they
	 * hold, oldest first, so a cursor passes only settled prefixes. */
	struct dp_store_held { uint64_t seq; uint16_t dir; bool done; } *held;
	unsigned nheld, cap;
};

int dp_store_cur_open(struct dp_store_cur *c, const struct dp_store *st, const struct dp_output *o,
		      unsigned nth, struct dp_err *err);
void dp_store_cur_close(struct dp_store_cur *c);
/* A synchronous output confirmed (or gave up on) the chunk (dir, seq). */
static inline void dp_store_cur_done(struct dp_store_cur *c, uint16_t dir, uint64_t seq)
{
	if (dir < c->ndirs && seq > c->seq[dir]) {
		c->seq[dir] = seq;
		c->dirty = true;
	}
}
/* An asynchronous output took the chunk; later it settles it. */
void dp_store_cur_hold(struct dp_store_cur *c, uint16_t dir, uint64_t seq);
void dp_store_cur_settle(struct dp_store_cur *c, uint16_t dir, uint64_t seq);
/* Write the cursors if they moved: one pwrite, after a burst. */
void dp_store_cur_save(struct dp_store_cur *c);

#endif
