/*
 * fuzz_syslog.c — libFuzzer target for both syslog parsers: the whole
 * input, and each of its lines, go through psr_syslog5424_parse and
 * psr_syslog3164_parse into one chunk. Whatever they return, after
 * rec_end or rec_abort the chunk must stay consistent: records back to
 * back, each exactly one msgpack object (dp_mp_object_size), every field
 * of the index inside its record, and a rejected line writes nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "psr_syslog.h"

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data_buf[DP_CHUNK_DATA];

typedef int (*parse_fn)(struct dp_chunk *, const char *, size_t, struct psr_syslog_ctx *);

static void check_chunk(const struct dp_chunk *c)
{
	uint32_t off = 0, field = 0;
	for (uint32_t i = 0; i < c->nrecs; i++) {
		const struct dp_rec *r = &c->recs[i];
		if (r->off != off || r->field0 != field)
			abort();
		if (dp_mp_object_size(c->data + r->off, c->data_len - r->off) != r->len)
			abort();
		for (unsigned k = 0; k < r->nfields; k++) {
			const struct dp_field *f = &c->fields[r->field0 + k];
			if (f->key_off < r->off || f->key_off + f->key_len > r->off + r->len ||
			    f->val_off < r->off || f->val_off + f->val_len > r->off + r->len ||
			    f->type != DP_T_STR)
				abort();
		}
		off += r->len;
		field += r->nfields;
	}
	if (off != c->data_len || field != c->nfields)
		abort();
}

static void one(struct dp_chunk *c, parse_fn fn, const char *p, size_t n,
		struct psr_syslog_ctx *ctx)
{
	/* an exact-size copy so ASan catches any read past the line */
	char *line = malloc(n ? n : 1);
	memcpy(line, p, n);
	for (int attempt = 0; attempt < 2; attempt++) {
		uint32_t before = c->data_len, nf = c->nfields;
		dp_chunk_rec_begin(c, 1, 2);
		int rc = fn(c, line, n, ctx);
		if (rc == 0) {
			rc = dp_chunk_rec_end(c);
			if (rc == 0)
				break;
			if (rc != -ENOSPC)
				abort();
			/* full: the record was rolled back; start afresh */
			if (c->data_len != before || c->nfields != nf)
				abort();
			check_chunk(c);
			dp_chunk_reset(c);
			continue;
		}
		if (rc != -EINVAL)
			abort();
		/* nothing written beyond the 14-byte record header */
		if (c->nfields != nf || c->data_len > before + 14)
			abort();
		dp_chunk_rec_abort(c);
		if (c->data_len != before)
			abort();
		break;
	}
	free(line);
	check_chunk(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dp_chunk c;
	struct psr_syslog_ctx ctx;
	dp_chunk_init(&c, recs, fields, data_buf);
	/* receive time 2023-11-14 or, for inputs starting with a low byte,
	 * a New Year's Day, to reach the year rollover */
	psr_syslog_ctx_init(&ctx, size && data[0] < 8 ? 1704067200u : 1700000000u);

	const char *s = (const char *)data;
	one(&c, psr_syslog5424_parse, s, size, &ctx);
	one(&c, psr_syslog3164_parse, s, size, &ctx);
	const char *e = s + size, *p = s;
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);
		one(&c, psr_syslog5424_parse, p, n, &ctx);
		one(&c, psr_syslog3164_parse, p, n, &ctx);
		p += n + 1;
	}
	return 0;
}
