/*
 * test_flt_modify.c — the modify filter (filters/flt_modify.c) against
 * Fluent Bit's documented examples and the edge semantics of its
 * modify.c, records decoded with msgpack-c after the edit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <msgpack.h>
#include "flt_test_util.h"

extern const struct dp_filter_ops flt_modify_ops;

static void put_int(struct flt_t *t, const char *k, int64_t v)
{
	dp_chunk_put_int(&t->c, k, strlen(k), v);
}

/* The memory input's record of the docs' examples. */
static void mem_rec(struct flt_t *t)
{
	dp_chunk_rec_begin(&t->c, 1488543156u, 0);
	put_int(t, "Mem.total", 1016044);
	put_int(t, "Mem.used", 841388);
	put_int(t, "Mem.free", 174656);
	put_int(t, "Swap.total", 2064380);
	put_int(t, "Swap.used", 139888);
	put_int(t, "Swap.free", 1924492);
	assert_int_equal(dp_chunk_rec_end(&t->c), 0);
}

/* Set up a filter from pairs (key, value, ..., NULL). */
static void make(struct flt_t *t, ...)
{
	flt_t_init(t, &flt_modify_ops);
	va_list ap;
	va_start(ap, t);
	for (const char *k; (k = va_arg(ap, const char *));)
		flt_kv(t, k, va_arg(ap, const char *));
	va_end(ap);
	if (flt_setup(t))
		fail_msg("setup: %s", t->err.msg);
}

/* Docs, "Example usage": rename Key2, add OtherKey. */
static void test_doc_usage(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Rename", "Key2 RenamedKey", "Add", "OtherKey Value3", NULL);
	flt_rec(&t, "Key1", "Value1", "Key2", "Value2", NULL);
	assert_int_equal(flt_run(&t), DP_FILTER_KEEP);
	flt_expect(&t, 0, "Key1", "Value1", "RenamedKey", "Value2", "OtherKey", "Value3", NULL);
	flt_t_fini(&t);
}

/* Docs, "Example #1 - Add and Rename". */
static void test_doc_example1(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Add", "Service1 SOMEVALUE", "Add", "Service3 SOMEVALUE3", "Add",
	     "Mem.total2 TOTALMEM2", "Rename", "Mem.free MEMFREE", "Rename", "Mem.used MEMUSED",
	     "Rename", "Swap.total SWAPTOTAL", "Add", "Mem.total TOTALMEM", NULL);
	mem_rec(&t);
	mem_rec(&t);
	assert_int_equal(flt_run(&t), DP_FILTER_KEEP);
	flt_expect(&t, 1, "Mem.total", "1016044", "MEMUSED", "841388", "MEMFREE", "174656",
		   "SWAPTOTAL", "2064380", "Swap.used", "139888", "Swap.free", "1924492", "Service1",
		   "SOMEVALUE", "Service3", "SOMEVALUE3", "Mem.total2", "TOTALMEM2", NULL);
	/* The record before it is untouched. */
	flt_expect(&t, 0, "Mem.total", "1016044", "Mem.used", "841388", "Mem.free", "174656",
		   "Swap.total", "2064380", "Swap.used", "139888", "Swap.free", "1924492", NULL);
	flt_t_fini(&t);
}

/* Docs, "Example #2 - Conditionally Add and Remove": three filters. */
static void test_doc_example2(void **state)
{
	(void)state;
	struct flt_t a, b, c;
	make(&a, "Condition", "Key_Does_Not_Exist cpustats", "Condition", "Key_Exists Mem.used",
	     "Set", "cpustats UNKNOWN", NULL);
	make(&b, "Condition", "Key_Value_Does_Not_Equal cpustats KNOWN", "Add",
	     "sourcetype memstats", NULL);
	make(&c, "Condition", "Key_Value_Equals cpustats UNKNOWN", "Remove_wildcard", "Mem",
	     "Remove_wildcard", "Swap", "Add", "cpustats_more STILL_UNKNOWN", NULL);
	b.fx.c = c.fx.c = &a.c;
	mem_rec(&a);
	assert_int_equal(flt_run(&a), DP_FILTER_KEEP);
	assert_int_equal(flt_run(&b), DP_FILTER_KEEP);
	assert_int_equal(flt_run(&c), DP_FILTER_KEEP);
	flt_expect(&a, 0, "cpustats", "UNKNOWN", "sourcetype", "memstats", "cpustats_more",
		   "STILL_UNKNOWN", NULL);

	/* Without Mem.used the first condition set fails: nothing applies
	 * (b needs cpustats to exist, c needs it to equal UNKNOWN). */
	flt_rec(&a, "Swap.used", "1", NULL);
	flt_run(&a);
	flt_run(&b);
	flt_run(&c);
	flt_expect(&a, 1, "Swap.used", "1", NULL);
	flt_t_fini(&a);
	flt_t_fini(&b);
	flt_t_fini(&c);
}

/* Docs, "Example #3 - Emoji". */
static void test_doc_example3(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Remove_Wildcard", "Mem", "Remove_Wildcard", "Swap", "Set",
	     "This_plugin_is_on \xf0\x9f\x94\xa5", "Set", "\xf0\x9f\x94\xa5 is_hot", "Copy",
	     "\xf0\x9f\x94\xa5 \xf0\x9f\x92\xa6", "Rename", "\xf0\x9f\x92\xa6 \xe2\x9d\x84\xef\xb8\x8f",
	     "Set", "\xe2\x9d\x84\xef\xb8\x8f is_cold", "Set", "\xf0\x9f\x92\xa6 is_wet", NULL);
	mem_rec(&t);
	flt_run(&t);
	flt_expect(&t, 0, "This_plugin_is_on", "\xf0\x9f\x94\xa5", "\xf0\x9f\x94\xa5", "is_hot",
		   "\xe2\x9d\x84\xef\xb8\x8f", "is_cold", "\xf0\x9f\x92\xa6", "is_wet", NULL);
	flt_t_fini(&t);
}

static void test_set_add(void **state)
{
	(void)state;
	struct flt_t t;
	/* Set on an existing key removes every copy and appends at the end;
	 * rule names are case-insensitive, keys are not. */
	make(&t, "SET", "a new", "add", "b never", "Add", "B added", "Set", "q \"two words\"", NULL);
	flt_rec(&t, "a", "1", "b", "2", "a", "3", "A", "4", NULL);
	flt_run(&t);
	flt_expect(&t, 0, "b", "2", "A", "4", "a", "new", "B", "added", "q", "two words", NULL);
	flt_t_fini(&t);
}

static void test_remove(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Remove", "x", "Remove_regex", "^tmp_[0-9]+$", "Remove_wildcard", "k8s.", NULL);
	flt_rec(&t, "x", "1", "X", "2", "tmp_1", "a", "tmp_x", "b", "k8s.pod", "p", "k8s", "q", "x",
		"3", NULL);
	flt_run(&t);
	flt_expect(&t, 0, "X", "2", "tmp_x", "b", "k8s", "q", NULL);
	flt_t_fini(&t);
}

static void test_rename(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Rename", "a b", "Rename", "c d", "Hard_rename", "e f", "Hard_rename", "nope g", NULL);
	/* a -> b blocked by b; c -> d applies to every c; e -> f replaces f. */
	flt_rec(&t, "a", "1", "b", "2", "c", "3", "f", "4", "e", "5", "c", "6", NULL);
	flt_run(&t);
	flt_expect(&t, 0, "a", "1", "b", "2", "d", "3", "f", "5", "d", "6", NULL);
	flt_t_fini(&t);
}

static void test_copy(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Copy", "n m", "Copy", "s t", "Copy", "dup dup2", "Hard_copy", "s u", "Copy",
	     "absent z", NULL);
	dp_chunk_rec_begin(&t.c, 1, 0);
	put_int(&t, "n", -42);
	dp_chunk_put_str(&t.c, "s", 1, "str", 3);
	dp_chunk_put_str(&t.c, "u", 1, "old", 3);
	dp_chunk_put_str(&t.c, "dup", 3, "1", 1);
	dp_chunk_put_str(&t.c, "dup", 3, "2", 1);
	dp_chunk_put_bool(&t.c, "t", 1, true);
	assert_int_equal(dp_chunk_rec_end(&t.c), 0);
	flt_run(&t);
	/* n copied (an integer) right after n; s -> t blocked by t; dup has
	 * two sources: nothing; s -> u replaces u, after s. */
	flt_expect(&t, 0, "n", "-42", "m", "-42", "s", "str", "u", "str", "dup", "1", "dup", "2",
		   "t", "true", NULL);
	flt_t_fini(&t);

	/* Hard_copy onto itself: Fluent Bit's modify.c removes the
	 * destination, which is the source, and so loses the field; sluice
	 * keeps it (docs/OPERATIONS.md, "Differences from Fluent Bit"). */
	make(&t, "Hard_copy", "a a", NULL);
	flt_rec(&t, "z", "0", "a", "1", "b", "2", NULL);
	flt_run(&t);
	flt_expect(&t, 0, "z", "0", "a", "1", "b", "2", NULL);
	flt_t_fini(&t);

	/* Hard_copy onto a destination before the source: the copy goes
	 * right after the source, the old destination is gone. */
	make(&t, "Hard_copy", "s d", NULL);
	flt_rec(&t, "d", "old", "x", "1", "s", "new", NULL);
	flt_run(&t);
	flt_expect(&t, 0, "x", "1", "s", "new", "d", "new", NULL);
	flt_t_fini(&t);
}

static void test_move(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Move_to_start", "log", "Move_to_end", "a", NULL);
	flt_rec(&t, "a1", "1", "x", "2", "log", "3", "a2", "4", "logger", "5", "y", "6", NULL);
	flt_run(&t);
	flt_expect(&t, 0, "log", "3", "logger", "5", "x", "2", "y", "6", "a1", "1", "a2", "4", NULL);
	flt_t_fini(&t);
}

/* Pairs longer than the stack buffer of the byte rotation. */
static void test_move_large(void **state)
{
	(void)state;
	struct flt_t t;
	static char big1[3000], big2[5000];
	memset(big1, 'x', sizeof(big1) - 1);
	memset(big2, 'y', sizeof(big2) - 1);
	make(&t, "Move_to_end", "b", "Copy", "c1 c2", NULL);
	flt_rec(&t, "b1", big1, "c1", big2, "b2", "small", "d", big2, NULL);
	flt_run(&t);
	flt_expect(&t, 0, "c1", big2, "c2", big2, "d", big2, "b1", big1, "b2", "small", NULL);
	flt_t_fini(&t);
}

static void test_conditions(void **state)
{
	(void)state;
	static const struct {
		const char *cond;
		bool holds;
	} cases[] = {
		{ "Key_exists $level", true },
		{ "Key_exists LEVEL", false },
		{ "Key_does_not_exist nope", true },
		{ "A_key_matches ^lev", true },
		{ "No_key_matches ^lev", false },
		{ "No_key_matches ^zzz", true },
		{ "Key_value_equals level error", true },
		{ "Key_value_equals level Error", false },
		{ "Key_value_equals missing x", false },
		{ "Key_value_does_not_equal level info", true },
		{ "Key_value_does_not_equal missing info", false },
		{ "Key_value_matches level ^err", true },
		{ "Key_value_matches ok ^tr", true },          /* booleans as true/false */
		{ "Key_value_matches code ^5", false },        /* numbers never match */
		{ "Key_value_matches level /^ERR/i", true },
		{ "Key_value_does_not_match level ^warn", true },
		{ "Key_value_does_not_match missing ^warn", false },
		{ "Matching_keys_have_matching_values ^m_ ^v", true },
		{ "Matching_keys_have_matching_values ^(m_|level) ^v", false },
		{ "Matching_keys_have_matching_values ^none ^v", true },
		{ "Matching_keys_do_not_have_matching_values ^(m_|level) ^v", true },
		{ "Matching_keys_do_not_have_matching_values ^m_ ^v", false },
		{ "key_VALUE_equals \"sp ace\" \"a b\"", true },
	};
	for (size_t i = 0; i < DP_ARRAY_SIZE(cases); i++) {
		struct flt_t t;
		make(&t, "Condition", cases[i].cond, "Add", "hit yes", NULL);
		dp_chunk_rec_begin(&t.c, 1, 0);
		dp_chunk_put_str(&t.c, "level", 5, "error", 5);
		dp_chunk_put_bool(&t.c, "ok", 2, true);
		put_int(&t, "code", 500);
		dp_chunk_put_str(&t.c, "m_a", 3, "v1", 2);
		dp_chunk_put_str(&t.c, "m_b", 3, "v2", 2);
		dp_chunk_put_str(&t.c, "sp ace", 6, "a b", 3);
		assert_int_equal(dp_chunk_rec_end(&t.c), 0);
		flt_run(&t);
		bool hit = dp_tail_find(&t.c, "hit", 3) >= 0;
		if (hit != cases[i].holds)
			fail_msg("Condition %s: expected %d", cases[i].cond, cases[i].holds);
		flt_t_fini(&t);
	}
}

/* All conditions must hold. */
static void test_conditions_all(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Condition", "Key_exists a", "Condition", "Key_exists b", "Set", "both yes", NULL);
	flt_rec(&t, "a", "1", NULL);
	flt_run(&t);
	flt_expect(&t, 0, "a", "1", NULL);
	flt_rec(&t, "a", "1", "b", "2", NULL);
	flt_run(&t);
	flt_expect(&t, 1, "a", "1", "b", "2", "both", "yes", NULL);
	flt_t_fini(&t);
}

/* A chunk too full for the edit: the record is kept as it was. */
static void test_chunk_full(void **state)
{
	(void)state;
	struct flt_t t;
	static char big[DP_CHUNK_DATA - 200];
	memset(big, 'z', sizeof(big) - 1);
	static char val[300];
	memset(val, 'v', sizeof(val) - 1);
	char rule[400];
	snprintf(rule, sizeof(rule), "k %s", val);
	make(&t, "Set", rule, "Remove", "gone", NULL);
	flt_rec(&t, "big", big, "gone", "1", NULL);
	flt_run(&t);
	/* Set did not fit; the Remove after it still ran. */
	flt_expect(&t, 0, "big", big, NULL);
	flt_t_fini(&t);

	/* A Set over an existing key that does not fit keeps the old value
	 * (the edit is lost, never the field). */
	make(&t, "Set", rule, NULL);
	flt_rec(&t, "big", big, "k", "old", NULL);
	flt_run(&t);
	flt_expect(&t, 0, "big", big, "k", "old", NULL);
	flt_t_fini(&t);
}

static void test_config_errors(void **state)
{
	(void)state;
	static const struct {
		const char *k, *v, *want;
	} cases[] = {
		{ "Rename", "a", "Rename: expects KEY RENAMED_KEY" },
		{ "Set", "a b c", "Set: expects KEY VALUE" },
		{ "Remove", "a b", "Remove: expects KEY" },
		{ "Copy", "", "Copy: expects" },
		{ "Set", "a \"b", "unterminated quote" },
		{ "Condition", "Key_is_here a", "unknown condition 'Key_is_here'" },
		{ "Condition", "Key_exists", "Condition Key_exists: expects KEY" },
		{ "Condition", "Key_value_equals a", "expects KEY VALUE" },
		{ "Condition", "Key_exists $a['b']", "nested record accessor" },
		{ "Condition", "A_key_matches (", "regex '('" },
		{ "Remove_regex", "[a-", "Remove_regex: regex" },
		{ "Renamez", "a b", "unknown key 'Renamez'" },
	};
	for (size_t i = 0; i < DP_ARRAY_SIZE(cases); i++) {
		struct flt_t t;
		flt_t_init(&t, &flt_modify_ops);
		flt_kv(&t, "Match", "*");
		flt_kv(&t, cases[i].k, cases[i].v);
		/* The key's own line, 3, is named. */
		flt_setup_fails(&t, "test.conf:3: [FILTER] modify", cases[i].want);
		flt_t_fini(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_usage),
		cmocka_unit_test(test_doc_example1),
		cmocka_unit_test(test_doc_example2),
		cmocka_unit_test(test_doc_example3),
		cmocka_unit_test(test_set_add),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_rename),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_move_large),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_conditions_all),
		cmocka_unit_test(test_chunk_full),
		cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
