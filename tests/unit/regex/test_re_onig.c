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
#include <stdio.h>
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

/* Where the rewritten pattern's match of s ends, or -1 when it does not
 * match. Compiled as sluice compiles it: multiline, UTF when asked. */
static long match_end(const char *pat, const char *s)
{
	struct re_onig o;
	size_t bad;
	if (re_onig_translate(pat, strlen(pat), &o, &bad))
		fail_msg("refused: %s (%s)", pat, o.err);
	int ec;
	PCRE2_SIZE eo;
	uint32_t opts = PCRE2_MULTILINE | (o.utf ? PCRE2_UTF : 0);
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)o.pat, o.len, opts, &ec, &eo, NULL);
	if (!re)
		fail_msg("does not compile: %s", o.pat);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
	long end = rc >= 0 ? (long)pcre2_get_ovector_pointer(md)[1] : -1;
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	re_onig_fini(&o);
	return end;
}

/* Does the rewritten pattern match s (anywhere)? */
static bool matches(const char *pat, const char *s)
{
	return match_end(pat, s) >= 0;
}

/* The pattern is refused, with a message that names the construct. */
static void refused(const char *pat, const char *why_has)
{
	struct re_onig o;
	size_t bad = 99999;
	assert_int_equal(re_onig_translate(pat, strlen(pat), &o, &bad), -EINVAL);
	assert_non_null(o.err);
	if (!strstr(o.err, why_has))
		fail_msg("%s: '%s' does not say '%s'", pat, o.err, why_has);
	assert_true(bad < strlen(pat));
	assert_null(o.pat);
}

/* The set of printable ASCII characters (and \n) that `pat` (one class)
 * matches, as a string. */
static void class_set(const char *pat, char *out)
{
	char re[256];
	snprintf(re, sizeof(re), "^%s$", pat);
	size_t n = 0;
	for (int c = 1; c < 127; c++) {
		char s[2] = { (char)c, 0 };
		if ((c == '\n' || c >= ' ') && matches(re, s))
			out[n++] = (char)c;
	}
	out[n] = 0;
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
	assert_string_equal(o.err, "unterminated group name");
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
	/* "[:" with no ":]" before the next ']' opens a nested class in
	 * Onigmo (regparse.c: str_exist_check_with_esc), so this is one
	 * class; its characters are escaped where PCRE2 would read them as
	 * a POSIX bracket or a range */
	tr("[[:x -] (?<g>a) :]", "[\\:x \\- (?<g>a) \\:]");
	assert_true(matches("^[[:x -] (?<g>a) :]$", "g"));
	assert_false(matches("^[[:x -] (?<g>a) :]$", "b"));
	/* and a nested class left open is Onigmo's "premature end of
	 * char-class" (found by fuzz_onig, read within the length) */
	refused("[[:p]a(?<n>b)[a:]", "not terminated");
	struct re_onig o;
	size_t bad = 0;
	assert_int_equal(re_onig_translate("[[:alpha:]]", 6, &o, &bad), -EINVAL);  /* "[[:alp" */
	assert_int_equal(bad, 1);  /* the inner class */
	/* letters then ":]" is a bracket (PCRE2 knows Onigmo's names);
	 * other ":...:]" is Onigmo's invalid POSIX bracket type */
	refused("[[:alpha-x:]]", "POSIX");
	assert_true(matches("^[[:alpha:]]+$", "abc"));
	assert_false(matches("^[[:alpha:]]+$", "ab1"));
}

/* Onigmo's && intersects (doc/RE 6: lower precedence than union, only
 * higher than the leading ^). PCRE2 would read "&&" as two '&' and a
 * nested '[' as a character: rewritten with lookaheads. */
static void test_intersection(void **state)
{
	(void)state;
	char set[128];
	tr("[a-z&&[^aeiou]]", "(?:(?=[a-z])[^aeiou])");
	tr("[^a-z&&[^aeiou]]", "(?:(?!(?=[a-z])[^aeiou])[\\s\\S])");
	/* doc/RE's own example: [a-w&&[^c-g]z] ==> [abh-w] */
	class_set("[a-w&&[^c-g]z]", set);
	assert_string_equal(set, "abhijklmnopqrstuvw");
	class_set("[a-z&&[^aeiou]]", set);
	assert_string_equal(set, "bcdfghjklmnpqrstvwxyz");
	assert_true(matches("^[a-z&&[^aeiou]]+$", "rhythm"));
	assert_false(matches("^[a-z&&[^aeiou]]+$", "bad"));
	assert_false(matches("^[a-z&&[^aeiou]]$", "&"));
	/* three sides, \h in one */
	class_set("[a-z&&\\h&&[^c]]", set);
	assert_string_equal(set, "abdef");
	/* ^ negates the whole intersection (and matches a newline) */
	class_set("[^a-z&&[^aeiou]]", set);
	assert_null(strchr(set, 'b'));
	assert_non_null(strchr(set, 'e'));
	assert_non_null(strchr(set, 'Z'));
	assert_non_null(strchr(set, '\n'));
	/* caseless applies to every side */
	assert_true(matches("(?i)^[a-z&&[^aeiou]]$", "B"));
	assert_false(matches("(?i)^[a-z&&[^aeiou]]$", "E"));
	/* "&&" with no nested class, a single '&' is itself */
	class_set("[a-f&&d-z]", set);
	assert_string_equal(set, "def");
	class_set("[a&b]", set);
	assert_string_equal(set, "&ab");
	/* a '-' that stood next to a nested class is a character, not a
	 * range PCRE2 would make of the flattened text */
	class_set("[a-[x]]", set);
	assert_string_equal(set, "-ax");
	refused("[a&&]", "&&");
	refused("[&&a]", "&&");
	refused("[a-z&&[^aeiou]", "not terminated");
}

/* A negated class nested in a class: union with a complement. */
static void test_negated_nested(void **state)
{
	(void)state;
	char set[128];
	tr("[a[^bc]]", "(?:[a]|[^bc])");
	tr("[^a[^bc]]", "(?:(?!(?:[a]|[^bc]))[\\s\\S])");
	tr("[[^a][^b]]", "(?:[^a]|[^b])");
	class_set("[a[^bc]]", set);   /* a, or not b and not c */
	assert_null(strchr(set, 'b'));
	assert_null(strchr(set, 'c'));
	assert_non_null(strchr(set, 'a'));
	assert_non_null(strchr(set, 'x'));
	class_set("[^a[^bc]]", set);  /* neither a nor outside {b, c} */
	assert_string_equal(set, "bc");
	class_set("[x[^a-y]]", set);  /* x, z and all but a-y */
	assert_null(strchr(set, 'a'));
	assert_null(strchr(set, 'y'));
	assert_non_null(strchr(set, 'x'));
	assert_non_null(strchr(set, 'z'));
	/* [^a[bc]] has only union inside: one flat class */
	tr("[^a[bc]]", "[^abc]");
	/* a nested class opening with ']' keeps it a character */
	tr("[a[]b]]", "[a\\]b]");
	class_set("[a[]b]]", set);
	assert_string_equal(set, "]ab");
	/* a '^' inside \p{...} belongs to the property, not to a class */
	tr("[a[^b]\\p{^Lu}]", "(?:[a\\p{^Lu}]|[^b])");
	/* groups after a rewritten class are still renamed */
	tr("[a[^b]](?<n>x)", "(?:[a]|[^b])(?<_0>x)");
}

/* \uHHHH: a character by code point (doc/RE 2), UTF-8 in Fluent Bit. */
static void test_unicode_escape(void **state)
{
	(void)state;
	tr("\\u0041", "\\x{41}");
	tr("a\\u00e9+", "a(?-x:\xc3\xa9)+");
	assert_true(matches("^\\u0041$", "A"));
	assert_true(matches("^\\u00e9+$", "\xc3\xa9\xc3\xa9"));    /* éé */
	assert_false(matches("^\\u00e9$", "\xe9"));                /* a Latin-1 byte */
	assert_true(matches("^x\\u4e2dy$", "x\xe4\xb8\xad" "y"));  /* 中 */
	/* extended mode does not drop a continuation byte (U+0145: c5 85) */
	assert_true(matches("(?x)^\\u0145$", "\xc5\x85"));
	/* in a class: \x{...}, and past ASCII the pattern needs UTF mode */
	struct re_onig o;
	size_t bad;
	assert_int_equal(re_onig_translate("[\\u00e0-\\u00ff]", 15, &o, &bad), 0);
	assert_string_equal(o.pat, "[\\x{e0}-\\x{ff}]");
	assert_true(o.utf);
	re_onig_fini(&o);
	assert_int_equal(re_onig_translate("[\\u0041]", 8, &o, &bad), 0);
	assert_false(o.utf);
	re_onig_fini(&o);
	assert_true(matches("^[\\u00e0-\\u00ff]$", "\xc3\xa9"));
	assert_false(matches("^[\\u00e0-\\u00ff]$", "e"));
	refused("\\u12", "four hex digits");
	refused("[\\u12g4]", "four hex digits");
	refused("\\ud800", "surrogate");
}

/* (?~X): any string with no X in it (doc/RE 7, whose examples these are). */
static void test_absent(void **state)
{
	(void)state;
	tr("(?~abc)", "(?:(?:(?!abc)[\\s\\S])*[\\s\\S]{0,2})");
	tr("(?~a)", "(?:(?:(?!a)[\\s\\S])*)");
	const char *yes[] = { "", "ab", "aab", "ccdd" };
	const char *no[] = { "abc", "aabc", "ccabcdd" };
	for (unsigned k = 0; k < 4; k++)
		assert_true(matches("\\A(?~abc)\\z", yes[k]));
	for (unsigned k = 0; k < 3; k++)
		assert_false(matches("\\A(?~abc)\\z", no[k]));
	/* "Unlike (?:(?!abc).)*c, (?~abc)c matches "abc"" */
	assert_true(matches("\\A(?~abc)c\\z", "abc"));
	assert_false(matches("\\A(?:(?!abc).)*c\\z", "abc"));
	/* C comments */
	assert_true(matches("\\A\\/\\*(?~\\*\\/)\\*\\/\\z", "/**/"));
	assert_true(matches("\\A\\/\\*(?~\\*\\/)\\*\\/\\z", "/* foobar */"));
	assert_false(matches("\\A\\/\\*(?~\\*\\/)\\*\\/\\z", "/**/ */"));
	/* longest first, like .*, across a newline: "xab" of "xabcd" */
	assert_int_equal(match_end("\\A(?~abc)", "xabcd"), 3);
	assert_int_equal(match_end("\\A(?~abc)", "x\nyz"), 4);
	/* "(?~) never matches" */
	assert_false(matches("(?~)", ""));
	assert_false(matches("(?~)", "x"));
	/* escaped punctuation, \t, \xHH and '\ ' are literal characters */
	assert_true(matches("\\A(?~\\ \\x41)\\z", "xA"));
	assert_false(matches("\\A(?~\\ \\x41)\\z", "x A"));
	/* anything else has no exact PCRE2 form */
	refused("(?~a|b)", "absent operator");
	refused("(?~[ab])", "absent operator");
	refused("(?~ab+)", "absent operator");
	refused("x(?~a b)", "absent operator");
	refused("(?~abc", "not closed");
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
		cmocka_unit_test(test_intersection),
		cmocka_unit_test(test_negated_nested),
		cmocka_unit_test(test_unicode_escape),
		cmocka_unit_test(test_absent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
