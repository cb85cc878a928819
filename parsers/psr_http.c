/*
 * psr_http.c — HTTP/1.x request heads and the PSR_FRAME_HTTP framing (see
 * psr_http.h).
 *
 * The parser accepts what RFC 9112 asks a server to accept and no more
 * than the http input needs: a request line "METHOD SP TARGET SP
 * HTTP/1.x", header lines "name: value" (the name a token, no blank
 * before the colon: RFC 9112 5.1 says reject), no obsolete line folding
 * (a line starting with a blank: rejected, as RFC 9112 5.2 allows). Lines
 * may end in a bare LF (RFC 9112 2.2). Content-Length must be digits; two
 * different values are an error (RFC 9112 6.3), since a server that took
 * either could be made to read a smuggled request.
 *
 * Threads: stateless; the caller's shard.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include "psr_http.h"

static bool is_tchar(unsigned char c)
{
	/* RFC 9110 5.6.2 token characters */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

bool psr_http_str_is(struct psr_http_str s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && strncasecmp(s.p, lit, n) == 0;
}

/* The end of the line at p (its LF), or NULL when none before e. */
static const char *line_end(const char *p, const char *e)
{
	return memchr(p, '\n', (size_t)(e - p));
}

/* p..lf without the CR before the LF. */
static const char *trim_cr(const char *p, const char *lf)
{
	return lf > p && lf[-1] == '\r' ? lf - 1 : lf;
}

static int request_line(const char *p, const char *e, struct psr_http_req *r)
{
	const char *q = p;
	while (q < e && is_tchar((unsigned char)*q))
		q++;
	if (q == p || q == e || *q != ' ')
		return -EBADMSG;
	r->method = (struct psr_http_str){ p, (uint32_t)(q - p) };
	const char *t = ++q;
	while (q < e && *q != ' ' && (unsigned char)*q > 0x20 && *q != 0x7f)
		q++;
	if (q == t || q == e || *q != ' ')
		return -EBADMSG;
	r->target = (struct psr_http_str){ t, (uint32_t)(q - t) };
	const char *qm = memchr(t, '?', (size_t)(q - t));
	r->path = (struct psr_http_str){ t, (uint32_t)((qm ? qm : q) - t) };
	q++;
	if (e - q != 8 || memcmp(q, "HTTP/1.", 7) != 0 || (q[7] != '0' && q[7] != '1'))
		return -EBADMSG;
	r->minor = (uint8_t)(q[7] - '0');
	r->keep_alive = r->minor == 1;
	return 0;
}

/* Does the comma-separated list v hold the token tok? */
static bool list_has(struct psr_http_str v, const char *tok)
{
	size_t n = strlen(tok);
	const char *p = v.p, *e = v.p + v.len;
	while (p < e) {
		while (p < e && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		const char *s = p;
		while (p < e && *p != ',' && *p != ' ' && *p != '\t')
			p++;
		if ((size_t)(p - s) == n && strncasecmp(s, tok, n) == 0)
			return true;
	}
	return false;
}

static int header(struct psr_http_req *r, const char *p, const char *e)
{
	const char *colon = p;
	while (colon < e && is_tchar((unsigned char)*colon))
		colon++;
	if (colon == p || colon == e || *colon != ':')
		return -EBADMSG;
	const char *v = colon + 1, *ve = e;
	while (v < ve && (*v == ' ' || *v == '\t'))
		v++;
	while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
		ve--;
	for (const char *q = v; q < ve; q++)
		if (*q == '\0' || *q == '\r' || *q == '\n')
			return -EBADMSG;
	if (r->nhdr == PSR_HTTP_MAX_HEADERS)
		return -EBADMSG;
	struct psr_http_hdr *h = &r->hdr[r->nhdr++];
	h->name = (struct psr_http_str){ p, (uint32_t)(colon - p) };
	h->value = (struct psr_http_str){ v, (uint32_t)(ve - v) };
	if (psr_http_str_is(h->name, "Content-Length")) {
		uint64_t n = 0;
		if (h->value.len == 0 || h->value.len > 15)
			return -EBADMSG;
		for (uint32_t i = 0; i < h->value.len; i++) {
			unsigned d = (unsigned)(v[i] - '0');
			if (d > 9)
				return -EBADMSG;
			n = n * 10 + d;
		}
		if (r->has_length && r->content_length != n)
			return -EBADMSG;
		r->has_length = true;
		r->content_length = n;
	} else if (psr_http_str_is(h->name, "Transfer-Encoding")) {
		/* only chunked alone is read; two of them count as another coding */
		r->chunked = !r->has_te && psr_http_str_is(h->value, "chunked");
		r->has_te = true;
	} else if (psr_http_str_is(h->name, "Connection")) {
		if (list_has(h->value, "close"))
			r->keep_alive = false;
		else if (list_has(h->value, "keep-alive"))
			r->keep_alive = true;
	} else if (psr_http_str_is(h->name, "Host")) {
		if (!r->host.p)
			r->host = h->value;
	} else if (psr_http_str_is(h->name, "Content-Type")) {
		if (!r->content_type.p)
			r->content_type = h->value;
	} else if (psr_http_str_is(h->name, "Content-Encoding")) {
		if (!r->content_encoding.p)
			r->content_encoding = h->value;
	}
	return 0;
}

int psr_http_req_parse(const char *p, size_t len, struct psr_http_req *r)
{
	const char *s = p, *e = p + len;
	memset(r, 0, offsetof(struct psr_http_req, hdr));
	/* RFC 9112 2.2: empty lines before the request line are ignored */
	while (s < e && (*s == '\r' || *s == '\n'))
		s++;
	const char *lf = line_end(s, e);
	if (!lf)
		return -EAGAIN;
	if (request_line(s, trim_cr(s, lf), r))
		return -EBADMSG;
	for (s = lf + 1;; s = lf + 1) {
		if (!(lf = line_end(s, e)))
			return -EAGAIN;
		const char *le = trim_cr(s, lf);
		if (le == s)
			break;   /* the empty line ends the head */
		if (header(r, s, le))
			return -EBADMSG;
	}
	r->head_len = (uint32_t)(lf + 1 - p);
	return 0;
}

const struct psr_http_str *psr_http_header(const struct psr_http_req *r, const char *name)
{
	for (unsigned i = 0; i < r->nhdr; i++)
		if (psr_http_str_is(r->hdr[i].name, name))
			return &r->hdr[i].value;
	return NULL;
}

#define HTTP_CHUNKED UINT64_MAX
#define CHUNK_LINE_MAX 4096

/* The end of the head at p: just past its empty line, or NULL. The scan
 * resumes at p + *from (a blank line cannot start before it). */
static const char *head_end(const char *p, const char *e, uint32_t *from)
{
	const char *q = p + *from;
	while (q < e) {
		const char *lf = memchr(q, '\n', (size_t)(e - q));
		if (!lf)
			break;
		/* LF LF or LF CR LF */
		if (lf + 1 < e && lf[1] == '\n')
			return lf + 2;
		if (lf + 2 < e && lf[1] == '\r' && lf[2] == '\n')
			return lf + 3;
		if (lf + 2 >= e) {
			q = lf;
			break;
		}
		q = lf + 1;
	}
	*from = (uint32_t)((q < e ? q : e) - p);
	return NULL;
}

/* A chunk-size line at p (RFC 9112 7.1: hex digits, then extensions
 * after ';', then CRLF or LF): 1 with *size and *next (past its LF), 0
 * when its LF is not before e, -EBADMSG. */
static int chunk_line(const char *p, const char *e, uint64_t *size, const char **next)
{
	const char *lf = line_end(p, e);
	const char *q = p;
	uint64_t n = 0;
	while (q < e && q != lf) {
		unsigned c = (unsigned char)*q, d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (c | 0x20) - 'a' + 10;
		else
			break;
		if (n >> 56)
			return -EBADMSG;   /* no request is that large */
		n = n * 16 + d;
		q++;
	}
	if (q == p)
		return q == e ? 0 : -EBADMSG;
	/* extensions of a sane length; the bound keeps the verdict the same
	 * wherever a read stopped */
	if ((lf ? lf : e) - p > CHUNK_LINE_MAX)
		return -EBADMSG;
	if (!lf)
		return 0;
	if (q != trim_cr(p, lf) && *q != ';' && *q != ' ' && *q != '\t')
		return -EBADMSG;
	*size = n;
	*next = lf + 1;
	return 1;
}

/* The end of a chunked body at b, resuming at b + *from (a chunk-size
 * line): 1 with *end (past the last chunk and the trailer section), 0
 * when more bytes are needed (*from moved past the whole chunks), or
 * -EBADMSG with *end just past the first byte of the bad chunk. */
static int chunked_end(const char *b, const char *e, uint32_t *from, const char **end)
{
	const char *q = b + *from;
	for (;;) {
		uint64_t size;
		const char *data;
		int rc = chunk_line(q, e, &size, &data);
		if (rc < 0)
			*end = q + 1;
		if (rc <= 0)
			return rc;
		if (size == 0) {
			/* trailer lines up to an empty one */
			for (const char *t = data;;) {
				const char *lf = line_end(t, e);
				if (!lf)
					return 0;
				if (trim_cr(t, lf) == t) {
					*end = lf + 1;
					return 1;
				}
				t = lf + 1;
			}
		}
		if ((uint64_t)(e - data) < size + 1)
			return 0;
		const char *t = data + size;
		if (*t == '\r') {
			if (e - t < 2)
				return 0;
			t++;
		}
		if (*t != '\n') {
			*end = q + 1;
			return -EBADMSG;
		}
		q = t + 1;
		*from = (uint32_t)(q - b);
	}
}

long psr_http_dechunk(const char *p, size_t len, char *out, size_t cap)
{
	const char *q = p, *e = p + len;
	size_t n = 0;
	for (;;) {
		uint64_t size;
		const char *data;
		if (chunk_line(q, e, &size, &data) != 1)
			return -EBADMSG;
		if (size == 0)
			return (long)n;
		if ((uint64_t)(e - data) < size || size > cap - n)
			return -EBADMSG;
		memcpy(out + n, data, (size_t)size);
		n += (size_t)size;
		q = data + size;
		q += q < e && *q == '\r';
		if (q >= e || *q != '\n')
			return -EBADMSG;
		q++;
	}
}

/* The length of the head at p, known to end before e. */
static uint32_t head_len_of(const char *p, const char *e)
{
	uint32_t from = 0;
	return (uint32_t)(head_end(p, e, &from) - p);
}

/* f->mp_left: the whole request's length once its head is read (so a
 * body arriving in many reads does not parse the head again); f->mp_off:
 * how far the search for the head's end got. */
int psr_http_frame(struct psr_framer *f, const char *p, const char *e, const char **end,
		   bool *lost, bool *oversize)
{
	const uint64_t max = f->max_frame;
	size_t avail = (size_t)(e - p);
	*lost = *oversize = false;
	const char *w = p + (avail < max ? avail : max);   /* the window: max bytes at most */
	if (f->mp_left == HTTP_CHUNKED)
		goto chunked;
	if (f->mp_left == 0) {
		const char *he = head_end(p, w, &f->mp_off);
		if (!he) {
			if (avail < max)
				return 0;
			*end = p + max;   /* no head within max bytes */
			*lost = *oversize = true;
			goto out;
		}
		struct psr_http_req r;
		if (psr_http_req_parse(p, (size_t)(he - p), &r) ||
		    (r.has_te && (!r.chunked || r.has_length))) {
			*end = he;
			*lost = true;
			goto out;
		}
		if (r.head_len + r.content_length > max) {
			*end = he;
			*lost = *oversize = true;
			goto out;
		}
		/* A client that waits for leave to send its body (curl does
		 * past a size): the caller answers 100 Continue (RFC 9110,
		 * 10.1.1) unless the body came with the head. */
		const struct psr_http_str *expect = psr_http_header(&r, "Expect");
		f->continue_owed = expect && psr_http_str_is(*expect, "100-continue") &&
				   (r.chunked || avail < r.head_len + r.content_length);
		if (r.chunked) {
			/* mp_off now walks the chunks, from the body's start */
			f->mp_left = HTTP_CHUNKED;
			f->mp_off = r.head_len;
			goto chunked;
		}
		f->mp_left = r.head_len + r.content_length;
	}
	if (avail < f->mp_left)
		return 0;
	*end = p + f->mp_left;
	goto out;
chunked:
	switch (chunked_end(p, w, &f->mp_off, end)) {
	case 1:
		break;
	case 0:
		if (avail < max)
			return 0;
		/* the whole window is not the whole request: past max */
		*lost = *oversize = true;
		*end = p + head_len_of(p, w);   /* the head alone: 413 */
		break;
	default:
		*lost = true;   /* *end past the head: the input finds the chunks bad */
	}
out:
	f->mp_left = 0;
	f->mp_off = 0;
	return 1;
}

static struct psr_http_str trim(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	return (struct psr_http_str){ p, (uint32_t)(e - p) };
}

int psr_http_form_next(const char *p, size_t len, size_t *off, struct psr_http_str *key,
		       struct psr_http_str *val)
{
	const char *e = p + len;
	while (*off < len) {
		const char *s = p + *off;
		const char *amp = memchr(s, '&', (size_t)(e - s));
		const char *pe = amp ? amp : e;
		*off = (size_t)(pe - p) + (amp != NULL);
		if (s < pe && *s == '\n')
			s++;
		const char *eq = memchr(s, '=', (size_t)(pe - s));
		if (s == pe || !eq || eq == s)
			continue;
		*key = trim(s, eq);
		*val = trim(eq + 1, pe);
		if (key->len)
			return 1;
	}
	return 0;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

long psr_http_url_decode(struct psr_http_str s, char *out)
{
	size_t n = 0;
	for (uint32_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 2 < s.len ? unhex(s.p[i + 1]) : -1;
			int lo = hi >= 0 ? unhex(s.p[i + 2]) : -1;
			if (lo < 0)
				return -EBADMSG;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		out[n++] = c;
	}
	return (long)n;
}
