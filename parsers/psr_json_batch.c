/*
 * psr_json_batch.c — checking a body of JSON records and cutting it into
 * them (see psr_json_batch.h). A recursive descent over the grammar of
 * RFC 8259 that builds nothing: psr_json_parse writes each record once
 * the whole body is known to be good.
 *
 * Threads: stateless; the caller's shard.
 */
#include <errno.h>
#include <string.h>
#include "psr_json.h"
#include "psr_json_batch.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

struct scan {
	const char *p, *e;
	unsigned depth;
};

static inline void ws(struct scan *s)
{
	while (s->p < s->e && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static inline bool hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The first '"', '\\' or control character in [p, e), or e. Strings are
 * most of a log record's bytes and this scan measured a third of the http
 * input's CPU time a byte at a time: 16 bytes a step (SSE2, which every
 * x86-64 has). */
static inline const char *string_special(const char *p, const char *e)
{
#if defined(__SSE2__)
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1f);
	while (e - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
					 _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v));   /* v <= 0x1f */
		unsigned bits = (unsigned)_mm_movemask_epi8(m);
		if (bits)
			return p + __builtin_ctz(bits);
		p += 16;
	}
#endif
	while (p < e && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
		p++;
	return p;
}

/* A string at s->p (its opening quote); *esc set when it holds an escape. */
static int string(struct scan *s, bool *esc)
{
	const char *p = s->p + 1, *e = s->e;
	*esc = false;
	while ((p = string_special(p, e)) < e) {
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			s->p = p + 1;
			return 0;
		}
		if (c < 0x20)
			return -EINVAL;
		*esc = true;   /* c is the backslash */
		if (++p == e)
			return -EINVAL;
		switch (*p) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
			p++;
			break;
		case 'u':
			if (e - p < 5 || !hex(p[1]) || !hex(p[2]) || !hex(p[3]) || !hex(p[4]))
				return -EINVAL;
			p += 5;
			break;
		default:
			return -EINVAL;
		}
	}
	return -EINVAL;
}

static inline bool digit(const char *p, const char *e)
{
	return p < e && *p >= '0' && *p <= '9';
}

/* RFC 8259 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int number(struct scan *s)
{
	const char *p = s->p, *e = s->e, *start;
	if (*p == '-')
		p++;
	if (!digit(p, e))
		return -EINVAL;
	if (*p == '0')
		p++;
	else
		while (digit(p, e))
			p++;
	if (p < e && *p == '.') {
		if (!digit(++p, e))
			return -EINVAL;
		while (digit(p, e))
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (!digit(p, e))
			return -EINVAL;
		while (digit(p, e))
			p++;
	}
	start = s->p;
	if (p - start > PSR_JSON_MAX_NUMBER)
		return -EINVAL;   /* psr_json_parse refuses them too */
	s->p = p;
	return 0;
}

static int literal(struct scan *s, const char *lit, size_t n)
{
	if ((size_t)(s->e - s->p) < n || memcmp(s->p, lit, n) != 0)
		return -EINVAL;
	s->p += n;
	return 0;
}

static int value(struct scan *s);

/* An object at s->p; the string value of its member `key` (when key and
 * rec are given) noted in rec, relative to base. */
static int object(struct scan *s, const char *key, size_t klen, struct psr_json_rec *rec,
		  const char *base)
{
	if (++s->depth > PSR_JSON_MAX_DEPTH)
		return -EINVAL;
	s->p++;
	ws(s);
	if (s->p < s->e && *s->p == '}') {
		s->p++;
		s->depth--;
		return 0;
	}
	for (;;) {
		bool esc;
		if (s->p == s->e || *s->p != '"')
			return -EINVAL;
		const char *k = s->p + 1;
		if (string(s, &esc))
			return -EINVAL;
		bool want = rec && key && !rec->has_tag && !esc && (size_t)(s->p - 1 - k) == klen &&
			    memcmp(k, key, klen) == 0;
		ws(s);
		if (s->p == s->e || *s->p != ':')
			return -EINVAL;
		s->p++;
		ws(s);
		if (want && s->p < s->e && *s->p == '"') {
			const char *v = s->p + 1;
			if (string(s, &esc))
				return -EINVAL;
			rec->has_tag = true;
			rec->tag_escaped = esc;
			rec->tag_off = (uint32_t)(v - base);
			rec->tag_len = (uint32_t)(s->p - 1 - v);
		} else if (value(s)) {
			return -EINVAL;
		}
		ws(s);
		if (s->p == s->e)
			return -EINVAL;
		if (*s->p == '}') {
			s->p++;
			s->depth--;
			return 0;
		}
		if (*s->p++ != ',')
			return -EINVAL;
		ws(s);
	}
}

static int array(struct scan *s)
{
	if (++s->depth > PSR_JSON_MAX_DEPTH)
		return -EINVAL;
	s->p++;
	ws(s);
	if (s->p < s->e && *s->p == ']') {
		s->p++;
		s->depth--;
		return 0;
	}
	for (;;) {
		if (value(s))
			return -EINVAL;
		ws(s);
		if (s->p == s->e)
			return -EINVAL;
		if (*s->p == ']') {
			s->p++;
			s->depth--;
			return 0;
		}
		if (*s->p++ != ',')
			return -EINVAL;
		ws(s);
	}
}

static int value(struct scan *s)
{
	bool esc;
	if (s->p == s->e)
		return -EINVAL;
	switch (*s->p) {
	case '{': return object(s, NULL, 0, NULL, NULL);
	case '[': return array(s);
	case '"': return string(s, &esc);
	case 't': return literal(s, "true", 4);
	case 'f': return literal(s, "false", 5);
	case 'n': return literal(s, "null", 4);
	default: return number(s);
	}
}

/* One record: the object at s->p. */
static int record(struct scan *s, const char *base, const char *key, size_t klen,
		  struct psr_json_rec *out, size_t cap, long *n)
{
	struct psr_json_rec tmp, *rec = (size_t)*n < cap ? &out[*n] : &tmp;
	const char *start = s->p;
	memset(rec, 0, sizeof(*rec));
	s->depth = 0;
	if (object(s, key, klen, rec, base))
		return -EINVAL;
	rec->off = (uint32_t)(start - base);
	rec->len = (uint32_t)(s->p - start);
	(*n)++;
	return 0;
}

static inline const char *skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

void psr_json_batch_begin(struct psr_json_batch_it *it, const char *p, size_t len)
{
	*it = (struct psr_json_batch_it){ .p = p, .e = p + len };
}

int psr_json_batch_next(struct psr_json_batch_it *it)
{
	const char *p = skip_ws(it->p, it->e), *e = it->e;
	for (;;) {
		if (it->in_array) {
			if (it->in_array == 2) {   /* after an element */
				if (p == e)
					return -EINVAL;
				if (*p == ']') {
					it->in_array = 0;
					p = skip_ws(p + 1, e);
					continue;
				}
				if (*p != ',')
					return -EINVAL;
				p = skip_ws(p + 1, e);
			} else if (p < e && *p == ']') {   /* "[]" */
				it->in_array = 0;
				p = skip_ws(p + 1, e);
				continue;
			}
			if (p == e || *p != '{')
				return -EINVAL;
			it->in_array = 2;
			it->p = p;
			return 1;
		}
		if (p == e)
			return it->any ? 0 : -EINVAL;   /* no record at all */
		it->any = true;
		if (*p == '[') {
			it->in_array = 1;
			p = skip_ws(p + 1, e);
			continue;
		}
		if (*p != '{')
			return -EINVAL;
		it->p = p;
		return 1;
	}
}

long psr_json_batch_scan(const char *p, size_t len, const char *tag_key, size_t tag_key_len,
			 struct psr_json_rec *out, size_t cap)
{
	struct psr_json_batch_it it;
	struct scan s = { p, p + len, 0 };
	long n = 0;
	int rc;
	psr_json_batch_begin(&it, p, len);
	while ((rc = psr_json_batch_next(&it)) == 1) {
		s.p = it.p;
		if (record(&s, p, tag_key, tag_key_len, out, cap, &n))
			return -EINVAL;
		it.p = s.p;
	}
	return rc < 0 ? -EINVAL : n;
}
