/*
 * test_gelf.c — out_gelf.c: a record as Fluent Bit's GELF (encoding of
 * fluent-bit src/flb_pack_gelf.c, keys of
 * https://docs.fluentbit.io/manual/5.0/data-pipeline/outputs/kafka), and
 * every buffer size from 0 up: either the whole message or 0, never a
 * byte past cap.
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
	assert_string_equal(out, "{\"version\":\"1.1\",\"short_message\":\"hi\\n\",\"host\":\"h\",\"level\":4,"
				 "\"_b\":\"false\",\"_o\":\"{\\\"a\\\":[1,\\\"x\\\"]}\","
				 "\"timestamp\":1700000000.123}");
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
	assert_string_equal(out, "{\"version\":\"1.1\",\"short_message\":\"x\",\"level\":\"loud\","
				 "\"timestamp\":2}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
