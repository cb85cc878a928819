/*
 * out_buf.h — an output worker's write buffer: records are encoded into it
 * and it is written to a file descriptor in large writes, once per burst
 * or when full. Also the text formats stdout and file share. One worker
 * thread owns a buffer.
 */
#ifndef OUT_BUF_H
#define OUT_BUF_H

#include <stddef.h>
#include "dp_chunk.h"
#include "out_json.h"

#define OUT_BUF_SIZE (1024 * 1024)

struct out_buf {
	char *p;
	size_t len;
	size_t cap;
};

enum out_fmt {
	OUT_FMT_MSGPACK,      /* the events as they are in the chunk */
	OUT_FMT_JSON_LINES,   /* one JSON object per line */
	OUT_FMT_JSON,         /* a JSON array per burst */
	OUT_FMT_JSON_STREAM,  /* JSON objects back to back */
	OUT_FMT_OUT_FILE,     /* Fluent Bit out_file: TAG: [time, {record}] */
	OUT_FMT_PLAIN,        /* the record alone as JSON */
	OUT_FMT_CSV,
	OUT_FMT_LTSV,
	OUT_FMT_TEMPLATE,     /* file: Format template (out_file_tmpl.h) */
};

struct out_file_tmpl;

struct out_fmt_opts {
	enum out_fmt fmt;
	struct out_json_opts json;
	char delim[8];        /* csv */
	char label_delim[8];  /* ltsv */
	const struct out_file_tmpl *tmpl;   /* template */
};

int out_buf_init(struct out_buf *b, size_t cap);
void out_buf_fini(struct out_buf *b);

/* Write the whole buffer to fd (retrying short writes); 0 or -errno. The
 * buffer is emptied only on success. */
int out_buf_flush(struct out_buf *b, int fd);

/* Append the live records of chunk c in format o, flushing to fd when the
 * buffer fills. 0 or -errno (a write failed). Records that cannot be
 * encoded even into an empty buffer are skipped and counted in *skipped. */
int out_buf_add_chunk(struct out_buf *b, int fd, const struct out_fmt_opts *o, const struct dp_chunk *c,
		      const char *tag, size_t taglen, uint64_t *skipped);

/* The same for one record r of c. */
int out_buf_add_rec(struct out_buf *b, int fd, const struct out_fmt_opts *o, const struct dp_chunk *c,
		    const struct dp_rec *r, const char *tag, size_t taglen, uint64_t *skipped);

/* Start / end of a burst for formats with framing around it (json). */
int out_buf_begin(struct out_buf *b, int fd, const struct out_fmt_opts *o);
int out_buf_end(struct out_buf *b, int fd, const struct out_fmt_opts *o);

#endif
