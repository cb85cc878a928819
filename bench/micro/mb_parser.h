/*
 * mb_parser.h — C shim for bench_parser.cc: the [PARSER] regex parser over
 * Apache combined log lines and Time_Format parsing with and without the
 * cache (see mb_shim.h for why the timed loops are C).
 * Threads: a handle belongs to the benchmark thread that made it.
 */
#ifndef MB_PARSER_H
#define MB_PARSER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* n varied Apache combined lines, LF-terminated, end to end; the clock
 * advances one second every `per_sec` lines. */
struct mb_lines {
	char *buf;
	size_t len;
	uint32_t n;
};
int mb_apache_lines(struct mb_lines *l, unsigned n, unsigned per_sec);
void mb_lines_free(struct mb_lines *l);

/* Fluent Bit's apache2 parser (with_time: its Time_Key/Time_Format). */
struct mb_rx;
struct mb_rx *mb_rx_create(int with_time);
void mb_rx_destroy(struct mb_rx *r);
/* Every line into a chunk (reset when full); returns records, *bad the
 * lines that did not match. */
uint64_t mb_rx_pass(struct mb_rx *r, const char *buf, size_t len, uint64_t *bad);

/* The "[dd/Mon/YYYY:HH:MM:SS +zzzz]" of every line through psr_strptime,
 * with the per-state cache or without; returns times parsed. */
uint64_t mb_strptime_pass(const char *buf, size_t len, int cached, uint64_t *bad);

#ifdef __cplusplus
}
#endif

#endif
