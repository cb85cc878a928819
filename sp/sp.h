/*
 * sp.h — the stream processor as the shards see it: Fluent Bit's
 * [STREAM_TASK] statements (Streams_File), run on every shard, with
 * aggregating windows merged across shards (reference: docs/SQL.md).
 *
 * Non-aggregating queries run wholly in the shard: a matching record is
 * emitted at once. Aggregating queries keep per-shard partial state per
 * window; when a window closes (sp_shard_tick) each shard hands it through
 * its own SPSC ring to the merge step, which runs in shard 0's tick,
 * combines the partials once every shard has closed the window (or the
 * window is SP_MERGE_DEADLINE_S past its end) and emits the results.
 *
 * Results are emitted with dp_fx_emit: tag = CREATE STREAM's WITH
 * (tag='...'), else the stream's name; a plain SELECT (Fluent Bit prints
 * it on stdout) is emitted with the task's Name as its tag.
 *
 * Threads: sp_engine_create/destroy on the control thread;
 * sp_shard_create and everything after it on the shard's own thread.
 * Shutdown: every shard calls sp_shard_tick(final=true); shard 0 waits
 * (up to SP_FINAL_WAIT_MS) for the others' final hand-over before its last
 * merge, so shard 0 should be finalised last or concurrently.
 */
#ifndef SP_H
#define SP_H

#include <stdbool.h>
#include "dp_common.h"
#include "dp_conf.h"
#include "dp_filter.h"

#define SP_MERGE_DEADLINE_S 2
#define SP_FINAL_WAIT_MS 1000
#define SP_MAX_GROUPS_DEFAULT 100000

struct sp_engine;
struct sp_shard;

/* tasks: the [STREAM_TASK] sections (keys Name, Exec; sluice adds
 * Max_Groups), nshards: how many shards will feed it. Errors name the
 * section's file:line and the statement. */
struct sp_engine *sp_engine_create(const struct dp_conf_section *const *tasks, unsigned ntasks,
				   unsigned nshards, struct dp_err *err);

/* The inputs FROM STREAM:name may name, as Fluent Bit's stream processor
 * allows: input i by its instance name (name[i], "syslog.0") or its Alias
 * (alias[i], may be NULL). A task's CREATE STREAM name wins over an
 * input of the same name. */
struct sp_inputs {
	unsigned n;
	const char *const *name;
	const char *const *alias;
};
struct sp_engine *sp_engine_create_in(const struct dp_conf_section *const *tasks, unsigned ntasks,
				      unsigned nshards, const struct sp_inputs *inputs,
				      struct dp_err *err);
void sp_engine_destroy(struct sp_engine *e);

/* [SERVICE] sp.convert_from_str_to_num (on when never called): whether
 * SUM, AVG, MIN, MAX, PERCENTILE and TIMESERIES_FORECAST read strings
 * that hold a number as that number (Fluent Bit: src/stream_processor/
 * flb_sp.c, object_to_number); off, such strings are left out as other
 * non-numbers are. Control thread, before the shards start. */
void sp_engine_set_str_num(struct sp_engine *e, bool on);

struct sp_shard *sp_shard_create(struct sp_engine *e, unsigned shard);
void sp_shard_destroy(struct sp_shard *s);

/* The record at the tail of fx->c (tag fx->tag), after the filters.
 * origin: -1 for records of inputs; for records a task emitted, that
 * task's index (it is not fed to itself; FROM STREAM:name reads what the
 * task creating `name` emitted). */
void sp_shard_record(struct sp_shard *s, struct dp_fx *fx, int origin);

/* About every 50 ms and at shutdown (final): close due windows; on shard
 * 0 also merge and emit. fx->now_real_ns is the time. */
void sp_shard_tick(struct sp_shard *s, struct dp_fx *fx, bool final);

/* Counters (summed over shards; any thread, approximate while running). */
struct sp_stats {
	uint64_t records_in;      /* records a query looked at (matched FROM) */
	uint64_t emitted;         /* results emitted */
	uint64_t emit_failed;     /* dp_fx_emit refused */
	uint64_t groups_dropped;  /* records refused: group limit or key too long */
	uint64_t late;            /* records or partials for an already closed window */
	uint64_t no_time;         /* event time: records whose ON key is not a time */
};
void sp_engine_stats(struct sp_engine *e, unsigned task, struct sp_stats *st);
unsigned sp_engine_ntasks(const struct sp_engine *e);
const char *sp_engine_task_name(const struct sp_engine *e, unsigned task);

#endif
