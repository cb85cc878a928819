/*
 * out_http.h — the parts of the http output (out_http.c) that need no
 * network and are tested on their own: building request bodies from a
 * burst (out_http_body.c), the Header list (out_http_hdr.c) and what a
 * response status means. Stateless functions over what the caller holds:
 * any output worker may call them.
 */
#ifndef OUT_HTTP_H
#define OUT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dp_chunk.h"
#include "dp_ra.h"
#include "out_buf.h"
#include "out_gelf.h"
#include "out_json.h"

/* Format, in the order of its choices in the option table. */
enum out_http_format {
	OUT_HTTP_MSGPACK,      /* the events as they are: [time, map] back to back */
	OUT_HTTP_JSON,         /* one JSON array per request */
	OUT_HTTP_JSON_LINES,   /* one object per line, each ended by '\n' */
	OUT_HTTP_JSON_STREAM,  /* objects back to back, no separator (flb_pack.c) */
	OUT_HTTP_GELF,         /* one GELF object per line, each ended by '\n' */
};

struct out_http_fmt {
	enum out_http_format fmt;
	struct out_json_opts json;
	struct out_gelf_keys gelf;
};

/* Where the next body starts in a burst: chunk index and record index. */
struct out_http_pos {
	unsigned chunk;
	uint32_t rec;
};

/* Fill b (emptied first) with the live records of burst c[0..n) from *pos
 * on, as far as b->cap bytes allow; with by_tag, stop before the first
 * chunk whose tag differs from the first chunk's (Header_Tag: one tag per
 * request). Returns the records in the body and moves *pos past them (and
 * past records that cannot be encoded even alone, counted in *skipped).
 * A body of 0 records with pos at the end: nothing left to send. */
uint32_t out_http_body_fill(struct out_buf *b, const struct out_http_fmt *f, struct dp_chunk *const *c,
			    unsigned n, struct out_http_pos *pos, bool by_tag, uint64_t *skipped);

/* The Content-Type Fluent Bit sends for a format (plugins/out_http/http.c). */
const char *out_http_content_type(enum out_http_format fmt);

/* A Header value as Fluent Bit reads it (a FLB_CONFIG_MAP_SLIST_1: the
 * name, then the rest of the line as the value): name and value are
 * pointed into s, their lengths set, surrounding blanks dropped. -EINVAL
 * when there is no name, the name has a character HTTP forbids in a field
 * name, or either holds CR or LF. The value may be empty. */
int out_http_header_parse(const char *s, const char **name, size_t *nlen, const char **val,
			  size_t *vlen);

/* n[0..len) is a valid field name (RFC 9110 5.6.2: a token). */
bool out_http_field_name_ok(const char *n, size_t len);

/* The header lines to send, "Name: value", in configuration order. With
 * allow_dup false a later header replaces an earlier one of the same name
 * (case-insensitive) in its place, as Fluent Bit's
 * flb_http_allow_duplicated_headers(c, false) keeps the latest. Returns the
 * count stored in lines[0..max) (each malloc'd), or -EINVAL / -ENOMEM. */
int out_http_header_lines(const char *const *values, unsigned n, bool allow_dup, char **lines,
			  unsigned max);

/* What to do with a response status. */
enum out_http_verdict {
	OUT_HTTP_OK,         /* 2xx: the burst is delivered */
	OUT_HTTP_RETRY,      /* 5xx, 408, 429, 1xx, 3xx: try again later */
	OUT_HTTP_REJECTED,   /* any other 4xx: retrying cannot help */
};
enum out_http_verdict out_http_status_verdict(long status);

/* gzip (RFC 1952) of src into dst (emptied first): 0, -ENOMEM, or
 * -ENOBUFS when dst->cap is short of out_http_gzip_bound(len). */
int out_http_gzip(const char *src, size_t len, struct out_buf *dst);
size_t out_http_gzip_bound(size_t len);

/* ---- body_key / headers_key (out_http_rec.c): one request per record ----
 *
 * Fluent Bit's post_all_requests (plugins/out_http/http.c): a record gives
 * a request when body_key names a string or binary (the body, sent as it
 * is) and headers_key a map (its string:string pairs are the request's
 * headers, in the map's order). */

#define OUT_HTTP_REC_MAX_HDRS  64
#define OUT_HTTP_REC_HDR_BYTES 16384

/* body_key and headers_key: both or neither, as Fluent Bit's http_conf.c
 * ("when setting body_key, headers_key is also required" and the
 * reverse), each a record accessor starting with '$', parsed into body_ra
 * and hdrs_ra. 1: both set; 0: neither; -EINVAL with err (err->key the
 * key at fault). */
int out_http_rec_setup(const char *body_key, const char *headers_key, struct dp_ra *body_ra,
		       struct dp_ra *hdrs_ra, struct dp_err *err);

/* What a record gives; the records that give no request are counted by
 * cause. */
enum out_http_rec_result {
	OUT_HTTP_REC_OK,
	OUT_HTTP_REC_NO_BODY,      /* body_key absent, or not a string or binary */
	OUT_HTTP_REC_NO_HEADERS,   /* headers_key absent, or not a map */
	OUT_HTTP_REC_HDR_BIG,      /* more than OUT_HTTP_REC_MAX_HDRS or _HDR_BYTES */
};

/* A record's headers as "Name: value" lines (curl's "Name;" for an empty
 * value) in buf. */
struct out_http_rec_hdrs {
	const char *line[OUT_HTTP_REC_MAX_HDRS];
	unsigned n;
	bool has_ctype;       /* one of them is a Content-Type */
	unsigned left_out;    /* pairs not string:string, or not valid in HTTP */
	size_t len;
	char buf[OUT_HTTP_REC_HDR_BYTES];
};

/* The body and headers of record r of chunk c. With over[0..nover) (the
 * configured Header lines, "Name: value" or "Name;"), a record header of
 * one of those names is left out: the configured one replaces it
 * (Allow_Duplicated_Headers false). */
enum out_http_rec_result out_http_rec_get(const struct dp_ra *body_ra, const struct dp_ra *hdrs_ra,
					  const struct dp_chunk *c, const struct dp_rec *r,
					  const char *const *over, unsigned nover, const char **body,
					  size_t *blen, struct out_http_rec_hdrs *h);

#endif
