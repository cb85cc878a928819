/*
 * mb_ml.h — C side of the multiline micro-benchmark (bench_ml.cc): a
 * stream of log lines with Java stack traces in it, pushed line by line
 * through a psr_ml stream running a built-in parser. C because the C++
 * harness should not see sluice's headers (see mb_shim.h).
 * Threads: the benchmark thread.
 */
#ifndef MB_ML_H
#define MB_ML_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mb_ml;

/* n lines; one line in every `plain_per_trace + 7` starts a 7-line Java
 * trace (Fluent Bit's test trace), the others are ~110-byte plain log
 * lines. parser: a built-in name ("java"). NULL on failure. */
struct mb_ml *mb_ml_create(const char *parser, unsigned n, unsigned plain_per_trace);
/* Push every line once; returns the groups flushed during the pass. */
uint64_t mb_ml_pass(struct mb_ml *m);
uint64_t mb_ml_lines(const struct mb_ml *m);
uint64_t mb_ml_bytes(const struct mb_ml *m);
void mb_ml_destroy(struct mb_ml *m);

#ifdef __cplusplus
}
#endif

#endif
