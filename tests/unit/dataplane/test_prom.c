/*
 * test_prom.c — the Prometheus writer (dp_prom.h): label values escaped
 * as the exposition format requires (\\, \", \n; everything else as is),
 * the counter tables' names valid metric names, unique, and the text of
 * an empty pipeline well formed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dp_prom.h"
#include "dp_stats.h"

static char *escaped(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	dp_prom_label_escape(f, s);
	fclose(f);
	return buf;
}

static void test_label_escape(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "tcp.0", "tcp.0" },
		{ "", "" },
		{ "a\"b", "a\\\"b" },
		{ "back\\slash", "back\\\\slash" },
		{ "two\nlines", "two\\nlines" },
		{ "\\\"\n", "\\\\\\\"\\n" },
		{ "tab\tand é", "tab\tand é" },  /* only the three are escaped */
		{ "{name=\"x\"}", "{name=\\\"x\\\"}" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = escaped(cases[i][0]);
		assert_string_equal(got, cases[i][1]);
		free(got);
	}
}

static void check_table(const struct dp_stats_field *t, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		assert_non_null(t[k].name);
		assert_true(strspn(t[k].name, "abcdefghijklmnopqrstuvwxyz_0123456789") == strlen(t[k].name));
		assert_true(t[k].help && t[k].help[0]);
		assert_true(t[k].off % sizeof(uint64_t) == 0);
		for (unsigned j = 0; j < k; j++) {
			assert_string_not_equal(t[k].name, t[j].name);
			assert_true(t[k].off != t[j].off);
			if (t[k].fb && t[j].fb)
				assert_string_not_equal(t[k].fb, t[j].fb);
		}
	}
}

static void test_tables(void **state)
{
	(void)state;
	check_table(dp_stats_in_fields, dp_stats_in_nfields);
	check_table(dp_stats_out_fields, dp_stats_out_nfields);
	check_table(dp_stats_flt_fields, dp_stats_flt_nfields);
	check_table(dp_stats_store_fields, dp_stats_store_nfields);
	check_table(dp_stats_sp_fields, dp_stats_sp_nfields);
	/* every member of the summed structs has a row (none forgotten) */
	assert_int_equal(dp_stats_out_nfields * sizeof(uint64_t), sizeof(struct dp_stats_out));
	assert_int_equal(dp_stats_flt_nfields * sizeof(uint64_t), sizeof(struct dp_stats_flt));
	assert_int_equal(dp_stats_store_nfields * sizeof(uint64_t), sizeof(struct dp_stats_store));
	assert_int_equal(dp_stats_sp_nfields * sizeof(uint64_t), sizeof(struct dp_stats_sp));
	assert_int_equal((dp_stats_in_nfields + SHARD_PKT_NVERDICTS) * sizeof(uint64_t), sizeof(struct dp_stats_in));
}

/* No instance: Fluent Bit's global families, each HELP, TYPE, sample. */
static void test_empty_pipeline(void **state)
{
	(void)state;
	struct dp_pipeline *pl = calloc(1, sizeof(*pl));
	assert_non_null(pl);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	dp_prom_write(pl, f, DP_PROM_TEXT, 1700000000);
	fclose(f);
	assert_non_null(strstr(buf, "# HELP fluentbit_uptime Number of seconds that Fluent Bit has been running.\n"
				    "# TYPE fluentbit_uptime counter\nfluentbit_uptime{hostname=\""));
	assert_non_null(strstr(buf, "fluentbit_process_start_time_seconds{hostname=\""));
	assert_non_null(strstr(buf, "\"} 1700000000\n"));
	assert_true(len > 0 && buf[len - 1] == '\n');
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	dp_prom_write(pl, f, DP_PROM_CMT, 1700000000);
	fclose(f);
	assert_null(strstr(buf, "# HELP"));
	assert_non_null(strstr(buf, "Z fluentbit_uptime{hostname=\""));
	free(buf);
	free(pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_escape),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_empty_pipeline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
