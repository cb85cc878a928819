/*
 * test_ra.c — dp_ra: the record accessor syntax of Fluent Bit's docs (and
 * the errors), lookups through the field index and nested maps and arrays
 * built by the JSON parser, values of every type, the tail record, and
 * template prefixes. Single-threaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "dp_chunk.h"
#include "dp_edit.h"
#include "dp_ra.h"
#include "psr_json.h"

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];
static struct dp_chunk ch;

/* The record of Fluent Bit's record accessor page, plus arrays and numbers. */
static const char *doc_rec =
	"{\"log\": \"some message\", \"stream\": \"stdout\", \"labels\": {\"color\": \"blue\", "
	"\"unset\": null, \"project\": {\"env\": \"production\"}}, \"n\": -5, \"f\": 2.5, "
	"\"items\": [1, {\"a\": \"x\"}, [true, \"deep\"]], \"@timestamp\": \"t\"}";

static void parse_rec(const char *s)
{
	dp_chunk_init(&ch, recs, fields, data);
	dp_chunk_rec_begin(&ch, 1, 2);
	assert_int_equal(psr_json_parse(&ch, s, strlen(s)), 0);
	assert_int_equal(dp_chunk_rec_end(&ch), 0);
}

static bool get(const char *spec, struct dp_ra_val *v)
{
	struct dp_ra ra;
	struct dp_err err = { 0 };
	assert_int_equal(dp_ra_parse(spec, &ra, &err), 0);
	return dp_ra_get(&ra, &ch, dp_rec_fields(&ch, &ch.recs[0]), ch.recs[0].nfields, v);
}

static void assert_str(const char *spec, const char *want)
{
	struct dp_ra_val v;
	assert_true(get(spec, &v));
	assert_int_equal(v.type, DP_T_STR);
	assert_int_equal(v.len, strlen(want));
	assert_memory_equal(v.str, want, v.len);
	assert_memory_equal(dp_field_val(&ch, &v.f), want, v.f.val_len);
}

static void test_doc_examples(void **state)
{
	(void)state;
	parse_rec(doc_rec);
	assert_str("$log", "some message");
	assert_str("$labels['color']", "blue");
	assert_str("$labels['project']['env']", "production");
	struct dp_ra_val v;
	assert_true(get("$labels['unset']", &v));
	assert_int_equal(v.type, DP_T_NIL);
	assert_false(get("$labels['undefined']", &v));
	assert_false(get("$nokey", &v));
	/* plain names, double quotes, names with punctuation */
	assert_str("log", "some message");
	assert_str("labels[\"color\"]", "blue");
	assert_str("$@timestamp", "t");
	/* through something that is not a map */
	assert_false(get("$log['x']", &v));
	assert_false(get("$labels['color']['x']", &v));
	assert_false(get("$labels[0]", &v));
	/* keys are case-sensitive */
	assert_false(get("$Log", &v));
	assert_false(get("$labels['Color']", &v));
}

static void test_types_and_arrays(void **state)
{
	(void)state;
	parse_rec(doc_rec);
	struct dp_ra_val v;
	assert_true(get("$n", &v));
	assert_int_equal(v.type, DP_T_INT);
	assert_int_equal(dp_field_int(&ch, &v.f), -5);
	assert_true(get("$f", &v));
	assert_int_equal(v.type, DP_T_FLOAT);
	assert_true(dp_field_double(&ch, &v.f) == 2.5);
	assert_true(get("$items[0]", &v));
	assert_int_equal(v.type, DP_T_UINT);
	assert_int_equal(dp_field_int(&ch, &v.f), 1);
	assert_str("$items[1]['a']", "x");
	assert_true(get("$items[2][0]", &v));
	assert_int_equal(v.type, DP_T_BOOL);
	assert_true(dp_field_bool(&ch, &v.f));
	assert_str("$items[2][1]", "deep");
	assert_false(get("$items[3]", &v));
	assert_false(get("$items['a']", &v));
	assert_true(get("$labels['project']", &v));
	assert_int_equal(v.type, DP_T_MAP);
	assert_int_equal(v.f.val_len, dp_mp_object_size(data + v.f.val_off, DP_CHUNK_DATA));
	assert_true(get("$items", &v));
	assert_int_equal(v.type, DP_T_ARRAY);
}

static void test_tail(void **state)
{
	(void)state;
	parse_rec("{\"a\": \"first\"}");
	dp_chunk_rec_begin(&ch, 1, 2);
	const char *s = "{\"a\": \"second\", \"m\": {\"k\": \"v\"}}";
	assert_int_equal(psr_json_parse(&ch, s, strlen(s)), 0);
	struct dp_ra ra;
	struct dp_err err = { 0 };
	struct dp_ra_val v;
	assert_int_equal(dp_ra_parse("$m['k']", &ra, &err), 0);
	/* open record */
	assert_true(dp_ra_get_tail(&ra, &ch, &v));
	assert_memory_equal(v.str, "v", 1);
	assert_int_equal(dp_chunk_rec_end(&ch), 0);
	assert_true(dp_ra_get_tail(&ra, &ch, &v));
	assert_int_equal(dp_ra_parse("a", &ra, &err), 0);
	assert_true(dp_ra_get_tail(&ra, &ch, &v));
	assert_int_equal(v.len, 6);
	assert_memory_equal(v.str, "second", 6);
	dp_chunk_reset(&ch);
	assert_false(dp_ra_get_tail(&ra, &ch, &v));
}

static void test_parse_errors(void **state)
{
	(void)state;
	struct dp_ra ra;
	struct dp_err err = { 0 };
	const char *bad[] = { "", "$", "$a[", "$a['b'", "$a['b'", "$a[b]", "$a['b']x", "$a[]",
			      "$a[99999999999]", "['a']" };
	for (unsigned i = 0; i < DP_ARRAY_SIZE(bad); i++) {
		err.msg[0] = 0;
		assert_int_equal(dp_ra_parse(bad[i], &ra, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "record accessor"));
	}
	assert_int_equal(dp_ra_parse("$a[0][1][2][3][4][5][6]", &ra, &err), 0);
	assert_int_equal(ra.nparts, 8);
	assert_int_equal(dp_ra_parse("$a[0][1][2][3][4][5][6][7]", &ra, &err), -E2BIG);
	char longk[400];
	memset(longk, 'k', sizeof(longk));
	longk[0] = '$';
	longk[sizeof(longk) - 1] = 0;
	assert_int_equal(dp_ra_parse(longk, &ra, &err), -E2BIG);
}

static void test_prefix(void **state)
{
	(void)state;
	struct dp_ra ra;
	struct dp_err err = { 0 };
	size_t used;
	const char *t = "$kubernetes['ns'].$TAG[1]";
	assert_int_equal(dp_ra_parse_prefix(t, strlen(t), &used, &ra, &err), 0);
	assert_int_equal(used, 17);
	assert_int_equal(ra.nparts, 2);
	size_t kl;
	assert_memory_equal(dp_ra_key(&ra, &kl), "kubernetes", 10);
	assert_int_equal(kl, 10);
	assert_int_equal(dp_ra_parse_prefix(t + 18, strlen(t + 18), &used, &ra, &err), 0);
	assert_int_equal(used, 7);
	assert_int_equal(ra.part[1].index, 1);
	assert_int_equal(dp_ra_parse_prefix("$host.x", 7, &used, &ra, &err), 0);
	assert_int_equal(used, 5);
	assert_int_equal(dp_ra_parse_prefix("host", 4, &used, &ra, &err), -EINVAL);
	assert_int_equal(dp_ra_parse_prefix("$.x", 3, &used, &ra, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_examples),
		cmocka_unit_test(test_types_and_arrays),
		cmocka_unit_test(test_tail),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
