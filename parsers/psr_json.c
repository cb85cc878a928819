/*
 * psr_json.c — JSON lines into msgpack records (contract in psr_json.h).
 * Runs on the shard that owns the chunk; no state, no allocation.
 *
 * One pass over the line. Strings are found with a scan for the three bytes
 * that end a plain run ('"', '\\', control characters), 16 bytes at a time
 * with SSE2 where the compiler has it; a string without escapes (nearly
 * all of them) is then one memcpy into the chunk. Nested objects and arrays
 * use a small explicit stack, not recursion. Integers are parsed by hand;
 * floats take Clinger's fast path (mantissa <= 2^53, power of ten <= 22,
 * both exact doubles, so one IEEE multiply or divide is correctly rounded)
 * and fall back to strtod otherwise.
 *
 * Threads: any; the parse state is the caller's (a shard's).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "psr_json.h"

/* '"', '\\' and the control characters: the bytes that end a plain run. */
static const uint8_t str_stop[256] = {
	[0x00 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1,
};

static const uint8_t is_ws[256] = {
	[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1,
};

static const double pow10_tab[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static inline const char *skip_ws(const char *p, const char *end)
{
	while (p < end && is_ws[(uint8_t)*p])
		p++;
	return p;
}

/* First byte in [p, end) that ends a plain string run, or end. */
static inline const char *str_scan(const char *p, const char *end)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1f);
	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		/* max_epu8(v, 0x1f) == 0x1f exactly when v <= 0x1f unsigned */
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
						      _mm_cmpeq_epi8(v, bslash)),
					 _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);
		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
	}
#endif
	while (p < end && !str_stop[(uint8_t)*p])
		p++;
	return p;
}

/* The closing quote of a string whose first escape or stop byte is at q,
 * or NULL when it is unterminated or holds a raw control character. */
static const char *str_close(const char *q, const char *end)
{
	for (;;) {
		q = str_scan(q, end);
		if (q >= end)
			return NULL;
		if (*q == '"')
			return q;
		if (*q != '\\' || end - q < 2)
			return NULL;
		q += 2;  /* the escaped byte itself is checked while decoding */
	}
}

static inline int hex4(const char *s)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned ch = (uint8_t)s[i], d;
		if (ch - '0' < 10)
			d = ch - '0';
		else if ((ch | 0x20) - 'a' < 6)
			d = (ch | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | (int)d;
	}
	return v;
}

static inline uint8_t *put_utf8(uint8_t *w, uint32_t cp)
{
	if (cp < 0x80) {
		*w++ = (uint8_t)cp;
	} else if (cp < 0x800) {
		*w++ = (uint8_t)(0xc0 | cp >> 6);
		*w++ = (uint8_t)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*w++ = (uint8_t)(0xe0 | cp >> 12);
		*w++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (uint8_t)(0x80 | (cp & 0x3f));
	} else {
		*w++ = (uint8_t)(0xf0 | cp >> 18);
		*w++ = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		*w++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (uint8_t)(0x80 | (cp & 0x3f));
	}
	return w;
}

/* Decode the string body [s, e) (e is the closing quote) into w. Every
 * escape decodes to no more bytes than it takes (\uXXXX: 6 -> at most 3, a
 * surrogate pair: 12 -> 4), so e - s bytes of room always suffice.
 * Returns the decoded length, or -1 on an invalid escape. */
static long str_decode(const char *s, const char *e, uint8_t *w)
{
	uint8_t *w0 = w;
	while (s < e) {
		const char *b = memchr(s, '\\', (size_t)(e - s));
		if (!b)
			b = e;
		memcpy(w, s, (size_t)(b - s));
		w += b - s;
		s = b;
		if (s == e)
			break;
		/* str_close guarantees s + 1 < e: the quote at e is not escaped */
		switch (s[1]) {
		case '"':  *w++ = '"';  s += 2; continue;
		case '\\': *w++ = '\\'; s += 2; continue;
		case '/':  *w++ = '/';  s += 2; continue;
		case 'b':  *w++ = '\b'; s += 2; continue;
		case 'f':  *w++ = '\f'; s += 2; continue;
		case 'n':  *w++ = '\n'; s += 2; continue;
		case 'r':  *w++ = '\r'; s += 2; continue;
		case 't':  *w++ = '\t'; s += 2; continue;
		case 'u':  break;
		default:   return -1;
		}
		if (e - s < 6)
			return -1;
		int cp = hex4(s + 2);
		if (cp < 0)
			return -1;
		s += 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			int lo = (e - s >= 6 && s[0] == '\\' && s[1] == 'u') ? hex4(s + 2) : -1;
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				s += 6;
			} else {
				cp = 0xfffd;
			}
		} else if (cp >= 0xdc00 && cp <= 0xdfff) {
			cp = 0xfffd;
		}
		w = put_utf8(w, (uint32_t)cp);
	}
	return w - w0;
}

/* A string with escapes, body starting at p, first stop byte at q: decoded
 * in place behind a header sized for the raw length. */
static const char *put_str_escaped(struct dp_chunk *c, const char *p, const char *q,
				   const char *end)
{
	const char *e = str_close(q, end);
	if (!e)
		return NULL;
	uint32_t hdr = dp_mp_str_open(c, (size_t)(e - p));
	if (c->overflow)  /* nothing was reserved; rec_end will say -ENOSPC */
		return e + 1;
	long n = str_decode(p, e, c->data + c->data_len);
	if (n < 0)
		return NULL;
	dp_chunk_commit(c, (size_t)n);
	dp_mp_str_patch(c, hdr, (size_t)n);
	return e + 1;
}

/* A plain string of n bytes at p. Most are short: with 32 bytes readable
 * in the line and 32 free in the chunk, a fixstr is one fixed-size copy
 * (two vector moves, no call); bytes copied past n are overwritten later. */
static inline void put_plain(struct dp_chunk *c, const char *p, size_t n, const char *end)
{
	if (likely(n < 32 && end - p >= 32 && c->data_len + 33 <= DP_CHUNK_DATA)) {
		uint8_t *w = c->data + c->data_len;
		w[0] = (uint8_t)(0xa0 | n);
		memcpy(w + 1, p, 32);
		dp_chunk_commit(c, n + 1);
		return;
	}
	dp_mp_str(c, p, n);
}

/* The string whose body starts at p (after the opening quote) as a msgpack
 * str; returns the byte after the closing quote, or NULL. */
static inline const char *put_str(struct dp_chunk *c, const char *p, const char *end)
{
	const char *q = str_scan(p, end);
	if (likely(q < end && *q == '"')) {
		put_plain(c, p, (size_t)(q - p), end);
		return q + 1;
	}
	return put_str_escaped(c, p, q, end);
}

/* A top-level key: opens the indexed field. dp_chunk_field_begin copies the
 * key, so an escaped key is decoded first into scratch room past the point
 * where that copy lands (header + raw length), where the two cannot overlap. */
static const char *put_key(struct dp_chunk *c, const char *p, const char *end)
{
	const char *q = str_scan(p, end);
	if (likely(q < end && *q == '"')) {
		dp_chunk_field_begin(c, p, (size_t)(q - p));
		return q + 1;
	}
	const char *e = str_close(q, end);
	if (!e)
		return NULL;
	size_t raw = (size_t)(e - p);
	uint8_t *w = dp_chunk_reserve(c, 2 * raw + 10);
	if (!w)
		return e + 1;
	uint8_t *scratch = w + raw + 5;
	long n = str_decode(p, e, scratch);
	if (n < 0)
		return NULL;
	dp_chunk_field_begin(c, (const char *)scratch, (size_t)n);
	return e + 1;
}

static void put_uint64(struct dp_chunk *c, uint64_t v)
{
	uint8_t *w = dp_chunk_reserve(c, 9);
	if (!w)
		return;
	w[0] = 0xcf;
	for (int i = 0; i < 8; i++)
		w[1 + i] = (uint8_t)(v >> (56 - 8 * i));
	dp_chunk_commit(c, 9);
}

static inline bool is_digit(const char *p, const char *end)
{
	return p < end && (unsigned)((uint8_t)*p - '0') < 10;
}

/* Everything but a plain integer of at most 19 digits: a fraction, an
 * exponent, or a long integer. s is the number's first byte, d0 its first
 * digit, p the byte after the integer digits, v their value when nint <= 19. */
__attribute__((noinline))
static const char *put_num_slow(struct dp_chunk *c, const char *s, const char *d0,
				const char *p, const char *end, uint64_t v, enum dp_type *type)
{
	bool neg = *s == '-';
	size_t nint = (size_t)(p - d0);
	bool frac = p < end && *p == '.';
	bool expo = p < end && (*p | 0x20) == 'e';

	if (!frac && !expo) {
		/* 20+ digits: still an integer if it fits uint64 (and is positive) */
		uint64_t x = 0;
		bool ovf = false;
		for (const char *q = d0; q < p; q++) {
			ovf |= __builtin_mul_overflow(x, 10, &x);
			ovf |= __builtin_add_overflow(x, (uint64_t)(*q - '0'), &x);
		}
		if (!ovf && !neg) {
			put_uint64(c, x);
			*type = DP_T_UINT;
			return p;
		}
	}

	/* Significant digits accumulate in m while they fit (exact). */
	uint64_t m = v;
	bool exact = nint <= 19;
	size_t ndig = nint;
	long exp10 = 0;
	if (frac) {
		p++;
		if (!is_digit(p, end))
			return NULL;
		while (is_digit(p, end)) {
			if (++ndig > 19)
				exact = false;
			else
				m = m * 10 + (uint64_t)(*p - '0');
			exp10--;
			p++;
		}
	}
	if (p < end && (*p | 0x20) == 'e') {
		p++;
		bool eneg = false;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (!is_digit(p, end))
			return NULL;
		long ev = 0;
		while (is_digit(p, end)) {
			if (ev < 100000)  /* far past any double; keeps ev from overflowing */
				ev = ev * 10 + (*p - '0');
			p++;
		}
		exp10 += eneg ? -ev : ev;
	}

	/* the bound of psr_json.h, whatever the number's value: the batch
	 * check (psr_json_batch.c) refuses the same ones */
	if ((size_t)(p - s) > PSR_JSON_MAX_NUMBER)
		return NULL;
	double d;
	if (exact && m <= (1ull << 53) && exp10 >= -22 && exp10 <= 22) {
		d = (double)m;
		d = exp10 >= 0 ? d * pow10_tab[exp10] : d / pow10_tab[-exp10];
		if (neg)
			d = -d;
	} else if (exact && m == 0) {
		d = neg ? -0.0 : 0.0;
	} else {
		char buf[PSR_JSON_MAX_NUMBER + 1];
		size_t len = (size_t)(p - s);
		memcpy(buf, s, len);
		buf[len] = '\0';
		d = strtod(buf, NULL);
	}
	dp_mp_double(c, d);
	*type = DP_T_FLOAT;
	return p;
}

/* A number starting at p ('-' or a digit). Leading zeros ("01") are caught
 * by the caller: a digit is never a valid byte after a value. */
static inline const char *put_num(struct dp_chunk *c, const char *p, const char *end,
				  enum dp_type *type)
{
	const char *s = p;
	bool neg = *p == '-';
	p += neg;
	const char *d0 = p;
	uint64_t v = 0;
	if (p < end && *p == '0') {
		p++;
	} else {
		while (is_digit(p, end))
			v = v * 10 + (uint64_t)(*p++ - '0');
		if (p == d0)
			return NULL;
	}
	if (unlikely(p - d0 > 19 || (p < end && (*p == '.' || (*p | 0x20) == 'e'))))
		return put_num_slow(c, s, d0, p, end, v, type);
	if (!neg) {
		if (v <= INT64_MAX)
			dp_mp_int(c, (int64_t)v);
		else
			put_uint64(c, v);
		*type = DP_T_UINT;
	} else if (v <= (1ull << 63)) {
		int64_t iv = v == (1ull << 63) ? INT64_MIN : -(int64_t)v;
		dp_mp_int(c, iv);
		*type = iv < 0 ? DP_T_INT : DP_T_UINT;
	} else {
		dp_mp_double(c, -(double)v);
		*type = DP_T_FLOAT;
	}
	return p;
}

static inline bool lit(const char *p, const char *end, const char *w, size_t n)
{
	return (size_t)(end - p) >= n && memcmp(p, w, n) == 0;
}

/* Any value but an object or array. */
static inline const char *put_scalar(struct dp_chunk *c, const char *p, const char *end,
				     enum dp_type *type)
{
	switch (*p) {
	case '"':
		*type = DP_T_STR;
		return put_str(c, p + 1, end);
	case 't':
		if (!lit(p, end, "true", 4))
			return NULL;
		dp_mp_bool(c, true);
		*type = DP_T_BOOL;
		return p + 4;
	case 'f':
		if (!lit(p, end, "false", 5))
			return NULL;
		dp_mp_bool(c, false);
		*type = DP_T_BOOL;
		return p + 5;
	case 'n':
		if (!lit(p, end, "null", 4))
			return NULL;
		dp_mp_nil(c);
		*type = DP_T_NIL;
		return p + 4;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return put_num(c, p, end, type);
	default:
		return NULL;
	}
}

struct frame {
	uint32_t hdr;    /* offset of the map32/array32 header */
	uint32_t n;      /* members so far */
	bool map;
};

/* An object or array at p, with everything nested in it. The top-level
 * object is level 1, so this holds at most PSR_JSON_MAX_DEPTH - 1 levels. */
static const char *put_container(struct dp_chunk *c, const char *p, const char *end)
{
	struct frame st[PSR_JSON_MAX_DEPTH - 1];
	struct frame *top;
	unsigned d = 0;
	enum dp_type t;

open:
	if (d == DP_ARRAY_SIZE(st))
		return NULL;
	top = &st[d++];
	top->map = *p == '{';
	top->hdr = top->map ? dp_mp_map_open(c) : dp_mp_array_open(c);
	top->n = 0;
	p = skip_ws(p + 1, end);
	if (p < end && *p == (top->map ? '}' : ']')) {
		p++;
		goto close;
	}
	for (;;) {
		/* p: the start of a member, whitespace skipped */
		top->n++;
		if (top->map) {
			if (p >= end || *p != '"')
				return NULL;
			p = put_str(c, p + 1, end);
			if (!p)
				return NULL;
			p = skip_ws(p, end);
			if (p >= end || *p != ':')
				return NULL;
			p = skip_ws(p + 1, end);
		}
		if (p >= end)
			return NULL;
		if (*p == '{' || *p == '[')
			goto open;
		p = put_scalar(c, p, end, &t);
		if (!p)
			return NULL;
next:
		p = skip_ws(p, end);
		if (p >= end)
			return NULL;
		if (*p == ',') {
			p = skip_ws(p + 1, end);
			continue;
		}
		if (*p != (top->map ? '}' : ']'))
			return NULL;
		p++;
close:
		dp_mp_container_patch(c, top->hdr, top->n);
		if (--d == 0)
			return p;
		top = &st[d - 1];
		goto next;
	}
}

const char *psr_json_put_object(struct dp_chunk *c, const char *p, const char *end)
{
	enum dp_type t;

	if (p >= end || *p != '{')
		return NULL;
	p = skip_ws(p + 1, end);
	if (p < end && *p == '}')
		return p + 1;
	for (;;) {
		if (p >= end || *p != '"')
			return NULL;
		p = put_key(c, p + 1, end);
		if (!p)
			return NULL;
		p = skip_ws(p, end);
		if (p >= end || *p != ':')
			return NULL;
		p = skip_ws(p + 1, end);
		if (p >= end)
			return NULL;
		if (*p == '{' || *p == '[') {
			t = *p == '{' ? DP_T_MAP : DP_T_ARRAY;
			p = put_container(c, p, end);
		} else {
			p = put_scalar(c, p, end, &t);
		}
		if (!p)
			return NULL;
		dp_chunk_field_end(c, t);
		p = skip_ws(p, end);
		if (p >= end)
			return NULL;
		if (*p == '}')
			return p + 1;
		if (*p != ',')
			return NULL;
		p = skip_ws(p + 1, end);
	}
}

int psr_json_parse(struct dp_chunk *c, const char *line, size_t len)
{
	const char *end = line + len;
	const char *p = psr_json_put_object(c, skip_ws(line, end), end);
	return p && skip_ws(p, end) == end ? 0 : -EINVAL;
}
