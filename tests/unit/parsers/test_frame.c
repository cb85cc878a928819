/*
 * test_frame.c — stream framing (psr_frame.h). Every stream is fed whole,
 * then cut in two and in three at every byte boundary, through a simulated
 * caller buffer of exactly max_frame + PSR_FRAME_HEADROOM bytes that keeps
 * the unconsumed tail; the frames, the oversize count and the flush at
 * close must come out the same every time.
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
#include "psr_frame.h"
#include "psr_http.h"

#define MAX_FRAMES 64

struct result {
	unsigned n;
	char *frames[MAX_FRAMES];
	uint32_t lens[MAX_FRAMES];
	unsigned nover;
	int flush_rc;
	uint64_t malformed;
};

static void result_free(struct result *r)
{
	for (unsigned i = 0; i < r->n; i++)
		free(r->frames[i]);
	memset(r, 0, sizeof(*r));
}

static void add_frame(struct result *r, const struct psr_frame *fr)
{
	assert_true(r->n < MAX_FRAMES);
	r->frames[r->n] = malloc(fr->len + 1);
	memcpy(r->frames[r->n], fr->p, fr->len);
	r->frames[r->n][fr->len] = '\0';
	r->lens[r->n] = fr->len;
	r->n++;
}

struct cfg {
	int mode;
	uint32_t max_frame;
	const char *sep;
	unsigned max_out;
};

/* Feed stream[0..len) in pieces ending at cuts[] (ascending, the last
 * being len), each piece copied in as the free space allows, the way a
 * read() into the caller's buffer would. */
static void run(const struct cfg *cfg, const char *stream, size_t len,
		const size_t *cuts, unsigned ncuts, struct result *r)
{
	struct psr_framer f;
	assert_int_equal(psr_framer_init(&f, cfg->mode, cfg->max_frame, cfg->sep,
					 cfg->sep ? strlen(cfg->sep) : 0), 0);
	size_t cap = cfg->max_frame + PSR_FRAME_HEADROOM;
	char *buf = malloc(cap);
	struct psr_frame out[64];
	size_t have = 0, pos = 0;
	memset(r, 0, sizeof(*r));
	assert_int_equal(cuts[ncuts - 1], len);

	for (unsigned c = 0; c < ncuts; c++) {
		while (pos < cuts[c]) {
			/* the tail bound psr_frame.h promises: room to read */
			assert_true(have < cap);
			size_t k = cuts[c] - pos;
			if (k > cap - have)
				k = cap - have;
			memcpy(buf + have, stream + pos, k);
			have += k;
			pos += k;
			unsigned nf, nover;
			do {
				size_t used = psr_frame_burst(&f, buf, have, out, cfg->max_out, &nf, &nover);
				assert_true(used <= have);
				assert_true(nf <= cfg->max_out);
				for (unsigned i = 0; i < nf; i++) {
					assert_true(out[i].p >= buf && out[i].p + out[i].len <= buf + used);
					add_frame(r, &out[i]);
				}
				r->nover += nover;
				memmove(buf, buf + used, have - used);
				have -= used;
			} while (nf == cfg->max_out);
		}
	}
	struct psr_frame last;
	r->malformed = f.malformed;
	r->flush_rc = psr_frame_flush(&f, buf, have, &last);
	if (r->flush_rc == 1)
		add_frame(r, &last);
	free(buf);
}

static void same(const struct result *a, const struct result *b, const char *what,
		 size_t i, size_t j)
{
	if (a->n != b->n || a->nover != b->nover || a->flush_rc != b->flush_rc ||
	    a->malformed != b->malformed)
		fail_msg("%s split %zu/%zu: %u frames %u over rc %d mal %llu, want %u %u %d %llu",
			 what, i, j, b->n, b->nover, b->flush_rc, (unsigned long long)b->malformed,
			 a->n, a->nover, a->flush_rc, (unsigned long long)a->malformed);
	for (unsigned k = 0; k < a->n; k++)
		if (a->lens[k] != b->lens[k] || memcmp(a->frames[k], b->frames[k], a->lens[k]) != 0)
			fail_msg("%s split %zu/%zu: frame %u '%s' want '%s'", what, i, j, k,
				 b->frames[k], a->frames[k]);
}

/* Check the whole-stream result against the expected frames, then every
 * split in two and in three (with max_out 1 and the configured one). */
static void check_stream(const struct cfg *cfg, const char *stream, size_t len,
			 const char *const *want, const uint32_t *want_lens, unsigned nwant,
			 unsigned want_over, int want_flush)
{
	struct result whole, part;
	size_t one[1] = { len };
	run(cfg, stream, len, one, 1, &whole);
	if (whole.n != nwant || whole.nover != want_over || whole.flush_rc != want_flush)
		fail_msg("whole: %u frames %u oversize flush %d, want %u %u %d", whole.n,
			 whole.nover, whole.flush_rc, nwant, want_over, want_flush);
	for (unsigned k = 0; k < nwant; k++) {
		uint32_t wl = want_lens ? want_lens[k] : (uint32_t)strlen(want[k]);
		if (whole.lens[k] != wl || memcmp(whole.frames[k], want[k], wl) != 0)
			fail_msg("frame %u: '%s' want '%s'", k, whole.frames[k], want[k]);
	}
	struct cfg c1 = *cfg;
	c1.max_out = 1;
	for (size_t i = 0; i <= len; i++) {
		size_t two[2] = { i, len };
		run(cfg, stream, len, two, 2, &part);
		same(&whole, &part, "2", i, 0);
		result_free(&part);
		run(&c1, stream, len, two, 2, &part);
		same(&whole, &part, "2/max_out 1", i, 0);
		result_free(&part);
		for (size_t j = i; j <= len; j++) {
			size_t three[3] = { i, j, len };
			run(cfg, stream, len, three, 3, &part);
			same(&whole, &part, "3", i, j);
			result_free(&part);
		}
	}
	result_free(&whole);
}

#define CHECK(cfg, stream, want, over, flush)                                          \
	check_stream(cfg, stream, sizeof(stream) - 1, want, NULL, sizeof(want) / sizeof(want[0]), \
		     over, flush)

static void test_lf(void **state)
{
	(void)state;
	struct cfg cfg = { PSR_FRAME_LF, 64, NULL, 32 };
	static const char s[] = "a\nbb\r\n\n\r\nccc\0dd\n\n\nx\ry\n<1> z \r\r\n0 digits ok\ntail";
	static const char *const want[] = {
		"a", "bb", "ccc", "dd", "x\ry", "<1> z \r", "0 digits ok", "tail",
	};
	CHECK(&cfg, s, want, 0, 1);

	/* CR before the end of stream is stripped at flush too */
	static const char s2[] = "one\r\ntwo\r";
	static const char *const want2[] = { "one", "two" };
	CHECK(&cfg, s2, want2, 0, 1);

	/* only empty lines: no frames, flush has nothing */
	static const char s3[] = "\n\r\n\0\n";
	check_stream(&cfg, s3, sizeof(s3) - 1, NULL, NULL, 0, 0, 0);
}

static void test_octet(void **state)
{
	(void)state;
	struct cfg cfg = { PSR_FRAME_OCTET, 64, NULL, 32 };
	static const char s[] = "5 hello3 abc\n0 11 hello world\r\n 3 a\nb\0006 \n\r\0 xy";
	static const char *const want[] = { "hello", "abc", "hello world", "a\nb", "\n\r\0 xy" };
	static const uint32_t lens[] = { 5, 3, 11, 3, 6 };
	check_stream(&cfg, s, sizeof(s) - 1, want, lens, 5, 0, 0);

	/* cut short at close */
	static const char s2[] = "3 abc10 abc";
	static const char *const want2[] = { "abc" };
	CHECK(&cfg, s2, want2, 0, -EBADMSG);
	static const char s3[] = "3 abc12";
	CHECK(&cfg, s3, want2, 0, -EBADMSG);
}

static void test_auto(void **state)
{
	(void)state;
	struct cfg cfg = { PSR_FRAME_AUTO, 64, NULL, 32 };
	static const char s[] = "<1>x\n6 <2>y\nz<3>w\r\n\n11 <4>a b c d\n<5>e\0<6>f";
	static const char *const want[] = { "<1>x", "<2>y\nz", "<3>w", "<4>a b c d\n", "<5>e", "<6>f" };
	CHECK(&cfg, s, want, 0, 1);
}

static void test_sep(void **state)
{
	(void)state;
	struct cfg cfg = { PSR_FRAME_SEP, 64, "\r\n", 32 };
	static const char s[] = "a\r\n\r\nb\nc\r\r\n\r\nd";
	static const char *const want[] = { "a", "b\nc\r", "d" };
	CHECK(&cfg, s, want, 0, 1);

	struct cfg c3 = { PSR_FRAME_SEP, 64, "END", 32 };
	static const char s3[] = "oneENDENDtwoEN\nENthreeEEND";
	static const char *const want3[] = { "one", "twoEN\nENthreeE" };
	CHECK(&c3, s3, want3, 0, 0);

	struct cfg c1 = { PSR_FRAME_SEP, 64, "|", 32 };
	static const char s1[] = "a|b||c\n|";
	static const char *const want1[] = { "a", "b", "c\n" };
	CHECK(&c1, s1, want1, 0, 0);
}

static void test_json(void **state)
{
	(void)state;
	struct cfg cfg = { PSR_FRAME_JSON, 64, NULL, 32 };
	/* one per line, pretty-printed, with braces and escapes in strings,
	 * CRLF, blank lines, an object ending mid-line, an array value */
	static const char s[] =
		"{\"a\":1}\n"
		"\r\n  \n"
		"{\n  \"b\": {\"c\": [1, {\"d\": \"}\"}]},\n  \"e\": \"x\\\"{\"\n}\n"
		"{\"f\":\"g\"}\r\n"
		"{\n\"h\":2} trailing\n"
		"{\"last\":true}";
	static const char *const want[] = {
		"{\"a\":1}",
		"{\n  \"b\": {\"c\": [1, {\"d\": \"}\"}]},\n  \"e\": \"x\\\"{\"\n}",
		"{\"f\":\"g\"}",
		"{\n\"h\":2}",
		"trailing",
		"{\"last\":true}",
	};
	CHECK(&cfg, s, want, 0, 1);

	/* A broken object ends where the next line opens one, or at a raw
	 * LF inside a string: its neighbours are delivered. */
	static const char s2[] =
		"{\"a\":\n"
		"{\"b\":1}\n"
		"{\"c\":\"open\n"
		"{\"d\":2}\n"
		"not json\n";
	static const char *const want2[] = {
		"{\"a\":", "{\"b\":1}", "{\"c\":\"open", "{\"d\":2}", "not json",
	};
	CHECK(&cfg, s2, want2, 0, 0);

	/* Oversize: an object longer than max_frame is skipped to the end
	 * of its line; the next object arrives. */
	static const char s3[] =
		"{\"k\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}\n"
		"{\"ok\":1}\n";
	static const char *const want3[] = { "{\"ok\":1}" };
	CHECK(&cfg, s3, want3, 1, 0);

	/* Several objects on one line stay one frame (the shard cuts the
	 * line the JSON parser refuses, psr_frame_json_first, below); an
	 * object that goes on over the next line ends where it ends. */
	static const char s4[] =
		"{\"a\":1}{\"b\":2}\n"
		"{\"a\":\"}{\"} {\"b\":\"x\"}\t{\"c\":3}\n"
		"{\"s\":\"} {\"}\n"
		"{\"n\":{\"m\":1}}{\"o\":[{}]}\n"
		"{\"p\":1}{\"q\":\n2}\n";
	static const char *const want4[] = {
		"{\"a\":1}{\"b\":2}",
		"{\"a\":\"}{\"} {\"b\":\"x\"}\t{\"c\":3}",
		"{\"s\":\"} {\"}",
		"{\"n\":{\"m\":1}}{\"o\":[{}]}",
		"{\"p\":1}", "{\"q\":\n2}",
	};
	CHECK(&cfg, s4, want4, 0, 0);

	/* The same at the end of the stream, with no line end after it (a
	 * sender that closes, a datagram): the flush gives the tail whole,
	 * trailing blanks cut; the shard cuts it like any other frame. */
	static const char s5[] = "{\"w\":0}\n{\"x\":1}{\"y\":\"}{\"} \t{\"z\":3}  ";
	static const char *const want5[] = {
		"{\"w\":0}", "{\"x\":1}{\"y\":\"}{\"} \t{\"z\":3}",
	};
	CHECK(&cfg, s5, want5, 0, 1);
}

/* Where a frame of objects back to back is cut: the first object's end,
 * braces in strings ignored; 0 for one object, anything else, or a first
 * object that does not end. As Fluent Bit's tcp input tokenizes a JSON
 * stream (docs.fluentbit.io/manual/data-pipeline/inputs/tcp, Format json;
 * plugins/in_tcp/tcp_conn.c packs one complete object at a time). */
/* PSR_FRAME_MSGPACK: one msgpack object per frame, found by its headers
 * whatever the split; past max_frame or at 0xc1 the framer is broken and
 * drops the rest. */
static void test_msgpack(void **state)
{
	(void)state;
	struct cfg cfg = { PSR_FRAME_MSGPACK, 40, NULL, 32 };
	/* ["a", 1, {"k": "v"}], 5, nil, [bin8 "xyz", fixext8, map16 {}],
	 * str8 "hello", array16 [float64, uint32] */
	static const char s[] =
		"\x93\xa1" "a\x01\x81\xa1k\xa1v"
		"\x05"
		"\xc0"
		"\x93\xc4\x03xyz\xd7\x00\x00\x00\x00\x01\x00\x00\x00\x02\xde\x00\x00"
		"\xd9\x05hello"
		"\xdc\x00\x02\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00\xce\x00\x00\x00\x07";
	static const char *const want[] = {
		("\x93\xa1" "a\x01\x81\xa1k\xa1v"), "\x05", "\xc0",
		"\x93\xc4\x03xyz\xd7\x00\x00\x00\x00\x01\x00\x00\x00\x02\xde\x00\x00",
		"\xd9\x05hello",
		"\xdc\x00\x02\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00\xce\x00\x00\x00\x07",
	};
	static const uint32_t lens[] = { 9, 1, 1, 19, 7, 17 };
	check_stream(&cfg, s, sizeof(s) - 1, want, lens, 6, 0, 0);

	/* cut short at close */
	static const char s2[] = "\x01\x92\x01";
	static const char *const want2[] = { "\x01" };
	check_stream(&cfg, s2, sizeof(s2) - 1, want2, NULL, 1, 0, -EBADMSG);

	/* over max_frame (a str8 of 200 bytes; an array of 2^32-1 elements):
	 * counted once, everything after dropped */
	static const char s3[] = "\x01\xd9\xc8" "abc\x02\x03";
	check_stream(&cfg, s3, sizeof(s3) - 1, want2, NULL, 1, 1, 0);
	static const char s4[] = "\x01\xdd\xff\xff\xff\xff\x01\x02";
	check_stream(&cfg, s4, sizeof(s4) - 1, want2, NULL, 1, 1, 0);

	/* 0xc1: malformed (not oversize), the rest dropped */
	static const char s5[] = "\x01\xc1\x02\x03";
	struct psr_framer f;
	struct psr_frame out[8];
	unsigned nf, nover;
	assert_int_equal(psr_framer_init(&f, PSR_FRAME_MSGPACK, 40, NULL, 0), 0);
	assert_int_equal(psr_frame_burst(&f, s5, 4, out, 8, &nf, &nover), 4);
	assert_int_equal(nf, 1);
	assert_int_equal(nover, 0);
	assert_int_equal(f.malformed, 1);
	assert_true(psr_framer_is_broken(&f));
	assert_int_equal(psr_frame_burst(&f, s5, 4, out, 8, &nf, &nover), 4);
	assert_int_equal(nf, 0);
}

static void test_json_first(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		size_t want;
	} cases[] = {
		{ "{\"a\":1}{\"b\":2}", 7 },
		{ "{\"a\":\"}{\"} {\"b\":1}", 10 },
		{ "{\"n\":{\"m\":1}}\t{}", 13 },
		{ "{\"s\":\"} {\"}", 0 },
		{ "{\"a\":1}", 0 },
		{ "{\"a\":1}  \t", 0 },
		{ "{\"a\":1} x", 0 },
		{ "[1]{}", 0 },
		{ "{\"a\":{}", 0 },
		{ "{", 0 },
		{ "", 0 },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (psr_frame_json_first(cases[i].s, strlen(cases[i].s)) != cases[i].want)
			fail_msg("'%s': %zu, want %zu", cases[i].s,
				 psr_frame_json_first(cases[i].s, strlen(cases[i].s)), cases[i].want);
}

static void test_oversize(void **state)
{
	(void)state;
	/* max_frame 8: content of 8 is fine (with or without CR), 9 is not */
	struct cfg lf = { PSR_FRAME_LF, 8, NULL, 32 };
	static const char s[] = "ok1\n0123456789abcdefghijklmnopqrstuvwxyz0123456789\nok2\n"
				"12345678\n12345678\r\n123456789\n123456789\r\nok3\n"
				"0123456789abcdef";
	static const char *const want[] = { "ok1", "ok2", "12345678", "12345678", "ok3" };
	CHECK(&lf, s, want, 4, 0);
	/* a 9-byte tail at close is oversize; 10 bytes were already skipped */
	static const char s2[] = "ok\n123456789";
	static const char *const want2[] = { "ok" };
	CHECK(&lf, s2, want2, 0, -EMSGSIZE);

	struct cfg oc = { PSR_FRAME_OCTET, 8, NULL, 32 };
	static const char o[] = "3 ok120 aaaaaaaaaaaaaaaaaaaa3 ok28 123456789 1234567893 ok3"
				"9999999999 abc";
	static const char *const wanto[] = { "ok1", "ok2", "12345678", "ok3" };
	CHECK(&oc, o, wanto, 3, 0);

	struct cfg au = { PSR_FRAME_AUTO, 8, NULL, 32 };
	static const char a[] = "<1>a\n20 aaaaaaaaaaaaaaaaaaaa<2>b\n<3>cccccccccccccccccc\n3 <4>"
				"<5>ddddddddddddddddddddddddddddddddddddddd";
	static const char *const wanta[] = { "<1>a", "<2>b", "<4>" };
	CHECK(&au, a, wanta, 3, 0);

	struct cfg sp = { PSR_FRAME_SEP, 8, "--", 32 };
	static const char p[] = "ok1--0123456789abcdef-0123456789--ok2--12345678--123456789--ok3";
	static const char *const wantp[] = { "ok1", "ok2", "12345678", "ok3" };
	CHECK(&sp, p, wantp, 2, 1);
}

/* PSR_FRAME_HTTP: whole requests (head and Content-Length body), empty
 * lines between them skipped; a lost framing gives the part to answer
 * from and breaks the framer (psr_http.h). */
static void test_http(void **state)
{
	(void)state;
	struct cfg cfg = { PSR_FRAME_HTTP, 120, NULL, 32 };
	static const char s[] =
		"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
		"\r\n"
		"GET / HTTP/1.0\n\n"
		"POST /b HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}";
	static const char *const want[] = {
		"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
		"GET / HTTP/1.0\n\n",
		"POST /b HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}",
	};
	check_stream(&cfg, s, sizeof(s) - 1, want, NULL, 3, 0, 0);

	/* cut short at close: a request without its body */
	static const char s2[] = "GET / HTTP/1.1\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nab";
	static const char *const want2[] = { "GET / HTTP/1.1\r\n\r\n" };
	check_stream(&cfg, s2, sizeof(s2) - 1, want2, NULL, 1, 0, -EBADMSG);

	/* a body past max_frame: the head is the frame, counted oversize,
	 * the rest dropped */
	static const char s3[] = "POST / HTTP/1.1\r\nContent-Length: 500\r\n\r\nxxxxGET / HTTP/1.1\r\n\r\n";
	static const char *const want3[] = { "POST / HTTP/1.1\r\nContent-Length: 500\r\n\r\n" };
	check_stream(&cfg, s3, sizeof(s3) - 1, want3, NULL, 1, 1, 0);

	/* Transfer-Encoding, a bad Content-Length, a bad request line:
	 * malformed (not oversize), the head is the frame */
	static const char *const bad[] = {
		"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"garbage\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[200];
		snprintf(buf, sizeof(buf), "%sGET / HTTP/1.1\r\n\r\n", bad[i]);
		struct result r;
		size_t one[1] = { strlen(buf) };
		run(&cfg, buf, strlen(buf), one, 1, &r);
		assert_int_equal(r.n, 1);
		assert_string_equal(r.frames[0], bad[i]);
		assert_int_equal(r.nover, 0);
		assert_int_equal(r.malformed, 1);
		result_free(&r);
	}

	/* chunked bodies: chunks with extensions, a trailer, bare LFs */
	static const char s4[] =
		"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		"3;ext=1\r\n{\"a\r\nB\r\n\":12345678}\r\n0\r\nX-Trailer: t\r\n\r\n"
		"POST /d HTTP/1.1\nTransfer-Encoding: chunked\n\n2\n{}\n0\n\n"
		"GET / HTTP/1.1\r\n\r\n";
	static const char *const want4[] = {
		("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		 "3;ext=1\r\n{\"a\r\nB\r\n\":12345678}\r\n0\r\nX-Trailer: t\r\n\r\n"),
		"POST /d HTTP/1.1\nTransfer-Encoding: chunked\n\n2\n{}\n0\n\n",
		"GET / HTTP/1.1\r\n\r\n",
	};
	check_stream(&cfg, s4, sizeof(s4) - 1, want4, NULL, 3, 0, 0);
	char dec[64];
	const char *b = want4[0] + strlen("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	long dn = psr_http_dechunk(b, strlen(b), dec, sizeof(dec));
	assert_int_equal(dn, 14);
	assert_memory_equal(dec, "{\"a\":12345678}", 14);
	assert_int_equal(psr_http_dechunk(b, strlen(b), dec, 13), -EBADMSG);

	/* chunks past max_frame: the head alone, oversize */
	static const char s5[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nxx";
	static const char *const want5[] = { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" };
	char s5b[300];
	memset(s5b, 'x', sizeof(s5b));
	memcpy(s5b, s5, sizeof(s5) - 1);
	check_stream(&cfg, s5b, sizeof(s5b), want5, NULL, 1, 1, 0);

	/* a bad chunk-size line: head and what follows, malformed */
	static const char s6[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
	static const char *const want6[] = {
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nz" };
	check_stream(&cfg, s6, sizeof(s6) - 1, want6, NULL, 1, 0, 0);
	static const char s7[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}X\r\n0\r\n\r\n";
	static const char *const want7[] = {
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2" };
	check_stream(&cfg, s7, sizeof(s7) - 1, want7, NULL, 1, 0, 0);

	/* no end of the head within max_frame: its first max_frame bytes */
	char big[400];
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	struct result r;
	size_t one[1] = { sizeof(big) };
	run(&cfg, big, sizeof(big), one, 1, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.lens[0], 120);
	assert_int_equal(r.nover, 1);
	result_free(&r);
}

static void test_malformed(void **state)
{
	(void)state;
	struct cfg au = { PSR_FRAME_AUTO, 64, NULL, 32 };
	static const char s[] = "<1>a\n12x3 junk\n<2>b\n12345678901 too many digits\n<3>c\n"
				"2023-01-01 plain line\n<4>d\n";
	static const char *const want[] = { "<1>a", "<2>b", "<3>c", "<4>d" };
	CHECK(&au, s, want, 3, 0);

	struct cfg oc = { PSR_FRAME_OCTET, 64, NULL, 32 };
	static const char o[] = "3 abcnot counted\n3 def4x\n3 ghi";
	static const char *const wanto[] = { "abc", "def", "ghi" };
	CHECK(&oc, o, wanto, 2, 0);

	/* the counter is cumulative and tells malformed from oversize */
	struct psr_framer f;
	struct psr_frame out[8];
	unsigned nf, nover;
	assert_int_equal(psr_framer_init(&f, PSR_FRAME_AUTO, 4, NULL, 0), 0);
	static const char m[] = "1a\n99 x\n";
	size_t used = psr_frame_burst(&f, m, sizeof(m) - 1, out, 8, &nf, &nover);
	assert_int_equal(used, 8);  /* "1a\n", "99 ", and "x\n" skipped of the 99 */
	assert_int_equal(nf, 0);
	assert_int_equal(nover, 2);
	assert_int_equal(f.malformed, 1);
}

/* Long runs of frames of exactly max_frame bytes through the minimum
 * buffer: never stuck, nothing lost. */
static void test_full_buffer(void **state)
{
	(void)state;
	enum { MAXF = 100, N = 40 };
	static const int modes[] = { PSR_FRAME_LF, PSR_FRAME_OCTET, PSR_FRAME_AUTO, PSR_FRAME_SEP };
	for (size_t m = 0; m < 4; m++) {
		char *s = malloc(N * (MAXF + 16));
		size_t len = 0;
		for (int i = 0; i < N; i++) {
			if (modes[m] == PSR_FRAME_OCTET || (modes[m] == PSR_FRAME_AUTO && i % 2))
				len += (size_t)sprintf(s + len, "%d ", MAXF);
			for (int k = 0; k < MAXF; k++)
				s[len++] = (char)('a' + (i + k) % 26);
			if (modes[m] == PSR_FRAME_SEP) {
				memcpy(s + len, "<>", 2);
				len += 2;
			} else if (modes[m] == PSR_FRAME_LF || (modes[m] == PSR_FRAME_AUTO && !(i % 2))) {
				if (i % 3 == 0)
					s[len++] = '\r';
				s[len++] = '\n';
			}
		}
		struct cfg cfg = { modes[m], MAXF, modes[m] == PSR_FRAME_SEP ? "<>" : NULL, 3 };
		for (size_t step = 1; step < 300; step += 37) {
			size_t cuts[2048];
			unsigned nc = 0;
			for (size_t p = step; p < len && nc < 2047; p += step)
				cuts[nc++] = p;
			cuts[nc++] = len;
			struct result r;
			run(&cfg, s, len, cuts, nc, &r);
			assert_int_equal(r.n, N);
			assert_int_equal(r.nover, 0);
			for (unsigned i = 0; i < r.n; i++)
				assert_int_equal(r.lens[i], MAXF);
			result_free(&r);
		}
		free(s);
	}
}

/* Pseudo-random AUTO streams: any split gives the same frames as one piece. */
static void test_random_splits(void **state)
{
	(void)state;
	uint64_t x = 0x2545f4914f6cdd1dull;
	for (int iter = 0; iter < 300; iter++) {
		char s[400];
		size_t len = 0;
		while (len < 300) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			int kind = (int)(x % 6);
			int l = (int)((x >> 8) % 40);
			if (kind == 0) {
				len += (size_t)sprintf(s + len, "%d ", l);
			} else if (kind == 1) {
				s[len++] = (x >> 20) & 1 ? '\n' : '\0';
			} else if (kind == 2) {
				s[len++] = '\r';
			} else {
				for (int k = 0; k < l && len < 390; k++)
					s[len++] = (char)" <>abc12\n"[(x >> (k % 50)) % 9];
			}
		}
		static const int modes[] = { PSR_FRAME_AUTO, PSR_FRAME_LF, PSR_FRAME_OCTET };
		struct cfg cfg = { modes[iter % 3], 24, NULL, 4 };
		struct result whole, part;
		size_t one[1] = { len };
		run(&cfg, s, len, one, 1, &whole);
		for (int k = 0; k < 20; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			size_t a = x % (len + 1), b = (x >> 32) % (len + 1);
			size_t cuts[3] = { a < b ? a : b, a < b ? b : a, len };
			run(&cfg, s, len, cuts, 3, &part);
			same(&whole, &part, "random", cuts[0], cuts[1]);
			result_free(&part);
		}
		result_free(&whole);
	}
}

static void test_init_flush(void **state)
{
	(void)state;
	struct psr_framer f;
	assert_int_equal(psr_framer_init(&f, 9, 10, NULL, 0), -EINVAL);
	assert_int_equal(psr_framer_init(&f, PSR_FRAME_LF, 0, NULL, 0), -EINVAL);
	assert_int_equal(psr_framer_init(&f, PSR_FRAME_SEP, 10, NULL, 0), -EINVAL);
	assert_int_equal(psr_framer_init(&f, PSR_FRAME_SEP, 10, "x", 0), -EINVAL);
	assert_int_equal(psr_framer_init(&f, PSR_FRAME_SEP, 10, "0123456789abcdefg", 17), -EINVAL);
	assert_int_equal(psr_framer_init(&f, PSR_FRAME_SEP, 10, "0123456789abcdef", 16), 0);

	/* flush while skipping an oversize frame delivers nothing, and resets */
	struct psr_frame out[4], last;
	unsigned nf, nover;
	assert_int_equal(psr_framer_init(&f, PSR_FRAME_OCTET, 4, NULL, 0), 0);
	size_t used = psr_frame_burst(&f, "10 abc", 6, out, 4, &nf, &nover);
	assert_int_equal(used, 6);
	assert_int_equal(nover, 1);
	assert_int_equal(psr_frame_flush(&f, "", 0, &last), 0);
	used = psr_frame_burst(&f, "2 ab", 4, out, 4, &nf, &nover);
	assert_int_equal(used, 4);
	assert_int_equal(nf, 1);
	assert_int_equal(out[0].len, 2);

	/* max_out 0 consumes nothing */
	assert_int_equal(psr_frame_burst(&f, "2 ab", 4, out, 0, &nf, &nover), 0);
	assert_int_equal(nf, 0);
}

static int baseline_on(void **state)
{
	(void)state;
	psr_frame_force_baseline(true);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lf),
		cmocka_unit_test(test_octet),
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_sep),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_first),
		cmocka_unit_test(test_msgpack),
		cmocka_unit_test(test_http),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_full_buffer),
		cmocka_unit_test(test_random_splits),
		cmocka_unit_test(test_init_flush),
	};
	/* once with the best scanner the CPU has, once with the baseline one */
	int failed = cmocka_run_group_tests_name("best", tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("baseline", tests, baseline_on, NULL);
	return failed;
}
