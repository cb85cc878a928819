/*
 * test_json.c — psr_json: valid lines checked through msgpack-c (the
 * chunk's bytes) and through the field index; every -EINVAL case; the
 * chunk-full path. Single-threaded.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>
#include "dp_chunk.h"
#include "psr_json.h"

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];
static struct dp_chunk ch;
static msgpack_unpacked up;

static int setup(void **state)
{
	(void)state;
	dp_chunk_init(&ch, recs, fields, data);
	msgpack_unpacked_init(&up);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	msgpack_unpacked_destroy(&up);
	return 0;
}

/* Parse one line as its own record (begin, parse, end or abort). */
static int parse_len(const char *s, size_t n)
{
	dp_chunk_reset(&ch);
	dp_chunk_rec_begin(&ch, 1700000000, 123456789);
	int rc = psr_json_parse(&ch, s, n);
	if (rc != 0) {
		dp_chunk_rec_abort(&ch);
		return rc;
	}
	return dp_chunk_rec_end(&ch);
}

static int parse(const char *s)
{
	return parse_len(s, strlen(s));
}

/* The record's map, decoded by msgpack-c, after checking the event shape
 * and that the event is exactly r->len bytes. */
static msgpack_object rec_map(void)
{
	assert_int_equal(ch.nrecs, 1);
	const struct dp_rec *r = &ch.recs[0];
	size_t off = 0;
	assert_int_equal(msgpack_unpack_next(&up, (const char *)ch.data + r->off, r->len, &off),
			 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, r->len);
	msgpack_object o = up.data;
	assert_int_equal(o.type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(o.via.array.size, 2);
	assert_int_equal(o.via.array.ptr[0].type, MSGPACK_OBJECT_EXT);
	assert_int_equal(o.via.array.ptr[0].via.ext.type, 0);
	assert_int_equal(r->ts_sec, 1700000000);
	assert_int_equal(r->ts_nsec, 123456789);
	msgpack_object m = o.via.array.ptr[1];
	assert_int_equal(m.type, MSGPACK_OBJECT_MAP);
	assert_int_equal(m.via.map.size, r->nfields);
	return m;
}

static void assert_printed(const char *json, const char *want)
{
	assert_int_equal(parse(json), 0);
	char buf[4096];
	msgpack_object_print_buffer(buf, sizeof(buf), rec_map());
	assert_string_equal(buf, want);
}

/* Field i of the record: key, type, and (STR) payload. */
static const struct dp_field *field(unsigned i, const char *key, enum dp_type t)
{
	assert_true(i < ch.recs[0].nfields);
	const struct dp_field *f = &dp_rec_fields(&ch, &ch.recs[0])[i];
	assert_int_equal(f->key_len, strlen(key));
	assert_memory_equal(dp_field_key(&ch, f), key, f->key_len);
	assert_int_equal(f->type, t);
	return f;
}

static void assert_str_field(unsigned i, const char *key, const char *val, size_t vlen)
{
	const struct dp_field *f = field(i, key, DP_T_STR);
	assert_int_equal(f->val_len, vlen);
	assert_memory_equal(dp_field_val(&ch, f), val, vlen);
}

/* ---- valid input ---- */

static void test_flat(void **state)
{
	(void)state;
	assert_printed("{\"msg\":\"hello\",\"n\":42,\"ok\":true,\"no\":false,\"x\":null}",
		       "{\"msg\"=>\"hello\", \"n\"=>42, \"ok\"=>true, \"no\"=>false, \"x\"=>nil}");
	assert_str_field(0, "msg", "hello", 5);
	assert_int_equal(dp_field_int(&ch, field(1, "n", DP_T_UINT)), 42);
	assert_true(dp_field_bool(&ch, field(2, "ok", DP_T_BOOL)));
	assert_false(dp_field_bool(&ch, field(3, "no", DP_T_BOOL)));
	field(4, "x", DP_T_NIL);
	const struct dp_field *f = dp_rec_field_get(&ch, &ch.recs[0], "n", 1);
	assert_non_null(f);
	assert_int_equal(dp_field_int(&ch, f), 42);
}

static void test_nested(void **state)
{
	(void)state;
	assert_printed("{\"a\":{\"b\":[1,{\"c\":null},[]],\"d\":{}},\"e\":[\"x\",-1,true],\"f\":1}",
		       "{\"a\"=>{\"b\"=>[1, {\"c\"=>nil}, []], \"d\"=>{}}, "
		       "\"e\"=>[\"x\", -1, true], \"f\"=>1}");
	const struct dp_field *a = field(0, "a", DP_T_MAP);
	const struct dp_field *e = field(1, "e", DP_T_ARRAY);
	/* non-string values point at exactly one msgpack object */
	assert_int_equal(dp_mp_object_size(ch.data + a->val_off, a->val_len), a->val_len);
	assert_int_equal(dp_mp_object_size(ch.data + e->val_off, e->val_len), e->val_len);
	assert_int_equal(ch.data[e->val_off], 0xdd);  /* array32 */
	assert_int_equal(ch.data[a->val_off], 0xdf);  /* map32 */
	assert_int_equal(dp_field_int(&ch, field(2, "f", DP_T_UINT)), 1);
}

static void test_empty_and_whitespace(void **state)
{
	(void)state;
	assert_printed("{}", "{}");
	assert_int_equal(ch.recs[0].nfields, 0);
	assert_printed(" \t{ }\r", "{}");
	assert_printed("\t { \"a\" : [ 1 , 2 ] ,\n\"b\" : { \"c\" : \"d\" } , \"e\":[ ] }  \r\n",
		       "{\"a\"=>[1, 2], \"b\"=>{\"c\"=>\"d\"}, \"e\"=>[]}");
}

static void test_escapes(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\tz\"}"), 0);
	rec_map();
	assert_str_field(0, "s", "a\"b\\c/d\b\f\n\r\tz", 13);

	/* escaped keys, top level and nested */
	assert_printed("{\"k\\u00e9y\\n\":{\"in\\\"ner\":\"v\"}}",
		       "{\"k\xc3\xa9y\n\"=>{\"in\"ner\"=>\"v\"}}");
	field(0, "k\xc3\xa9y\n", DP_T_MAP);

	/* header boundaries: 33 raw bytes decoding to 32, 300 to 299 */
	char line[1024], want[512];
	memset(want, 'x', sizeof(want));
	snprintf(line, sizeof(line), "{\"s\":\"\\n%.31s\"}", want);
	assert_int_equal(parse(line), 0);
	want[0] = '\n';
	rec_map();
	assert_str_field(0, "s", want, 32);
	snprintf(line, sizeof(line), "{\"s\":\"\\n%.298s\"}", want + 1);
	assert_int_equal(parse(line), 0);
	rec_map();
	assert_str_field(0, "s", want, 299);
}

static void test_unicode(void **state)
{
	(void)state;
	static const struct { const char *in; const char *out; size_t len; } cases[] = {
		{ "\\u0041", "A", 1 },
		{ "\\u00e9", "\xc3\xa9", 2 },
		{ "\\u20AC", "\xe2\x82\xac", 3 },
		{ "\\ud83d\\ude00", "\xf0\x9f\x98\x80", 4 },
		{ "\\uDBFF\\uDFFF", "\xf4\x8f\xbf\xbf", 4 },
		{ "\\u0000", "\0", 1 },
		{ "\\ud800", "\xef\xbf\xbd", 3 },          /* lone high */
		{ "\\udc00x", "\xef\xbf\xbdx", 4 },        /* lone low */
		{ "\\ud800\\u0041", "\xef\xbf\xbd" "A", 4 }, /* high, then not low */
		{ "\\ud800\\ud800", "\xef\xbf\xbd\xef\xbf\xbd", 6 },
		{ "\xc3\xa9\xe2\x82\xac", "\xc3\xa9\xe2\x82\xac", 5 }, /* raw UTF-8 */
		{ "\xff\xfe\x80", "\xff\xfe\x80", 3 },     /* invalid UTF-8 passes */
		{ "\x7f", "\x7f", 1 },
	};
	for (unsigned i = 0; i < DP_ARRAY_SIZE(cases); i++) {
		char line[128];
		snprintf(line, sizeof(line), "{\"u\":\"%s\"}", cases[i].in);
		assert_int_equal(parse(line), 0);
		rec_map();
		assert_str_field(0, "u", cases[i].out, cases[i].len);
	}
}

/* One number as field "n": its type, msgpack object and value. */
static msgpack_object num(const char *text, enum dp_type t)
{
	char line[600];
	snprintf(line, sizeof(line), "{\"n\":%s}", text);
	assert_int_equal(parse(line), 0);
	msgpack_object m = rec_map();
	field(0, "n", t);
	return m.via.map.ptr[0].val;
}

static void test_numbers(void **state)
{
	(void)state;
	msgpack_object o;

	o = num("0", DP_T_UINT);
	assert_int_equal(o.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	assert_int_equal(o.via.u64, 0);
	o = num("-0", DP_T_UINT);
	assert_int_equal(o.via.u64, 0);
	o = num("-1", DP_T_INT);
	assert_int_equal(o.type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
	assert_int_equal(o.via.i64, -1);
	o = num("9223372036854775807", DP_T_UINT);
	assert_true(o.via.u64 == INT64_MAX);
	o = num("-9223372036854775808", DP_T_INT);
	assert_true(o.via.i64 == INT64_MIN);
	assert_true(dp_field_int(&ch, field(0, "n", DP_T_INT)) == INT64_MIN);
	o = num("9223372036854775808", DP_T_UINT);
	assert_true(o.via.u64 == 9223372036854775808ull);
	o = num("18446744073709551615", DP_T_UINT);
	assert_int_equal(o.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	assert_true(o.via.u64 == UINT64_MAX);
}

static void test_numbers_float(void **state)
{
	(void)state;
	static const struct { const char *text; double want; } cases[] = {
		{ "18446744073709551616", 18446744073709551616.0 },
		{ "-9223372036854775809", -9223372036854775809.0 },
		{ "1.5", 1.5 },
		{ "-0.25", -0.25 },
		{ "0.1", 0.1 },
		{ "1e3", 1000.0 },
		{ "1E-2", 0.01 },
		{ "2.5e+2", 250.0 },
		{ "0.0", 0.0 },
		{ "123.456", 123.456 },
		{ "1.7976931348623157e308", DBL_MAX },
		{ "2.2250738585072014e-308", DBL_MIN },
		{ "5e-324", 4.9406564584124654e-324 },
		{ "9007199254740993.0", 9007199254740992.0 },   /* > 2^53: strtod */
		{ "0.30000000000000004", 0.30000000000000004 },
		{ "123456789012345678901234567890.5", 123456789012345678901234567890.5 },
		{ "1e400", HUGE_VAL },
		{ "-1e400", -HUGE_VAL },
		{ "1e-400", 0.0 },
		{ "0e999999999999", 0.0 },
		{ "3.14159265358979323846", 3.14159265358979323846 },
	};
	for (unsigned i = 0; i < DP_ARRAY_SIZE(cases); i++) {
		msgpack_object o = num(cases[i].text, DP_T_FLOAT);
		assert_int_equal(o.type, MSGPACK_OBJECT_FLOAT64);
		if (o.via.f64 != cases[i].want)
			fail_msg("%s: got %.17g want %.17g", cases[i].text, o.via.f64, cases[i].want);
		assert_true(dp_field_double(&ch, field(0, "n", DP_T_FLOAT)) == cases[i].want);
	}
	msgpack_object o = num("-0.0", DP_T_FLOAT);
	assert_true(o.via.f64 == 0 && signbit(o.via.f64));
}

static void test_nested_numbers(void **state)
{
	(void)state;
	assert_printed("{\"a\":[0,-32,-33,127,128,-9223372036854775808,18446744073709551615]}",
		       "{\"a\"=>[0, -32, -33, 127, 128, -9223372036854775808, "
		       "18446744073709551615]}");
}

static void test_depth(void **state)
{
	(void)state;
	char line[512];
	/* the top-level object is level 1: 63 nested arrays make 64 levels */
	for (int depth = 62; depth <= 65; depth++) {
		size_t n = 0;
		n += (size_t)sprintf(line + n, "{\"a\":");
		for (int i = 1; i < depth; i++) {
			line[n++] = (i & 1) ? '[' : '{';
			if (!(i & 1))
				n += (size_t)sprintf(line + n, i < depth - 1 ? "\"k\":" : "\"k\":1");
		}
		for (int i = depth - 1; i >= 1; i--)
			line[n++] = (i & 1) ? ']' : '}';
		line[n++] = '}';
		int rc = parse_len(line, n);
		if (depth <= PSR_JSON_MAX_DEPTH) {
			assert_int_equal(rc, 0);
			/* msgpack-c's unpacker stops at 32 levels, so walk by hand */
			const struct dp_field *f = field(0, "a", DP_T_ARRAY);
			assert_int_equal(dp_mp_object_size(ch.data + f->val_off, f->val_len),
					 f->val_len);
			const uint8_t *p = ch.data + f->val_off;
			int levels = 1;
			for (;;) {
				levels++;
				uint32_t cnt = (uint32_t)p[1] << 24 | p[2] << 16 | p[3] << 8 | p[4];
				if (p[0] == 0xdd) {
					p += 5;
					if (!cnt)
						break;
				} else {
					assert_int_equal(p[0], 0xdf);
					assert_int_equal(cnt, 1);
					assert_int_equal(p[5], 0xa1);  /* "k" */
					p += 7;
					if (p[0] == 1)
						break;
				}
				assert_int_equal(cnt, 1);
			}
			assert_int_equal(levels, depth);
		} else {
			assert_int_equal(rc, -EINVAL);
		}
	}
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	assert_printed("{\"a\":1,\"a\":\"two\"}", "{\"a\"=>1, \"a\"=>\"two\"}");
	const struct dp_field *f = dp_rec_field_get(&ch, &ch.recs[0], "a", 1);
	assert_ptr_equal(f, field(0, "a", DP_T_UINT));
	assert_str_field(1, "a", "two", 3);
}

/* ---- invalid input ---- */

static void test_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "   ", "\r", "[1]", "\"s\"", "1", "null", "{", "}", "{\"a\"}", "{\"a\":}",
		"{\"a\" 1}", "{\"a\":1 \"b\":2}", "{\"a\":1,}", "{,}", "{\"a\":1,,\"b\":2}",
		"{a:1}", "{1:2}", "{'a':1}", "{\"a\":1}x", "{\"a\":1}}", "{\"a\":1},",
		"{\"a\":1}{}", "{} {}",
		/* strings */
		"{\"a\":\"abc", "{\"a\":\"abc\\\"}", "{\"a", "{\"a\":\"\\", "{\"a\":\"x\\\"",
		"{\"a\":\"x\ty\"}", "{\"a\":\"\x01\"}", "{\"a\":\"x\ny\"}", "{\"k\x1f\":1}",
		"{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\u12G4\"}", "{\"a\":\"\\U1234\"}",
		"{\"a\":\"\\'\"}", "{\"a\":\"\\ud800\\u12\"}", "{\"k\\q\":1}",
		"{\"a\":[\"ok\",\"\\z\"]}", "{\"a\":{\"\\u00\":1}}", "{\"a\":\"\\\x01\"}",
		/* numbers */
		"{\"a\":01}", "{\"a\":-}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":1e}", "{\"a\":1e+}",
		"{\"a\":+1}", "{\"a\":-a}", "{\"a\":0x10}", "{\"a\":NaN}", "{\"a\":Infinity}",
		"{\"a\":1.5.5}", "{\"a\":--1}", "{\"a\":1.e5}", "{\"a\":-01}", "{\"a\":00}",
		"{\"a\":[1 2]}",
		/* literals */
		"{\"a\":tru}", "{\"a\":nul}", "{\"a\":falsey}", "{\"a\":True}", "{\"a\":nulll}",
		"{\"a\":t", "{\"a\":undefined}",
		/* containers */
		"{\"a\":[1,2}", "{\"a\":{\"b\":1]}", "{\"a\":[1,2", "{\"a\":[1,]}", "{\"a\":{\"b\"}}",
		"{\"a\":{\"b\":1,}}", "{\"a\":[,1]}", "{\"a\":{1:2}}", "{\"a\":[}", "{\"a\":{]}",
		"{\"a\":[[[]]}", "{\"a\":[]]}",
	};
	for (unsigned i = 0; i < DP_ARRAY_SIZE(bad); i++) {
		int rc = parse(bad[i]);
		if (rc != -EINVAL)
			fail_msg("accepted or wrong error (%d): %s", rc, bad[i]);
		assert_int_equal(ch.nrecs, 0);
		assert_int_equal(ch.data_len, 0);
		assert_int_equal(ch.nfields, 0);
	}
	/* bytes after the line's length are never looked at */
	assert_int_equal(parse_len("{\"a\":1}", 6), -EINVAL);
	assert_int_equal(parse_len("{\"a\":\"b\"}", 8), -EINVAL);
	assert_int_equal(parse_len("{\"a\":12}", 7), -EINVAL);
	assert_int_equal(parse_len("{\"a\":1.5e3", 9), -EINVAL);
	assert_int_equal(parse_len("{\"a\":true}", 8), -EINVAL);
	/* a NUL is not whitespace */
	assert_int_equal(parse_len("{\"a\":1}\0", 8), -EINVAL);

	/* too long a number is refused rather than cut */
	char line[PSR_JSON_MAX_NUMBER + 32];
	int n = sprintf(line, "{\"a\":1.");
	memset(line + n, '5', PSR_JSON_MAX_NUMBER);
	n += PSR_JSON_MAX_NUMBER;
	line[n++] = '}';
	assert_int_equal(parse_len(line, (size_t)n), -EINVAL);
	/* 00000 is not a number either */
	assert_int_equal(parse("{\"n\":00000}"), -EINVAL);
}

/* A malformed record after good ones leaves the good ones intact. */
static void test_abort_keeps_neighbours(void **state)
{
	(void)state;
	dp_chunk_reset(&ch);
	dp_chunk_rec_begin(&ch, 1, 0);
	assert_int_equal(psr_json_parse(&ch, "{\"a\":\"first\"}", 13), 0);
	assert_int_equal(dp_chunk_rec_end(&ch), 0);
	uint32_t len = ch.data_len, nf = ch.nfields;
	dp_chunk_rec_begin(&ch, 2, 0);
	const char *bad = "{\"a\":\"x\",\"b\":{\"c\":[1,2,\"\\u00e9\"]},\"d\":\"oops";
	assert_int_equal(psr_json_parse(&ch, bad, strlen(bad)), -EINVAL);
	dp_chunk_rec_abort(&ch);
	assert_int_equal(ch.data_len, len);
	assert_int_equal(ch.nfields, nf);
	dp_chunk_rec_begin(&ch, 3, 0);
	assert_int_equal(psr_json_parse(&ch, "{\"b\":2}", 7), 0);
	assert_int_equal(dp_chunk_rec_end(&ch), 0);
	assert_int_equal(ch.nrecs, 2);
	size_t off = 0;
	for (int i = 0; i < 2; i++)
		assert_int_equal(msgpack_unpack_next(&up, (const char *)ch.data, ch.data_len, &off),
				 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, ch.data_len);
}

/* Fill a chunk until rec_end says -ENOSPC: the failed record leaves no
 * trace, earlier ones are intact, and the line fits into an empty chunk. */
static void chunk_full(const char *line)
{
	static uint8_t copy[DP_CHUNK_DATA];
	size_t n = strlen(line);
	dp_chunk_reset(&ch);
	for (;;) {
		uint32_t len = ch.data_len, nf = ch.nfields, nr = ch.nrecs;
		memcpy(copy, ch.data, len);
		dp_chunk_rec_begin(&ch, 5, 6);
		assert_int_equal(psr_json_parse(&ch, line, n), 0);
		int rc = dp_chunk_rec_end(&ch);
		if (rc == 0)
			continue;
		assert_int_equal(rc, -ENOSPC);
		assert_int_equal(ch.data_len, len);
		assert_int_equal(ch.nfields, nf);
		assert_int_equal(ch.nrecs, nr);
		assert_memory_equal(ch.data, copy, len);
		break;
	}
	assert_true(ch.nrecs > 1);
	size_t off = 0;
	for (uint32_t i = 0; i < ch.nrecs; i++) {
		assert_int_equal(msgpack_unpack_next(&up, (const char *)ch.data, ch.data_len, &off),
				 MSGPACK_UNPACK_SUCCESS);
		assert_int_equal(up.data.via.array.ptr[1].via.map.size, ch.recs[i].nfields);
	}
	assert_int_equal(off, ch.data_len);
	assert_int_equal(parse(line), 0);
}

static void test_chunk_full(void **state)
{
	(void)state;
	char big[8192];
	int n = sprintf(big, "{\"msg\":\"");
	for (int i = 0; i < 700; i++)
		n += sprintf(big + n, "ab\\n");
	n += sprintf(big + n, "\",\"k\\u00e9y\":[1,{\"x\":\"y\\t\"}],\"n\":-12,\"f\":1.25}");
	chunk_full(big);
	chunk_full("{\"host\":\"web-1\",\"level\":\"info\",\"latency\":0.25,"
		   "\"req\":{\"path\":\"/api\",\"status\":200}}");
	/* so many fields per record that the index fills before the data */
	n = sprintf(big, "{");
	for (int i = 0; i < 300; i++)
		n += sprintf(big + n, "%s\"k%d\":%d", i ? "," : "", i, i);
	sprintf(big + n, "}");
	chunk_full(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_whitespace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unicode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numbers_float, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_keeps_neighbours, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunk_full, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
