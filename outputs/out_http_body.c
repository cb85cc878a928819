/*
 * out_http_body.c — a burst of chunks into HTTP request bodies (see
 * out_http.h). Records are encoded straight into the body buffer by the
 * shared encoders (out_json.c, out_gelf.c; msgpack is copied as it is), so
 * a request costs one pass over its records and no copy per record.
 *
 * Layouts, as Fluent Bit's flb_pack_msgpack_to_json_format and
 * out_http's compose_payload_gelf write them:
 *   json         [{...},{...}]          (no newline after the array)
 *   json_lines   {...}\n{...}\n
 *   json_stream  {...}{...}
 *   gelf         {...}\n{...}\n
 *   msgpack      [time,map][time,map]   (the chunk's events)
 * A body never holds more than b->cap bytes: the caller's limit on one
 * request. A record that does not fit in an empty body is skipped and
 * counted; one that does not fit behind others starts the next body.
 *
 * Threads: the http output's worker that owns the body.
 */
#include <string.h>
#include "out_http.h"

const char *out_http_content_type(enum out_http_format fmt)
{
	switch (fmt) {
	case OUT_HTTP_MSGPACK:
		return "application/msgpack";
	case OUT_HTTP_JSON_LINES:
		return "application/x-ndjson";
	default:
		return "application/json";
	}
}

static size_t encode(const struct out_http_fmt *f, const struct dp_chunk *c, const struct dp_rec *r,
		     char *d, size_t cap)
{
	switch (f->fmt) {
	case OUT_HTTP_MSGPACK:
		if (r->len > cap)
			return 0;
		memcpy(d, c->data + r->off, r->len);
		return r->len;
	case OUT_HTTP_GELF:
		return out_gelf_rec(c, r, &f->gelf, d, cap);
	default:
		return out_json_rec(c, r, &f->json, d, cap);
	}
}

static bool same_tag(const struct dp_chunk *a, const struct dp_chunk *b)
{
	if (a->input != b->input || a->tag_len != b->tag_len)
		return false;
	return !a->tag_len || !memcmp(a->tag, b->tag, a->tag_len);
}

uint32_t out_http_body_fill(struct out_buf *b, const struct out_http_fmt *f, struct dp_chunk *const *c,
			    unsigned n, struct out_http_pos *pos, bool by_tag, uint64_t *skipped)
{
	bool json = f->fmt == OUT_HTTP_JSON;
	bool nl = f->fmt == OUT_HTTP_JSON_LINES || f->fmt == OUT_HTTP_GELF;
	/* Room kept back: the array's ']' (json) or the record's '\n'. */
	size_t keep = json || nl ? 1 : 0;
	uint32_t recs = 0;
	b->len = 0;
	if (b->cap < 2)
		return 0;
	if (json)
		b->p[b->len++] = '[';
	const struct dp_chunk *first = pos->chunk < n ? c[pos->chunk] : NULL;
	for (; pos->chunk < n; pos->chunk++, pos->rec = 0) {
		const struct dp_chunk *ch = c[pos->chunk];
		if (by_tag && !same_tag(first, ch))
			break;
		for (; pos->rec < ch->nrecs; pos->rec++) {
			const struct dp_rec *r = &ch->recs[pos->rec];
			if (r->flags & DP_REC_DROPPED)
				continue;
			size_t at = b->len + (json && recs ? 1 : 0);
			size_t room = b->cap - at > keep ? b->cap - at - keep : 0;
			size_t w = room ? encode(f, ch, r, b->p + at, room) : 0;
			if (!w) {
				if (recs)
					goto full;
				/* Alone in the body and still too big (or not
				 * encodable): it can never be sent. */
				(*skipped)++;
				continue;
			}
			if (json && recs)
				b->p[b->len] = ',';
			b->len = at + w;
			if (nl)
				b->p[b->len++] = '\n';
			recs++;
		}
	}
full:
	if (json) {
		if (recs)
			b->p[b->len++] = ']';
		else
			b->len = 0;
	}
	return recs;
}
