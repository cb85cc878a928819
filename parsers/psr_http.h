/*
 * psr_http.h — HTTP/1.x requests (RFC 9112) as the http input reads them:
 * where one request ends in a stream (the PSR_FRAME_HTTP framing of
 * psr_frame.h) and what its head says (method, target, version, headers),
 * without copying: every string points into the caller's buffer.
 *
 * A request is its head (request line, header lines, an empty line; lines
 * end with CRLF or a bare LF) and a body of Content-Length bytes (none
 * when the header is absent), or with Transfer-Encoding: chunked a body of
 * chunks (RFC 9112 7.1: hex size, extensions ignored, data; a last chunk
 * of size 0 and trailer lines, ignored, up to an empty line), decoded by
 * psr_http_dechunk. Any other Transfer-Encoding, or one with a
 * Content-Length too (RFC 9112 6.1: a sign of request smuggling), loses
 * the framing.
 *
 * Framing (psr_http_frame) decides, per request, from its bytes alone:
 *   - the whole request (head and body) is one frame when it is at most
 *     max bytes;
 *   - a head that does not end within max bytes, a head whose request line
 *     or headers cannot be read (or with a Transfer-Encoding other than
 *     chunked, or with a Content-Length, or a bad or twice-different
 *     Content-Length), malformed chunks, or a body that would take the
 *     request past max: the framing of the stream is lost. The frame is
 *     then what the caller can answer from (the head alone for a request
 *     past max, the first max bytes for a head that does not end, the
 *     head up to the first byte of a bad chunk) and the framer is broken
 *     (psr_framer_is_broken): the caller answers and closes the
 *     connection.
 *
 * Threads: stateless; the caller's shard.
 */
#ifndef PSR_HTTP_H
#define PSR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "psr_frame.h"

/* Headers kept per request; more is a malformed request (400). */
#define PSR_HTTP_MAX_HEADERS 64

struct psr_http_str {
	const char *p;
	uint32_t len;
};

struct psr_http_hdr {
	struct psr_http_str name, value;   /* value without surrounding blanks */
};

struct psr_http_req {
	struct psr_http_str method;        /* "POST" */
	struct psr_http_str target;        /* "/app.log?x=1" */
	struct psr_http_str path;          /* "/app.log" (target before '?') */
	uint8_t minor;                     /* HTTP/1.<minor> */
	bool keep_alive;                   /* 1.1 unless Connection: close; 1.0 only with keep-alive */
	bool has_length;                   /* Content-Length given */
	bool has_te;                       /* Transfer-Encoding given */
	bool chunked;                      /* ... and it is "chunked" alone */
	uint32_t head_len;                 /* bytes of the head, its empty line included */
	uint64_t content_length;
	/* the headers the input reads on every request, found while parsing;
	 * len 0 when absent */
	struct psr_http_str host, content_type, content_encoding;
	/* every header in order, for the others (Authorization, ...) */
	unsigned nhdr;
	struct psr_http_hdr hdr[PSR_HTTP_MAX_HEADERS];
};

/* Parse the head at p[0..len). 0 with *r filled; -EAGAIN when the head
 * does not end within len bytes; -EBADMSG when it is malformed (request
 * line, a header line, too many headers, a bad Content-Length). */
int psr_http_req_parse(const char *p, size_t len, struct psr_http_req *r);

/* The value of header `name` (ASCII case-insensitive), the first one; NULL
 * when absent. */
const struct psr_http_str *psr_http_header(const struct psr_http_req *r, const char *name);

/* Decode the chunked body p[0..len) (a frame's bytes after the head) into
 * out[0..cap): its length, or -EBADMSG (malformed, or over cap). */
long psr_http_dechunk(const char *p, size_t len, char *out, size_t cap);

/* application/x-www-form-urlencoded, as Fluent Bit's in_http reads it
 * (http_prot.c parse_payload_urlencoded): pairs split at '&', one LF
 * before a pair dropped, a pair without '=' or with an empty key skipped,
 * key and value trimmed of blanks; the value (not the key) is URL decoded
 * (psr_http_url_decode). Iterate from *off = 0: 1 with the next pair, 0
 * at the end. */
int psr_http_form_next(const char *p, size_t len, size_t *off, struct psr_http_str *key,
		       struct psr_http_str *val);
/* Decode %XX and '+' (a space) of s into out (s.len bytes at most): the
 * length, or -EBADMSG for a '%' without two hex digits after it. */
long psr_http_url_decode(struct psr_http_str s, char *out);

/* Case-insensitive equality of s with the NUL-terminated lit. */
bool psr_http_str_is(struct psr_http_str s, const char *lit);

/* PSR_FRAME_HTTP, for psr_frame_burst: the request at p (p < e, not a
 * CR or LF). 1 with *end set: a frame p..*end (a whole request, or for a
 * lost framing what to answer from, with *lost set: the caller breaks the
 * framer, *oversize saying whether it is counted oversize or malformed).
 * 0: more bytes are needed (the scan so far is kept in f). */
int psr_http_frame(struct psr_framer *f, const char *p, const char *e, const char **end,
		   bool *lost, bool *oversize);

#endif
