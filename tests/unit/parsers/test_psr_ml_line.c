/*
 * test_psr_ml_line.c — the line parsers of the built-ins docker and cri
 * (psr_ml.h: psr_ml_parser_line, psr_ml_parser_key_group,
 * psr_ml_parser_match), as Fluent Bit builds them in
 * src/multiline/flb_ml_parser_docker.c (JSON, time key "time",
 * %Y-%m-%dT%H:%M:%S.%L, kept) and flb_ml_parser_cri.c (the regex
 * ^(?<time>.+?) (?<stream>stdout|stderr) (?<_p>F|P) (?<log>.*)$,
 * %Y-%m-%dT%H:%M:%S.%L%z, kept, empty values kept), key_group "stream";
 * and a [MULTILINE_PARSER]'s `parser` and `key_group` (psr_ml_set_add,
 * psr_ml_set_resolve: the [PARSER] found once all are read, as Fluent
 * Bit's flb_ml_parsers_init; file:line when there is none).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
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

static struct dp_conf *load(const char *text, struct dp_err *err)
{
	struct dp_conf *conf = dp_conf_load_buffer(text, strlen(text), "t.conf", err);
	assert_non_null(conf);
	return conf;
}

static void test_section_parser(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	struct psr_ml_set *set = psr_ml_set_create(&err);
	struct psr_parsers *ps = psr_parsers_create();
	assert_non_null(set);
	assert_non_null(ps);
	/* the [MULTILINE_PARSER] comes before its [PARSER]: resolved later */
	struct dp_conf *conf = load("[MULTILINE_PARSER]\n name m\n type regex\n parser js\n"
				    " key_content msg\n key_group stream\n"
				    " rule \"start_state\" \"/^E/\" \"c\"\n rule \"c\" \"/^ /\" \"c\"\n"
				    "[PARSER]\n name js\n format json\n", &err);
	assert_int_equal(psr_ml_set_add(set, &conf->sec[0], &err), 0);
	assert_int_equal(psr_parsers_add(ps, &conf->sec[1], &err), 0);
	dp_conf_destroy(conf);   /* the set keeps copies */
	const struct psr_ml_parser *m = psr_ml_set_find(set, "m");
	assert_non_null(m);
	assert_null(psr_ml_parser_line(m));
	assert_string_equal(psr_ml_parser_line_name(m), "js");
	assert_true(psr_ml_parser_is_regex(m));
	assert_int_equal(psr_ml_set_resolve(set, ps, &err), 0);
	assert_ptr_equal(psr_ml_parser_line(m), psr_parsers_find(ps, "js"));
	assert_string_equal(psr_ml_parser_key_group(m), "stream");
	assert_string_equal(psr_ml_parser_key_content(m), "msg");
	/* the line parser gives the record the rules read */
	assert_int_equal(parse(m, "{\"stream\": \"stdout\", \"msg\": \"E1\"}"), 0);
	expect_field(1, "msg", "E1");
	/* built-ins: no section name; docker keeps its own */
	const struct psr_ml_parser *d = psr_ml_set_find(set, "docker");
	assert_null(psr_ml_parser_line_name(d));
	assert_non_null(psr_ml_parser_line(d));
	assert_false(psr_ml_parser_is_regex(d));
	psr_ml_set_destroy(set);
	psr_parsers_destroy(ps);
}

static void test_section_parser_errors(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	struct psr_ml_set *set = psr_ml_set_create(&err);
	struct psr_parsers *ps = psr_parsers_create();
	struct dp_conf *conf = load("[MULTILINE_PARSER]\n name m\n type regex\n key_content log\n"
				    " parser nosuch\n rule \"start_state\" \"/^E/\" \"start_state\"\n"
				    "[MULTILINE_PARSER]\n name n\n type endswith\n match_string x\n"
				    " parser js\n", &err);
	assert_int_equal(psr_ml_set_add(set, &conf->sec[0], &err), 0);
	/* parser without key_content: nothing the rules could test */
	err.key = NULL;
	assert_int_equal(psr_ml_set_add(set, &conf->sec[1], &err), -EINVAL);
	assert_non_null(strstr(err.msg, "t.conf:11:"));
	assert_non_null(strstr(err.msg, "key_content"));
	assert_string_equal(err.key, "parser");
	dp_conf_destroy(conf);
	err.key = NULL;
	assert_int_equal(psr_ml_set_resolve(set, ps, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "t.conf:5: [MULTILINE_PARSER] m: 'parser': no [PARSER] named "
				       "'nosuch'"));
	assert_string_equal(err.key, "parser");
	psr_ml_set_destroy(set);
	psr_parsers_destroy(ps);
}

/* has_line: whether the group flushed from a push holds the line pushed
 * (a start line flushes the group before it: not in it). */
static bool flushed_has_line[4];
static unsigned nflushed;

static void on_begin(void *arg)
{
	(void)arg;
}

static void on_flush(void *arg, const struct psr_ml_group *g)
{
	(void)arg;
	if (nflushed < 4)
		flushed_has_line[nflushed] = g->has_line;
	nflushed++;
}

static void test_group_has_line(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	struct psr_ml_set *set = psr_ml_set_create(&err);
	struct dp_conf *conf = load("[MULTILINE_PARSER]\n name m\n type regex\n"
				    " rule \"start_state\" \"/^E/\" \"c\"\n rule \"c\" \"/^ /\" \"c\"\n"
				    "[MULTILINE_PARSER]\n name e\n type endswith\n match_string .\n",
				    &err);
	assert_int_equal(psr_ml_set_add(set, &conf->sec[0], &err), 0);
	assert_int_equal(psr_ml_set_add(set, &conf->sec[1], &err), 0);
	dp_conf_destroy(conf);
	const struct psr_ml_parser *m = psr_ml_set_find(set, "m"), *e = psr_ml_set_find(set, "e");
	struct psr_ml_stream *st = malloc(sizeof(*st));
	assert_non_null(st);
	assert_int_equal(psr_ml_stream_init(st, &m, 1, 0, on_begin, on_flush, NULL), 0);
	nflushed = 0;
	assert_int_equal(psr_ml_stream_push(st, "E1", 2, 0, 0, 1), PSR_ML_START);
	assert_int_equal(psr_ml_stream_push(st, " a", 2, 0, 0, 2), PSR_ML_CONT);
	assert_int_equal(psr_ml_stream_push(st, "E2", 2, 0, 0, 3), PSR_ML_START);
	assert_int_equal(nflushed, 1);
	assert_false(flushed_has_line[0]);    /* E1's group, without E2 */
	psr_ml_stream_flush(st);              /* not from a push */
	assert_int_equal(nflushed, 2);
	assert_false(flushed_has_line[1]);
	psr_ml_stream_fini(st);
	assert_int_equal(psr_ml_stream_init(st, &e, 1, 0, on_begin, on_flush, NULL), 0);
	nflushed = 0;
	assert_int_equal(psr_ml_stream_push(st, "a", 1, 0, 0, 1), PSR_ML_START);
	assert_int_equal(psr_ml_stream_push(st, "b.", 2, 0, 0, 2), PSR_ML_CONT);
	assert_int_equal(nflushed, 1);
	assert_true(flushed_has_line[0]);     /* ended by the line pushed */
	psr_ml_stream_fini(st);
	free(st);
	psr_ml_set_destroy(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker),
		cmocka_unit_test(test_cri),
		cmocka_unit_test(test_others_have_none),
		cmocka_unit_test(test_section_parser),
		cmocka_unit_test(test_section_parser_errors),
		cmocka_unit_test(test_group_has_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
