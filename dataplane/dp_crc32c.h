/*
 * dp_crc32c.h — the variants behind dp_crc32c() (declared in
 * dp_store_seg.h), exposed for the unit test (hardware against table) and
 * the micro-benchmark (single stream against three). Everything else calls
 * dp_crc32c(). No state after start-up; safe from any thread.
 */
#ifndef DP_CRC32C_H
#define DP_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Slicing-by-8 tables: any CPU. */
uint32_t dp_crc32c_sw(uint32_t crc, const void *p, size_t n);
/* SSE4.2, one dependent chain of crc32 instructions. */
uint32_t dp_crc32c_hw1(uint32_t crc, const void *p, size_t n);
/* SSE4.2, three interleaved chains combined by shift tables (what
 * dp_crc32c uses when the CPU has SSE4.2). */
uint32_t dp_crc32c_hw3(uint32_t crc, const void *p, size_t n);
/* Whether the hw variants may be called on this CPU. */
bool dp_crc32c_has_hw(void);

#endif
