/*
 * psr_syslog.c — RFC 5424 and RFC 3164 lines to records (see psr_syslog.h
 * for the record layout and where it differs from Fluent Bit's regexes).
 * Runs on the shard that owns the chunk and the context.
 *
 * Each parser first finds every field as a span of the line, validating as
 * it goes, and only then writes: a malformed line costs no writes, and the
 * write phase is straight-line code.
 *
 * Threads: any; no state outside the caller's.
 */
#include <errno.h>
#include <string.h>
#include "psr_syslog.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

struct span {
	const char *p;
	size_t n;
};

/* Fields go through one dp_puts writer per record: the chunk's offsets
 * stay in registers across the fields (see dp_chunk.h). */
#define PUT(w, key, s) dp_puts_str((w), key, sizeof(key) - 1, (s).p, (s).n)

/* Characters of the 3164 ident: Fluent Bit's [a-zA-Z0-9_\/\.\-]. */
static const uint8_t ident_char[256] = {
	['-'] = 1, ['.'] = 1, ['/'] = 1, ['_'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
	['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

void psr_syslog_ctx_init(struct psr_syslog_ctx *ctx, uint32_t now_sec)
{
	memset(ctx, 0, sizeof(*ctx));
	psr_time_cache_init(&ctx->tc);
	ctx->now_sec = now_sec;
	psr_time_ym(now_sec, &ctx->year, &ctx->mon);
}

void psr_syslog_ctx_set_now(struct psr_syslog_ctx *ctx, uint32_t now_sec)
{
	if (now_sec == ctx->now_sec && ctx->year != 0)
		return;
	ctx->now_sec = now_sec;
	psr_time_ym(now_sec, &ctx->year, &ctx->mon);
}

static inline unsigned dig(char c)
{
	return (unsigned)(unsigned char)c - '0';
}

/*
 * Finding the next byte of a small set. The header's spaces and the SD's
 * ']' '"' '\\' are found from a 64-bit mask per 64-byte block (SSE2 on
 * x86-64, a plain loop elsewhere), walked with ctz: one block covers the
 * whole header of a typical line, where five memchr calls cost five
 * function calls and five setups, and the SD is walked stop to stop
 * instead of byte by byte.
 */
enum { SET_SPACE, SET_SD };

#if defined(__SSE2__)
static inline uint64_t mask16(__m128i v, char ch)
{
	return (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(ch)));
}

static inline uint64_t mask16_set(const char *p, int set)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	return set == SET_SPACE ? mask16(v, ' ') : mask16(v, ']') | mask16(v, '"') | mask16(v, '\\');
}

/* unrolled by hand: GCC kept the loop (and its counter) */
static inline uint64_t block_mask(const char *p, int set)
{
	return mask16_set(p, set) | mask16_set(p + 16, set) << 16 |
	       mask16_set(p + 32, set) << 32 | mask16_set(p + 48, set) << 48;
}
#else
static inline uint64_t block_mask(const char *p, int set)
{
	uint64_t m = 0;
	for (int i = 0; i < 64; i++) {
		char ch = p[i];
		bool hit = set == SET_SPACE ? ch == ' ' : (ch == ']' || ch == '"' || ch == '\\');
		m |= (uint64_t)hit << i;
	}
	return m;
}
#endif

struct scan {
	const char *base;  /* the block the mask describes */
	const char *lo;    /* the line's start: readable from there */
	const char *e;
	uint64_t m;
	int set;
};

/* Mask of the 64 bytes at p (lo <= p < e), those at or past e reading as
 * no match. Near the end of a line of 64 bytes or more, the line's last 64
 * bytes are read and the mask shifted down: a copy of the tail into a
 * zeroed buffer (the only way for shorter lines) costs more. */
static inline uint64_t scan_load(const char *lo, const char *p, const char *e, int set)
{
	if (likely(e - p >= 64))
		return block_mask(p, set);
	if (e - lo >= 64)
		return block_mask(e - 64, set) >> (64 - (e - p));
	char tmp[64] = { 0 };
	memcpy(tmp, p, (size_t)(e - p));
	return block_mask(tmp, set);
}

static inline void scan_init(struct scan *s, const char *lo, const char *p, const char *e, int set)
{
	s->base = p;
	s->lo = lo;
	s->e = e;
	s->set = set;
	s->m = p < e ? scan_load(lo, p, e, set) : 0;
}

/* First byte of the set at or after from (from >= s->base), or NULL. */
static inline const char *scan_next(struct scan *s, const char *from)
{
	for (;;) {
		if (from - s->base < 64) {
			uint64_t m = s->m & (~0ull << (from - s->base));
			if (m)
				return s->base + __builtin_ctzll(m);
			from = s->base + 64;
		}
		if (from >= s->e)
			return NULL;
		s->base = from;
		s->m = scan_load(s->lo, from, s->e, s->set);
	}
}

/* "<PRI>" at line start: 1 to 3 digits, value <= 191. Returns the byte
 * after '>' and the digits in *pri, or NULL. */
static inline const char *parse_pri(const char *p, const char *e, struct span *pri)
{
	/* with 5 bytes readable, the three lengths are tested straight,
	 * without the loop's per-digit bound and length checks */
	if (likely(e - p >= 5)) {
		unsigned d1 = dig(p[1]), d2 = dig(p[2]), d3 = dig(p[3]);
		unsigned v, n;
		if (p[0] != '<' || d1 > 9)
			return NULL;
		if (p[2] == '>') {
			v = d1;
			n = 1;
		} else if (d2 <= 9 && p[3] == '>') {
			v = d1 * 10 + d2;
			n = 2;
		} else if (d2 <= 9 && d3 <= 9 && p[4] == '>') {
			v = d1 * 100 + d2 * 10 + d3;
			n = 3;
		} else {
			return NULL;
		}
		if (v > 191)
			return NULL;
		pri->p = p + 1;
		pri->n = n;
		return p + n + 2;
	}
	if (e - p < 3 || p[0] != '<' || dig(p[1]) > 9)
		return NULL;
	unsigned v = dig(p[1]);
	const char *q = p + 2;
	while (q < e && dig(*q) <= 9 && q - p < 4) {
		v = v * 10 + dig(*q);
		q++;
	}
	if (q >= e || *q != '>' || v > 191)
		return NULL;
	pri->p = p + 1;
	pri->n = (size_t)(q - p - 1);
	return q + 1;
}

/* One RFC 5424 SD-ELEMENT list starting at '['. Returns the end of the SD
 * (at a space or at e), or NULL when it is not well formed. Outside a
 * quoted value only ']' and '"' matter; inside, '\\' escapes the next byte
 * (RFC 5424 6.3.3 lists \" \\ \]; skipping any escaped byte is the same
 * for those and harmless for others, which the RFC keeps verbatim). */
static const char *sd_scan(const char *lo, const char *p, const char *e)
{
	struct scan s;
	scan_init(&s, lo, p, e, SET_SD);
	const char *q = p + 1;
	bool quoted = false;
	for (;;) {
		const char *t = scan_next(&s, q);
		if (t == NULL)
			return NULL;
		q = t + 1;
		if (quoted) {
			if (*t == '"')
				quoted = false;
			else if (*t == '\\' && q++ >= e)
				return NULL;
		} else if (*t == '"') {
			quoted = true;
		} else if (*t == ']') {
			if (q == e || *q == ' ')
				return q;
			if (*q != '[')
				return NULL;
			q++;
		}
	}
}

/* Fluent Bit's rule for a malformed SD: \[(.*?)\] followed by " .+". We
 * also take an SD that ends the line (no message). */
static const char *sd_fallback(const char *p, const char *e)
{
	const char *q = p;
	while ((q = memchr(q, ']', (size_t)(e - q))) != NULL) {
		if (e - q > 2 && q[1] == ' ')
			return q + 1;
		q++;
	}
	return e[-1] == ']' ? e : NULL;
}

/* The keys of an RFC 5424 record, their bytes summed. */
#define K5424_BYTES (sizeof("pritimehostidentpidmsgidextradatamessage") - 1)

/* The record's fields (pri, the five header fields, SD, message), after
 * dp_puts_room or, check true, each field checked on its own. e: the
 * line's end (the values may be copied with bytes after them). */
static inline __attribute__((always_inline)) void put5424(struct dp_puts *w, const struct span *f,
							  bool check, const char *e)
{
#define PUT5424(key, s) dp_puts_str_x(w, key, sizeof(key) - 1, (s).p, (s).n, check, e)
	PUT5424("pri", f[0]);
	PUT5424("time", f[1]);
	PUT5424("host", f[2]);
	PUT5424("ident", f[3]);
	PUT5424("pid", f[4]);
	PUT5424("msgid", f[5]);
	PUT5424("extradata", f[6]);
	if (f[7].n > 0)
		PUT5424("message", f[7]);
#undef PUT5424
}

/* A record near the end of a chunk: out of line, it is rare. */
static __attribute__((noinline)) void put5424_checked(struct dp_puts *w, const struct span *f)
{
	put5424(w, f, true, NULL);
}

int psr_syslog5424_parse(struct dp_chunk *c, const char *line, size_t len,
			 struct psr_syslog_ctx *ctx)
{
	const char *e = line + len;
	struct span pri, hdr[5], sd, msg;
	const char *p = parse_pri(line, e, &pri);
	if (p == NULL || e - p < 2 || p[0] != '1' || p[1] != ' ')
		return -EINVAL;
	p += 2;

	/* TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, each followed by SP */
	const char *base = p;
	uint64_t m = p < e ? scan_load(line, p, e, SET_SPACE) : 0;
	uint64_t m1 = m & (m - 1), m2 = m1 & (m1 - 1), m3 = m2 & (m2 - 1), m4 = m3 & (m3 - 1);
	if (likely(m4 != 0)) {
		/* The usual line: the five spaces in the first 64 bytes, taken
		 * straight from the mask. A field is empty when its space is at
		 * p (bit 0) or right after the previous one (adjacent bits). */
		uint64_t m5 = m ^ (m4 & (m4 - 1));
		if ((m5 & 1) || (m5 & (m5 >> 1)))
			return -EINVAL;
		unsigned s0 = (unsigned)__builtin_ctzll(m), s1 = (unsigned)__builtin_ctzll(m1);
		unsigned s2 = (unsigned)__builtin_ctzll(m2), s3 = (unsigned)__builtin_ctzll(m3);
		unsigned s4 = (unsigned)__builtin_ctzll(m4);
		hdr[0] = (struct span){ p, s0 };
		hdr[1] = (struct span){ p + s0 + 1, s1 - s0 - 1 };
		hdr[2] = (struct span){ p + s1 + 1, s2 - s1 - 1 };
		hdr[3] = (struct span){ p + s2 + 1, s3 - s2 - 1 };
		hdr[4] = (struct span){ p + s3 + 1, s4 - s3 - 1 };
		p += s4 + 1;
		goto header_done;
	}
	/* each space is the lowest bit left in the mask: clearing it (m & m-1)
	 * keeps the loop's dependency chain off p */
	for (int i = 0; i < 5; i++) {
		while (m == 0) {
			base += 64;
			if (base >= e)
				return -EINVAL;
			m = scan_load(line, base, e, SET_SPACE);
		}
		const char *s = base + __builtin_ctzll(m);
		m &= m - 1;
		if (s == p)
			return -EINVAL;
		hdr[i].p = p;
		hdr[i].n = (size_t)(s - p);
		p = s + 1;
	}
header_done:;

	const char *sd_end;
	if (p >= e)
		return -EINVAL;
	if (*p == '-') {
		sd_end = p + 1;
		if (sd_end < e && *sd_end != ' ')
			return -EINVAL;
	} else if (*p == '[') {
		sd_end = sd_scan(line, p, e);
		if (sd_end == NULL && (sd_end = sd_fallback(p, e)) == NULL)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	sd.p = p;
	sd.n = (size_t)(sd_end - p);

	msg.p = sd_end < e ? sd_end + 1 : e;
	if (e - msg.p >= 3 && memcmp(msg.p, "\xef\xbb\xbf", 3) == 0)
		msg.p += 3;
	msg.n = (size_t)(e - msg.p);

	int64_t sec = 0;
	uint32_t nsec = 0;
	bool has_time = !(hdr[0].n == 1 && hdr[0].p[0] == '-');
	if (has_time) {
		if (psr_time_rfc3339(&ctx->tc, hdr[0].p, hdr[0].n, &sec, &nsec) != 0)
			return -EINVAL;
		if (sec < 0 || sec > (int64_t)UINT32_MAX)
			return -EINVAL;
	}

	const struct span f[8] = { pri, hdr[0], hdr[1], hdr[2], hdr[3], hdr[4], sd, msg };
	struct dp_puts w;
	dp_chunk_puts_begin(c, &w);
	size_t bytes = pri.n + (size_t)(sd_end - hdr[0].p) + msg.n + K5424_BYTES;
	if (likely(dp_puts_room(&w, bytes, 8)))
		put5424(&w, f, false, e);
	else
		put5424_checked(&w, f);
	dp_chunk_puts_end(c, &w);
	if (has_time)
		dp_chunk_rec_set_time(c, (uint32_t)sec, nsec);
	return 0;
}

/* syslog-rfc3164 and, without the host field, syslog-rfc3164-local. */
static int parse3164(struct dp_chunk *c, const char *line, size_t len, struct psr_syslog_ctx *ctx,
		     bool with_host)
{
	const char *e = line + len;
	struct span pri, ts, host, ident, pid = { NULL, 0 }, msg;
	const char *p = parse_pri(line, e, &pri);
	if (p == NULL)
		return -EINVAL;

	int64_t sec;
	uint32_t nsec;
	int n = psr_time_rfc3164(p, (size_t)(e - p), ctx->year, ctx->mon, &sec, &nsec);
	if (n < 0 || sec < 0 || sec > (int64_t)UINT32_MAX)
		return -EINVAL;
	ts.p = p;
	ts.n = (size_t)n;
	p += n;
	if (p >= e || *p != ' ')
		return -EINVAL;
	p++;

	/* host: [^ ]* and the space after it are required by the regex */
	const char *s;
	host.p = p;
	host.n = 0;
	if (with_host) {
		s = memchr(p, ' ', (size_t)(e - p));
		if (s == NULL)
			return -EINVAL;
		host.n = (size_t)(s - p);
		p = s + 1;
	}

	ident.p = p;
	while (p < e && ident_char[(unsigned char)*p])
		p++;
	ident.n = (size_t)(p - ident.p);

	if (p < e && *p == '[') {
		const char *q = p + 1;
		while (q < e && dig(*q) <= 9)
			q++;
		if (q > p + 1 && q < e && *q == ']') {
			pid.p = p + 1;
			pid.n = (size_t)(q - p - 1);
			p = q + 1;
		}
	}

	/* (?:[^:]*:)? then " *": skip through the first ':' if there is one */
	s = memchr(p, ':', (size_t)(e - p));
	if (s != NULL)
		p = s + 1;
	while (p < e && *p == ' ')
		p++;
	msg.p = p;
	msg.n = (size_t)(e - p);

	struct dp_puts w;
	dp_chunk_puts_begin(c, &w);
	PUT(&w, "pri", pri);
	PUT(&w, "time", ts);
	if (host.n > 0)
		PUT(&w, "host", host);
	if (ident.n > 0)
		PUT(&w, "ident", ident);
	if (pid.p != NULL)
		PUT(&w, "pid", pid);
	if (msg.n > 0)
		PUT(&w, "message", msg);
	dp_chunk_puts_end(c, &w);
	dp_chunk_rec_set_time(c, (uint32_t)sec, nsec);
	return 0;
}

int psr_syslog3164_parse(struct dp_chunk *c, const char *line, size_t len,
			 struct psr_syslog_ctx *ctx)
{
	return parse3164(c, line, len, ctx, true);
}

int psr_syslog3164_local_parse(struct dp_chunk *c, const char *line, size_t len,
			       struct psr_syslog_ctx *ctx)
{
	return parse3164(c, line, len, ctx, false);
}
