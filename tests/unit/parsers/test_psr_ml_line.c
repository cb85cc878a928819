/*
 * test_psr_ml_line.c — the line parsers of the built-ins docker and cri
 * (psr_ml.h: psr_ml_parser_line, psr_ml_parser_key_group,
 * psr_ml_parser_match), as Fluent Bit builds them in
 * src/multiline/flb_ml_parser_docker.c (JSON, time key "time",
 * %Y-%m-%dT%H:%M:%S.%L, kept) and flb_ml_parser_cri.c (the regex
 * ^(?<time>.+?) (?<stream>stdout|stderr) (?<_p>F|P) (?<log>.*)$,
 * %Y-%m-%dT%H:%M:%S.%L%z, kept, empty values kept), key_group "stream".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "dp_chunk.h"
#include "dp_conf.h"
#include "dp_edit.h"
#include "psr_ml.h"
#include "psr_parser.h"

static struct dp_chunk c;
static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];

/* Parse line with p's line parser: 0 and the closed record, or -1. */
static int parse(const struct psr_ml_parser *p, const char *line)
{
	struct psr_parser_state *st = psr_parser_state_create(psr_ml_parser_line(p));
	assert_non_null(st);
	dp_chunk_init(&c, recs, fields, data);
	dp_chunk_rec_begin(&c, 0, 0);
	int rc = psr_parser_exec(psr_ml_parser_line(p), st, &c, line, strlen(line));
	psr_parser_state_destroy(st);
	if (rc)
		return -1;
	assert_int_equal(dp_chunk_rec_end(&c), 0);
	return 0;
}

static void expect_field(unsigned i, const char *k, const char *v)
{
	const struct dp_field *f = dp_tail_field(&c, i);
	assert_int_equal(f->type, DP_T_STR);
	assert_int_equal(f->key_len, strlen(k));
	assert_memory_equal(dp_field_key(&c, f), k, f->key_len);
	assert_int_equal(f->val_len, strlen(v));
	assert_memory_equal(dp_field_val(&c, f), v, f->val_len);
}

static void test_docker(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	struct psr_ml_set *set = psr_ml_set_create(&err);
	assert_non_null(set);
	const struct psr_ml_parser *p = psr_ml_set_find(set, "docker");
	assert_non_null(p);
	assert_non_null(psr_ml_parser_line(p));
	assert_string_equal(psr_ml_parser_key_group(p), "stream");
	/* flb_ml_parser_docker.c's example line */
	assert_int_equal(parse(p, "{\"log\": \"hey!\\n\", \"stream\": \"stdout\", "
			    "\"time\": \"2021-02-01T01:40:03.53412Z\"}"), 0);
	assert_int_equal(dp_tail_nfields(&c), 3);
	expect_field(0, "log", "hey!\n");
	expect_field(1, "stream", "stdout");
	expect_field(2, "time", "2021-02-01T01:40:03.53412Z");   /* Time_Keep */
	assert_int_equal(dp_tail(&c)->ts_sec, 1612143603);
	assert_int_equal(dp_tail(&c)->ts_nsec, 534120000);
	assert_int_equal(parse(p, "2021-02-01T01:40:03Z stdout F not json"), -1);
	/* endswith "\n": a piece without it is continued; "" is not taken */
	assert_int_equal(psr_ml_parser_match(p, "one, ", 5), 0);
	assert_int_equal(psr_ml_parser_match(p, "three\n", 6), 1);
	assert_int_equal(psr_ml_parser_match(p, "", 0), -1);
	psr_ml_set_destroy(set);
}

static void test_cri(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	struct psr_ml_set *set = psr_ml_set_create(&err);
	assert_non_null(set);
	const struct psr_ml_parser *p = psr_ml_set_find(set, "cri");
	assert_non_null(p);
	assert_non_null(psr_ml_parser_line(p));
	assert_string_equal(psr_ml_parser_key_group(p), "stream");
	assert_string_equal(psr_ml_parser_key_pattern(p), "_p");
	assert_int_equal(parse(p, "2019-05-07T18:57:50.904275087+02:00 stderr P 1a. partial "), 0);
	assert_int_equal(dp_tail_nfields(&c), 4);
	expect_field(0, "time", "2019-05-07T18:57:50.904275087+02:00");
	expect_field(1, "stream", "stderr");
	expect_field(2, "_p", "P");
	expect_field(3, "log", "1a. partial ");
	assert_int_equal(dp_tail(&c)->ts_sec, 1557255470 - 7200);   /* 18:57:50 UTC - 2 h */
	assert_int_equal(dp_tail(&c)->ts_nsec, 904275087);
	/* an empty log is a field (skip_empty off in flb_ml_parser_cri.c) */
	assert_int_equal(parse(p, "2019-05-07T18:57:50.1Z stdout F "), 0);
	assert_int_equal(dp_tail_nfields(&c), 4);
	expect_field(3, "log", "");
	assert_int_equal(parse(p, "{\"log\": \"x\"}"), -1);
	assert_int_equal(parse(p, "2019-05-07T18:57:50Z stdin F x"), -1);
	/* equal "F" on "_p" */
	assert_int_equal(psr_ml_parser_match(p, "F", 1), 1);
	assert_int_equal(psr_ml_parser_match(p, "P", 1), 0);
	psr_ml_set_destroy(set);
}

static void test_others_have_none(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	struct psr_ml_set *set = psr_ml_set_create(&err);
	assert_non_null(set);
	const struct psr_ml_parser *j = psr_ml_set_find(set, "java");
	assert_non_null(j);
	assert_null(psr_ml_parser_line(j));
	assert_null(psr_ml_parser_key_group(j));
	/* a [MULTILINE_PARSER] named docker replaces the built-in, line
	 * parser included */
	struct dp_conf *conf = dp_conf_load_buffer("[MULTILINE_PARSER]\n name docker\n type endswith\n"
						   " match_string x\n", 63, "t.conf", &err);
	assert_non_null(conf);
	assert_int_equal(psr_ml_set_add(set, &conf->sec[0], &err), 0);
	const struct psr_ml_parser *d = psr_ml_set_find(set, "docker");
	assert_non_null(d);
	assert_null(psr_ml_parser_line(d));
	dp_conf_destroy(conf);
	psr_ml_set_destroy(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker),
		cmocka_unit_test(test_cri),
		cmocka_unit_test(test_others_have_none),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
