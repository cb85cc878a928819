/*
 * test_syslog.c — RFC 5424 and RFC 3164 parsers (psr_syslog.h). Each
 * record is decoded with msgpack-c to check the bytes are valid msgpack
 * holding exactly the expected map, and the chunk's field index is
 * checked to agree with it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <msgpack.h>
#include "psr_syslog.h"

#define RECV_SEC  1700000000u
#define RECV_NSEC 123u

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];
static struct dp_chunk chunk;
static struct psr_syslog_ctx ctx;

typedef int (*parse_fn)(struct dp_chunk *, const char *, size_t, struct psr_syslog_ctx *);

struct kv {
	const char *k;
	const char *v;
};

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
		.tm_hour = h, .tm_min = mi, .tm_sec = s,
	};
	return (int64_t)timegm(&tm);
}

static int setup(void **state)
{
	(void)state;
	dp_chunk_init(&chunk, recs, fields, data);
	/* 2003-10-12T00:00:00Z unless a test says otherwise */
	psr_syslog_ctx_init(&ctx, (uint32_t)utc(2003, 10, 12, 0, 0, 0));
	return 0;
}

/* Parse one line as the caller would. On -EINVAL nothing may have been
 * written past the record header. */
static int parse(parse_fn fn, const char *line, size_t len)
{
	dp_chunk_rec_begin(&chunk, RECV_SEC, RECV_NSEC);
	uint32_t before = chunk.data_len, nf = chunk.nfields;
	int rc = fn(&chunk, line, len, &ctx);
	if (rc != 0) {
		assert_int_equal(rc, -EINVAL);
		assert_int_equal(chunk.data_len, before);
		assert_int_equal(chunk.nfields, nf);
		dp_chunk_rec_abort(&chunk);
	} else {
		assert_int_equal(dp_chunk_rec_end(&chunk), 0);
	}
	return rc;
}

/* The record's msgpack, decoded independently, must be [ext8 time, map]
 * with exactly the expected pairs, and the index must say the same. */
static void check_rec(uint32_t idx, const struct kv *want, unsigned nwant,
		      uint32_t sec, uint32_t nsec)
{
	assert_true(idx < chunk.nrecs);
	const struct dp_rec *r = &chunk.recs[idx];
	assert_int_equal(r->ts_sec, sec);
	assert_int_equal(r->ts_nsec, nsec);
	assert_int_equal(dp_mp_object_size(chunk.data + r->off, r->len), r->len);

	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	assert_int_equal(msgpack_unpack_next(&u, (const char *)chunk.data + r->off, r->len, &off),
			 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, r->len);
	msgpack_object o = u.data;
	assert_int_equal(o.type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(o.via.array.size, 2);
	msgpack_object t = o.via.array.ptr[0], m = o.via.array.ptr[1];
	assert_int_equal(t.type, MSGPACK_OBJECT_EXT);
	assert_int_equal(t.via.ext.type, 0);
	assert_int_equal(t.via.ext.size, 8);
	const uint8_t *tp = (const uint8_t *)t.via.ext.ptr;
	assert_int_equal((uint32_t)tp[0] << 24 | tp[1] << 16 | tp[2] << 8 | tp[3], sec);
	assert_int_equal((uint32_t)tp[4] << 24 | tp[5] << 16 | tp[6] << 8 | tp[7], nsec);
	assert_int_equal(m.type, MSGPACK_OBJECT_MAP);
	if (m.via.map.size != nwant)
		fail_msg("map has %u pairs, want %u", m.via.map.size, nwant);
	assert_int_equal(r->nfields, nwant);
	const struct dp_field *f = dp_rec_fields(&chunk, r);
	for (unsigned i = 0; i < nwant; i++) {
		msgpack_object k = m.via.map.ptr[i].key, v = m.via.map.ptr[i].val;
		size_t kl = strlen(want[i].k), vl = strlen(want[i].v);
		assert_int_equal(k.type, MSGPACK_OBJECT_STR);
		assert_int_equal(v.type, MSGPACK_OBJECT_STR);
		if (k.via.str.size != kl || memcmp(k.via.str.ptr, want[i].k, kl) != 0)
			fail_msg("key %u: '%.*s' want '%s'", i, (int)k.via.str.size, k.via.str.ptr,
				 want[i].k);
		if (v.via.str.size != vl || memcmp(v.via.str.ptr, want[i].v, vl) != 0)
			fail_msg("%s: '%.*s' want '%s'", want[i].k, (int)v.via.str.size,
				 v.via.str.ptr, want[i].v);
		/* the index points at the same bytes */
		assert_int_equal(f[i].type, DP_T_STR);
		assert_int_equal(f[i].key_len, kl);
		assert_memory_equal(dp_field_key(&chunk, &f[i]), want[i].k, kl);
		assert_int_equal(f[i].val_len, vl);
		assert_memory_equal(dp_field_val(&chunk, &f[i]), want[i].v, vl);
		assert_ptr_equal(dp_rec_field_get(&chunk, r, want[i].k, kl), &f[i]);
	}
	msgpack_unpacked_destroy(&u);
}

#define N(a) (unsigned)(sizeof(a) / sizeof((a)[0]))

static void expect(parse_fn fn, const char *line, const struct kv *want, unsigned nwant,
		   uint32_t sec, uint32_t nsec)
{
	if (parse(fn, line, strlen(line)) != 0)
		fail_msg("rejected: %s", line);
	check_rec(chunk.nrecs - 1, want, nwant, sec, nsec);
}

static void reject(parse_fn fn, const char *line)
{
	uint32_t n = chunk.nrecs;
	if (parse(fn, line, strlen(line)) != -EINVAL)
		fail_msg("accepted: %s", line);
	assert_int_equal(chunk.nrecs, n);
}

/* ---- RFC 5424 ---- */

static void test_5424_rfc_examples(void **state)
{
	(void)state;
	uint32_t t1 = (uint32_t)utc(2003, 10, 11, 22, 14, 15);

	/* RFC 5424 6.5, example 1 (with BOM) */
	static const struct kv w1[] = {
		{ "pri", "34" }, { "time", "2003-10-11T22:14:15.003Z" },
		{ "host", "mymachine.example.com" }, { "ident", "su" }, { "pid", "-" },
		{ "msgid", "ID47" }, { "extradata", "-" },
		{ "message", "'su root' failed for lonvick on /dev/pts/8" },
	};
	expect(psr_syslog5424_parse, "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - "
	       "ID47 - \xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8", w1, N(w1), t1, 3000000);

	/* example 2: microseconds and a -07:00 offset */
	static const struct kv w2[] = {
		{ "pri", "165" }, { "time", "2003-08-24T05:14:15.000003-07:00" },
		{ "host", "192.0.2.1" }, { "ident", "myproc" }, { "pid", "8710" },
		{ "msgid", "-" }, { "extradata", "-" },
		{ "message", "%% It's time to make the do-nuts." },
	};
	expect(psr_syslog5424_parse, "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc "
	       "8710 - - %% It's time to make the do-nuts.", w2, N(w2),
	       (uint32_t)utc(2003, 8, 24, 12, 14, 15), 3000);

	/* example 3: structured data and a message */
	static const struct kv w3[] = {
		{ "pri", "165" }, { "time", "2003-10-11T22:14:15.003Z" },
		{ "host", "mymachine.example.com" }, { "ident", "evntslog" }, { "pid", "-" },
		{ "msgid", "ID47" },
		{ "extradata", "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]" },
		{ "message", "An application event log entry..." },
	};
	expect(psr_syslog5424_parse, "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com "
	       "evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" "
	       "eventID=\"1011\"] \xef\xbb\xbf" "An application event log entry...",
	       w3, N(w3), t1, 3000000);

	/* example 4: two SD elements, no message */
	static const struct kv w4[] = {
		{ "pri", "165" }, { "time", "2003-10-11T22:14:15.003Z" },
		{ "host", "mymachine.example.com" }, { "ident", "evntslog" }, { "pid", "-" },
		{ "msgid", "ID47" },
		{ "extradata", "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" "
			       "eventID=\"1011\"][examplePriority@32473 class=\"high\"]" },
	};
	expect(psr_syslog5424_parse, "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com "
	       "evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" "
	       "eventID=\"1011\"][examplePriority@32473 class=\"high\"]", w4, N(w4), t1, 3000000);
}

static void test_5424_sd(void **state)
{
	(void)state;
	uint32_t t = (uint32_t)utc(2023, 6, 1, 10, 0, 0);
	/* escapes, and "] " inside a quoted value, do not end the SD */
	static const struct kv w1[] = {
		{ "pri", "14" }, { "time", "2023-06-01T12:00:00+02:00" }, { "host", "h" },
		{ "ident", "app" }, { "pid", "worker-3" }, { "msgid", "M" },
		{ "extradata", "[id@1 a=\"x\\\"y\" b=\"p\\]q] r\" c=\"r\\\\\"][n k=\"[v]\"]" },
		{ "message", "the ] message" },
	};
	expect(psr_syslog5424_parse, "<14>1 2023-06-01T12:00:00+02:00 h app worker-3 M "
	       "[id@1 a=\"x\\\"y\" b=\"p\\]q] r\" c=\"r\\\\\"][n k=\"[v]\"] the ] message",
	       w1, N(w1), t, 0);

	/* not well formed: Fluent Bit's rule, the first "] " before a message */
	static const struct kv w2[] = {
		{ "pri", "14" }, { "time", "2023-06-01T10:00:00Z" }, { "host", "h" },
		{ "ident", "app" }, { "pid", "1" }, { "msgid", "M" },
		{ "extradata", "[id k=\"unclosed]" }, { "message", "msg here" },
	};
	expect(psr_syslog5424_parse, "<14>1 2023-06-01T10:00:00Z h app 1 M [id k=\"unclosed] msg here",
	       w2, N(w2), t, 0);
	static const struct kv w3[] = {
		{ "pri", "14" }, { "time", "2023-06-01T10:00:00Z" }, { "host", "h" },
		{ "ident", "app" }, { "pid", "1" }, { "msgid", "M" },
		{ "extradata", "[a]x [b]" }, { "message", "m" },
	};
	expect(psr_syslog5424_parse, "<14>1 2023-06-01T10:00:00Z h app 1 M [a]x [b] m", w3, N(w3), t, 0);
	static const struct kv w4[] = {
		{ "pri", "14" }, { "time", "2023-06-01T10:00:00Z" }, { "host", "h" },
		{ "ident", "app" }, { "pid", "1" }, { "msgid", "M" },
		{ "extradata", "[a k=\"v\\\"]" },
	};
	expect(psr_syslog5424_parse, "<14>1 2023-06-01T10:00:00Z h app 1 M [a k=\"v\\\"]",
	       w4, N(w4), t, 0);

	reject(psr_syslog5424_parse, "<14>1 2023-06-01T10:00:00Z h app 1 M [a k=\"v\"");
	reject(psr_syslog5424_parse, "<14>1 2023-06-01T10:00:00Z h app 1 M [a k=\"v] ");
	reject(psr_syslog5424_parse, "<14>1 2023-06-01T10:00:00Z h app 1 M [a]x");
	reject(psr_syslog5424_parse, "<14>1 2023-06-01T10:00:00Z h app 1 M -x msg");
	reject(psr_syslog5424_parse, "<14>1 2023-06-01T10:00:00Z h app 1 M x msg");
	reject(psr_syslog5424_parse, "<14>1 2023-06-01T10:00:00Z h app 1 M  msg");
}

/* Escapes and separators at every position relative to the 64-byte blocks
 * the scanner works in. */
static void test_5424_block_edges(void **state)
{
	(void)state;
	char line[600], host[200], sd[300];
	for (int pad = 0; pad < 140; pad++) {
		memset(host, 'h', (size_t)pad + 1);
		host[pad + 1] = '\0';
		int n = snprintf(sd, sizeof(sd), "[id k=\"%.*s\\\"] y\" j=\"\\\\\"][z]", pad,
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		assert_true(n > 0 && n < (int)sizeof(sd));
		snprintf(line, sizeof(line), "<1>1 - %s app%d 1 m %s msg", host, pad, sd);
		char ident[16];
		snprintf(ident, sizeof(ident), "app%d", pad);
		const struct kv w[] = {
			{ "pri", "1" }, { "time", "-" }, { "host", host }, { "ident", ident },
			{ "pid", "1" }, { "msgid", "m" }, { "extradata", sd }, { "message", "msg" },
		};
		expect(psr_syslog5424_parse, line, w, N(w), RECV_SEC, RECV_NSEC);
		dp_chunk_reset(&chunk);
	}
}

static void test_5424_nil_and_edges(void **state)
{
	(void)state;
	/* all NILVALUE: the record keeps the receive time */
	static const struct kv w1[] = {
		{ "pri", "0" }, { "time", "-" }, { "host", "-" }, { "ident", "-" },
		{ "pid", "-" }, { "msgid", "-" }, { "extradata", "-" },
	};
	expect(psr_syslog5424_parse, "<0>1 - - - - - -", w1, N(w1), RECV_SEC, RECV_NSEC);
	/* a trailing space, or a BOM alone, is an empty message: omitted */
	expect(psr_syslog5424_parse, "<0>1 - - - - - - ", w1, N(w1), RECV_SEC, RECV_NSEC);
	expect(psr_syslog5424_parse, "<0>1 - - - - - - \xef\xbb\xbf", w1, N(w1), RECV_SEC, RECV_NSEC);

	/* only one space is the separator; a partial BOM is message text */
	static const struct kv w2[] = {
		{ "pri", "191" }, { "time", "2023-06-01T10:00:00.123456789Z" }, { "host", "h" },
		{ "ident", "a" }, { "pid", "1" }, { "msgid", "m" }, { "extradata", "-" },
		{ "message", "  \xef\xbb x\n y" },
	};
	expect(psr_syslog5424_parse, "<191>1 2023-06-01T10:00:00.123456789Z h a 1 m -   \xef\xbb x\n y",
	       w2, N(w2), (uint32_t)utc(2023, 6, 1, 10, 0, 0), 123456789);

	/* no fraction */
	static const struct kv w3[] = {
		{ "pri", "13" }, { "time", "2023-06-01T10:00:00Z" }, { "host", "h" },
		{ "ident", "a" }, { "pid", "1" }, { "msgid", "m" }, { "extradata", "-" },
		{ "message", "x" },
	};
	expect(psr_syslog5424_parse, "<13>1 2023-06-01T10:00:00Z h a 1 m - x", w3, N(w3),
	       (uint32_t)utc(2023, 6, 1, 10, 0, 0), 0);
	/* leading zeros in PRI are kept as written */
	static const struct kv w4[] = {
		{ "pri", "013" }, { "time", "-" }, { "host", "h" },
		{ "ident", "a" }, { "pid", "1" }, { "msgid", "m" }, { "extradata", "-" },
		{ "message", "x" },
	};
	expect(psr_syslog5424_parse, "<013>1 - h a 1 m - x", w4, N(w4), RECV_SEC, RECV_NSEC);
}

static void test_5424_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "<", "<>", "<>1 - - - - - - x", "34>1 - - - - - - x", "<192>1 - - - - - - x",
		"<1234>1 - - - - - - x", "<3a>1 - - - - - - x", "< 3>1 - - - - - - x",
		"<34>2 - - - - - - x", "<34>11 - - - - - - x", "<34> - - - - - - x",
		"<34>1", "<34>1 ", "<34>1 -", "<34>1 - - - - -", "<34>1 - - - - - ",
		"<34>1  - - - - - - x", "<34>1 - - - -  - - x",
		"<34>1 2003-13-11T22:14:15.003Z h a 1 m - x",
		"<34>1 2003-02-30T22:14:15Z h a 1 m - x",
		"<34>1 2003-10-11T25:14:15Z h a 1 m - x",
		"<34>1 2003-10-11T22:14:15 h a 1 m - x",
		"<34>1 Oct 11 22:14:15 h a 1 m - x",
		"<34>1 1969-12-31T23:59:59Z h a 1 m - x",
		"<34>1 2106-02-07T06:28:16Z h a 1 m - x",
		"<34>Oct 11 22:14:15 mymachine su: x",
	};
	for (size_t i = 0; i < N(bad); i++)
		reject(psr_syslog5424_parse, bad[i]);
	/* the last valid second of the 32-bit EventTime */
	assert_int_equal(parse(psr_syslog5424_parse, "<34>1 2106-02-07T06:28:15Z h a 1 m - x", 38), 0);
	assert_int_equal(chunk.recs[chunk.nrecs - 1].ts_sec, UINT32_MAX);
}

/* ---- RFC 3164 ---- */

static void test_3164(void **state)
{
	(void)state;
	uint32_t t = (uint32_t)utc(2003, 10, 11, 22, 14, 15);
	/* RFC 3164 5.4 */
	static const struct kv w1[] = {
		{ "pri", "34" }, { "time", "Oct 11 22:14:15" }, { "host", "mymachine" },
		{ "ident", "su" }, { "message", "'su root' failed for lonvick on /dev/pts/8" },
	};
	expect(psr_syslog3164_parse, "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for "
	       "lonvick on /dev/pts/8", w1, N(w1), t, 0);

	static const struct kv w2[] = {
		{ "pri", "13" }, { "time", "Oct  5 17:32:18" }, { "host", "10.0.0.99" },
		{ "ident", "my-app/x_y.z" }, { "pid", "1234" }, { "message", "Use the BFG!" },
	};
	expect(psr_syslog3164_parse, "<13>Oct  5 17:32:18 10.0.0.99 my-app/x_y.z[1234]: Use the BFG!",
	       w2, N(w2), (uint32_t)utc(2003, 10, 5, 17, 32, 18), 0);

	static const struct kv w3[] = {
		{ "pri", "6" }, { "time", "Oct 5 17:32:18" }, { "host", "host" },
		{ "ident", "kernel" }, { "message", "[ 1.23] eth0: up" },
	};
	expect(psr_syslog3164_parse, "<6>Oct 5 17:32:18 host kernel: [ 1.23] eth0: up",
	       w3, N(w3), (uint32_t)utc(2003, 10, 5, 17, 32, 18), 0);

	/* Fluent Bit's quirks: no colon means the first word is the ident... */
	static const struct kv w4[] = {
		{ "pri", "13" }, { "time", "Oct 11 22:14:15" }, { "host", "host" },
		{ "ident", "hello" }, { "message", "world" },
	};
	expect(psr_syslog3164_parse, "<13>Oct 11 22:14:15 host hello world", w4, N(w4), t, 0);
	/* ...and the first colon anywhere ends the "tag" */
	static const struct kv w5[] = {
		{ "pri", "13" }, { "time", "Oct 11 22:14:15" }, { "host", "host" },
		{ "ident", "a" }, { "message", "c: d" },
	};
	expect(psr_syslog3164_parse, "<13>Oct 11 22:14:15 host a b: c: d", w5, N(w5), t, 0);
	/* [non-digits] is no pid */
	static const struct kv w6[] = {
		{ "pri", "13" }, { "time", "Oct 11 22:14:15" }, { "host", "host" },
		{ "ident", "app" }, { "message", "m" },
	};
	expect(psr_syslog3164_parse, "<13>Oct 11 22:14:15 host app[abc]: m", w6, N(w6), t, 0);
	expect(psr_syslog3164_parse, "<13>Oct 11 22:14:15 host app[]: m", w6, N(w6), t, 0);
	/* pid without colon */
	static const struct kv w7[] = {
		{ "pri", "13" }, { "time", "Oct 11 22:14:15" }, { "host", "host" },
		{ "ident", "app" }, { "pid", "12" }, { "message", "no colon" },
	};
	expect(psr_syslog3164_parse, "<13>Oct 11 22:14:15 host app[12] no colon", w7, N(w7), t, 0);
	/* empty captures are omitted (Skip_Empty_Values) */
	static const struct kv w8[] = {
		{ "pri", "13" }, { "time", "Oct 11 22:14:15" }, { "host", "host" },
	};
	expect(psr_syslog3164_parse, "<13>Oct 11 22:14:15 host ", w8, N(w8), t, 0);
	expect(psr_syslog3164_parse, "<13>Oct 11 22:14:15 host :   ", w8, N(w8), t, 0);
	static const struct kv w9[] = {
		{ "pri", "13" }, { "time", "Oct 11 22:14:15" }, { "ident", "x" }, { "message", "y" },
	};
	expect(psr_syslog3164_parse, "<13>Oct 11 22:14:15  x: y", w9, N(w9), t, 0);
	static const struct kv w10[] = {
		{ "pri", "13" }, { "time", "Oct 11 22:14:15" }, { "host", "h" },
		{ "message", "1}" }, /* the first-colon rule reaches into JSON too */
	};
	expect(psr_syslog3164_parse, "<13>Oct 11 22:14:15 h {\"json\": 1}", w10, N(w10), t, 0);
	/* a fraction is kept in the time field and used */
	static const struct kv w11[] = {
		{ "pri", "13" }, { "time", "oct 11 22:14:15.25" }, { "host", "h" },
		{ "ident", "i" }, { "message", "m" },
	};
	expect(psr_syslog3164_parse, "<13>oct 11 22:14:15.25 h i: m", w11, N(w11), t, 250000000);
}

/* What glibc's syslog(3) writes to /dev/log: no host field. */
static void test_3164_local(void **state)
{
	(void)state;
	uint32_t t = (uint32_t)utc(2003, 10, 11, 22, 14, 15);
	static const struct kv w1[] = {
		{ "pri", "30" }, { "time", "Oct 11 22:14:15" }, { "ident", "sshd" }, { "pid", "4242" },
		{ "message", "Accepted publickey for root" },
	};
	expect(psr_syslog3164_local_parse, "<30>Oct 11 22:14:15 sshd[4242]: Accepted publickey for root",
	       w1, N(w1), t, 0);
	static const struct kv w2[] = {
		{ "pri", "13" }, { "time", "Oct  5 22:14:15" }, { "ident", "logger" }, { "message", "hi" },
	};
	expect(psr_syslog3164_local_parse, "<13>Oct  5 22:14:15 logger: hi", w2, N(w2),
	       (uint32_t)utc(2003, 10, 5, 22, 14, 15), 0);
	/* The same line read by the networked parser takes "sshd[4242]:" as
	 * the host: the two must not be confused. */
	static const struct kv w3[] = {
		{ "pri", "30" }, { "time", "Oct 11 22:14:15" }, { "host", "sshd[4242]:" },
		{ "ident", "Accepted" }, { "message", "publickey for root" },
	};
	expect(psr_syslog3164_parse, "<30>Oct 11 22:14:15 sshd[4242]: Accepted publickey for root",
	       w3, N(w3), t, 0);
	reject(psr_syslog3164_local_parse, "<30>Oct 11 22:14:1");
	reject(psr_syslog3164_local_parse, "30>Oct 11 22:14:15 sshd: x");
}

static void test_3164_year(void **state)
{
	(void)state;
	static const struct kv w[] = {
		{ "pri", "13" }, { "time", "Dec 31 23:59:59" }, { "host", "h" },
		{ "ident", "i" }, { "message", "m" },
	};
	psr_syslog_ctx_set_now(&ctx, (uint32_t)utc(2024, 1, 1, 0, 0, 5));
	assert_int_equal(ctx.year, 2024);
	assert_int_equal(ctx.mon, 1);
	expect(psr_syslog3164_parse, "<13>Dec 31 23:59:59 h i: m", w, N(w),
	       (uint32_t)utc(2023, 12, 31, 23, 59, 59), 0);
	psr_syslog_ctx_set_now(&ctx, (uint32_t)utc(2024, 12, 31, 23, 59, 59));
	expect(psr_syslog3164_parse, "<13>Dec 31 23:59:59 h i: m", w, N(w),
	       (uint32_t)utc(2024, 12, 31, 23, 59, 59), 0);
	/* Feb 29 depends on the year */
	psr_syslog_ctx_set_now(&ctx, (uint32_t)utc(2023, 6, 1, 0, 0, 0));
	reject(psr_syslog3164_parse, "<13>Feb 29 00:00:00 h i: m");
	psr_syslog_ctx_set_now(&ctx, (uint32_t)utc(2024, 3, 1, 0, 0, 0));
	assert_int_equal(parse(psr_syslog3164_parse, "<13>Feb 29 00:00:00 h i: m", 26), 0);
}

static void test_3164_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "<13>", "13>Oct 11 22:14:15 h i: m", "<192>Oct 11 22:14:15 h i: m",
		"<0013>Oct 11 22:14:15 h i: m", "<1x>Oct 11 22:14:15 h i: m",
		"<13> Oct 11 22:14:15 h i: m", "<13>Oct 11 22:14:15", "<13>Oct 11 22:14:15 ",
		"<13>Oct 11 22:14:15 host", "<13>Oct 32 22:14:15 h i: m",
		"<13>Foo 11 22:14:15 h i: m", "<13>Oct 11 25:14:15 h i: m",
		"<13>Oct 11 22:14:15x h i: m", "<13>2003-10-11T22:14:15Z h i: m",
		"<13>Oct 11 22:14 h i: m",
	};
	for (size_t i = 0; i < N(bad); i++)
		reject(psr_syslog3164_parse, bad[i]);
}

/* Every prefix of valid lines, copied to an exact-size heap buffer so
 * ASan sees any read past the end: never a crash, either a valid record
 * or -EINVAL with nothing written. */
static void test_truncated(void **state)
{
	(void)state;
	static const char *const l5424[] = {
		"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
		"[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
		"[x a=\"\\]\\\"\\\\\"] \xef\xbb\xbf" "An application event log entry...",
		"<34>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% do-nuts",
		"<0>1 - - - - - [a k=\"v] x\"]",
	};
	static const char *const l3164[] = {
		"<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick",
		"<13>Oct  1 22:14:15.123 h my/app: x",
	};
	for (int which = 0; which < 2; which++) {
		const char *const *lines = which ? l3164 : l5424;
		unsigned n = which ? N(l3164) : N(l5424);
		parse_fn fn = which ? psr_syslog3164_parse : psr_syslog5424_parse;
		for (unsigned i = 0; i < n; i++) {
			size_t full = strlen(lines[i]);
			unsigned ok = 0;
			for (size_t l = 0; l <= full; l++) {
				dp_chunk_reset(&chunk);
				char *s = malloc(l ? l : 1);
				memcpy(s, lines[i], l);
				if (parse(fn, s, l) == 0) {
					ok++;
					const struct dp_rec *r = &chunk.recs[0];
					assert_int_equal(dp_mp_object_size(chunk.data + r->off, r->len), r->len);
					msgpack_unpacked u;
					msgpack_unpacked_init(&u);
					size_t off = 0;
					assert_int_equal(msgpack_unpack_next(&u, (const char *)chunk.data,
									     chunk.data_len, &off),
							 MSGPACK_UNPACK_SUCCESS);
					assert_int_equal(off, chunk.data_len);
					msgpack_unpacked_destroy(&u);
				}
				free(s);
			}
			/* the full line at least */
			assert_true(ok >= 1);
		}
	}
}

/* Records back to back in one chunk, and a chunk that fills up: the
 * writers' overflow turns into -ENOSPC at rec_end and the chunk stays
 * consistent. */
static void test_many_and_full(void **state)
{
	(void)state;
	dp_chunk_reset(&chunk);
	char line[512];
	unsigned ok = 0;
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(line, sizeof(line), "<%d>1 2023-06-01T10:%02d:%02d.%03dZ host%d app %d "
				 "ID%d [s@1 i=\"%d\"] message number %d with some padding text to fill",
				 i % 192, i / 60 % 60, i % 60, i % 1000, i, i, i, i, i);
		dp_chunk_rec_begin(&chunk, RECV_SEC, RECV_NSEC);
		assert_int_equal(psr_syslog5424_parse(&chunk, line, (size_t)n, &ctx), 0);
		int rc = dp_chunk_rec_end(&chunk);
		if (rc == -ENOSPC)
			break;
		assert_int_equal(rc, 0);
		ok++;
	}
	assert_true(ok > 100 && ok < 5000);
	assert_int_equal(chunk.nrecs, ok);
	size_t off = 0;
	for (unsigned i = 0; i < chunk.nrecs; i++) {
		assert_int_equal(chunk.recs[i].off, off);
		assert_int_equal(dp_mp_object_size(chunk.data + off, chunk.data_len - off),
				 chunk.recs[i].len);
		off += chunk.recs[i].len;
		assert_int_equal(chunk.recs[i].nfields, 8);
	}
	assert_int_equal(off, chunk.data_len);
	static const struct kv w[] = {
		{ "pri", "7" }, { "time", "2023-06-01T10:00:07.007Z" }, { "host", "host7" },
		{ "ident", "app" }, { "pid", "7" }, { "msgid", "ID7" }, { "extradata", "[s@1 i=\"7\"]" },
		{ "message", "message number 7 with some padding text to fill" },
	};
	check_rec(7, w, N(w), (uint32_t)utc(2023, 6, 1, 10, 0, 7), 7000000);
}

/* At the chunk's end the parser takes the per-field checked writer: for
 * every room left around the record's size, it must succeed or overflow
 * exactly as one dp_chunk_put_str per field does, with the same bytes. */
static void test_5424_chunk_end(void **state)
{
	(void)state;
	const char *line = "<134>1 2026-11-21T19:51:03.297558Z cache-03 app-payments 47936 ID47 "
			   "[exampleSDID@32473 iut=\"4\"] payment captured order_id=8395365";
	size_t len = strlen(line);
	assert_int_equal(parse(psr_syslog5424_parse, line, len), 0);
	/* the spans, from the fresh record's index */
	const struct dp_rec *r0 = &chunk.recs[0];
	struct { char k[16]; char v[200]; size_t kl, vl; } fl[8];
	assert_int_equal(r0->nfields, 8);
	for (int i = 0; i < 8; i++) {
		const struct dp_field *f = dp_rec_fields(&chunk, r0) + i;
		fl[i].kl = f->key_len;
		fl[i].vl = f->val_len;
		memcpy(fl[i].k, dp_field_key(&chunk, f), f->key_len);
		memcpy(fl[i].v, dp_field_val(&chunk, f), f->val_len);
	}
	uint32_t need = r0->len;
	static uint8_t ref[512];
	for (uint32_t left = need - 20; left < need + 200; left++) {
		/* reference: one dp_chunk_put_str per field */
		dp_chunk_reset(&chunk);
		chunk.data_len = DP_CHUNK_DATA - left;
		dp_chunk_rec_begin(&chunk, RECV_SEC, RECV_NSEC);
		for (int i = 0; i < 8; i++)
			dp_chunk_put_str(&chunk, fl[i].k, fl[i].kl, fl[i].v, fl[i].vl);
		dp_chunk_rec_set_time(&chunk, 1795290663u, 297558000u);
		int want = dp_chunk_rec_end(&chunk);
		if (want == 0)
			memcpy(ref, chunk.data + chunk.recs[0].off, chunk.recs[0].len);

		dp_chunk_reset(&chunk);
		chunk.data_len = DP_CHUNK_DATA - left;
		dp_chunk_rec_begin(&chunk, RECV_SEC, RECV_NSEC);
		assert_int_equal(psr_syslog5424_parse(&chunk, line, len, &ctx), 0);
		int rc = dp_chunk_rec_end(&chunk);
		if (rc != want)
			fail_msg("%u bytes left: rec_end %d, per-field writer %d", left, rc, want);
		if (rc == 0) {
			assert_int_equal(chunk.recs[0].len, need);
			assert_memory_equal(chunk.data + chunk.recs[0].off, ref, need);
			assert_int_equal(chunk.nfields, 8);
		} else {
			assert_int_equal(chunk.data_len, DP_CHUNK_DATA - left);
			assert_int_equal(chunk.nfields, 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_5424_rfc_examples, setup),
		cmocka_unit_test_setup(test_5424_sd, setup),
		cmocka_unit_test_setup(test_5424_block_edges, setup),
		cmocka_unit_test_setup(test_5424_nil_and_edges, setup),
		cmocka_unit_test_setup(test_5424_invalid, setup),
		cmocka_unit_test_setup(test_3164, setup),
		cmocka_unit_test_setup(test_3164_local, setup),
		cmocka_unit_test_setup(test_3164_year, setup),
		cmocka_unit_test_setup(test_3164_invalid, setup),
		cmocka_unit_test_setup(test_truncated, setup),
		cmocka_unit_test_setup(test_many_and_full, setup),
		cmocka_unit_test_setup(test_5424_chunk_end, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
