/*
 * test_re_grep.c — the grep filter through its dp_filter_ops, configured
 * from sections as the configuration reader makes them: Fluent Bit's
 * documented examples (lines.txt with Regex / Exclude, nested keys with
 * the record accessor, Logical_Op), its legacy first-rule-decides quirk,
 * missing keys and non-strings, fallback patterns, and every setup error
 * naming its line. Single-threaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "dp_filter.h"
#include "dp_log.h"
#include "psr_json.h"

extern const struct dp_filter_ops re_grep_ops;

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];
static struct dp_chunk ch;

struct flt {
	struct dp_conf *conf;
	struct dp_filter f;
	void *ctx;
};

/* kv: "Key", "Value" pairs, NULL-terminated; line of pair i is 2 + i. */
static int flt_make(struct flt *t, const char *const *kv, struct dp_err *err)
{
	memset(t, 0, sizeof(*t));
	t->conf = dp_conf_create();
	struct dp_conf_section *s = dp_conf_section_add(t->conf, "FILTER", "t.conf", 1);
	dp_conf_kv_add(t->conf, s, "Name", "grep", "t.conf", 2);
	dp_conf_kv_add(t->conf, s, "Match", "*", "t.conf", 3);
	for (int i = 0; kv[i]; i += 2)
		dp_conf_kv_add(t->conf, s, kv[i], kv[i + 1], "t.conf", 4 + i / 2);
	t->f.ops = &re_grep_ops;
	t->f.sec = s;
	t->f.file = "t.conf";
	t->f.line = 1;
	strcpy(t->f.name, "grep.0");
	t->f.cfg = calloc(1, re_grep_ops.cfg_size);
	const struct dp_opt *const tabs[] = { dp_filter_common_opts, re_grep_ops.opts };
	void *const cfgs[] = { &t->f, t->f.cfg };
	const char *const ignore[] = { "Name", NULL };
	int rc = dp_opt_apply(tabs, cfgs, 2, s, "[FILTER] grep", ignore, err);
	if (!rc)
		rc = re_grep_ops.setup(&t->f, err);
	if (!rc) {
		t->ctx = re_grep_ops.shard_ctx_create(&t->f, 0);
		assert_non_null(t->ctx);
	}
	return rc;
}

static void flt_free(struct flt *t)
{
	if (t->ctx)
		re_grep_ops.shard_ctx_destroy(t->ctx);
	if (t->f.priv)
		re_grep_ops.teardown(&t->f);
	dp_opt_free(dp_filter_common_opts, &t->f);
	dp_opt_free(re_grep_ops.opts, t->f.cfg);
	free(t->f.cfg);
	dp_conf_destroy(t->conf);
}

static void flt_ok(struct flt *t, const char *const *kv)
{
	struct dp_err err = { 0 };
	int rc = flt_make(t, kv, &err);
	if (rc)
		fail_msg("setup: %s", err.msg);
}

/* Run one JSON record through the filter: true when kept. */
static bool keeps(struct flt *t, const char *json)
{
	dp_chunk_reset(&ch);
	dp_chunk_rec_begin(&ch, 1, 0);
	assert_int_equal(psr_json_parse(&ch, json, strlen(json)), 0);
	assert_int_equal(dp_chunk_rec_end(&ch), 0);
	struct dp_fx fx = { .c = &ch, .tag = "t", .tag_len = 1 };
	int rc = re_grep_ops.record(t->ctx, &fx);
	assert_true(rc == DP_FILTER_KEEP || rc == DP_FILTER_DROP);
	return rc == DP_FILTER_KEEP;
}

static const char *lines[] = { "aaa", "aab", "bbb", "ccc", "ddd", "eee", "fff", "ggg" };

/* Which of lines.txt pass, as a string of first letters+last: "aaa,aab". */
static void run_lines(struct flt *t, char *out)
{
	out[0] = 0;
	for (unsigned i = 0; i < DP_ARRAY_SIZE(lines); i++) {
		char js[64];
		snprintf(js, sizeof(js), "{\"log\": \"%s\"}", lines[i]);
		if (keeps(t, js)) {
			if (out[0])
				strcat(out, ",");
			strcat(out, lines[i]);
		}
	}
}

static int setup(void **state)
{
	(void)state;
	dp_chunk_init(&ch, recs, fields, data);
	return 0;
}

static void test_doc_regex_exclude(void **state)
{
	(void)state;
	struct flt t;
	char out[128];
	flt_ok(&t, (const char *[]){ "Regex", "log aa", NULL });
	run_lines(&t, out);
	assert_string_equal(out, "aaa,aab");
	flt_free(&t);
	flt_ok(&t, (const char *[]){ "Exclude", "log aa", NULL });
	run_lines(&t, out);
	assert_string_equal(out, "bbb,ccc,ddd,eee,fff,ggg");
	flt_free(&t);
	/* Fluent Bit's slash form, and $ in front of a plain key */
	flt_ok(&t, (const char *[]){ "regex", "$log /^A.B$/i", NULL });
	run_lines(&t, out);
	assert_string_equal(out, "aab");
	flt_free(&t);
}

static void test_doc_nested(void **state)
{
	(void)state;
	struct flt t;
	const char *rec = "{\"log\": \"x\", \"kubernetes\": {\"pod_name\": \"myapp-0\", "
			  "\"labels\": {\"app\": \"myapp\"}}}";
	flt_ok(&t, (const char *[]){ "Regex", "$kubernetes['labels']['app'] myapp", NULL });
	assert_true(keeps(&t, rec));
	assert_false(keeps(&t, "{\"kubernetes\": {\"labels\": {\"app\": \"other\"}}}"));
	assert_false(keeps(&t, "{\"kubernetes\": {\"labels\": {}}}"));
	assert_false(keeps(&t, "{\"log\": \"myapp\"}"));
	flt_free(&t);
	flt_ok(&t, (const char *[]){ "Exclude", "$kubernetes['labels']['app'] myapp", NULL });
	assert_false(keeps(&t, rec));
	assert_true(keeps(&t, "{\"log\": \"myapp\"}"));
	flt_free(&t);
}

/* Fluent Bit's Logical_Op example: {"endpoint":"localhost","value":"something"}. */
static void test_logical_op(void **state)
{
	(void)state;
	struct flt t;
	const char *rec = "{\"endpoint\": \"localhost\", \"value\": \"something\"}";
	flt_ok(&t, (const char *[]){ "Logical_Op", "or", "Regex", "value something", "Regex",
				     "value error", NULL });
	assert_true(keeps(&t, rec));
	assert_false(keeps(&t, "{\"value\": \"nothing here\"}"));
	flt_free(&t);
	flt_ok(&t, (const char *[]){ "Logical_Op", "AND", "Regex", "value something", "Regex",
				     "value error", NULL });
	assert_false(keeps(&t, rec));
	assert_true(keeps(&t, "{\"value\": \"something error\"}"));
	flt_free(&t);
	/* Exclude with OR: drop when any matches; with AND: when all do */
	flt_ok(&t, (const char *[]){ "Logical_Op", "OR", "Exclude", "value something", "Exclude",
				     "endpoint remote", NULL });
	assert_false(keeps(&t, rec));
	assert_true(keeps(&t, "{\"endpoint\": \"localhost\", \"value\": \"x\"}"));
	assert_false(keeps(&t, "{\"endpoint\": \"remote\"}"));
	flt_free(&t);
	flt_ok(&t, (const char *[]){ "Logical_Op", "AND", "Exclude", "value something", "Exclude",
				     "endpoint remote", NULL });
	assert_true(keeps(&t, rec));
	assert_false(keeps(&t, "{\"endpoint\": \"remote\", \"value\": \"something\"}"));
	flt_free(&t);
}

/* legacy: the first rule that decides wins (Fluent Bit's flb_grep.c). */
static void test_legacy_quirk(void **state)
{
	(void)state;
	struct flt t;
	/* fluent-bit#3259: the second Regex is never looked at */
	flt_ok(&t, (const char *[]){ "Regex", "app ^apple", "Regex", "date ^Mon", NULL });
	assert_true(keeps(&t, "{\"app\": \"apple-1\", \"date\": \"Tue Mar 16\"}"));
	assert_false(keeps(&t, "{\"app\": \"pear\", \"date\": \"Mon\"}"));
	flt_free(&t);
	/* Exclude before Regex is checked; after a matching Regex it is not */
	flt_ok(&t, (const char *[]){ "Exclude", "log bad", "Regex", "log ok", "Exclude", "log worse",
				     NULL });
	assert_false(keeps(&t, "{\"log\": \"ok bad\"}"));
	assert_true(keeps(&t, "{\"log\": \"ok worse\"}"));
	assert_false(keeps(&t, "{\"log\": \"neither\"}"));
	flt_free(&t);
	/* only Excludes: any match drops */
	flt_ok(&t, (const char *[]){ "Exclude", "log aa", "Exclude", "log ccc", NULL });
	char out[128];
	run_lines(&t, out);
	assert_string_equal(out, "bbb,ddd,eee,fff,ggg");
	flt_free(&t);
}

static void test_missing_and_types(void **state)
{
	(void)state;
	struct flt t;
	flt_ok(&t, (const char *[]){ "Regex", "n 5", NULL });
	assert_false(keeps(&t, "{\"n\": 5}"));       /* a number never matches */
	assert_false(keeps(&t, "{\"other\": \"5\"}")); /* missing key */
	assert_true(keeps(&t, "{\"n\": \"5\"}"));
	flt_free(&t);
	flt_ok(&t, (const char *[]){ "Exclude", "n 5", NULL });
	assert_true(keeps(&t, "{\"n\": 5}"));
	assert_true(keeps(&t, "{\"other\": \"5\"}"));
	assert_false(keeps(&t, "{\"n\": \"55\"}"));
	flt_free(&t);
}

/* Several keys and a pattern only PCRE2 can do, in one filter. */
static void test_groups_and_fallback(void **state)
{
	(void)state;
	struct flt t;
	int saved = dp_log_level;
	dp_log_level = DP_LOG_OFF;
	flt_ok(&t, (const char *[]){ "Logical_Op", "AND", "Regex", "log ERROR", "Regex",
				     "host ^web", "Regex", "log (\\w+) \\1", "Regex",
				     "$log timeout.*upstream", NULL });
	dp_log_level = saved;
	assert_true(keeps(&t, "{\"host\": \"web1\", \"log\": \"ERROR ERROR timeout upstream\"}"));
	assert_false(keeps(&t, "{\"host\": \"web1\", \"log\": \"ERROR WARN timeout upstream\"}"));
	assert_false(keeps(&t, "{\"host\": \"db1\", \"log\": \"ERROR ERROR timeout upstream\"}"));
	flt_free(&t);
}

static void assert_setup_err(const char *const *kv, const char *want1, const char *want2)
{
	struct flt t;
	struct dp_err err = { 0 };
	assert_int_not_equal(flt_make(&t, kv, &err), 0);
	if (!strstr(err.msg, want1) || (want2 && !strstr(err.msg, want2)))
		fail_msg("error '%s' lacks '%s' / '%s'", err.msg, want1, want2 ? want2 : "");
	flt_free(&t);
}

static void test_setup_errors(void **state)
{
	(void)state;
	assert_setup_err((const char *[]){ "Regex", "log", NULL }, "t.conf:4: [FILTER] grep",
			 "expected 'KEY REGEX'");
	assert_setup_err((const char *[]){ "Regex", "log ok", "Exclude", "log a(b", NULL },
			 "t.conf:5: [FILTER] grep", "'a(b'");
	assert_setup_err((const char *[]){ "Regex", "$log[ x", NULL }, "t.conf:4:",
			 "record accessor");
	assert_setup_err((const char *[]){ "Logical_Op", "OR", "Regex", "log a", "Exclude", "log b",
					   NULL },
			 "t.conf:6:", "both 'Regex' and 'Exclude'");
	assert_setup_err((const char *[]){ "Logical_Op", "XOR", NULL }, "t.conf:4:", "Logical_Op");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_doc_regex_exclude, setup),
		cmocka_unit_test_setup(test_doc_nested, setup),
		cmocka_unit_test_setup(test_logical_op, setup),
		cmocka_unit_test_setup(test_legacy_quirk, setup),
		cmocka_unit_test_setup(test_missing_and_types, setup),
		cmocka_unit_test_setup(test_groups_and_fallback, setup),
		cmocka_unit_test_setup(test_setup_errors, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
