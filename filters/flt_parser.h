/*
 * flt_parser.h — the `parser` filter (flt_parser.c): its operations for
 * the registry and its per-shard counters for stats and tests.
 * Threads: the counters are read by the shard that owns ctx (or after it
 * stopped).
 */
#ifndef FLT_PARSER_H
#define FLT_PARSER_H

#include <stdint.h>
#include "dp_filter.h"

extern const struct dp_filter_ops flt_parser_ops;

struct flt_parser_stats {
	uint64_t parsed;    /* records whose field a parser matched */
	uint64_t no_match;  /* no parser matched: record unchanged */
	uint64_t no_field;  /* Key_Name missing or not a string: unchanged */
	uint64_t no_room;   /* parsed fields did not fit the chunk: unchanged */
};

void flt_parser_stats_get(const void *ctx, struct flt_parser_stats *out);

#endif
