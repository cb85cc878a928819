/*
 * sp_plan.h — a statement turned into what the shards run: the keys it
 * reads resolved once into slots, WHERE and HAVING compiled into flat
 * programs (sp_val.h), the aggregates laid out as words of a group's
 * partial state, the outputs in select-list order.
 *
 * Every check that can be made before a record arrives is made here, at
 * start-up: unknown stream, aggregate in WHERE, key selected beside
 * aggregates but not grouped, comparisons that can never hold (a boolean
 * ordered, a string against a number literal), RECORD_TAG() in an
 * aggregating query.
 *
 * Threads: built on the control thread; read-only afterwards, shared by
 * every shard.
 */
#ifndef SP_PLAN_H
#define SP_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include "dp_common.h"
#include "sp_ast.h"
#include "sp_val.h"

/* Words of partial state an aggregate takes in a group (sp_agg.c). */
union sp_w {
	uint64_t u;
	int64_t i;
	double d;
};

struct sp_agg {
	enum sp_fn fn;
	int slot;          /* the key's slot; -1 for COUNT(*) */
	unsigned word;     /* first word in the group's state */
	double arg2;       /* TIMESERIES_FORECAST's seconds */
};

enum sp_out_kind { SP_OUT_STAR, SP_OUT_KEY, SP_OUT_AGG, SP_OUT_FN };

struct sp_out {
	enum sp_out_kind kind;
	const char *name;  /* alias, key text or "FN(arg)" */
	size_t name_len;
	int slot;          /* KEY (non-aggregating) */
	int group;         /* KEY (aggregating): which GROUP BY key */
	int agg;           /* AGG */
	enum sp_fn fn;     /* FN */
};

struct sp_query {
	unsigned idx;              /* task index */
	const char *task;          /* the [STREAM_TASK] Name */
	struct sp_stmt *st;
	const char *tag;           /* what results are emitted with */
	size_t tag_len;
	bool from_stream;
	bool no_str_num;           /* sp.convert_from_str_to_num off: aggregates skip strings */
	int from_task;             /* STREAM:name: the task creating `name` */
	int from_input;            /* or the input named or aliased `name`; else -1 */
	const char *pattern;       /* TAG:'pattern' */

	struct sp_key **slots;     /* distinct keys read per record */
	size_t *slot_name_len;
	unsigned nslots;
	struct sp_prog where;      /* n == 0: every record */

	bool aggregating;
	unsigned *group_slot;
	unsigned ngroup;
	struct sp_agg *aggs;
	unsigned nagg, nwords;
	struct sp_out *outs;
	unsigned nout;
	bool star_skip;            /* '*' beside named items: skip their keys */
	struct sp_prog having;     /* over the outputs' values */
	int64_t limit;             /* results per window, -1: no limit */
	uint64_t size_ns, adv_ns;  /* window length and advance */
	unsigned overlap;          /* windows a record falls in: size / adv */
	/* Event-time and session windows (sp_win.h). A session query runs
	 * on the shards as a tumbling window of bucket_ns (<= the gap), its
	 * groups carrying their first and last record times in two more
	 * words; the merger stitches the buckets into sessions. */
	bool win_x;                /* event time or session: sp_win.c's path */
	bool evt;                  /* ON ...: windows in event time */
	int evt_slot;              /* the ON key's slot, -1: RECORD_TIME() */
	uint64_t lateness_ns;
	bool session;
	uint64_t gap_ns;           /* session gap (size_ns = adv_ns = bucket) */
	unsigned ses_word;         /* first of the 2 words: ~first, last + 1 */
	unsigned open_max;         /* windows a shard may have open at once */
	uint32_t max_groups;
	/* CREATE / FLUSH SNAPSHOT (sp_snap.c) */
	unsigned snap_task;        /* FLUSH: the CREATE SNAPSHOT task it empties */
	uint32_t snap_limit;       /* CREATE: LIMIT, rows kept per shard; 0: none */
	uint32_t snap_seconds;     /* CREATE: WITH (seconds=n); 0: none */
	uint32_t snap_bytes;       /* CREATE: WITH (max_bytes=n), per shard */
};

/* Plan stmt (which stays owned by the query). tasks: every task's parsed
 * statement (to resolve STREAM:name), ntasks of them; inputs (may be
 * NULL): the inputs STREAM:name may name otherwise (sp.h). */
struct sp_inputs;
int sp_plan(struct sp_query *q, struct sp_stmt *st, struct sp_stmt *const *tasks,
	    unsigned ntasks, const struct sp_inputs *inputs, struct dp_err *err);
void sp_plan_fini(struct sp_query *q);
/* A planning error at a statement's line and column ("line L, column C:
 * ..."), returned as -EINVAL; shared with sp_snap.c. */
int sp_plan_err(struct dp_err *err, uint32_t line, uint32_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Read every slot of q from record r. */
void sp_slots_load(const struct sp_query *q, const struct dp_chunk *c, const struct dp_rec *r,
		   struct sp_val *v);

#endif
