/*
 * test_json_enc.c — out_json: JSON lines parsed by psr_json and encoded
 * back (canonical text), date formats against gmtime_r/strftime, Fluent
 * Bit's out_file line, msgpack the parser never writes (bin, ext, odd
 * keys, every integer width), shortest doubles, and the cap. Single-threaded.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "dp_chunk.h"
#include "out_json.h"
#include "psr_json.h"

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];
static struct dp_chunk ch;
static char out[1 << 16];

static const struct out_json_opts plain = { NULL, 0 };

static int setup(void **state)
{
	(void)state;
	dp_chunk_init(&ch, recs, fields, data);
	return 0;
}

static const struct dp_rec *parse_at(const char *json, uint32_t sec, uint32_t nsec)
{
	dp_chunk_reset(&ch);
	dp_chunk_rec_begin(&ch, sec, nsec);
	assert_int_equal(psr_json_parse(&ch, json, strlen(json)), 0);
	assert_int_equal(dp_chunk_rec_end(&ch), 0);
	return &ch.recs[0];
}

static void assert_enc(const struct dp_rec *r, const struct out_json_opts *o, const char *want)
{
	size_t n = out_json_rec(&ch, r, o, out, sizeof(out));
	assert_int_not_equal(n, 0);
	out[n] = '\0';
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void assert_round_trip(const char *json, const char *want)
{
	assert_enc(parse_at(json, 1, 0), &plain, want);
}

static void test_round_trip(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "{}", "{}" },
		{ " { } \r", "{}" },
		{ "{\"a\":\"b\",\"n\":1}", "{\"a\":\"b\",\"n\":1}" },
		{ "{ \"a\" : [ 1 , 2 ] , \"b\" : { \"c\" : { } , \"d\" : [ ] } }",
		  "{\"a\":[1,2],\"b\":{\"c\":{},\"d\":[]}}" },
		{ "{\"t\":true,\"f\":false,\"z\":null,\"l\":[true,false,null,\"\",{}]}",
		  "{\"t\":true,\"f\":false,\"z\":null,\"l\":[true,false,null,\"\",{}]}" },
		{ "{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0001\\u001F\\u007f\\u00e9\\u0000\"}",
		  "{\"s\":\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\xc3\xa9\\u0000\"}" },
		{ "{\"e\":\"\\ud83d\\ude00 \\ud800\",\"raw\":\"\xc3\xa9\xff\"}",
		  "{\"e\":\"\xf0\x9f\x98\x80 \xef\xbf\xbd\",\"raw\":\"\xc3\xa9\xff\"}" },
		{ "{\"k\\n\\u00e9\":{\"n\\\"k\":[\"\\t\"]}}",
		  "{\"k\\n\xc3\xa9\":{\"n\\\"k\":[\"\\t\"]}}" },
		{ "{\"i\":[0,-0,127,128,-32,-33,255,256,65535,65536,-9223372036854775808,"
		  "9223372036854775807,18446744073709551615]}",
		  "{\"i\":[0,0,127,128,-32,-33,255,256,65535,65536,-9223372036854775808,"
		  "9223372036854775807,18446744073709551615]}" },
		{ "{\"a\":1.0,\"b\":0.1,\"c\":1e3,\"d\":-0.0,\"e\":1e400,\"f\":-1e400,\"g\":1.5e-8,"
		  "\"h\":123456789.125,\"i\":0.30000000000000004,\"j\":18446744073709551616,"
		  "\"k\":1e300,\"l\":5e-324,\"m\":-2.5,\"n\":1E-7,\"o\":9007199254740993.0}",
		  "{\"a\":1.0,\"b\":0.1,\"c\":1000.0,\"d\":-0.0,\"e\":null,\"f\":null,\"g\":1.5e-08,"
		  "\"h\":123456789.125,\"i\":0.30000000000000004,\"j\":1.8446744073709552e+19,"
		  "\"k\":1e+300,\"l\":5e-324,\"m\":-2.5,\"n\":0.0000001,"
		  "\"o\":9007199254740992.0}" },
		{ "{\"dup\":1,\"dup\":2}", "{\"dup\":1,\"dup\":2}" },
	};
	for (unsigned i = 0; i < DP_ARRAY_SIZE(cases); i++)
		assert_round_trip(cases[i][0], cases[i][1]);
}

/* The same text, encoded from the chunk, parsed again and encoded again. */
static void test_round_trip_stable(void **state)
{
	(void)state;
	static const char *const lines[] = {
		"{\"a\":[1.25,{\"b\":\"\\u2028\\ud83d\\ude00\"}],\"c\":-7,\"d\":3.3333333333333335}",
		"{\"x\":{\"y\":{\"z\":[[],[{}],\"\\u001b[0m\"]}}}",
	};
	char first[4096];
	for (unsigned i = 0; i < DP_ARRAY_SIZE(lines); i++) {
		size_t n = out_json_rec(&ch, parse_at(lines[i], 1, 0), &plain, first, sizeof(first));
		assert_int_not_equal(n, 0);
		first[n] = '\0';
		assert_round_trip(first, first);
	}
}

/* Expected date text from libc. */
static void want_date(char *b, size_t cap, uint32_t sec, uint32_t nsec, int fmt)
{
	time_t t = sec;
	struct tm tm;
	char ymd[32];
	gmtime_r(&t, &tm);
	switch (fmt) {
	case OUT_JSON_DATE_EPOCH:
		snprintf(b, cap, "%u", sec);
		break;
	case OUT_JSON_DATE_EPOCH_MS:
		snprintf(b, cap, "%llu", (unsigned long long)sec * 1000 + nsec / 1000000);
		break;
	case OUT_JSON_DATE_ISO8601:
		strftime(ymd, sizeof(ymd), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(b, cap, "\"%s.%06uZ\"", ymd, nsec / 1000);
		break;
	case OUT_JSON_DATE_JAVA_SQL_TIMESTAMP:
		strftime(ymd, sizeof(ymd), "%Y-%m-%d %H:%M:%S", &tm);
		snprintf(b, cap, "\"%s.%06u\"", ymd, nsec / 1000);
		break;
	default: {
		/* Fluent Bit prints the double time with six decimals */
		unsigned long long us = (unsigned long long)sec * 1000000 + (nsec + 500) / 1000;
		snprintf(b, cap, "%llu.%06llu", us / 1000000, us % 1000000);
		break;
	}
	}
}

static void test_dates(void **state)
{
	(void)state;
	static const uint32_t secs[] = {
		0, 59, 86399, 86400, 951782400 /* 2000-02-29 */, 951868799, 1700000000,
		1709164800 /* 2024-02-29 */, 4102444800u /* 2100-01-01 */, 4107542400u,
		UINT32_MAX,
	};
	static const uint32_t nsecs[] = { 0, 1, 999, 1000, 123456789, 999999499, 999999500,
					  999999999 };
	static const int fmts[] = {
		OUT_JSON_DATE_DOUBLE, OUT_JSON_DATE_EPOCH, OUT_JSON_DATE_EPOCH_MS,
		OUT_JSON_DATE_ISO8601, OUT_JSON_DATE_JAVA_SQL_TIMESTAMP,
	};
	srand(7);
	for (unsigned k = 0; k < DP_ARRAY_SIZE(secs) + 2000; k++) {
		uint32_t sec = k < DP_ARRAY_SIZE(secs) ? secs[k] :
			       (uint32_t)rand() ^ (uint32_t)rand() << 16;
		for (unsigned j = 0; j < DP_ARRAY_SIZE(nsecs); j++) {
			uint32_t nsec = nsecs[j];
			for (unsigned f = 0; f < DP_ARRAY_SIZE(fmts); f++) {
				const struct dp_rec *r = parse_at("{\"m\":\"x\"}", sec, nsec);
				struct out_json_opts o = { "date", fmts[f] };
				char d[96], want[160];
				want_date(d, sizeof(d), sec, nsec, fmts[f]);
				snprintf(want, sizeof(want), "{\"date\":%s,\"m\":\"x\"}", d);
				assert_enc(r, &o, want);
			}
		}
	}
	/* spot checks against the documented examples */
	const struct dp_rec *r = parse_at("{}", 1700000000, 123456789);
	struct out_json_opts o = { "@t\"", OUT_JSON_DATE_ISO8601 };
	assert_enc(r, &o, "{\"@t\\\"\":\"2023-11-14T22:13:20.123456Z\"}");
	o.date_format = OUT_JSON_DATE_JAVA_SQL_TIMESTAMP;
	assert_enc(r, &o, "{\"@t\\\"\":\"2023-11-14 22:13:20.123456\"}");
	o.date_format = OUT_JSON_DATE_DOUBLE;
	assert_enc(r, &o, "{\"@t\\\"\":1700000000.123457}");
	o.date_format = OUT_JSON_DATE_EPOCH;
	assert_enc(r, &o, "{\"@t\\\"\":1700000000}");

	assert_int_equal(out_json_date_format_parse("double"), OUT_JSON_DATE_DOUBLE);
	assert_int_equal(out_json_date_format_parse("Epoch"), OUT_JSON_DATE_EPOCH);
	assert_int_equal(out_json_date_format_parse("epoch_ms"), OUT_JSON_DATE_EPOCH_MS);
	assert_int_equal(out_json_date_format_parse("ISO8601"), OUT_JSON_DATE_ISO8601);
	assert_int_equal(out_json_date_format_parse("java_sql_timestamp"),
			 OUT_JSON_DATE_JAVA_SQL_TIMESTAMP);
	assert_int_equal(out_json_date_format_parse("iso"), -EINVAL);
	assert_int_equal(out_json_date_format_parse(NULL), -EINVAL);
}

static void test_file_line(void **state)
{
	(void)state;
	const struct dp_rec *r = parse_at("{\"k\":\"v\",\"n\":[1]}", 1700000000, 123456000);
	size_t n = out_json_file_line(&ch, r, "app.log", 7, out, sizeof(out));
	out[n] = '\0';
	/* All nine digits, as Fluent Bit's out_file writes "%"PRIu64".%09lu"
	 * (plugins/out_file/file.c, write_log_record). */
	assert_string_equal(out, "app.log: [1700000000.123456000, {\"k\":\"v\",\"n\":[1]}]");
	r = parse_at("{}", 5, 999999999);
	n = out_json_file_line(&ch, r, "t", 1, out, sizeof(out));
	out[n] = '\0';
	assert_string_equal(out, "t: [5.999999999, {}]");
	r = parse_at("{}", 4294967295u, 7);
	n = out_json_file_line(&ch, r, "t", 1, out, sizeof(out));
	out[n] = '\0';
	assert_string_equal(out, "t: [4294967295.000000007, {}]");
}

/* Nothing past cap is ever written, and every cap short of the text fails. */
static void test_cap(void **state)
{
	(void)state;
	const struct dp_rec *r = parse_at("{\"s\":\"ab\\n\\u0001cd\\\"\",\"x\":{\"y\":[1.5,-3,\"z\"]},"
					  "\"t\":true,\"u\":18446744073709551615}", 1, 2);
	struct out_json_opts o = { "date", OUT_JSON_DATE_ISO8601 };
	size_t full = out_json_rec(&ch, r, &o, out, sizeof(out));
	assert_int_not_equal(full, 0);
	char ref[512], buf[512];
	memcpy(ref, out, full);
	for (size_t cap = 0; cap < full; cap++) {
		memset(buf, 0xee, sizeof(buf));
		assert_int_equal(out_json_rec(&ch, r, &o, buf, cap), 0);
		for (size_t i = cap; i < sizeof(buf); i++)
			assert_int_equal((uint8_t)buf[i], 0xee);
	}
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(out_json_rec(&ch, r, &o, buf, full), full);
	assert_memory_equal(buf, ref, full);
	assert_int_equal((uint8_t)buf[full], 0xee);

	size_t fl = out_json_file_line(&ch, r, "tag", 3, out, sizeof(out));
	assert_int_not_equal(fl, 0);
	for (size_t cap = 0; cap < fl; cap++)
		assert_int_equal(out_json_file_line(&ch, r, "tag", 3, buf, cap), 0);
	assert_int_equal(out_json_file_line(&ch, r, "tag", 3, buf, fl), fl);
}

/* A full chunk: every record encodes, including the last ones whose
 * strings end right at the end of the chunk's data (16-byte block reads
 * must stop there; ASan would see them otherwise). */
static void test_full_chunk(void **state)
{
	(void)state;
	static char want[DP_CHUNK_RECS + 1][192];
	dp_chunk_reset(&ch);
	for (unsigned i = 0;; i++) {
		char line[224];
		/* lengths vary so that record ends land on every offset mod 16;
		 * long enough that the data fills before the record index */
		snprintf(want[i], sizeof(want[0]), "{\"k\":\"%.*s\"}", (int)(130 + i % 23),
			 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
			 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
			 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
		snprintf(line, sizeof(line), "%s", want[i]);
		dp_chunk_rec_begin(&ch, 1, 0);
		assert_int_equal(psr_json_parse(&ch, line, strlen(line)), 0);
		if (dp_chunk_rec_end(&ch) != 0)
			break;
	}
	assert_true(ch.nrecs < DP_CHUNK_RECS);
	assert_true(ch.data_len > DP_CHUNK_DATA - 100);
	for (unsigned i = 0; i < ch.nrecs; i++)
		assert_enc(&ch.recs[i], &plain, want[i]);

	/* one record that fills the data to the last byte */
	static char big[DP_CHUNK_DATA];
	dp_chunk_reset(&ch);
	size_t room = DP_CHUNK_DATA - 14 - 2 - 5;  /* event header, key "k", str32 header */
	int n = sprintf(big, "{\"k\":\"");
	memset(big + n, 'x', room);
	memcpy(big + n + room, "\"}", 3);
	dp_chunk_rec_begin(&ch, 1, 0);
	assert_int_equal(psr_json_parse(&ch, big, strlen(big)), 0);
	assert_int_equal(dp_chunk_rec_end(&ch), 0);
	assert_int_equal(ch.data_len, DP_CHUNK_DATA);
	size_t len = out_json_rec(&ch, &ch.recs[0], &plain, out, sizeof(out));
	assert_int_equal(len, 0);  /* 64 KiB of out is too small */
	static char out2[DP_CHUNK_DATA + 64];
	len = out_json_rec(&ch, &ch.recs[0], &plain, out2, sizeof(out2));
	assert_int_equal(len, room + 8);
	assert_memory_equal(out2, big, len);
}

/* A field whose value is raw msgpack bytes. */
static void put_raw(const char *k, const void *mp, size_t n, enum dp_type t)
{
	dp_chunk_field_begin(&ch, k, strlen(k));
	dp_chunk_write(&ch, mp, n);
	dp_chunk_field_end(&ch, t);
}

static const struct dp_rec *raw_rec(const void *mp, size_t n, enum dp_type t)
{
	dp_chunk_reset(&ch);
	dp_chunk_rec_begin(&ch, 1, 0);
	put_raw("v", mp, n, t);
	assert_int_equal(dp_chunk_rec_end(&ch), 0);
	return &ch.recs[0];
}

#define RAW(t, ...) raw_rec((const uint8_t[]){ __VA_ARGS__ }, \
			    sizeof((const uint8_t[]){ __VA_ARGS__ }), t)

static void test_msgpack_forms(void **state)
{
	(void)state;
	/* integer widths */
	assert_enc(RAW(DP_T_ARRAY, 0x9c, 0xcc, 0xff, 0xcd, 0x01, 0x00, 0xce, 0xff, 0xff, 0xff, 0xff,
		       0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0, 0xd0, 0x80, 0xd1, 0x80, 0x00,
		       0xd2, 0x80, 0, 0, 0, 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
		       0x05, 0xff, 0xca, 0x3f, 0x00, 0x00, 0x00, 0xca, 0x3d, 0xcc, 0xcc, 0xcd),
		   &plain, "{\"v\":[255,256,4294967295,9223372036854775808,-128,-32768,"
		   "-2147483648,-2,5,-1,0.5,0.10000000149011612]}");
	/* bin as a field and nested; str8/16 forms */
	assert_enc(RAW(DP_T_BIN, 0xc4, 3, 'a', '\n', 0x00), &plain, "{\"v\":\"a\\n\\u0000\"}");
	assert_enc(RAW(DP_T_ARRAY, 0x93, 0xc5, 0, 1, 'b', 0xd9, 2, 'h', 'i', 0xda, 0, 1, '"'),
		   &plain, "{\"v\":[\"b\",\"hi\",\"\\\"\"]}");
	/* ext: fixext and ext8, as a field and nested; the type byte is dropped */
	assert_enc(RAW(DP_T_EXT, 0xd4, 0x05, 'x'), &plain, "{\"v\":\"x\"}");
	assert_enc(RAW(DP_T_MAP, 0x82, 0xa1, 't', 0xd7, 0x00, 0, 0, 0, 1, 0, 0, 0, 2,
		       0xa1, 'e', 0xc7, 2, 0x01, 'o', 'k'),
		   &plain, "{\"v\":{\"t\":\"\\u0000\\u0000\\u0000\\u0001\\u0000\\u0000\\u0000"
		   "\\u0002\",\"e\":\"ok\"}}");
	/* non-string keys are quoted */
	assert_enc(RAW(DP_T_MAP, 0x85, 0x01, 0xa1, 'a', 0xc3, 0xc0, 0xc0, 0x02, 0xcb,
		       0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0x90, 0xff, 0x80),
		   &plain, "{\"v\":{\"1\":\"a\",\"true\":null,\"null\":2,\"1.5\":[],\"-1\":{}}}");
	/* map16/array16 */
	assert_enc(RAW(DP_T_MAP, 0xde, 0, 1, 0xa1, 'k', 0xdc, 0, 2, 0xc2, 0xc3),
		   &plain, "{\"v\":{\"k\":[false,true]}}");
	/* a container as a key, truncated values, a reserved byte: not encodable */
	const struct dp_rec *r = RAW(DP_T_MAP, 0x81, 0x90, 0x01);
	assert_int_equal(out_json_rec(&ch, r, &plain, out, sizeof(out)), 0);
	r = RAW(DP_T_ARRAY, 0x92, 0x01);
	assert_int_equal(out_json_rec(&ch, r, &plain, out, sizeof(out)), 0);
	r = RAW(DP_T_ARRAY, 0x91, 0xd9, 5, 'a');
	assert_int_equal(out_json_rec(&ch, r, &plain, out, sizeof(out)), 0);
	r = RAW(DP_T_ARRAY, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01);
	assert_int_equal(out_json_rec(&ch, r, &plain, out, sizeof(out)), 0);
	r = RAW(DP_T_ARRAY, 0x91, 0xc1);
	assert_int_equal(out_json_rec(&ch, r, &plain, out, sizeof(out)), 0);
	r = RAW(DP_T_UINT, 0xcf, 0x01);
	assert_int_equal(out_json_rec(&ch, r, &plain, out, sizeof(out)), 0);

	/* deeper than OUT_JSON_MAX_DEPTH below a field */
	static uint8_t deep[OUT_JSON_MAX_DEPTH + 2];
	memset(deep, 0x91, sizeof(deep));
	deep[sizeof(deep) - 1] = 0x01;
	r = raw_rec(deep, sizeof(deep), DP_T_ARRAY);
	assert_int_equal(out_json_rec(&ch, r, &plain, out, sizeof(out)), 0);
	r = raw_rec(deep + 1, sizeof(deep) - 1, DP_T_ARRAY);
	size_t n = out_json_rec(&ch, r, &plain, out, sizeof(out));
	assert_int_equal(n, strlen("{\"v\":}") + 2 * OUT_JSON_MAX_DEPTH + 1);
}

static void test_put_helpers(void **state)
{
	(void)state;
	dp_chunk_reset(&ch);
	dp_chunk_rec_begin(&ch, 1, 0);
	dp_chunk_put_str(&ch, "s", 1, "x\"y", 3);
	dp_chunk_put_int(&ch, "i", 1, INT64_MIN);
	dp_chunk_put_double(&ch, "d", 1, NAN);
	dp_chunk_put_bool(&ch, "b", 1, false);
	dp_chunk_put_nil(&ch, "n", 1);
	assert_int_equal(dp_chunk_rec_end(&ch), 0);
	assert_enc(&ch.recs[0], &plain, "{\"s\":\"x\\\"y\",\"i\":-9223372036854775808,\"d\":null,"
		   "\"b\":false,\"n\":null}");
}

/* Random doubles: the text reads back (strtod) as the same bits and keeps
 * a '.' or exponent, so it parses as a float again. */
static void test_double_shortest(void **state)
{
	(void)state;
	srand(11);
	for (int i = 0; i < 200000; i++) {
		double d;
		if (i & 1) {
			uint64_t u = (uint64_t)rand() << 42 ^ (uint64_t)rand() << 21 ^ (uint64_t)rand();
			memcpy(&d, &u, 8);
			if (!isfinite(d))
				continue;
		} else {
			/* short decimals, the common case in logs */
			d = (double)(rand() % 2000000 - 1000000) / (double)(1 << (rand() % 5)) /
			    pow(10, rand() % 8);
		}
		dp_chunk_reset(&ch);
		dp_chunk_rec_begin(&ch, 1, 0);
		dp_chunk_put_double(&ch, "d", 1, d);
		assert_int_equal(dp_chunk_rec_end(&ch), 0);
		size_t n = out_json_rec(&ch, &ch.recs[0], &plain, out, sizeof(out));
		assert_true(n > 6);
		out[n - 1] = '\0';
		const char *num = out + 5;
		double back = strtod(num, NULL);
		if (memcmp(&back, &d, 8) != 0)
			fail_msg("%.17g printed as %s", d, num);
		assert_true(strpbrk(num, ".e") != NULL);
		/* no digits to spare: one fewer significant digit would not do */
		char g[40];
		snprintf(g, sizeof(g), "%.17g", d);
		for (int prec = 1; prec < 17; prec++) {
			snprintf(g, sizeof(g), "%.*g", prec, d);
			if (strtod(g, NULL) == d) {
				size_t sig = 0;
				bool lead = true;
				for (const char *p = num; *p && *p != 'e'; p++) {
					if (*p >= '1' && *p <= '9')
						lead = false;
					if (*p >= '0' && *p <= '9' && !lead)
						sig++;
				}
				/* trailing zeros of "3.0" and "100.0" are not significant */
				const char *e = strchr(num, 'e');
				const char *z = e ? e : num + strlen(num);
				while (z > num && (z[-1] == '0' || z[-1] == '.')) {
					if (z[-1] == '0')
						sig--;
					z--;
				}
				if ((int)sig > prec)
					fail_msg("%.17g printed as %s, %%.%dg is %s", d, num, prec, g);
				break;
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_round_trip, setup),
		cmocka_unit_test_setup(test_round_trip_stable, setup),
		cmocka_unit_test_setup(test_dates, setup),
		cmocka_unit_test_setup(test_file_line, setup),
		cmocka_unit_test_setup(test_cap, setup),
		cmocka_unit_test_setup(test_full_chunk, setup),
		cmocka_unit_test_setup(test_msgpack_forms, setup),
		cmocka_unit_test_setup(test_put_helpers, setup),
		cmocka_unit_test_setup(test_double_shortest, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
