/*
 * mb_filters.h — the filter micro-benchmarks' bridge (bench_filters.cc is
 * C++; dp_chunk.h is C11): a filter instance built from key/value pairs as
 * the configuration reader would give them, and a timed pass that builds
 * records at the tail of a chunk and runs the filter on each, as a shard
 * does right after its parser.
 *
 * Threads: a handle belongs to the benchmark thread that made it.
 */
#ifndef MB_FILTERS_H
#define MB_FILTERS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mbf;
/* plugin NULL: no filter (the cost of building the records alone).
 * kv: key, value, ..., NULL. NULL on a configuration error (printed). */
struct mbf *mbf_create(const char *plugin, const char *const *kv);
void mbf_destroy(struct mbf *m);
/* Build n records of 8 string fields (~190 bytes, a syslog record's
 * shape, request_id varying) and run the filter on each; returns the
 * records kept. */
uint64_t mbf_pass(struct mbf *m, unsigned n);

#ifdef __cplusplus
}
#endif

#endif
