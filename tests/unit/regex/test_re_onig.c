/*
 * test_re_onig.c — Onigmo (Ruby syntax) patterns rewritten for PCRE2
 * (regex/re_onig.h): the rewritten text, and that PCRE2 then matches what
 * Onigmo matches. Onigmo's syntax: its doc/RE (\h is a hex digit; names of
 * groups are any word; (?m) is dot-all in Ruby syntax), which Fluent Bit
 * compiles with ONIG_SYNTAX_RUBY (src/flb_regex.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <cmocka.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "re_onig.h"

static void tr(const char *in, const char *want)
{
	struct re_onig o;
	size_t bad = 0;
	assert_int_equal(re_onig_translate(in, strlen(in), &o, &bad), 0);
	if (strcmp(o.pat, want))
		fail_msg("%s\n  got:  %s\n  want: %s", in, o.pat, want);
	assert_int_equal(o.len, strlen(want));
	re_onig_fini(&o);
}

/* Does the rewritten pattern match s (whole match [0, len))? */
static bool matches(const char *pat, const char *s)
{
	struct re_onig o;
	size_t bad;
	assert_int_equal(re_onig_translate(pat, strlen(pat), &o, &bad), 0);
	int ec;
	PCRE2_SIZE eo;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)o.pat, o.len, PCRE2_MULTILINE, &ec, &eo, NULL);
	if (!re)
		fail_msg("does not compile: %s", o.pat);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	re_onig_fini(&o);
	return rc >= 0;
}

static void test_unchanged(void **state)
{
	(void)state;
	tr("^(?<host>[^ ]*) [^ ]* \\[(?<time>[^\\]]*)\\]$",
	   "^(?<_0>[^ ]*) [^ ]* \\[(?<_1>[^\\]]*)\\]$");
	tr("plain (a|b)+ \\d{3} [x-z]", "plain (a|b)+ \\d{3} [x-z]");
	tr("(?<=a)b(?<!c)(?:d)(?=e)(?!f)(?#note)", "(?<=a)b(?<!c)(?:d)(?=e)(?!f)(?#note)");
	tr("\\\\h", "\\\\h");   /* an escaped backslash, then a plain h */
}

/* Fluent Bit's stock istio-envoy-proxy parser names a group with 38 bytes
 * ("upstream_transport_failure_reason" and longer): PCRE2 stops at 32. */
static void test_long_names(void **state)
{
	(void)state;
	const char *p = "^(?<a_name_that_is_much_longer_than_thirty_two_bytes>\\d+) "
			"(?'quoted'\\w+) (?P<py>x)";
	struct re_onig o;
	size_t bad;
	assert_int_equal(re_onig_translate(p, strlen(p), &o, &bad), 0);
	assert_string_equal(o.pat, "^(?<_0>\\d+) (?<_1>\\w+) (?<_2>x)");
	assert_int_equal(o.nnames, 3);
	assert_string_equal(o.names[0], "a_name_that_is_much_longer_than_thirty_two_bytes");
	assert_string_equal(re_onig_name(&o, "_1"), "quoted");
	assert_string_equal(re_onig_name(&o, "_2"), "py");
	assert_null(re_onig_name(&o, "_3"));
	assert_null(re_onig_name(&o, "host"));
	assert_null(re_onig_name(&o, "_1x"));
	re_onig_fini(&o);
	assert_true(matches(p, "42 word x"));
}

static void test_backrefs(void **state)
{
	(void)state;
	tr("(?<q>['\"])(?<body>.*)\\k<q>", "(?<_0>['\"])(?<_1>.*)\\k<_0>");
	tr("(?<n>a)\\g<n>\\k<1>", "(?<_0>a)\\g<_0>\\k<1>");
	assert_true(matches("^(?<q>['\"])x\\k<q>$", "'x'"));
	assert_false(matches("^(?<q>['\"])x\\k<q>$", "'x\""));
}

/* \h: a hexadecimal digit in Onigmo, horizontal space in PCRE2. */
static void test_hex(void **state)
{
	(void)state;
	tr("\\h+", "[0-9a-fA-F]+");
	tr("[\\h_]", "[0-9a-fA-F_]");
	tr("\\H", "[^0-9a-fA-F]");
	assert_true(matches("^\\h{8}$", "deadBEEF"));
	assert_false(matches("^\\h$", " "));
	assert_false(matches("^\\h$", "g"));
	assert_true(matches("^[\\h-]+$", "0a-ff"));
	assert_true(matches("^\\H$", "g"));
	assert_true(matches("^[\\H]$", "z"));
	assert_false(matches("^[\\H]$", "9"));
}

/* Ruby's (?m) is dot-all. */
static void test_flags(void **state)
{
	(void)state;
	tr("(?m:a.b)", "(?s:a.b)");
	tr("(?im)x", "(?is)x");
	tr("(?i-m:x)", "(?i-s:x)");
	assert_true(matches("(?m:a.b)", "a\nb"));
	assert_false(matches("a.b", "a\nb"));
}

/* Inside a class nothing is a group; "[]" and "[^]" open with a literal ]. */
static void test_classes(void **state)
{
	(void)state;
	tr("[(?<x>)]", "[(?<x>)]");
	tr("[]a](?<n>b)", "[]a](?<_0>b)");
	tr("[^]](?<n>b)", "[^]](?<_0>b)");
	tr("[[:alpha:]](?<n>b)", "[[:alpha:]](?<_0>b)");
	/* "[:" with no class name after it is two bytes of the class, which
	 * ends at the first ']' (found by fuzz_onig) */
	tr("[[:p]a(?<n>b)[a:]", "[[:p]a(?<_0>b)[a:]");
	tr("[\\]](?<n>b)", "[\\]](?<_0>b)");
	assert_true(matches("^[]a]+$", "a]a"));
	/* a class in a class is their union in Onigmo: flattened */
	tr("[a-c[x-z]](?<n>b)", "[a-cx-z](?<_0>b)");
	tr("[[0-9][a-f]_]", "[0-9a-f_]");
	assert_true(matches("^[a[0-9]]+$", "a1a9"));
	assert_false(matches("^[a[0-9]]+$", "a]"));
}

static void test_errors(void **state)
{
	(void)state;
	struct re_onig o;
	size_t bad = 0;
	assert_int_equal(re_onig_translate("ab(?<name", 9, &o, &bad), -EINVAL);
	assert_int_equal(bad, 2);
	assert_int_equal(re_onig_translate("(?<>x)", 6, &o, &bad), -EINVAL);
	assert_int_equal(bad, 0);
	/* a pattern ending in a lone backslash is PCRE2's to refuse */
	assert_int_equal(re_onig_translate("a\\", 2, &o, &bad), 0);
	assert_string_equal(o.pat, "a\\");
	re_onig_fini(&o);
}

/* A '[' in a class is POSIX only as "[:name:]" (letters, optional ^):
 * otherwise the class ends at the first ']', as PCRE2 ends it, so a
 * group after it is still renamed. Found by fuzz_onig; the pattern is
 * read within its length (no NUL needed after it). */
static void test_posix_brackets(void **state)
{
	(void)state;
	tr("[[:alpha:][:^digit:]]", "[[:alpha:][:^digit:]]");
	tr("[[:x -] (?<g>a) :]", "[[:x -] (?<_0>a) :]");
	struct re_onig o;
	size_t bad = 0;
	assert_int_equal(re_onig_translate("[[:alpha:]]", 6, &o, &bad), 0);  /* "[[:alp" */
	assert_string_equal(o.pat, "[[:alp");
	re_onig_fini(&o);
	assert_true(matches("^[[:alpha:]]+$", "abc"));
	assert_false(matches("^[[:alpha:]]+$", "ab1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unchanged),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_backrefs),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_posix_brackets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
