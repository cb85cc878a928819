/*
 * sp_snap.h — Fluent Bit's snapshots: CREATE SNAPSHOT keeps the most recent
 * records of its source, FLUSH SNAPSHOT emits them (and empties the
 * snapshot) when a record matches its condition (reference: docs/SQL.md).
 *
 *   CREATE SNAPSHOT name WITH (tag='...' [, seconds=n] [, max_bytes=n])
 *     AS SELECT * FROM TAG:'pattern' | STREAM:name [WHERE c] [LIMIT n];
 *   FLUSH SNAPSHOT name AS SELECT * FROM TAG:'pattern' | STREAM:name [WHERE c];
 *
 * Sharding: every shard keeps its own part of the snapshot (a ring of the
 * records it saw, bounded by LIMIT rows, `seconds` and max_bytes). A flush
 * triggered on one shard bumps the snapshot's flush epoch (one atomic per
 * snapshot); the triggering shard flushes its part at once, every other
 * shard when it next sees the epoch change: before it stores its next
 * record for the snapshot, or in its next tick (about 50 ms), whichever
 * comes first. So a flush emits, on every shard, what the shard held when
 * the trigger happened, and LIMIT / seconds / max_bytes bound each shard's
 * part (a flush emits at most LIMIT records per shard).
 *
 * Threads: sp_snap_plan, sp_snap_engine_init/fini on the control thread;
 * the rest on the shard owning struct sp_shard.
 */
#ifndef SP_SNAP_H
#define SP_SNAP_H

#include <stdbool.h>
#include "dp_common.h"

#define SP_SNAP_MAX_BYTES_DEFAULT (4u << 20)  /* per shard and snapshot */
#define SP_SNAP_MAX_BYTES_MIN 4096u
#define SP_SNAP_MAX_BYTES_MAX (1u << 30)
#define SP_SNAP_LIMIT_MAX (1u << 20)
#define SP_SNAP_ROW_BYTES 64u    /* without LIMIT: rows = max_bytes / this */

struct dp_fx;
struct dp_rec;
struct sp_engine;
struct sp_query;
struct sp_shard;
struct sp_stmt;

/* Check and lay out a CREATE/FLUSH SNAPSHOT statement into q (called by
 * sp_plan before the select list is planned). */
int sp_snap_plan(struct sp_query *q, struct sp_stmt *st, struct sp_stmt *const *tasks,
		 unsigned ntasks, struct dp_err *err);

/* Does STREAM:from name what snapshot statement t flushes? Its name, or
 * Fluent Bit's name for the flushed stream, __flush_<name>. */
bool sp_snap_stream_is(const struct sp_stmt *t, const char *from);

/* The flush epochs, one per task (used by CREATE SNAPSHOT tasks). */
int sp_snap_engine_init(struct sp_engine *e);
void sp_snap_engine_fini(struct sp_engine *e);

/* A shard's stores, one per CREATE SNAPSHOT task (memory allocated here,
 * once; nothing per record). */
int sp_snap_shard_init(struct sp_shard *s);
void sp_snap_shard_fini(struct sp_shard *s);

/* Record r of fx->c passed FROM and WHERE of snapshot task qi: store it
 * (CREATE) or flush the snapshot (FLUSH). */
void sp_snap_record(struct sp_shard *s, unsigned qi, struct dp_fx *fx, const struct dp_rec *r);

/* Every tick: flush the parts whose epoch moved; warn about records the
 * byte budget pushed out. At shutdown (final) snapshots are discarded, as
 * in Fluent Bit. */
void sp_snap_tick(struct sp_shard *s, struct dp_fx *fx, bool final);

/* Records a snapshot dropped on this shard: pushed out by max_bytes (or,
 * without LIMIT, by the row budget) before LIMIT or seconds did, or too
 * big to store. */
uint64_t sp_snap_dropped(const struct sp_shard *s, unsigned qi);

#endif
