/*
 * mb_grep.h — C shim for the grep micro-benchmark (mb_grep.cc): records
 * with one "message" field holding a realistic syslog line (bench/loadgen's
 * generator, RFC 3164 lines), matched against 1, 8 or 64 patterns, either
 * as grep does it (record accessor lookup + one re_set scan) with
 * Hyperscan or with PCRE2 alone, or through the grep filter itself.
 *
 * Threads: a handle belongs to the benchmark thread that made it.
 */
#ifndef MB_GREP_H
#define MB_GREP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { MB_GREP_HS, MB_GREP_PCRE, MB_GREP_FILTER };

struct mb_grep;
/* nlines records, npat patterns (1, 8 or 64), mode MB_GREP_*. NULL on error. */
struct mb_grep *mb_grep_create(unsigned nlines, unsigned npat, int mode);
/* One pass over every record: returns records matched (grep would keep). */
uint64_t mb_grep_pass(struct mb_grep *g);
uint64_t mb_grep_records(const struct mb_grep *g);
uint64_t mb_grep_bytes(const struct mb_grep *g);
unsigned mb_grep_fallbacks(const struct mb_grep *g);
void mb_grep_destroy(struct mb_grep *g);

#ifdef __cplusplus
}
#endif

#endif
