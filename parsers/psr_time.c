/*
 * psr_time.c — RFC 3339 and RFC 3164 timestamps to epoch (see psr_time.h).
 * Pure functions plus a per-shard cache; runs on shard threads.
 */
#include <errno.h>
#include <string.h>
#include "psr_time.h"
#include "dp_common.h"

static const uint32_t pow10_frac[10] = {
	1000000000, 100000000, 10000000, 1000000, 100000,
	10000, 1000, 100, 10, 1,
};

/* Digit value, or >= 10 when c is not a digit (unsigned wrap). */
static inline unsigned dig(char c)
{
	return (unsigned)(unsigned char)c - '0';
}

/* Two digits, or 100 when either is not a digit. */
static inline unsigned dig2(const char *p)
{
	unsigned a = dig(p[0]), b = dig(p[1]);
	if (a > 9 || b > 9)
		return 100;
	return a * 10 + b;
}

static inline bool is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static inline unsigned month_days(unsigned y, unsigned m)
{
	static const uint8_t days[13] = { 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : days[m];
}

void psr_time_cache_init(struct psr_time_cache *tc)
{
	memset(tc, 0, sizeof(*tc));
}

/* "YYYY-MM-DDTHH" (13 bytes, length already checked) to the epoch of that
 * hour. The slow path of the cache. */
static int date_hour(const char *s, int64_t *out)
{
	if (s[4] != '-' || s[7] != '-' || s[10] != 'T')
		return -EINVAL;
	unsigned yh = dig2(s), yl = dig2(s + 2);
	unsigned mo = dig2(s + 5), d = dig2(s + 8), h = dig2(s + 11);
	if (yh > 99 || yl > 99 || mo < 1 || mo > 12 || h > 23)
		return -EINVAL;
	unsigned y = yh * 100 + yl;
	if (d < 1 || d > month_days(y, mo))
		return -EINVAL;
	*out = psr_time_days_from_civil((int)y, (int)mo, (int)d) * 86400 + (int64_t)h * 3600;
	return 0;
}

/* Bytes of v (first in memory lowest) that are not '0'..'9': nonzero
 * there. High nibble must be 3, low nibble + 6 must not reach 16; per
 * byte, no carry crosses into the next. */
static inline uint64_t swar_nondigits(uint64_t v)
{
	return ((v & 0xf0f0f0f0f0f0f0f0ull) ^ 0x3030303030303030ull) |
	       (((v & 0x0f0f0f0f0f0f0f0full) + 0x0606060606060606ull) & 0xf0f0f0f0f0f0f0f0ull);
}

/* The n (1..8) digits in the low bytes of v, first digit first: the
 * value. Shifting them to the top puts zeros in front of the number; the
 * three steps add pairs, quads, octets (the usual SWAR atoi). Bytes above
 * the digits may borrow in the subtraction, only upwards, and are
 * shifted out. */
static inline uint32_t swar_digits(uint64_t v, unsigned n)
{
	uint64_t x = (v - 0x3030303030303030ull) << (8 * (8 - n));
	x = (x * 10 + (x >> 8)) & 0x00ff00ff00ff00ffull;
	x = (x * 100 + (x >> 16)) & 0x0000ffff0000ffffull;
	x = (x * 10000 + (x >> 32)) & 0xffffffffull;
	return (uint32_t)x;
}

/* ".F{1,9}" at *pp (which is < e and points at '.'); advances *pp. lo is
 * the start of the readable bytes, at least 8 before e for the SWAR path:
 * the 8 bytes loaded are p's, or when fewer than 8 are left the last 8
 * before e shifted down (zeros, non-digits, come in at the top), so
 * nothing past e is read. The byte loop was ~80 instructions for 6
 * digits, this ~25. */
static inline __attribute__((always_inline)) int parse_frac(const char **pp, const char *e, const char *lo, uint32_t *nsec)
{
	const char *p = *pp + 1;
	const char *start = p;
	uint32_t v = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	size_t avail = (size_t)(e - p);
	if (likely(avail > 0 && e - lo >= 8)) {
		uint64_t w;
		if (avail >= 8) {
			memcpy(&w, p, 8);
		} else {
			memcpy(&w, e - 8, 8);
			w >>= 8 * (8 - avail);
		}
		uint64_t nd = swar_nondigits(w);
		unsigned n = nd ? (unsigned)__builtin_ctzll(nd) / 8 : 8;
		if (n == 0)
			return -EINVAL;
		v = swar_digits(w, n);
		p += n;
		if (n == 8 && p < e && dig(*p) <= 9) {
			v = v * 10 + dig(*p);
			p++;
			n = 9;
			if (p < e && dig(*p) <= 9)
				return -EINVAL;
		}
		*nsec = v * pow10_frac[n];
		*pp = p;
		return 0;
	}
#endif
	(void)lo;
	while (p < e && dig(*p) <= 9) {
		if (p - start == 9)
			return -EINVAL;
		v = v * 10 + dig(*p);
		p++;
	}
	if (p == start)
		return -EINVAL;
	*nsec = v * pow10_frac[p - start];
	*pp = p;
	return 0;
}

int psr_time_rfc3339(struct psr_time_cache *tc, const char *s, size_t len,
		     int64_t *sec, uint32_t *nsec)
{
	/* shortest: YYYY-MM-DDTHH:MM:SSZ */
	if (len < 20)
		return -EINVAL;
	int64_t hour_sec;
	if (tc) {
		uint64_t k0, k1;
		memcpy(&k0, s, 8);
		memcpy(&k1, s + 5, 8);
		if (likely(tc->valid && k0 == tc->k0 && k1 == tc->k1)) {
			hour_sec = tc->hour_sec;
			tc->hits++;
		} else {
			if (date_hour(s, &hour_sec) != 0)
				return -EINVAL;
			tc->k0 = k0;
			tc->k1 = k1;
			tc->hour_sec = hour_sec;
			tc->valid = true;
			tc->misses++;
		}
	} else if (date_hour(s, &hour_sec) != 0) {
		return -EINVAL;
	}

	unsigned mi = dig2(s + 14), se = dig2(s + 17);
	if (s[13] != ':' || s[16] != ':' || mi > 59 || se > 60)
		return -EINVAL;

	const char *p = s + 19, *e = s + len;
	uint32_t ns = 0;
	if (*p == '.' && parse_frac(&p, e, s, &ns) != 0)
		return -EINVAL;
	if (p >= e)
		return -EINVAL;

	int64_t off = 0;
	if (*p == 'Z') {
		if (p + 1 != e)
			return -EINVAL;
	} else if (*p == '+' || *p == '-') {
		unsigned oh, om;
		if (e - p == 6 && p[3] == ':') {
			oh = dig2(p + 1);
			om = dig2(p + 4);
		} else if (e - p == 5) {
			oh = dig2(p + 1);
			om = dig2(p + 3);
		} else {
			return -EINVAL;
		}
		if (oh > 23 || om > 59)
			return -EINVAL;
		off = (int64_t)oh * 3600 + om * 60;
		if (*p == '-')
			off = -off;
	} else {
		return -EINVAL;
	}

	*sec = hour_sec + mi * 60 + se - off;
	*nsec = ns;
	return 0;
}

/* Month number (1..12) of a three-letter English abbreviation, any case,
 * or 0. OR-ing 0x20 folds only A-Z onto a-z among the bytes that can then
 * equal a lower-case letter, so the exact compare stays exact. */
static int month_of(const char *s)
{
	uint32_t k = ((uint32_t)(unsigned char)(s[0] | 0x20) << 16) |
		     ((uint32_t)(unsigned char)(s[1] | 0x20) << 8) |
		     (uint32_t)(unsigned char)(s[2] | 0x20);
#define M3(a, b, c) ((uint32_t)(a) << 16 | (uint32_t)(b) << 8 | (uint32_t)(c))
	switch (k) {
	case M3('j', 'a', 'n'): return 1;
	case M3('f', 'e', 'b'): return 2;
	case M3('m', 'a', 'r'): return 3;
	case M3('a', 'p', 'r'): return 4;
	case M3('m', 'a', 'y'): return 5;
	case M3('j', 'u', 'n'): return 6;
	case M3('j', 'u', 'l'): return 7;
	case M3('a', 'u', 'g'): return 8;
	case M3('s', 'e', 'p'): return 9;
	case M3('o', 'c', 't'): return 10;
	case M3('n', 'o', 'v'): return 11;
	case M3('d', 'e', 'c'): return 12;
	default: return 0;
	}
#undef M3
}

int psr_time_rfc3164(const char *s, size_t len, int now_year, int now_mon,
		     int64_t *sec, uint32_t *nsec)
{
	/* shortest: "Mmm d hh:mm:ss" */
	if (len < 14)
		return -EINVAL;
	const char *p = s, *e = s + len;
	int mon = month_of(p);
	if (mon == 0 || p[3] != ' ')
		return -EINVAL;
	p += 4;
	if (*p == ' ')
		p++;
	unsigned d = dig(*p);
	if (d > 9)
		return -EINVAL;
	p++;
	if (dig(*p) <= 9)
		d = d * 10 + dig(*p++);
	if (e - p < 9 || *p != ' ')
		return -EINVAL;
	unsigned h = dig2(p + 1), mi = dig2(p + 4), se = dig2(p + 7);
	if (p[3] != ':' || p[6] != ':' || h > 23 || mi > 59 || se > 60)
		return -EINVAL;
	p += 9;
	uint32_t ns = 0;
	if (p < e && *p == '.' && parse_frac(&p, e, s, &ns) != 0)
		return -EINVAL;

	int y = psr_time_year_pick(now_year, now_mon, mon);
	if (y < 0 || d < 1 || d > month_days((unsigned)y, (unsigned)mon))
		return -EINVAL;
	*sec = psr_time_days_from_civil(y, mon, (int)d) * 86400 +
	       (int64_t)h * 3600 + mi * 60 + se;
	*nsec = ns;
	return (int)(p - s);
}

void psr_time_ym(int64_t sec, int *year, int *mon)
{
	/* civil_from_days (H. Hinnant), the inverse of days_from_civil */
	int64_t z = (sec >= 0 ? sec : sec - 86399) / 86400 + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	*year = (int)(yoe + era * 400 + (m <= 2));
	*mon = (int)m;
}
