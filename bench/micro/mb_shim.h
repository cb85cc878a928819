/*
 * mb_shim.h — the micro-benchmarks' bridge between Google Benchmark (C++)
 * and sluice's C API. dp_chunk.h and dp_ring.h use C11 _Atomic, which C++17
 * cannot compile, so every loop that touches sluice lives in mb_shim.c
 * (compiled as C) and is exposed here as plain functions over opaque
 * handles. Each call is one whole pass over a corpus (thousands of lines),
 * so the call itself costs nothing measurable.
 *
 * Threads: a handle belongs to the benchmark thread that made it; the ring
 * pair owns one producer thread of its own.
 */
#ifndef MB_SHIM_H
#define MB_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum mb_fmt { MB_5424, MB_3164, MB_JSON };
/* The same values as enum psr_frame_mode (checked in mb_shim.c). */
enum mb_frame { MB_FRAME_AUTO = 0, MB_FRAME_LF, MB_FRAME_OCTET, MB_FRAME_SEP, MB_FRAME_JSON };

/* `n` messages from bench/loadgen's generator, framed with LF or with an
 * RFC 6587 octet count, laid end to end in buf[0..len). */
struct mb_corpus {
	char *buf;
	size_t len;
	uint32_t n;
};

int mb_corpus_make(struct mb_corpus *c, int fmt, int octet, unsigned n);
void mb_corpus_free(struct mb_corpus *c);

/* The speed limit: lines found with memchr, handed out in bursts of
 * DP_BURST (pointer, length) as the framer does. Returns lines; *bytes is
 * the sum of their lengths. */
uint64_t mb_split_memchr(const char *buf, size_t len, uint64_t *bytes);
/* The same with psr_frame_burst in the given mode. */
uint64_t mb_frame_pass(int mode, const char *buf, size_t len, uint64_t *bytes);

struct mb_parser;
struct mb_parser *mb_parser_create(int fmt);
void mb_parser_destroy(struct mb_parser *p);
/* Frame (LF) and parse all of buf, resetting the chunk whenever it fills.
 * Returns records parsed; *bad counts lines the parser refused. */
uint64_t mb_parse_pass(struct mb_parser *p, const char *buf, size_t len, uint64_t *bad);
/* Parse lines of buf into an empty chunk until it is full; returns records. */
uint32_t mb_parser_fill(struct mb_parser *p, const char *buf, size_t len);
/* out_json_rec over every record of the filled chunk, one per line into
 * dst; returns bytes written (0 if one failed). */
size_t mb_encode_pass(struct mb_parser *p, char *dst, size_t cap);

/* Single-threaded: `rounds` times enqueue `burst` pointers, dequeue them. */
struct mb_ring;
struct mb_ring *mb_ring_create(uint32_t size);
void mb_ring_destroy(struct mb_ring *r);
uint64_t mb_ring_roundtrip(struct mb_ring *r, unsigned burst, uint64_t rounds);

/* Two threads: a producer thread enqueues bursts as fast as it can; the
 * caller dequeues `n` items in bursts of `burst` (spinning when empty). */
struct mb_ring_pair;
struct mb_ring_pair *mb_ring_pair_start(uint32_t size, unsigned burst);
uint64_t mb_ring_pair_drain(struct mb_ring_pair *p, uint64_t n);
void mb_ring_pair_stop(struct mb_ring_pair *p);

#ifdef __cplusplus
}
#endif

#endif
