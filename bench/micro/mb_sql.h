/*
 * mb_sql.h — C shim for the SQL micro-benchmark (mb_sql.cc): records fed
 * one by one through the stream processor on one shard, as a shard does
 * after its filters (sp_shard_record on the tail record), for a query
 * grouping by `ident` over 10, 10k or 1M groups.
 *
 * Threads: a handle belongs to the benchmark thread that made it.
 */
#ifndef MB_SQL_H
#define MB_SQL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
	MB_SQL_COUNT_AVG,   /* COUNT(*), AVG(lat) (issue 5's query) */
	MB_SQL_DISTINCT,    /* COUNT(*), COUNT(DISTINCT user) */
	MB_SQL_PERCENTILE,  /* COUNT(*), PERCENTILE(lat, 0.99) */
	MB_SQL_NONE,        /* no query: the cost of the loop and record rewrite */
	MB_SQL_COUNT,       /* COUNT(*) only: what the others add to */
};

struct mb_sql;
/* groups: distinct idents; mode MB_SQL_*. Every group already exists in
 * the window when this returns (steady state). NULL on error. */
struct mb_sql *mb_sql_create(uint32_t groups, int mode);
/* One pass over the 1024 records of the chunk, each with the next group
 * (and a new user and latency), inside one open window. Returns records. */
uint64_t mb_sql_pass(struct mb_sql *m);
/* One whole window: one record per group, then the window closes, the
 * merge step combines it and emits one result per group. Returns records. */
uint64_t mb_sql_window(struct mb_sql *m);
uint64_t mb_sql_results(const struct mb_sql *m);
/* Bytes of group state held by the open window's table (keys, words,
 * index, sketch slabs). */
uint64_t mb_sql_state_bytes(const struct mb_sql *m);
void mb_sql_destroy(struct mb_sql *m);

#ifdef __cplusplus
}
#endif

#endif
