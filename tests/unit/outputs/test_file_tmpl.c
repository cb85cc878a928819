/*
 * test_file_tmpl.c — the file output's Format template against Fluent
 * Bit's plugins/out_file/file.c (template_output, template_output_write)
 * and the example of docs.fluentbit.io/manual/data-pipeline/outputs/file
 * ("template format": Template {time} used={Mem.used} free={Mem.free}
 * total={Mem.total} gives "1564462620.000254 used=1045448 free=31760160
 * total=32805608"). Single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "dp_chunk.h"
#include "out_file_tmpl.h"
#include "psr_json.h"

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];
static struct dp_chunk ch;
static char out[4096];

static void expect(const char *tmpl, const char *json, uint32_t sec, uint32_t nsec, const char *want)
{
	dp_chunk_init(&ch, recs, fields, data);
	dp_chunk_rec_begin(&ch, sec, nsec);
	assert_int_equal(psr_json_parse(&ch, json, strlen(json)), 0);
	assert_int_equal(dp_chunk_rec_end(&ch), 0);
	struct out_file_tmpl t;
	assert_int_equal(out_file_tmpl_init(&t, tmpl), 0);
	size_t n = out_file_tmpl_rec(&t, &ch, &ch.recs[0], out, sizeof(out));
	out[n] = '\0';
	assert_string_equal(out, want);
	/* one byte short of the line: does not fit */
	if (n)
		assert_int_equal(out_file_tmpl_rec(&t, &ch, &ch.recs[0], out, n - 1), 0);
	out_file_tmpl_fini(&t);
}

static void test_doc_example(void **state)
{
	(void)state;
	expect("{time} used={Mem.used} free={Mem.free} total={Mem.total}",
	       "{\"Mem.total\":32805608,\"Mem.used\":1045448,\"Mem.free\":31760160}", 1564462620, 254000,
	       "1564462620.000254 used=1045448 free=31760160 total=32805608");
}

static void test_default_and_values(void **state)
{
	(void)state;
	/* Template's default; strings are written without quotes */
	expect("{time} {message}", "{\"message\":\"hello \\\"w\\\"\"}", 1700000000, 500000000,
	       "1700000000.500000 hello \"w\"");
	/* msgpack_object_print: true/false, nil, negative ints, floats "%f" */
	expect("{a}|{b}|{c}|{d}|{e}", "{\"a\":true,\"b\":null,\"c\":-7,\"d\":1.5,\"e\":18446744073709551615}",
	       1, 0, "true|nil|-7|1.500000|18446744073709551615");
}

static void test_braces(void **state)
{
	(void)state;
	/* a key the record lacks stays as written */
	expect("x={nope} y={y}", "{\"y\":\"1\"}", 1, 0, "x={nope} y=1");
	/* "{a{b}": the first brace is literal */
	expect("{a{y}", "{\"y\":\"1\"}", 1, 0, "{a1");
	/* an unclosed brace at the end, a lone '}' */
	expect("} {y} {ab", "{\"y\":\"1\"}", 1, 0, "} 1 {ab");
	/* strncmp(key, "time", size): {} and prefixes of time are the time */
	expect("{}/{ti}/{t}", "{\"t\":\"x\"}", 2, 0, "2.000000/2.000000/2.000000");
	expect("", "{\"y\":\"1\"}", 1, 0, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_example),
		cmocka_unit_test(test_default_and_values),
		cmocka_unit_test(test_braces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
