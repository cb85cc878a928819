/*
 * sp_agg.h — group state of aggregating queries: an open-addressing hash
 * table from an encoded group key to the words of its partial aggregates,
 * the encoding of group keys, and the partial arithmetic (update from a
 * record, merge two partials, final value).
 *
 * Partials are what makes a window's result independent of how records
 * were spread over shards: COUNT, SUM, MIN, MAX combine directly, AVG is
 * kept as (count, sum), TIMESERIES_FORECAST as its regression sums,
 * COUNT(DISTINCT) and PERCENTILE as mergeable sketches (sp_sketch.h) whose
 * larger parts live in the table's block allocator (sk), reset with it.
 *
 * Numbers: SUM, AVG, MIN, MAX, TIMESERIES_FORECAST and PERCENTILE take
 * integers, floats and strings that hold a whole number ("12", "-3.5",
 * "1e3", spaces around allowed; at most 63 bytes), as Fluent Bit's
 * sp.convert_from_str_to_num (on by default) does (off: q->no_str_num,
 * strings are not numbers); any other value
 * (non-numeric string, bool, map, null, missing) is left out of the
 * aggregate as a missing value would be.
 *
 * A table grows by doubling up to max_groups, then refuses new groups
 * (counted). Tables are reset, never freed, between windows, so after the
 * first windows of a given size nothing is allocated.
 *
 * Threads: a table belongs to one thread at a time (a shard, then the
 * merger once the shard has handed the window over).
 */
#ifndef SP_AGG_H
#define SP_AGG_H

#include <stdbool.h>
#include <stdint.h>
#include "sp_plan.h"
#include "sp_sketch.h"

/* Longest encoded group key; a record whose key is longer is dropped and
 * counted like a group over the limit. */
#define SP_GKEY_MAX 1024

struct sp_grp {
	uint64_t hash;
	uint32_t koff, klen;  /* key bytes in the table's arena */
};

struct sp_tab {
	uint32_t *idx;        /* cap slots: group number + 1, 0 empty */
	uint32_t cap;
	struct sp_grp *g;
	union sp_w *w;        /* nwords per group */
	uint32_t n, gcap;
	unsigned nwords;
	uint8_t *keys;
	size_t klen, kcap;
	uint32_t max;
	uint64_t dropped;     /* records refused: max groups or memory */
	struct sp_skmem sk;   /* sketch blocks of the groups' aggregates */
	uint64_t sk_failed;   /* values a sketch could not take (no memory) */
};

int sp_tab_init(struct sp_tab *t, unsigned nwords, uint32_t max_groups);
void sp_tab_reset(struct sp_tab *t);
void sp_tab_fini(struct sp_tab *t);
/* The partial words of group key[0..klen), created (zeroed) if new; NULL
 * when the group is new and the table is full (t->dropped counted). */
union sp_w *sp_tab_get(struct sp_tab *t, const uint8_t *key, uint32_t klen, uint64_t hash);

uint64_t sp_hash(const uint8_t *p, size_t n);

/* Encode the group key of a record (values of the GROUP BY slots) into
 * buf (SP_GKEY_MAX); returns its length, or 0 when too long. */
uint32_t sp_gkey_encode(const struct sp_query *q, const struct sp_val *slots, uint8_t *buf);
/* Decode GROUP BY key number g of an encoded key into v (strings point
 * into key). */
void sp_gkey_decode(const uint8_t *key, uint32_t klen, unsigned g, struct sp_val *v);

/* Fold one record (slots read, x = its time in seconds from the window
 * start) into a group's words w, which belong to table t. */
void sp_agg_update(const struct sp_query *q, struct sp_tab *t, union sp_w *w,
		   const struct sp_val *slots, double x);
/* dst += src; dst belongs to table dt (src may be another table's). */
void sp_agg_merge(const struct sp_query *q, struct sp_tab *dt, union sp_w *dst,
		  const union sp_w *src);
/* The number in v, if any (see above): v itself, or out filled from a
 * numeric string; NULL when v is no number. */
const struct sp_val *sp_agg_num(const struct sp_val *v, struct sp_val *out, bool from_str);
/* The final value of aggregate a of a group (w: the group's words). */
void sp_agg_value(const struct sp_agg *a, const union sp_w *w, struct sp_val *v);

#endif
