/*
 * test_http.c — the http output's pure parts (outputs/out_http.h): request
 * bodies built from a burst (every format, the size limit splitting a burst
 * and resuming where it stopped, Header_Tag grouping), the Header value
 * read as Fluent Bit reads it (a FLB_CONFIG_MAP_SLIST_1, plugins/out_http/
 * http.c config_map "header"), Allow_Duplicated_Headers, which statuses
 * retry (http.c http_post: 4xx other than 408 and 429 "will not be
 * retried"), gzip round trips, and body_key / headers_key: what a record
 * gives its request (http.c post_all_requests and extract_headers: a
 * string body, a map's string:string pairs as headers, else no request).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>
#include "dp_chunk.h"
#include "out_http.h"
#include "psr_json.h"

struct tchunk {
	struct dp_rec recs[DP_CHUNK_RECS];
	struct dp_field fields[DP_CHUNK_FIELDS];
	uint8_t data[DP_CHUNK_DATA];
	struct dp_chunk c;
};

static struct tchunk *mk(unsigned first, unsigned n, uint16_t input)
{
	struct tchunk *t = calloc(1, sizeof(*t));
	dp_chunk_init(&t->c, t->recs, t->fields, t->data);
	t->c.input = input;
	for (unsigned i = first; i < first + n; i++) {
		char line[64];
		int len = snprintf(line, sizeof(line), "{\"seq\":%u}", i);
		dp_chunk_rec_begin(&t->c, 1700000000, 500000000);
		assert_int_equal(psr_json_parse(&t->c, line, (size_t)len), 0);
		assert_int_equal(dp_chunk_rec_end(&t->c), 0);
	}
	return t;
}

static char *body_of(enum out_http_format fmt, struct dp_chunk *const *c, unsigned n, size_t cap,
		     bool by_tag, struct out_http_pos *pos, uint32_t *recs)
{
	struct out_buf b;
	assert_int_equal(out_buf_init(&b, cap), 0);
	struct out_http_fmt f = { .fmt = fmt, .json = { .date_key = NULL } };
	uint64_t skipped = 0;
	*recs = out_http_body_fill(&b, &f, c, n, pos, by_tag, &skipped);
	char *s = strndup(b.p, b.len);
	out_buf_fini(&b);
	return s;
}

static void test_body_formats(void **state)
{
	(void)state;
	struct tchunk *a = mk(0, 2, 0), *b = mk(2, 1, 0);
	struct dp_chunk *c[] = { &a->c, &b->c };
	struct { enum out_http_format f; const char *want; } cases[] = {
		{ OUT_HTTP_JSON, "[{\"seq\":0},{\"seq\":1},{\"seq\":2}]" },
		{ OUT_HTTP_JSON_LINES, "{\"seq\":0}\n{\"seq\":1}\n{\"seq\":2}\n" },
		/* flb_pack.c: "FLB_PACK_JSON_FORMAT_STREAM: no separators" */
		{ OUT_HTTP_JSON_STREAM, "{\"seq\":0}{\"seq\":1}{\"seq\":2}" },
	};
	for (unsigned i = 0; i < 3; i++) {
		struct out_http_pos pos = { 0, 0 };
		uint32_t recs;
		char *s = body_of(cases[i].f, c, 2, 4096, false, &pos, &recs);
		assert_string_equal(s, cases[i].want);
		assert_int_equal(recs, 3);
		assert_int_equal(pos.chunk, 2);
		free(s);
	}
	/* msgpack: the events as they are in the chunks */
	struct out_http_pos pos = { 0, 0 };
	uint32_t recs;
	struct out_buf bb;
	assert_int_equal(out_buf_init(&bb, 4096), 0);
	struct out_http_fmt f = { .fmt = OUT_HTTP_MSGPACK };
	uint64_t skipped = 0;
	recs = out_http_body_fill(&bb, &f, c, 2, &pos, false, &skipped);
	assert_int_equal(recs, 3);
	assert_int_equal(bb.len, a->c.data_len + b->c.data_len);
	assert_memory_equal(bb.p, a->c.data, a->c.data_len);
	out_buf_fini(&bb);
	free(a);
	free(b);
}

static void test_body_dropped_and_empty(void **state)
{
	(void)state;
	struct tchunk *a = mk(0, 3, 0);
	a->c.recs[1].flags |= DP_REC_DROPPED;
	struct dp_chunk *c[] = { &a->c };
	struct out_http_pos pos = { 0, 0 };
	uint32_t recs;
	char *s = body_of(OUT_HTTP_JSON, c, 1, 4096, false, &pos, &recs);
	assert_string_equal(s, "[{\"seq\":0},{\"seq\":2}]");
	free(s);
	/* all dropped: an empty body, not "[]" */
	a->c.recs[0].flags |= DP_REC_DROPPED;
	a->c.recs[2].flags |= DP_REC_DROPPED;
	pos = (struct out_http_pos){ 0, 0 };
	s = body_of(OUT_HTTP_JSON, c, 1, 4096, false, &pos, &recs);
	assert_int_equal(recs, 0);
	assert_string_equal(s, "");
	assert_int_equal(pos.chunk, 1);
	free(s);
	free(a);
}

/* A limit smaller than the burst: bodies within it, resuming in order. */
static void test_body_split(void **state)
{
	(void)state;
	struct tchunk *a = mk(0, 50, 0), *b = mk(50, 50, 0);
	struct dp_chunk *c[] = { &a->c, &b->c };
	const size_t cap = 100;
	for (int fmt = OUT_HTTP_JSON; fmt <= OUT_HTTP_JSON_STREAM; fmt++) {
		struct out_http_pos pos = { 0, 0 };
		unsigned next = 0, bodies = 0;
		while (pos.chunk < 2) {
			uint32_t recs;
			char *s = body_of((enum out_http_format)fmt, c, 2, cap, false, &pos, &recs);
			assert_true(strlen(s) <= cap);
			assert_true(recs > 0);
			/* the records of this body are next .. next+recs-1 */
			const char *p = s;
			for (uint32_t i = 0; i < recs; i++) {
				char want[32];
				snprintf(want, sizeof(want), "{\"seq\":%u}", next + i);
				p = strstr(p, want);
				assert_non_null(p);
			}
			if (fmt == OUT_HTTP_JSON)
				assert_true(s[0] == '[' && s[strlen(s) - 1] == ']');
			next += recs;
			bodies++;
			free(s);
		}
		assert_int_equal(next, 100);
		assert_true(bodies > 5);
	}
	free(a);
	free(b);
}

/* A record larger than the limit alone is skipped and counted. */
static void test_body_too_big(void **state)
{
	(void)state;
	struct tchunk *a = mk(0, 3, 0);
	struct dp_chunk *c[] = { &a->c };
	struct out_buf b;
	assert_int_equal(out_buf_init(&b, 8), 0);
	struct out_http_fmt f = { .fmt = OUT_HTTP_JSON_LINES };
	struct out_http_pos pos = { 0, 0 };
	uint64_t skipped = 0;
	assert_int_equal(out_http_body_fill(&b, &f, c, 1, &pos, false, &skipped), 0);
	assert_int_equal(skipped, 3);
	assert_int_equal(pos.chunk, 1);
	out_buf_fini(&b);
	free(a);
}

/* Header_Tag: a body holds the chunks of one tag. */
static void test_body_by_tag(void **state)
{
	(void)state;
	struct tchunk *a = mk(0, 1, 0), *b = mk(1, 1, 0), *x = mk(2, 1, 1);
	struct dp_chunk *c[] = { &a->c, &b->c, &x->c };
	struct out_http_pos pos = { 0, 0 };
	uint32_t recs;
	char *s = body_of(OUT_HTTP_JSON_LINES, c, 3, 4096, true, &pos, &recs);
	assert_string_equal(s, "{\"seq\":0}\n{\"seq\":1}\n");
	assert_int_equal(pos.chunk, 2);
	free(s);
	s = body_of(OUT_HTTP_JSON_LINES, c, 3, 4096, true, &pos, &recs);
	assert_string_equal(s, "{\"seq\":2}\n");
	free(s);
	free(a);
	free(b);
	free(x);
}

static void test_header_parse(void **state)
{
	(void)state;
	const char *n, *v;
	size_t nl, vl;
	assert_int_equal(out_http_header_parse("Authorization Bearer abc def ", &n, &nl, &v, &vl), 0);
	assert_int_equal(nl, 13);
	assert_memory_equal(n, "Authorization", 13);
	assert_int_equal(vl, 14);
	assert_memory_equal(v, "Bearer abc def", 14);
	assert_int_equal(out_http_header_parse("  X-A:\tvalue", &n, &nl, &v, &vl), 0);
	assert_int_equal(nl, 3);
	assert_memory_equal(v, "value", 5);
	assert_int_equal(out_http_header_parse("X-Empty", &n, &nl, &v, &vl), 0);
	assert_int_equal(vl, 0);
	assert_int_equal(out_http_header_parse("", &n, &nl, &v, &vl), -EINVAL);
	assert_int_equal(out_http_header_parse("Bad(name) x", &n, &nl, &v, &vl), -EINVAL);
	assert_int_equal(out_http_header_parse("X-A a\r\nInjected: b", &n, &nl, &v, &vl), -EINVAL);
	assert_int_equal(out_http_header_parse("X:Y: z", &n, &nl, &v, &vl), -EINVAL);
}

static void test_header_lines(void **state)
{
	(void)state;
	const char *vals[] = { "X-Dup one", "Other o", "x-dup two", "X-Empty" };
	char *lines[8];
	int n = out_http_header_lines(vals, 4, true, lines, 8);
	assert_int_equal(n, 4);
	assert_string_equal(lines[0], "X-Dup: one");
	assert_string_equal(lines[2], "x-dup: two");
	assert_string_equal(lines[3], "X-Empty;");
	for (int i = 0; i < n; i++)
		free(lines[i]);
	/* the latest one kept, in the place of the first */
	n = out_http_header_lines(vals, 3, false, lines, 8);
	assert_int_equal(n, 2);
	assert_string_equal(lines[0], "x-dup: two");
	assert_string_equal(lines[1], "Other: o");
	for (int i = 0; i < n; i++)
		free(lines[i]);
	assert_int_equal(out_http_header_lines(vals, 4, true, lines, 2), -E2BIG);
	const char *bad[] = { "Ok 1", "" };
	assert_int_equal(out_http_header_lines(bad, 2, true, lines, 8), -EINVAL);
}

static void test_status_verdict(void **state)
{
	(void)state;
	for (long s = 200; s <= 299; s++)
		assert_int_equal(out_http_status_verdict(s), OUT_HTTP_OK);
	long retry[] = { 100, 301, 302, 408, 429, 500, 502, 503, 504, 599 };
	for (unsigned i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		assert_int_equal(out_http_status_verdict(retry[i]), OUT_HTTP_RETRY);
	long rej[] = { 400, 401, 403, 404, 405, 409, 413, 422, 499 };
	for (unsigned i = 0; i < sizeof(rej) / sizeof(rej[0]); i++)
		assert_int_equal(out_http_status_verdict(rej[i]), OUT_HTTP_REJECTED);
	assert_string_equal(out_http_content_type(OUT_HTTP_JSON_LINES), "application/x-ndjson");
	assert_string_equal(out_http_content_type(OUT_HTTP_MSGPACK), "application/msgpack");
	assert_string_equal(out_http_content_type(OUT_HTTP_GELF), "application/json");
}

static void test_gzip_roundtrip(void **state)
{
	(void)state;
	char src[10000];
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = "abcdefgh\n"[i % 9];
	struct out_buf gz;
	assert_int_equal(out_buf_init(&gz, out_http_gzip_bound(sizeof(src))), 0);
	assert_int_equal(out_http_gzip(src, sizeof(src), &gz), 0);
	assert_true(gz.len > 18 && gz.len < sizeof(src));
	assert_int_equal((unsigned char)gz.p[0], 0x1f);   /* gzip magic */
	assert_int_equal((unsigned char)gz.p[1], 0x8b);
	char out[sizeof(src)];
	z_stream z = { 0 };
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz.p;
	z.avail_in = (uInt)gz.len;
	z.next_out = (Bytef *)out;
	z.avail_out = sizeof(out);
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, sizeof(src));
	assert_memory_equal(out, src, sizeof(src));
	inflateEnd(&z);
	/* a destination too small says so */
	gz.cap = 10;
	assert_int_equal(out_http_gzip(src, sizeof(src), &gz), -ENOBUFS);
	out_buf_fini(&gz);
}

/* One record parsed from JSON line into a fresh chunk. */
static struct tchunk *one(const char *line)
{
	struct tchunk *t = calloc(1, sizeof(*t));
	dp_chunk_init(&t->c, t->recs, t->fields, t->data);
	dp_chunk_rec_begin(&t->c, 1700000000, 0);
	assert_int_equal(psr_json_parse(&t->c, line, strlen(line)), 0);
	assert_int_equal(dp_chunk_rec_end(&t->c), 0);
	return t;
}

static enum out_http_rec_result rec_get(const char *bspec, const char *hspec, const char *line,
					const char *const *over, unsigned nover, char *body,
					struct out_http_rec_hdrs *h)
{
	struct dp_ra b, hd;
	struct dp_err err = { 0 };
	assert_int_equal(dp_ra_parse(bspec, &b, &err), 0);
	assert_int_equal(dp_ra_parse(hspec, &hd, &err), 0);
	struct tchunk *t = one(line);
	const char *bp = NULL;
	size_t bl = 0;
	enum out_http_rec_result r = out_http_rec_get(&b, &hd, &t->c, &t->c.recs[0], over, nover, &bp, &bl, h);
	body[0] = 0;
	if (bp)
		snprintf(body, 256, "%.*s", (int)bl, bp);
	free(t);
	return r;
}

static void test_rec_body_headers(void **state)
{
	(void)state;
	struct out_http_rec_hdrs *h = malloc(sizeof(*h));
	char body[256];
	/* string:string pairs in the map's order; the rest left out (a
	 * number, a name that is not a token, CR LF in a value, the length
	 * headers libcurl owns); an empty value as curl's "Name;". */
	assert_int_equal(rec_get("$b", "$h",
				 "{\"b\":\"hello\",\"h\":{\"Content-Type\":\"text/plain\",\"X-A\":\"1\","
				 "\"X-N\":5,\"Bad Name\":\"x\",\"X-Inj\":\"a\\r\\nEvil: 1\","
				 "\"content-length\":\"3\",\"X-E\":\"\"}}",
				 NULL, 0, body, h), OUT_HTTP_REC_OK);
	assert_string_equal(body, "hello");
	assert_int_equal(h->n, 3);
	assert_string_equal(h->line[0], "Content-Type: text/plain");
	assert_string_equal(h->line[1], "X-A: 1");
	assert_string_equal(h->line[2], "X-E;");
	assert_true(h->has_ctype);
	assert_int_equal(h->left_out, 4);
	/* nested accessors; an empty map: no header, still a request */
	assert_int_equal(rec_get("$r['body']", "$r['h']", "{\"r\":{\"body\":\"\",\"h\":{}}}", NULL, 0, body, h),
			 OUT_HTTP_REC_OK);
	assert_string_equal(body, "");
	assert_int_equal(h->n, 0);
	assert_false(h->has_ctype);
	/* a Header line of the same name replaces the record's
	 * (Allow_Duplicated_Headers false) */
	const char *over[] = { "x-a: conf", "X-Empty;" };
	assert_int_equal(rec_get("$b", "$h", "{\"b\":\"x\",\"h\":{\"X-A\":\"rec\",\"X-Empty\":\"r\",\"X-B\":\"b\"}}",
				 over, 2, body, h), OUT_HTTP_REC_OK);
	assert_int_equal(h->n, 1);
	assert_string_equal(h->line[0], "X-B: b");
	assert_int_equal(h->left_out, 0);
	/* no request: no body key, a body that is not a string, no headers
	 * key, headers that are not a map */
	assert_int_equal(rec_get("$b", "$h", "{\"h\":{}}", NULL, 0, body, h), OUT_HTTP_REC_NO_BODY);
	assert_int_equal(rec_get("$b", "$h", "{\"b\":1,\"h\":{}}", NULL, 0, body, h), OUT_HTTP_REC_NO_BODY);
	assert_int_equal(rec_get("$b", "$h", "{\"b\":{\"x\":\"y\"},\"h\":{}}", NULL, 0, body, h),
			 OUT_HTTP_REC_NO_BODY);
	assert_int_equal(rec_get("$b", "$h", "{\"b\":\"x\"}", NULL, 0, body, h), OUT_HTTP_REC_NO_HEADERS);
	assert_int_equal(rec_get("$b", "$h", "{\"b\":\"x\",\"h\":\"a: b\"}", NULL, 0, body, h),
			 OUT_HTTP_REC_NO_HEADERS);
	assert_int_equal(rec_get("$b", "$h", "{\"b\":\"x\",\"h\":[\"a\",\"b\"]}", NULL, 0, body, h),
			 OUT_HTTP_REC_NO_HEADERS);
	/* more headers than a request takes: no request */
	char big[4096] = "{\"b\":\"x\",\"h\":{";
	for (int i = 0; i <= OUT_HTTP_REC_MAX_HDRS; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s\"X-%d\":\"v\"", i ? "," : "", i);
	strcat(big, "}}");
	assert_int_equal(rec_get("$b", "$h", big, NULL, 0, body, h), OUT_HTTP_REC_HDR_BIG);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_formats),
		cmocka_unit_test(test_body_dropped_and_empty),
		cmocka_unit_test(test_body_split),
		cmocka_unit_test(test_body_too_big),
		cmocka_unit_test(test_body_by_tag),
		cmocka_unit_test(test_header_parse),
		cmocka_unit_test(test_header_lines),
		cmocka_unit_test(test_status_verdict),
		cmocka_unit_test(test_gzip_roundtrip),
		cmocka_unit_test(test_rec_body_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
