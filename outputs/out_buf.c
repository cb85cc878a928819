/*
 * out_buf.c — encoding records into a worker's buffer and writing it out
 * (see out_buf.h). JSON comes from out_json.c; CSV and LTSV are written
 * here, reading fields through the chunk's index.
 *
 * Threads: the output worker that owns the buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "out_buf.h"
#include "out_file_tmpl.h"

int out_buf_init(struct out_buf *b, size_t cap)
{
	b->p = malloc(cap);
	b->len = 0;
	b->cap = cap;
	return b->p ? 0 : -ENOMEM;
}

void out_buf_fini(struct out_buf *b)
{
	free(b->p);
	b->p = NULL;
}

int out_buf_flush(struct out_buf *b, int fd)
{
	size_t off = 0;
	while (off < b->len) {
		ssize_t n = write(fd, b->p + off, b->len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* Keep what was not written for the retry. */
			memmove(b->p, b->p + off, b->len - off);
			b->len -= off;
			return -errno;
		}
		off += (size_t)n;
	}
	b->len = 0;
	return 0;
}

/* The event time as Fluent Bit's out_file plugin writes it: csv with all
 * nine digits ("%lld.%.09ld"), ltsv as a double printed with "%f", which
 * rounds to the microsecond (plugins/out_file/file.c). */
static size_t put_time(char *d, size_t cap, const struct dp_rec *r, bool ltsv)
{
	if (cap < 24)
		return 0;
	if (!ltsv)
		return out_json_fmt_sec_nsec(d, r->ts_sec, r->ts_nsec);
	uint64_t s = r->ts_sec;
	uint32_t us = (r->ts_nsec + 500) / 1000;
	if (us >= 1000000) {
		s += us / 1000000;
		us %= 1000000;
	}
	return (size_t)snprintf(d, cap, "%llu.%06u", (unsigned long long)s, us);
}

/* A field's value as text: strings as they are (csv: quoted, with quotes
 * doubled, as Fluent Bit writes them), others as JSON. */
static size_t put_value(const struct dp_chunk *c, const struct dp_field *f, char *d, size_t cap,
			bool quote)
{
	if ((f->type == DP_T_STR || f->type == DP_T_BIN) && quote) {
		const char *v = dp_field_val(c, f);
		size_t n = 0;
		if (cap < 2)
			return SIZE_MAX;
		d[n++] = '"';
		for (uint32_t i = 0; i < f->val_len; i++) {
			if (n + 3 > cap)
				return SIZE_MAX;
			if (v[i] == '"')
				d[n++] = '"';
			d[n++] = v[i];
		}
		d[n++] = '"';
		return n;
	}
	if (f->type == DP_T_STR || f->type == DP_T_BIN) {
		if (f->val_len > cap)
			return SIZE_MAX;
		memcpy(d, dp_field_val(c, f), f->val_len);
		return f->val_len;
	}
	size_t n = out_json_value(c, f, d, cap);
	return n ? n : SIZE_MAX;
}

static size_t put_csv_ltsv(const struct out_fmt_opts *o, const struct dp_chunk *c, const struct dp_rec *r,
			   char *d, size_t cap)
{
	bool ltsv = o->fmt == OUT_FMT_LTSV;
	const char *sep = o->delim;
	size_t seplen = strlen(sep), ldlen = strlen(o->label_delim);
	size_t n = 0;
	if (ltsv) {
		if (cap < 4 + ldlen)
			return 0;
		memcpy(d, "time", 4);
		memcpy(d + 4, o->label_delim, ldlen);
		n = 4 + ldlen;
	}
	size_t t = put_time(d + n, cap - n, r, ltsv);
	if (!t)
		return 0;
	n += t;
	const struct dp_field *f = dp_rec_fields(c, r);
	for (unsigned i = 0; i < r->nfields; i++) {
		if (cap - n < seplen + f[i].key_len + ldlen)
			return 0;
		memcpy(d + n, sep, seplen);
		n += seplen;
		if (ltsv) {
			memcpy(d + n, dp_field_key(c, &f[i]), f[i].key_len);
			n += f[i].key_len;
			memcpy(d + n, o->label_delim, ldlen);
			n += ldlen;
		}
		size_t v = put_value(c, &f[i], d + n, cap - n, !ltsv);
		if (v == SIZE_MAX)
			return 0;
		n += v;
	}
	return n;
}

static size_t encode(const struct out_fmt_opts *o, const struct dp_chunk *c, const struct dp_rec *r,
		     const char *tag, size_t taglen, char *d, size_t cap)
{
	switch (o->fmt) {
	case OUT_FMT_MSGPACK:
		if (r->len > cap)
			return 0;
		memcpy(d, c->data + r->off, r->len);
		return r->len;
	case OUT_FMT_OUT_FILE:
		return out_json_file_line(c, r, tag, taglen, d, cap);
	case OUT_FMT_PLAIN: {
		struct out_json_opts plain = { 0 };
		return out_json_rec(c, r, &plain, d, cap);
	}
	case OUT_FMT_CSV:
	case OUT_FMT_LTSV:
		return put_csv_ltsv(o, c, r, d, cap);
	case OUT_FMT_TEMPLATE:
		return out_file_tmpl_rec(o->tmpl, c, r, d, cap);
	default:
		return out_json_rec(c, r, &o->json, d, cap);
	}
}

int out_buf_begin(struct out_buf *b, int fd, const struct out_fmt_opts *o)
{
	(void)fd;
	if (o->fmt == OUT_FMT_JSON)
		b->p[b->len++] = '[';
	return 0;
}

int out_buf_end(struct out_buf *b, int fd, const struct out_fmt_opts *o)
{
	if (o->fmt == OUT_FMT_JSON) {
		if (b->len && b->p[b->len - 1] == ',')
			b->len--;
		if (b->len == b->cap) {
			int rc = out_buf_flush(b, fd);
			if (rc)
				return rc;
		}
		b->p[b->len++] = ']';
		if (b->len == b->cap) {
			int rc = out_buf_flush(b, fd);
			if (rc)
				return rc;
		}
		b->p[b->len++] = '\n';
	}
	return out_buf_flush(b, fd);
}

int out_buf_add_rec(struct out_buf *b, int fd, const struct out_fmt_opts *o, const struct dp_chunk *c,
		    const struct dp_rec *r, const char *tag, size_t taglen, uint64_t *skipped)
{
	/* One byte kept for the separator after each record. */
	char sepc = o->fmt == OUT_FMT_JSON ? ',' : '\n';
	bool sep = o->fmt != OUT_FMT_MSGPACK && o->fmt != OUT_FMT_JSON_STREAM;
	/* One byte stays free for the separator; a buffer filled to its last
	 * byte has no room at all (not SIZE_MAX of it). */
	size_t room = b->cap - b->len;
	size_t n = room > 1 ? encode(o, c, r, tag, taglen, b->p + b->len, room - 1) : 0;
	if (n == 0) {
		int rc = out_buf_flush(b, fd);
		if (rc)
			return rc;
		n = encode(o, c, r, tag, taglen, b->p, b->cap - 1);
		if (n == 0) {
			(*skipped)++;
			return 0;
		}
	}
	b->len += n;
	if (sep)
		b->p[b->len++] = sepc;
	return 0;
}

int out_buf_add_chunk(struct out_buf *b, int fd, const struct out_fmt_opts *o, const struct dp_chunk *c,
		      const char *tag, size_t taglen, uint64_t *skipped)
{
	for (uint32_t i = 0; i < c->nrecs; i++) {
		if (c->recs[i].flags & DP_REC_DROPPED)
			continue;
		int rc = out_buf_add_rec(b, fd, o, c, &c->recs[i], tag, taglen, skipped);
		if (rc)
			return rc;
	}
	return 0;
}
