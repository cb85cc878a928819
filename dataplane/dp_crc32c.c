/*
 * dp_crc32c.c — CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected as
 * 0x82F63B78; the iSCSI / ext4 / Kafka record-batch checksum), the checksum
 * of every frame in the filesystem store (dp_store_seg.c). Safe from any
 * thread: the tables are filled once, by a constructor, before main().
 *
 * Conditioning: dp_crc32c(crc, p, n) inverts crc on the way in and the
 * result on the way out, so 0 starts a checksum, a result can be passed
 * back in to continue it over more bytes (dp_crc32c(dp_crc32c(0, a), b) is
 * the CRC of a then b), and dp_crc32c(0, "123456789", 9) == 0xE3069283.
 *
 * Three implementations:
 *
 * - dp_crc32c_sw: slicing-by-8, eight 256-entry tables, 8 bytes per step
 *   (about 1-2 GB/s). Used when the CPU lacks SSE4.2.
 *
 * - dp_crc32c_hw1: the SSE4.2 crc32 instruction, 8 bytes at a time. Each
 *   instruction depends on the previous one's result and has a latency of
 *   about 3 cycles, so one chain does 8 bytes per 3 cycles.
 *
 * - dp_crc32c_hw3: three independent chains over three adjacent blocks of
 *   the buffer keep the instruction's pipeline full (one per cycle, 8 bytes
 *   per cycle). The three partial CRCs are then combined: the CRC of A||B is
 *   the CRC of A "shifted" over len(B) zero bytes, xor the CRC of B started
 *   from 0. Shifting a raw CRC register over L zero bytes is linear over
 *   GF(2) in the register's 32 bits, so it is a 32x32 bit matrix; we store it
 *   as four 256-entry tables (one per byte of the register), and a shift is
 *   four lookups and three xors. Tables exist for two block sizes, 8 KiB
 *   (the bulk of a 128 KiB chunk: five rounds of 3 x 8 KiB) and 256 bytes
 *   (the rest), so the combine cost (a handful of lookups per 24 KiB) is
 *   noise. The matrix tables are built at start-up by running each of the 32
 *   one-bit registers over L zero bytes with the byte table and combining the
 *   images by linearity, which needs no matrix code at all. The idea (three
 *   streams, combine with zero-shift tables) is Intel's white paper "Fast
 *   CRC Computation for iSCSI Polynomial Using CRC32 Instruction" and Mark
 *   Adler's crc32c.c; this is written from the description.
 *
 * dp_crc32c picks hw3 or sw once, with __builtin_cpu_supports("sse4.2").
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dp_crc32c.h"
#include "dp_store_seg.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#define DP_CRC32C_X86 1
#endif

#define POLY 0x82F63B78u
/* Block sizes of the three-stream rounds (see the top of the file). */
#define CRC_LONG 8192
#define CRC_SHORT 256

static uint32_t crc_tab[8][256];       /* slicing-by-8 */
static uint32_t crc_long[4][256];      /* shift over CRC_LONG zero bytes */
static uint32_t crc_short[4][256];     /* shift over CRC_SHORT zero bytes */
static bool crc_hw;

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* Raw register (no conditioning) over n zero bytes, one byte at a time. */
static uint32_t crc_zeros_slow(uint32_t x, size_t n)
{
	while (n--)
		x = (x >> 8) ^ crc_tab[0][x & 0xff];
	return x;
}

/* The shift tables for len zero bytes: images of the 32 one-bit registers,
 * then every byte value of every register byte by linearity. */
static void crc_shift_init(uint32_t tab[4][256], size_t len)
{
	uint32_t img[32];

	for (int b = 0; b < 32; b++)
		img[b] = crc_zeros_slow(1u << b, len);
	for (int i = 0; i < 4; i++)
		for (unsigned k = 0; k < 256; k++) {
			uint32_t v = 0;
			for (int b = 0; b < 8; b++)
				if (k & (1u << b))
					v ^= img[8 * i + b];
			tab[i][k] = v;
		}
}

static inline uint32_t crc_shift(const uint32_t tab[4][256], uint32_t x)
{
	return tab[0][x & 0xff] ^ tab[1][(x >> 8) & 0xff] ^ tab[2][(x >> 16) & 0xff] ^
	       tab[3][x >> 24];
}

__attribute__((constructor)) static void crc_init(void)
{
	for (unsigned k = 0; k < 256; k++) {
		uint32_t c = k;
		for (int j = 0; j < 8; j++)
			c = (c >> 1) ^ (POLY & (0u - (c & 1)));
		crc_tab[0][k] = c;
	}
	for (unsigned k = 0; k < 256; k++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][k] = (crc_tab[t - 1][k] >> 8) ^ crc_tab[0][crc_tab[t - 1][k] & 0xff];
	crc_shift_init(crc_long, CRC_LONG);
	crc_shift_init(crc_short, CRC_SHORT);
#ifdef DP_CRC32C_X86
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

bool dp_crc32c_has_hw(void)
{
	return crc_hw;
}

uint32_t dp_crc32c_sw(uint32_t crc, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	uint32_t c = ~crc;

	while (n && ((uintptr_t)p & 7)) {
		c = (c >> 8) ^ crc_tab[0][(c ^ *p++) & 0xff];
		n--;
	}
	for (; n >= 8; n -= 8, p += 8) {
		uint64_t w = load64(p) ^ c;
		c = crc_tab[7][w & 0xff] ^ crc_tab[6][(w >> 8) & 0xff] ^
		    crc_tab[5][(w >> 16) & 0xff] ^ crc_tab[4][(w >> 24) & 0xff] ^
		    crc_tab[3][(w >> 32) & 0xff] ^ crc_tab[2][(w >> 40) & 0xff] ^
		    crc_tab[1][(w >> 48) & 0xff] ^ crc_tab[0][w >> 56];
	}
	while (n--)
		c = (c >> 8) ^ crc_tab[0][(c ^ *p++) & 0xff];
	return ~c;
}

#ifdef DP_CRC32C_X86

__attribute__((target("sse4.2")))
uint32_t dp_crc32c_hw1(uint32_t crc, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	uint64_t c = (uint32_t)~crc;

	while (n && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		n--;
	}
	for (; n >= 8; n -= 8, p += 8)
		c = _mm_crc32_u64(c, load64(p));
	while (n--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

/* One round of three chains over blocks of len bytes at p, p+len, p+2len,
 * folded into c0. Inlined twice with a constant len so the loop is tight. */
__attribute__((target("sse4.2"), always_inline))
static inline uint64_t crc_round3(uint64_t c0, const unsigned char *p, size_t len,
				  const uint32_t tab[4][256])
{
	uint64_t c1 = 0, c2 = 0;
	const unsigned char *end = p + len;

	do {
		c0 = _mm_crc32_u64(c0, load64(p));
		c1 = _mm_crc32_u64(c1, load64(p + len));
		c2 = _mm_crc32_u64(c2, load64(p + 2 * len));
		p += 8;
	} while (p < end);
	c0 = crc_shift(tab, (uint32_t)c0) ^ c1;
	return crc_shift(tab, (uint32_t)c0) ^ c2;
}

__attribute__((target("sse4.2")))
uint32_t dp_crc32c_hw3(uint32_t crc, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	uint64_t c = (uint32_t)~crc;

	while (n && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		n--;
	}
	for (; n >= 3 * CRC_LONG; n -= 3 * CRC_LONG, p += 3 * CRC_LONG)
		c = crc_round3(c, p, CRC_LONG, crc_long);
	for (; n >= 3 * CRC_SHORT; n -= 3 * CRC_SHORT, p += 3 * CRC_SHORT)
		c = crc_round3(c, p, CRC_SHORT, crc_short);
	for (; n >= 8; n -= 8, p += 8)
		c = _mm_crc32_u64(c, load64(p));
	while (n--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

#else /* no SSE4.2 on this architecture: the table serves */

uint32_t dp_crc32c_hw1(uint32_t crc, const void *p, size_t n)
{
	return dp_crc32c_sw(crc, p, n);
}

uint32_t dp_crc32c_hw3(uint32_t crc, const void *p, size_t n)
{
	return dp_crc32c_sw(crc, p, n);
}

#endif

uint32_t dp_crc32c(uint32_t crc, const void *p, size_t n)
{
	if (crc_hw)
		return dp_crc32c_hw3(crc, p, n);
	return dp_crc32c_sw(crc, p, n);
}
