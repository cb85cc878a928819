/*
 * test_gelf.c — out_gelf.c: a record as Fluent Bit's GELF (encoding of
 * fluent-bit src/flb_pack_gelf.c, keys of
 * https://docs.fluentbit.io/manual/5.0/data-pipeline/outputs/kafka): Fluent
 * Bit's own expected outputs (tests/internal/gelf.c), nested maps and
 * arrays flattened, names and strings escaped as there, and every buffer
 * size from 0 up: either the whole message or 0, never a byte past cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "dp_chunk.h"
#include "out_gelf.h"
#include "psr_json.h"

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];
static struct dp_chunk ch;

static const struct dp_rec *parse(const char *json, uint32_t sec, uint32_t nsec)
{
	dp_chunk_init(&ch, recs, fields, data);
	dp_chunk_rec_begin(&ch, sec, nsec);
	assert_int_equal(psr_json_parse(&ch, json, strlen(json)), 0);
	assert_int_equal(dp_chunk_rec_end(&ch), 0);
	return &ch.recs[0];
}

static void test_fields(void **state)
{
	(void)state;
	const struct dp_rec *r = parse("{\"msg\":\"hi\\n\",\"host\":\"h\",\"level\":\"WARNING\",\"id\":1,"
				       "\"z\":null,\"b\":false,\"o\":{\"a\":[1,\"x\"]},\"msg\":\"dup\"}",
				       1700000000, 123456789);
	struct out_gelf_keys k = { .short_message = "msg" };
	char out[512];
	size_t n = out_gelf_rec(&ch, r, &k, out, sizeof(out));
	assert_int_not_equal(n, 0);
	out[n] = 0;
	assert_string_equal(out, "{\"version\":\"1.1\", \"short_message\":\"hi\\n\", \"host\":\"h\", \"level\":4, "
				 "\"_b\":\"false\", \"_o_a\":\"1, x\", \"timestamp\":1700000000.123}");
	/* every smaller buffer: 0, and nothing written past it */
	for (size_t cap = 0; cap < n; cap++) {
		char buf[512];
		memset(buf, 'Q', sizeof(buf));
		assert_int_equal(out_gelf_rec(&ch, r, &k, buf, cap), 0);
		for (size_t i = cap; i < sizeof(buf); i++)
			assert_int_equal(buf[i], 'Q');
	}
}

static void test_failures(void **state)
{
	(void)state;
	char out[256];
	/* no short_message */
	assert_int_equal(out_gelf_rec(&ch, parse("{\"log\":\"x\"}", 1, 0), NULL, out, sizeof(out)), 0);
	/* a level that is neither a non-negative integer nor a string */
	assert_int_equal(out_gelf_rec(&ch, parse("{\"short_message\":\"x\",\"level\":-1}", 1, 0), NULL,
				      out, sizeof(out)), 0);
	assert_int_equal(out_gelf_rec(&ch, parse("{\"short_message\":\"x\",\"level\":[1]}", 1, 0), NULL,
				      out, sizeof(out)), 0);
	/* an unknown level word stays a string */
	size_t n = out_gelf_rec(&ch, parse("{\"short_message\":\"x\",\"level\":\"loud\",\"timestamp\":2}",
					   1, 0), NULL, out, sizeof(out));
	assert_int_not_equal(n, 0);
	out[n] = 0;
	assert_string_equal(out, "{\"version\":\"1.1\", \"short_message\":\"x\", \"level\":\"loud\", "
				 "\"timestamp\":2}");
	/* a nil level fails too (Fluent Bit: "level must be a non-negative
	 * integer or a string"), where other nil members are left out */
	assert_int_equal(out_gelf_rec(&ch, parse("{\"short_message\":\"x\",\"level\":null}", 1, 0), NULL,
				      out, sizeof(out)), 0);
	assert_int_equal(out_gelf_rec(&ch, parse("{\"short_message\":\"x\",\"level\":{\"a\":1}}", 1, 0),
				      NULL, out, sizeof(out)), 0);
}

/* The GELF of json (record time sec.nsec) with short_message_key sm
 * (NULL: the default), compared whole, and every smaller buffer refused. */
static void expect_gelf(const char *json, uint32_t sec, uint32_t nsec, const char *sm,
			const char *want)
{
	const struct dp_rec *r = parse(json, sec, nsec);
	struct out_gelf_keys k = { .short_message = sm };
	static char out[4096];
	size_t n = out_gelf_rec(&ch, r, &k, out, sizeof(out) - 1);
	assert_int_not_equal(n, 0);
	out[n] = 0;
	assert_string_equal(out, want);
	assert_int_equal(out_gelf_rec(&ch, r, &k, out, n - 1), 0);
	assert_int_equal(out_gelf_rec(&ch, r, &k, out, n), n);
}

/* Fluent Bit's own expected output, tests/internal/gelf.c (test_gelf_pack_msec,
 * test_gelf_pack_tag_key): an array short_message, a boolean member, the
 * record time in milliseconds, ", " between members. */
static void test_fb_vectors(void **state)
{
	(void)state;
	expect_gelf("{\"t1\":[true,2019,\"str\"],\"t2\":false}", 337647600, 12341111, "t1",
		    "{\"version\":\"1.1\", \"short_message\":\"true, 2019, str\", \"_t2\":\"false\", "
		    "\"timestamp\":337647600.012}");
	expect_gelf("{\"t1\":[true,2019,\"str\"],\"t2\":false,\"tag\":\"test.gelf.fluent-bit\"}",
		    337647600, 12341111, "t1",
		    "{\"version\":\"1.1\", \"short_message\":\"true, 2019, str\", \"_t2\":\"false\", "
		    "\"_tag\":\"test.gelf.fluent-bit\", \"timestamp\":337647600.012}");
}

/* Nested maps, read off flb_msgpack_gelf_flatten (src/flb_pack_gelf.c):
 * one member per leaf named by its path, nil inside as null, an empty map
 * as nothing, a GELF key's map flattened under "_host". */
static void test_nested_maps(void **state)
{
	(void)state;
	expect_gelf("{\"short_message\":\"m\",\"k\":{\"a\":1,\"b\":{\"c\":null,\"d\":\"x y\"},\"e\":{}},"
		    "\"id\":3,\"host\":{\"name\":\"h1\"},\"after\":-7}", 1, 0, NULL,
		    "{\"version\":\"1.1\", \"short_message\":\"m\", \"_k_a\":1, \"_k_b_c\":null, "
		    "\"_k_b_d\":\"x y\", \"_host_name\":\"h1\", \"_after\":-7, \"timestamp\":1.000}");
	/* short_message as a map: present for the check, written flattened */
	expect_gelf("{\"short_message\":{\"a\":\"x\"}}", 1, 0, NULL,
		    "{\"version\":\"1.1\", \"_short_message_a\":\"x\", \"timestamp\":1.000}");
}

/* Arrays as one text: elements joined with ", ", an inner array in line,
 * a map as "k=v k=v", a nested map's keys as "p_q"; Fluent Bit puts no
 * space before a nested map's first pair ("x=1a_b=1"). */
static void test_arrays(void **state)
{
	(void)state;
	expect_gelf("{\"short_message\":\"m\",\"arr\":[1,-2,1.5,null,false,\"s\",[3,4],{\"x\":1,\"y\":\"z\"},"
		    "{\"p\":{\"q\":2},\"r\":3},{\"x\":1,\"a\":{\"b\":1}}],\"empty\":[]}", 1, 0, NULL,
		    "{\"version\":\"1.1\", \"short_message\":\"m\", "
		    "\"_arr\":\"1, -2, 1.500000, null, false, s, 3, 4, x=1 y=z, p_q=2 r=3, x=1a_b=1\", "
		    "\"_empty\":\"\", \"timestamp\":1.000}");
	/* inside a nested map, an array keeps no prefix for its maps */
	expect_gelf("{\"short_message\":\"m\",\"o\":{\"l\":[{\"k\":\"v\"}]}}", 1, 0, NULL,
		    "{\"version\":\"1.1\", \"short_message\":\"m\", \"_o_l\":\"k=v\", \"timestamp\":1.000}");
	/* what Fluent Bit would leave unescaped (broken JSON) is escaped */
	expect_gelf("{\"short_message\":\"m\",\"a\":[\"say \\\"hi\\\"\\n\"]}", 1, 0, NULL,
		    "{\"version\":\"1.1\", \"short_message\":\"m\", \"_a\":\"say \\\"hi\\\"\\n\", "
		    "\"timestamp\":1.000}");
}

/* Names and strings as flb_msgpack_gelf_key and flb_sds_cat_utf8 write
 * them: bytes outside [A-Za-z0-9_.-] of a name as '_', non-ASCII as
 * \uXXXX (surrogates above U+FFFF), control characters and DEL escaped. */
static void test_escapes(void **state)
{
	(void)state;
	expect_gelf("{\"short_message\":\"\xc3\xa9 \\\"q\\\" \\u0001\x7f \xf0\x9f\x98\x80\",\"user name\":\"a\","
		    "\"k/8s\":{\"pod.name\":\"p\"},\"\xc3\xbcn\xc3\xaf\":1}", 1, 0, NULL,
		    "{\"version\":\"1.1\", \"short_message\":\"\\u00e9 \\\"q\\\" \\u0001\\u007f \\ud83d\\ude00\", "
		    "\"_user_name\":\"a\", \"_k_8s_pod.name\":\"p\", \"___n__\":1, \"timestamp\":1.000}");

	/* a byte of invalid UTF-8 becomes U+E0XX (Fluent Bit's private-use
	 * mapping, src/flb_utils.c) */
	dp_chunk_init(&ch, recs, fields, data);
	dp_chunk_rec_begin(&ch, 1, 0);
	dp_chunk_put_str(&ch, "short_message", 13, "a\xff" "b", 3);
	assert_int_equal(dp_chunk_rec_end(&ch), 0);
	char out[128];
	size_t n = out_gelf_rec(&ch, &ch.recs[0], NULL, out, sizeof(out) - 1);
	assert_int_not_equal(n, 0);
	out[n] = 0;
	assert_string_equal(out, "{\"version\":\"1.1\", \"short_message\":\"a\xee\x83\xbf" "b\", "
				 "\"timestamp\":1.000}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_fb_vectors),
		cmocka_unit_test(test_nested_maps),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
