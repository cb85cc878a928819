/*
 * fuzz_json.c — libFuzzer target for psr_json and out_json.
 *
 * Any input: the parser returns 0 or -EINVAL and never touches memory it
 * should not. When a record comes out, its msgpack is well-formed, it
 * encodes to JSON, and that JSON parses again and encodes to the very same
 * text (encoding is stable under a round trip). Single-threaded.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "dp_chunk.h"
#include "out_json.h"
#include "psr_json.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

static struct dp_rec recs[2][DP_CHUNK_RECS];
static struct dp_field fields[2][DP_CHUNK_FIELDS];
static uint8_t data[2][DP_CHUNK_DATA];
static char text[2][1 << 20];

/* Parse s into chunk c as one record; 0 or the parser's / rec_end's error. */
static int parse(struct dp_chunk *c, const char *s, size_t n)
{
	dp_chunk_reset(c);
	dp_chunk_rec_begin(c, 1700000000, 123456789);
	int rc = psr_json_parse(c, s, n);
	CHECK(rc == 0 || rc == -EINVAL);
	if (rc) {
		dp_chunk_rec_abort(c);
		CHECK(c->data_len == 0 && c->nfields == 0);
		return rc;
	}
	rc = dp_chunk_rec_end(c);
	if (rc)
		return rc;
	const struct dp_rec *r = &c->recs[0];
	CHECK(dp_mp_object_size(c->data + r->off, r->len) == r->len);
	const struct dp_field *f = dp_rec_fields(c, r);
	for (unsigned i = 0; i < r->nfields; i++, f++) {
		CHECK(f->key_off + f->key_len <= c->data_len);
		CHECK(f->val_off + f->val_len <= r->off + r->len);
		if (f->type != DP_T_STR)
			CHECK(dp_mp_object_size(c->data + f->val_off, f->val_len) == f->val_len);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	static struct dp_chunk c[2];
	static int ready;
	if (!ready) {
		for (int i = 0; i < 2; i++)
			dp_chunk_init(&c[i], recs[i], fields[i], data[i]);
		ready = 1;
	}
	if (size > DP_CHUNK_DATA / 4)
		return 0;

	if (parse(&c[0], (const char *)in, size) != 0)
		return 0;
	const struct out_json_opts plain = { NULL, 0 };
	size_t n1 = out_json_rec(&c[0], &c[0].recs[0], &plain, text[0], sizeof(text[0]));
	CHECK(n1 > 0);

	/* the other layouts must encode too */
	const struct out_json_opts dated = { "date", (int)(size % 5) };
	CHECK(out_json_rec(&c[0], &c[0].recs[0], &dated, text[1], sizeof(text[1])) > n1);
	CHECK(out_json_file_line(&c[0], &c[0].recs[0], "t", 1, text[1], sizeof(text[1])) > n1);

	CHECK(parse(&c[1], text[0], n1) == 0);
	CHECK(c[1].recs[0].nfields == c[0].recs[0].nfields);
	size_t n2 = out_json_rec(&c[1], &c[1].recs[0], &plain, text[1], sizeof(text[1]));
	CHECK(n2 == n1 && memcmp(text[0], text[1], n1) == 0);
	return 0;
}
