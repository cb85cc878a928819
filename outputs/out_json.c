/*
 * out_json.c — records to JSON text (contract in out_json.h). Called by
 * output workers on chunks they hold; no state, no allocation.
 *
 * Room is checked so that nothing past cap is ever written, and checked
 * cheaply: a string reserves its length plus quotes once, and each escape
 * only the bytes it adds. Integers and dates are formatted by hand; only
 * the rare double that is not a short decimal goes through snprintf.
 *
 * Threads: any; the writer's state is the caller's.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "out_json.h"

struct jw {
	char *p;
	char *end;
	bool fail;   /* out of room or not encodable: the result is 0 */
	const uint8_t *lim;  /* end of the chunk's data: strings may be read up to it */
};

static inline bool jw_room(struct jw *w, size_t n)
{
	if (likely((size_t)(w->end - w->p) >= n))
		return true;
	w->fail = true;
	return false;
}

static inline void jw_put(struct jw *w, const void *s, size_t n)
{
	if (jw_room(w, n)) {
		memcpy(w->p, s, n);
		w->p += n;
	}
}

static inline void jw_ch(struct jw *w, char ch)
{
	if (jw_room(w, 1))
		*w->p++ = ch;
}

/* ---- strings ---- */

/* 0: copied as is; otherwise the letter after the backslash ('u': \u00XX). */
static const char esc_tab[256] = {
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	['"'] = '"', ['\\'] = '\\',
};

#ifdef __SSE2__
/* Bit i set when byte i of v needs escaping. */
static inline unsigned esc_mask16(__m128i v)
{
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1f);
	/* max_epu8(v, 0x1f) == 0x1f exactly when v <= 0x1f unsigned */
	__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
				 _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));
	return (unsigned)_mm_movemask_epi8(m);
}
#endif

static inline const uint8_t *esc_scan(const uint8_t *p, const uint8_t *end)
{
	while (p < end && !esc_tab[*p])
		p++;
	return p;
}

/* A quoted, escaped string; [s, lim) may be read (lim >= s + n), which
 * lets short strings be copied as whole 16-byte blocks. Invariant: room
 * for the rest of the input plus the closing quote, so plain runs need no
 * further checks; each escape checks only the bytes it adds. */
static void jw_str(struct jw *w, const uint8_t *s, size_t n, const uint8_t *lim)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *e = s + n;

	if (!jw_room(w, n + 2))
		return;
	*w->p++ = '"';
	for (;;) {
		const uint8_t *r;
#ifdef __SSE2__
		size_t left = (size_t)(e - s);
		if (lim - s >= 16 && (size_t)(w->end - w->p) >= left + 17) {
			__m128i v = _mm_loadu_si128((const __m128i *)s);
			unsigned m = esc_mask16(v);
			if (left < 16)
				m |= 1u << left;  /* the end stops the copy too */
			_mm_storeu_si128((__m128i *)w->p, v);
			if (!m) {
				w->p += 16;
				s += 16;
				continue;
			}
			unsigned k = (unsigned)__builtin_ctz(m);
			w->p += k;
			r = s + k;
		} else
#endif
		{
			r = esc_scan(s, e);
			memcpy(w->p, s, (size_t)(r - s));
			w->p += r - s;
		}
		if (r == e)
			break;
		char x = esc_tab[*r];
		size_t len = x == 'u' ? 6 : 2;
		s = r + 1;
		if (!jw_room(w, len + (size_t)(e - s) + 1))
			return;
		w->p[0] = '\\';
		w->p[1] = x;
		if (x == 'u') {
			memcpy(w->p + 2, "00", 2);
			w->p[4] = hex[*r >> 4];
			w->p[5] = hex[*r & 0xf];
		}
		w->p += len;
	}
	*w->p++ = '"';
}

/* ---- numbers ---- */

static const char digits2[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Digits of v, right-aligned to end; returns where they start. */
static inline char *fmt_u64(char *end, uint64_t v)
{
	char *t = end;
	while (v >= 100) {
		unsigned i = (unsigned)(v % 100) * 2;
		v /= 100;
		t -= 2;
		memcpy(t, digits2 + i, 2);
	}
	if (v >= 10) {
		t -= 2;
		memcpy(t, digits2 + v * 2, 2);
	} else {
		*--t = (char)('0' + v);
	}
	return t;
}

static void jw_u64(struct jw *w, uint64_t v)
{
	char b[24];
	char *t = fmt_u64(b + sizeof(b), v);
	jw_put(w, t, (size_t)(b + sizeof(b) - t));
}

static void jw_i64(struct jw *w, int64_t v)
{
	char b[24];
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	char *t = fmt_u64(b + sizeof(b), u);
	if (v < 0)
		*--t = '-';
	jw_put(w, t, (size_t)(b + sizeof(b) - t));
}

static const double pow10_tab[18] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
	1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
};

#define TWO53 9007199254740992.0

/* The shortest text that reads back as d. Most doubles in logs are short
 * decimals (0.25, 12.5): find the fewest decimals k with m / 10^k == d for
 * an integer m < 2^53; since 10^k is exact, that division is what a correct
 * parser computes for "m·10^-k", so the text round-trips. Others go through
 * %.15g / %.16g / %.17g, the first that reads back. */
static atomic_bool nan_null = true;

void out_json_nan_null_set(bool on)
{
	atomic_store_explicit(&nan_null, on, memory_order_relaxed);
}

static size_t fmt_double(char *b, double d)
{
	char *p = b;
	if (!isfinite(d)) {
		if (!atomic_load_explicit(&nan_null, memory_order_relaxed))
			return (size_t)snprintf(b, 8, "%.16g", d);   /* nan, -nan, inf, -inf */
		memcpy(b, "null", 4);
		return 4;
	}
	if (signbit(d)) {
		*p++ = '-';
		d = -d;
	}
	if (d == 0) {
		memcpy(p, "0.0", 3);
		return (size_t)(p + 3 - b);
	}
	if (d < TWO53 && d >= 1e-7) {
		for (unsigned k = 0; k < DP_ARRAY_SIZE(pow10_tab); k++) {
			double s = d * pow10_tab[k];
			if (s >= TWO53)
				break;
			uint64_t m = (uint64_t)(s + 0.5);
			if ((double)m / pow10_tab[k] != d)
				continue;
			char dig[24];
			char *t = fmt_u64(dig + sizeof(dig), m);
			size_t nd = (size_t)(dig + sizeof(dig) - t);
			if (k == 0) {
				memcpy(p, t, nd);
				memcpy(p + nd, ".0", 2);
				p += nd + 2;
			} else if (nd > k) {
				memcpy(p, t, nd - k);
				p += nd - k;
				*p++ = '.';
				memcpy(p, t + nd - k, k);
				p += k;
			} else {
				*p++ = '0';
				*p++ = '.';
				memset(p, '0', k - nd);
				p += k - nd;
				memcpy(p, t, nd);
				p += nd;
			}
			return (size_t)(p - b);
		}
	}
	/* 15 digits always suffice to pick a normal double's shortest form
	 * (they round to it, padded with zeros); subnormals have fewer bits */
	int n = 0;
	for (int prec = d < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
		n = snprintf(p, 32, "%.*g", prec, d);
		if (strtod(p, NULL) == d)
			break;
	}
	if (!memchr(p, '.', (size_t)n) && !memchr(p, 'e', (size_t)n)) {
		memcpy(p + n, ".0", 2);
		n += 2;
	}
	return (size_t)(p + n - b);
}

static void jw_double(struct jw *w, double d)
{
	char b[48];
	jw_put(w, b, fmt_double(b, d));
}

/* ---- dates ---- */

/* Days since 1970-01-01 to a civil date (H. Hinnant's days_from_civil,
 * inverted); no time zone, no libc call. */
static void civil_from_days(uint32_t days, unsigned *y, unsigned *m, unsigned *d)
{
	uint32_t z = days + 719468;
	uint32_t era = z / 146097;
	uint32_t doe = z - era * 146097;
	uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint32_t mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static inline char *put2(char *p, unsigned v)
{
	memcpy(p, digits2 + v * 2, 2);
	return p + 2;
}

/* "2023-11-14T22:13:20.123456Z" (sep 'T', zulu) or
 * "2023-11-14 22:13:20.123456" (java.sql.Timestamp), quotes included. */
static size_t fmt_civil(char *b, uint32_t sec, uint32_t nsec, char sep, bool zulu)
{
	unsigned y, mo, d;
	uint32_t tod = sec % 86400;
	civil_from_days(sec / 86400, &y, &mo, &d);
	char *p = b;
	*p++ = '"';
	p = put2(p, y / 100);
	p = put2(p, y % 100);
	*p++ = '-';
	p = put2(p, mo);
	*p++ = '-';
	p = put2(p, d);
	*p++ = sep;
	p = put2(p, tod / 3600);
	*p++ = ':';
	p = put2(p, tod / 60 % 60);
	*p++ = ':';
	p = put2(p, tod % 60);
	*p++ = '.';
	uint32_t us = DP_MIN(nsec / 1000, 999999u);
	p = put2(p, us / 10000);
	p = put2(p, us / 100 % 100);
	p = put2(p, us % 100);
	if (zulu)
		*p++ = 'Z';
	*p++ = '"';
	return (size_t)(p - b);
}

/* seconds.microseconds, rounded to the microsecond like Fluent Bit's
 * double time printed with six decimals. */
static size_t fmt_sec_usec(char *b, uint32_t sec, uint32_t nsec)
{
	uint64_t s = sec;
	uint32_t us = (nsec + 500) / 1000;
	if (us >= 1000000) {
		s += us / 1000000;
		us %= 1000000;
	}
	char *t = fmt_u64(b + 24, s);
	size_t n = (size_t)(b + 24 - t);
	memmove(b, t, n);
	b[n] = '.';
	char *p = b + n + 1;
	p = put2(p, us / 10000);
	p = put2(p, us / 100 % 100);
	p = put2(p, us % 100);
	return (size_t)(p - b);
}

/* seconds.nanoseconds, all nine digits: Fluent Bit's out_file and csv
 * formats print the event time with "%"PRIu64".%09lu" (plugins/out_file/
 * file.c), so a nanosecond time read in is written out whole. */
size_t out_json_fmt_sec_nsec(char *b, uint32_t sec, uint32_t nsec)
{
	char *t = fmt_u64(b + 24, sec);
	size_t n = (size_t)(b + 24 - t);
	memmove(b, t, n);
	b[n] = '.';
	char *p = b + n + 1;
	nsec = DP_MIN(nsec, 999999999u);
	*p++ = (char)('0' + nsec / 100000000);
	p = put2(p, nsec / 1000000 % 100);
	p = put2(p, nsec / 10000 % 100);
	p = put2(p, nsec / 100 % 100);
	p = put2(p, nsec % 100);
	return (size_t)(p - b);
}

static void jw_date(struct jw *w, uint32_t sec, uint32_t nsec, int fmt)
{
	char b[48];
	size_t n;
	switch (fmt) {
	case OUT_JSON_DATE_EPOCH:
		jw_u64(w, sec);
		return;
	case OUT_JSON_DATE_EPOCH_MS:
		jw_u64(w, (uint64_t)sec * 1000 + nsec / 1000000);
		return;
	case OUT_JSON_DATE_ISO8601:
		n = fmt_civil(b, sec, nsec, 'T', true);
		break;
	case OUT_JSON_DATE_JAVA_SQL_TIMESTAMP:
		n = fmt_civil(b, sec, nsec, ' ', false);
		break;
	default:
		n = fmt_sec_usec(b, sec, nsec);
		break;
	}
	jw_put(w, b, n);
}

int out_json_date_format_parse(const char *s)
{
	static const char *const names[] = {
		[OUT_JSON_DATE_DOUBLE] = "double",
		[OUT_JSON_DATE_EPOCH] = "epoch",
		[OUT_JSON_DATE_EPOCH_MS] = "epoch_ms",
		[OUT_JSON_DATE_ISO8601] = "iso8601",
		[OUT_JSON_DATE_JAVA_SQL_TIMESTAMP] = "java_sql_timestamp",
	};
	for (unsigned i = 0; s && i < DP_ARRAY_SIZE(names); i++)
		if (strcasecmp(s, names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

/* ---- msgpack values ---- */


enum mp_kind { K_NIL, K_BOOL, K_UINT, K_INT, K_F32, K_F64, K_STR, K_EXT, K_ARR, K_MAP, K_BAD };

/* One msgpack header: its kind, header size, and payload length (str, bin,
 * ext: bytes; array: items; map: pairs; scalars: bytes after the tag). */
struct mp_hdr {
	enum mp_kind kind;
	uint32_t hdr;
	uint64_t len;
};

static inline struct mp_hdr mp_head(const uint8_t *p, size_t n)
{
	uint8_t h = p[0];
	if (h <= 0x7f || h >= 0xe0)
		return (struct mp_hdr){ h <= 0x7f ? K_UINT : K_INT, 1, 0 };
	if ((h & 0xe0) == 0xa0)
		return (struct mp_hdr){ K_STR, 1, h & 0x1fu };
	if ((h & 0xf0) == 0x90)
		return (struct mp_hdr){ K_ARR, 1, h & 0x0fu };
	if ((h & 0xf0) == 0x80)
		return (struct mp_hdr){ K_MAP, 1, h & 0x0fu };

	/* width of the length field of the variable-size forms */
	static const uint8_t lenw[256] = {
		[0xc4] = 1, [0xc5] = 2, [0xc6] = 4, [0xc7] = 1, [0xc8] = 2, [0xc9] = 4,
		[0xd9] = 1, [0xda] = 2, [0xdb] = 4, [0xdc] = 2, [0xdd] = 4, [0xde] = 2,
		[0xdf] = 4,
	};
	uint64_t len = 0;
	if (lenw[h]) {
		if (n < 1u + lenw[h])
			return (struct mp_hdr){ K_BAD, 0, 0 };
		len = lenw[h] == 1 ? p[1] : lenw[h] == 2 ? dp_mp_rd16(p + 1) : dp_mp_rd32(p + 1);
	}
	switch (h) {
	case 0xc0: return (struct mp_hdr){ K_NIL, 1, 0 };
	case 0xc2: case 0xc3: return (struct mp_hdr){ K_BOOL, 1, 0 };
	case 0xc4: case 0xd9: return (struct mp_hdr){ K_STR, 2, len };
	case 0xc5: case 0xda: return (struct mp_hdr){ K_STR, 3, len };
	case 0xc6: case 0xdb: return (struct mp_hdr){ K_STR, 5, len };
	case 0xc7: return (struct mp_hdr){ K_EXT, 3, len };
	case 0xc8: return (struct mp_hdr){ K_EXT, 4, len };
	case 0xc9: return (struct mp_hdr){ K_EXT, 6, len };
	case 0xca: return (struct mp_hdr){ K_F32, 1, 4 };
	case 0xcb: return (struct mp_hdr){ K_F64, 1, 8 };
	case 0xcc: return (struct mp_hdr){ K_UINT, 1, 1 };
	case 0xcd: return (struct mp_hdr){ K_UINT, 1, 2 };
	case 0xce: return (struct mp_hdr){ K_UINT, 1, 4 };
	case 0xcf: return (struct mp_hdr){ K_UINT, 1, 8 };
	case 0xd0: return (struct mp_hdr){ K_INT, 1, 1 };
	case 0xd1: return (struct mp_hdr){ K_INT, 1, 2 };
	case 0xd2: return (struct mp_hdr){ K_INT, 1, 4 };
	case 0xd3: return (struct mp_hdr){ K_INT, 1, 8 };
	case 0xd4: return (struct mp_hdr){ K_EXT, 2, 1 };
	case 0xd5: return (struct mp_hdr){ K_EXT, 2, 2 };
	case 0xd6: return (struct mp_hdr){ K_EXT, 2, 4 };
	case 0xd7: return (struct mp_hdr){ K_EXT, 2, 8 };
	case 0xd8: return (struct mp_hdr){ K_EXT, 2, 16 };
	case 0xdc: return (struct mp_hdr){ K_ARR, 3, len };
	case 0xdd: return (struct mp_hdr){ K_ARR, 5, len };
	case 0xde: return (struct mp_hdr){ K_MAP, 3, len };
	case 0xdf: return (struct mp_hdr){ K_MAP, 5, len };
	default:   return (struct mp_hdr){ K_BAD, 0, 0 };
	}
}

/* A scalar (not str/ext/container) whose header is h, at p. */
static void jw_scalar(struct jw *w, const uint8_t *p, struct mp_hdr h)
{
	const uint8_t *v = p + h.hdr;
	switch (h.kind) {
	case K_NIL:
		jw_put(w, "null", 4);
		break;
	case K_BOOL:
		if (p[0] == 0xc3)
			jw_put(w, "true", 4);
		else
			jw_put(w, "false", 5);
		break;
	case K_UINT:
		jw_u64(w, h.len == 0 ? p[0] : h.len == 1 ? v[0] : h.len == 2 ? dp_mp_rd16(v) :
			  h.len == 4 ? dp_mp_rd32(v) : dp_mp_rd64(v));
		break;
	case K_INT:
		jw_i64(w, h.len == 0 ? (int8_t)p[0] : h.len == 1 ? (int8_t)v[0] :
			  h.len == 2 ? (int16_t)dp_mp_rd16(v) : h.len == 4 ? (int32_t)dp_mp_rd32(v) :
			  (int64_t)dp_mp_rd64(v));
		break;
	case K_F32: {
		uint32_t u = dp_mp_rd32(v);
		float f;
		memcpy(&f, &u, 4);
		jw_double(w, f);
		break;
	}
	case K_F64: {
		uint64_t u = dp_mp_rd64(v);
		double d;
		memcpy(&d, &u, 8);
		jw_double(w, d);
		break;
	}
	default:
		w->fail = true;
		break;
	}
}

struct wframe {
	uint64_t left;   /* objects still to write (a map counts keys and values) */
	bool map;
	bool first;
};

/* The msgpack object at p (n bytes available) as JSON, walked with an
 * explicit stack. */
static void jw_mp(struct jw *w, const uint8_t *p, size_t n)
{
	struct wframe st[OUT_JSON_MAX_DEPTH];
	unsigned d = 0;
	size_t i = 0;

	for (;;) {
		bool key = false;
		if (w->fail)
			return;
		if (d) {
			struct wframe *t = &st[d - 1];
			if (t->left == 0) {
				jw_ch(w, t->map ? '}' : ']');
				if (--d == 0)
					return;
				continue;
			}
			key = t->map && !(t->left & 1);
			if (t->map && !key)
				jw_ch(w, ':');
			else if (!t->first)
				jw_ch(w, ',');
			t->first = false;
			t->left--;
		}
		if (i >= n)
			goto bad;
		struct mp_hdr h = mp_head(p + i, n - i);
		if (h.kind == K_BAD || h.hdr > n - i)
			goto bad;
		const uint8_t *o = p + i;
		i += h.hdr;
		switch (h.kind) {
		case K_STR:
		case K_EXT:
			/* ext: the type byte is the last header byte, dropped */
			if (h.len > n - i)
				goto bad;
			jw_str(w, p + i, (size_t)h.len, w->lim);
			i += h.len;
			break;
		case K_ARR:
		case K_MAP:
			/* every item takes a byte at least: reject absurd counts early */
			if (key || d == OUT_JSON_MAX_DEPTH || h.len > n - i)
				goto bad;
			st[d].map = h.kind == K_MAP;
			st[d].left = h.kind == K_MAP ? 2 * h.len : h.len;
			st[d].first = true;
			d++;
			jw_ch(w, h.kind == K_MAP ? '{' : '[');
			continue;
		default:
			if (h.len > n - i)
				goto bad;
			if (key)
				jw_ch(w, '"');
			jw_scalar(w, o, h);
			if (key)
				jw_ch(w, '"');
			i += h.len;
			break;
		}
		if (d == 0)
			return;
	}
bad:
	w->fail = true;
}

/* ---- records ---- */

static void jw_rec(struct jw *w, const struct dp_chunk *c, const struct dp_rec *r,
		   const struct out_json_opts *o)
{
	const struct dp_field *f = dp_rec_fields(c, r);
	bool first = true;

	jw_ch(w, '{');
	if (o && o->date_key) {
		size_t dn = strlen(o->date_key);
		jw_str(w, (const uint8_t *)o->date_key, dn, (const uint8_t *)o->date_key + dn);
		jw_ch(w, ':');
		jw_date(w, r->ts_sec, r->ts_nsec, o->date_format);
		first = false;
	}
	for (unsigned i = 0; i < r->nfields && !w->fail; i++, f++) {
		if (!first)
			jw_ch(w, ',');
		first = false;
		jw_str(w, c->data + f->key_off, f->key_len, w->lim);
		jw_ch(w, ':');
		if (f->type == DP_T_STR || f->type == DP_T_BIN)
			jw_str(w, c->data + f->val_off, f->val_len, w->lim);
		else
			jw_mp(w, c->data + f->val_off, f->val_len);
	}
	jw_ch(w, '}');
}

size_t out_json_rec(const struct dp_chunk *c, const struct dp_rec *r,
		    const struct out_json_opts *o, char *dst, size_t cap)
{
	struct jw w = { dst, dst + cap, false, c->data + DP_CHUNK_DATA };
	jw_rec(&w, c, r, o);
	return w.fail ? 0 : (size_t)(w.p - dst);
}

size_t out_json_file_line(const struct dp_chunk *c, const struct dp_rec *r,
			  const char *tag, size_t taglen, char *dst, size_t cap)
{
	struct jw w = { dst, dst + cap, false, c->data + DP_CHUNK_DATA };
	char b[48];
	jw_put(&w, tag, taglen);
	jw_put(&w, ": [", 3);
	jw_put(&w, b, out_json_fmt_sec_nsec(b, r->ts_sec, r->ts_nsec));
	jw_put(&w, ", ", 2);
	jw_rec(&w, c, r, NULL);
	jw_ch(&w, ']');
	return w.fail ? 0 : (size_t)(w.p - dst);
}

size_t out_json_value(const struct dp_chunk *c, const struct dp_field *f, char *dst, size_t cap)
{
	struct jw w = { dst, dst + cap, false, c->data + DP_CHUNK_DATA };
	if (f->type == DP_T_STR || f->type == DP_T_BIN)
		jw_str(&w, c->data + f->val_off, f->val_len, w.lim);
	else
		jw_mp(&w, c->data + f->val_off, f->val_len);
	return w.fail ? 0 : (size_t)(w.p - dst);
}
