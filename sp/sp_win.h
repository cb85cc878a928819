/*
 * sp_win.h — the windows beyond Fluent Bit's: event-time windows
 * (WINDOW TUMBLING|HOPPING (...) ON RECORD_TIME()|key [LATENESS (...)])
 * and session windows (WINDOW SESSION (gap) [ON ...]). sp_exec.c runs
 * processing-time tumbling and hopping windows itself and calls in here
 * for queries with q->win_x set (and for the merge of those).
 *
 * Event time. Each shard keeps, per query, the highest event time it
 * has seen (published at once, relaxed) and the wall-clock time of its
 * last record. At every tick a shard computes the watermark
 *     wm = (highest event time seen by any shard) - lateness
 * (every shard reads the others' highest times), plus, once no shard has
 * had a record of the query for SP_IDLE_S, the wall-clock time since then
 * beyond SP_IDLE_S, so the last windows close when input stops. The
 * watermark only grows. The shard hands every window ending at or before
 * wm to the merger, then publishes wm (release). The merger emits a
 * window once the minimum of the shards' published watermarks has passed
 * its end (so every shard has handed it), or SP_MERGE_DEADLINE_S after
 * the first shard passed it if another shard stopped ticking. Using the
 * highest time of all shards makes an idle shard follow the others and
 * makes "late" mean the same whatever the number of shards: a record is
 * late, counted and dropped when a window it falls in has already been
 * closed by its shard's watermark.
 *
 * Sessions. A shard runs a session query as a tumbling window of a
 * bucket (gap/4, 1 s at least, the gap at most): the records of a group
 * in one bucket are within the gap of each other, so they belong to one
 * session whatever else arrives, and the shard can sum them, keeping
 * their first and last time in two extra words. The merger combines the
 * shards' fragments of a bucket as for any window, then stitches the
 * buckets in order into open sessions: a group's fragment joins its open
 * session when it starts at most the gap after the session's last
 * record, else the session is emitted and a new one starts. A session
 * is emitted when nothing can extend it any more: every bucket a future
 * record could fall in starts more than the gap after its last record.
 * The sessions are therefore the same for 1, 2 or 4 shards: runs of a
 * group's records, sorted by time, with no two neighbours more than the
 * gap apart. A session's result has the time last + gap.
 *
 * Threads: sp_win_record and sp_win_tick on the shard; sp_win_merge_begin,
 * sp_win_due, sp_ses_* in the merger (shard 0's tick); init/fini where
 * sp_engine.c builds and frees.
 */
#ifndef SP_WIN_H
#define SP_WIN_H

#include <stdbool.h>
#include <stdint.h>
#include "dp_common.h"

/* No record of an event-time query on any shard for this long: its
 * watermark starts following the wall clock. */
#define SP_IDLE_S 2

struct sp_engine;
struct sp_shard;
struct sp_query;
struct sp_qmerge;
struct sp_mwin;
struct sp_win;
struct dp_fx;
struct dp_rec;

/* Published per query and shard (engine, [query * nshards + shard]). */
struct sp_qwm {
	dp_cache_aligned _Atomic uint64_t wm;  /* windows ending <= wm are handed */
	_Atomic uint64_t maxev;                /* highest event time seen, ns */
	_Atomic uint64_t last;                 /* wall clock of the last record */
};

/* The shard's own copy, per query. */
struct sp_wshard {
	uint64_t maxev, last, wm;
	struct sp_win *hit;        /* the window the last record went to */
};

int sp_win_engine_init(struct sp_engine *e);
void sp_win_engine_fini(struct sp_engine *e);
int sp_win_shard_init(struct sp_shard *s);
void sp_win_shard_fini(struct sp_shard *s);

/* A record of query qi (WHERE passed, slots loaded in s->vals). */
void sp_win_record(struct sp_shard *s, unsigned qi, const struct sp_query *q,
		   const struct dp_fx *fx, const struct dp_rec *r);
/* Event-time queries: compute the watermark, hand what it closed,
 * publish it. Before the shard publishes closed_upto. */
void sp_win_tick(struct sp_shard *s, uint64_t now, bool final);

/* Merger: read the event-time watermarks (before draining the rings). */
void sp_win_merge_begin(struct sp_shard *s0);
/* Merger: may the event-time window mw be emitted now? */
bool sp_win_due(struct sp_qmerge *m, struct sp_mwin *mw, uint64_t now);
/* Merger: combine the first/last times of two partials of a session. */
union sp_w;
void sp_ses_merge_times(const struct sp_query *q, union sp_w *d, const union sp_w *s);
/* Merger: stitch the combined bucket mw into the sessions of query qi. */
void sp_ses_stitch(struct sp_shard *s0, struct dp_fx *fx, unsigned qi, struct sp_mwin *mw,
		   uint64_t now);
/* Merger, after stitching the due buckets: emit the sessions nothing can
 * extend any more (minwm: processing time, the shards' closed_upto). */
void sp_ses_close(struct sp_shard *s0, struct dp_fx *fx, unsigned qi, uint64_t minwm,
		  bool final, uint64_t now);

#endif
