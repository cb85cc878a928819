/*
 * test_psr_http.c — HTTP/1.x request heads (psr_http.h) and JSON bodies cut
 * into records (psr_json_batch.h), as the http input reads them. The
 * framing of requests in a stream is tested with the other framings in
 * test_frame.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "dp_chunk.h"
#include "psr_http.h"
#include "psr_json.h"
#include "psr_json_batch.h"

static struct psr_http_req req;

static int parse(const char *s)
{
	return psr_http_req_parse(s, strlen(s), &req);
}

static void eq(struct psr_http_str s, const char *want)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%.*s", (int)s.len, s.p ? s.p : "");
	assert_string_equal(buf, want);
}

static void test_request(void **state)
{
	(void)state;
	const char *s = "POST /app.log?x=1 HTTP/1.1\r\nHost: example:9880\r\n"
			"content-type:  application/json; charset=utf-8 \r\nContent-Length: 12\r\n"
			"Authorization: Bearer abc\r\nContent-Encoding: gzip\r\n\r\n{\"body\": 1}";
	assert_int_equal(parse(s), 0);
	eq(req.method, "POST");
	eq(req.target, "/app.log?x=1");
	eq(req.path, "/app.log");
	assert_int_equal(req.minor, 1);
	assert_true(req.keep_alive);
	assert_true(req.has_length);
	assert_int_equal(req.content_length, 12);
	assert_false(req.chunked);
	assert_int_equal(req.head_len, strstr(s, "{") - s);
	eq(req.host, "example:9880");
	eq(req.content_type, "application/json; charset=utf-8");
	eq(req.content_encoding, "gzip");
	assert_int_equal(req.nhdr, 5);
	/* any header, for what the input reads later (auth) */
	const struct psr_http_str *a = psr_http_header(&req, "AUTHORIZATION");
	assert_non_null(a);
	eq(*a, "Bearer abc");
	assert_null(psr_http_header(&req, "X-None"));

	/* bare LF line ends, no body, HTTP/1.0 */
	assert_int_equal(parse("GET / HTTP/1.0\nHost: a\n\n"), 0);
	eq(req.path, "/");
	assert_int_equal(req.minor, 0);
	assert_false(req.keep_alive);
	assert_false(req.has_length);
	assert_int_equal(req.head_len, 24);

	/* Connection */
	assert_int_equal(parse("POST / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), 0);
	assert_true(req.keep_alive);
	assert_int_equal(parse("POST / HTTP/1.1\r\nConnection: foo, close\r\n\r\n"), 0);
	assert_false(req.keep_alive);

	/* Transfer-Encoding: chunked alone is read; any other is only seen */
	assert_int_equal(parse("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"), 0);
	assert_true(req.has_te && req.chunked);
	assert_int_equal(parse("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 0);
	assert_true(req.has_te && !req.chunked);
	assert_int_equal(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
			       "Transfer-Encoding: chunked\r\n\r\n"), 0);
	assert_true(req.has_te && !req.chunked);

	/* the same Content-Length twice is fine */
	assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"), 0);
	assert_int_equal(req.content_length, 3);
}

static void test_incomplete_and_malformed(void **state)
{
	(void)state;
	assert_int_equal(parse(""), -EAGAIN);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\n"), -EAGAIN);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\n\r"), -EAGAIN);
	static const char *const bad[] = {
		"POST / HTTP/2.0\r\n\r\n",
		"POST /  HTTP/1.1\r\n\r\n",
		"POST / HTTP/1.1 \r\n\r\n",
		"POST\r\n\r\n",
		" POST / HTTP/1.1\r\n\r\n",
		"PO(ST / HTTP/1.1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost : a\r\n\r\n",           /* blank before the colon */
		"POST / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",  /* obsolete line folding */
		"POST / HTTP/1.1\r\nNoColon\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 1234567890123456\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i]) != -EBADMSG)
			fail_msg("accepted: %s", bad[i]);
	/* too many headers */
	char buf[8192];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\n");
	for (int i = 0; i <= PSR_HTTP_MAX_HEADERS; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: v\r\n", i);
	snprintf(buf + n, sizeof(buf) - n, "\r\n");
	assert_int_equal(parse(buf), -EBADMSG);
}

static void test_dechunk(void **state)
{
	(void)state;
	char out[64];
	const char *b = "4\r\nWiki\r\n5;name=v\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nT: x\r\n\r\n";
	long n = psr_http_dechunk(b, strlen(b), out, sizeof(out));
	assert_int_equal(n, 23);
	assert_memory_equal(out, "Wikipedia in\r\n\r\nchunks.", 23);
	static const char *const bad[] = { "", "x\r\n", "4\r\nWik", "4\r\nWikiX\r\n0\r\n\r\n",
					   "4\r\nWiki\r\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(psr_http_dechunk(bad[i], strlen(bad[i]), out, sizeof(out)), -EBADMSG);
	assert_int_equal(psr_http_dechunk(b, strlen(b), out, 22), -EBADMSG);   /* over cap */
}

static void test_form(void **state)
{
	(void)state;
	const char *b = "a=1&\nb=x+y%21&empty=&noeq&=v&& k = v%20&c=%41%4a";
	static const char *const want[][2] = {
		{ "a", "1" }, { "b", "x y!" }, { "empty", "" }, { "k", "v " }, { "c", "AJ" },
	};
	struct psr_http_str k, v;
	size_t off = 0, i = 0;
	char out[64];
	while (psr_http_form_next(b, strlen(b), &off, &k, &v)) {
		assert_true(i < 5);
		eq(k, want[i][0]);
		long n = psr_http_url_decode(v, out);
		assert_true(n >= 0);
		out[n] = 0;
		assert_string_equal(out, want[i][1]);
		i++;
	}
	assert_int_equal(i, 5);
	static const char *const bad[] = { "%", "%4", "%zz", "a%g1" };
	for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
		struct psr_http_str s = { bad[j], (uint32_t)strlen(bad[j]) };
		assert_int_equal(psr_http_url_decode(s, out), -EBADMSG);
	}
	off = 0;
	assert_int_equal(psr_http_form_next("noeq&=x&", 8, &off, &k, &v), 0);
}

static struct dp_rec crecs[DP_CHUNK_RECS];
static struct dp_field cfields[DP_CHUNK_FIELDS];
static uint8_t cdata[DP_CHUNK_DATA];

/* The body written in one pass (psr_json_batch_next, psr_json_put_object,
 * as the http input does): how many records, or -EINVAL; a refused body
 * rolled back to the record before it. */
static long one_pass(const char *body, size_t len)
{
	struct dp_chunk c;
	struct psr_json_batch_it it;
	long n = 0;
	int rc;
	dp_chunk_init(&c, crecs, cfields, cdata);
	dp_chunk_rec_begin(&c, 1, 0);
	dp_chunk_put_int(&c, "before", 6, 1);
	assert_int_equal(dp_chunk_rec_end(&c), 0);
	struct dp_chunk_pos at = dp_chunk_pos_get(&c);
	psr_json_batch_begin(&it, body, len);
	while ((rc = psr_json_batch_next(&it)) == 1) {
		dp_chunk_rec_begin(&c, 1, 0);
		const char *q = psr_json_put_object(&c, it.p, it.e);
		assert_false(c.overflow);
		if (!q) {
			dp_chunk_rec_abort(&c);
			rc = -EINVAL;
			break;
		}
		assert_int_equal(dp_chunk_rec_end(&c), 0);
		it.p = q;
		n++;
	}
	assert_int_equal(c.nrecs, 1 + n);
	dp_chunk_truncate(&c, at);
	assert_int_equal(c.nrecs, 1);
	assert_int_equal(c.data_len, at.data_len);
	assert_int_equal(c.nfields, 1);
	return rc < 0 ? -EINVAL : n;
}

/* The scan, and the one-pass walk agreeing with it on every body. */
static long scan(const char *body, const char *key, struct psr_json_rec *out, size_t cap)
{
	long n = psr_json_batch_scan(body, strlen(body), key, key ? strlen(key) : 0, out, cap);
	if (one_pass(body, strlen(body)) != n)
		fail_msg("the one-pass walk disagrees with the scan (%ld) on: %s", n, body);
	return n;
}

static void rec_is(const char *body, const struct psr_json_rec *r, const char *want)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%.*s", (int)r->len, body + r->off);
	assert_string_equal(buf, want);
}

static void test_batch(void **state)
{
	(void)state;
	struct psr_json_rec r[8];
	const char *b = " {\"a\":1}";
	assert_int_equal(scan(b, NULL, r, 8), 1);
	rec_is(b, &r[0], "{\"a\":1}");

	b = "[{\"a\":1}, {\"b\":[1,2,{\"c\":null}]} ,{}]";
	assert_int_equal(scan(b, NULL, r, 8), 3);
	rec_is(b, &r[1], "{\"b\":[1,2,{\"c\":null}]}");
	rec_is(b, &r[2], "{}");

	/* NDJSON, objects back to back, arrays among them, an empty array */
	b = "{\"n\":1}\n{\"n\":2}\r\n{\"n\":3}{\"n\":4}\n[{\"n\":5}]\n[]\n";
	assert_int_equal(scan(b, NULL, r, 8), 5);
	rec_is(b, &r[3], "{\"n\":4}");
	rec_is(b, &r[4], "{\"n\":5}");

	/* more records than room: the count, out filled as far as it goes */
	b = "[{},{},{},{}]";
	assert_int_equal(scan(b, NULL, r, 2), 4);

	/* the tag key: a top-level string member only */
	b = "[{\"t\":\"app.x\",\"v\":1},{\"v\":{\"t\":\"nested\"}},{\"t\":5},{\"x\":1,\"t\":\"a\\\"b\"}]";
	assert_int_equal(scan(b, "t", r, 8), 4);
	assert_true(r[0].has_tag);
	assert_false(r[0].tag_escaped);
	assert_int_equal(r[0].tag_len, 5);
	assert_memory_equal(b + r[0].tag_off, "app.x", 5);
	assert_false(r[1].has_tag);
	assert_false(r[2].has_tag);
	assert_true(r[3].has_tag);
	assert_true(r[3].tag_escaped);
	assert_memory_equal(b + r[3].tag_off, "a\\\"b", 4);

	/* long strings (the 16-byte scan): UTF-8 bytes, escapes and the
	 * closing quote at every offset */
	for (int k = 0; k < 40; k++) {
		char buf[160];
		int n = snprintf(buf, sizeof(buf), "{\"%.*s\\n\u00e9\u00e9\u00e9\u00e9xxxxxxxxxxxxxxxxxxxx\":1}",
				 k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
		assert_int_equal(psr_json_batch_scan(buf, (size_t)n, NULL, 0, r, 8), 1);
		/* a raw control character there is refused */
		buf[2 + k] = '\x01';
		assert_int_equal(psr_json_batch_scan(buf, (size_t)n, NULL, 0, r, 8), -EINVAL);
	}

	/* valid JSON of every kind inside a record */
	b = "{\"s\":\"\\u00e9\\n\\/\",\"n\":[-0,1.5e3,2E-2,0.1,-12],\"t\":true,\"f\":false,\"z\":null}";
	assert_int_equal(scan(b, NULL, r, 8), 1);
}

static void test_batch_malformed(void **state)
{
	(void)state;
	struct psr_json_rec r[8];
	static const char *const bad[] = {
		"", "  \n", "{", "{\"a\":1", "{\"a\":1}}", "[{\"a\":1}", "[{\"a\":1},]", "[1]", "[\"x\"]",
		"\"str\"", "42", "null", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}",
		"{\"a\":1e}", "{\"a\":tru}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":\"\x01\"}",
		"{\"a\" 1}", "{a:1}", "{\"a\":1,}", "{\"a\":[1,]}", "{\"a\":1} x", "[[{}]]",
		"{\"a\":\"unterminated}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (scan(bad[i], NULL, r, 8) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	/* nesting deeper than PSR_JSON_MAX_DEPTH */
	char deep[200];
	size_t n = 0;
	deep[n++] = '{';
	deep[n++] = '"';
	deep[n++] = 'a';
	deep[n++] = '"';
	deep[n++] = ':';
	for (int i = 0; i < 40; i++)
		deep[n++] = '[';
	for (int i = 0; i < 40; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n] = 0;
	assert_int_equal(scan(deep, NULL, r, 8), -EINVAL);

	/* numbers: PSR_JSON_MAX_NUMBER bytes at most, whatever their value */
	char num[400];
	for (size_t len = PSR_JSON_MAX_NUMBER - 1; len <= PSR_JSON_MAX_NUMBER + 1; len++) {
		for (int kind = 0; kind < 3; kind++) {
			/* "0e000..", "1e000..1", "0.000..1": values short ways
			 * of writing would fit */
			size_t m = (size_t)snprintf(num, sizeof(num), "{\"n\":");
			const char *head = kind == 0 ? "0e" : kind == 1 ? "1e" : "0.";
			memcpy(num + m, head, 2);
			memset(num + m + 2, '0', len - 2);
			if (kind)
				num[m + len - 1] = '1';
			num[m + len] = '}';
			num[m + len + 1] = 0;
			long want = len <= PSR_JSON_MAX_NUMBER ? 1 : -EINVAL;
			assert_int_equal(scan(num, NULL, r, 8), want);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_incomplete_and_malformed),
		cmocka_unit_test(test_dechunk),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_batch_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
