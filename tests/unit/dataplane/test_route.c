/*
 * test_route.c — Match wildcards and Match_Regex against tags, with Fluent
 * Bit's semantics (dp_route.h): tables of (pattern, tag, expected), the
 * regex anchoring rules, "/re/flags", and compile errors.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dp_route.h"

struct route_case {
	const char *pattern;
	const char *tag;
	bool expected;
};

static const struct route_case wildcard_cases[] = {
	/* "*" matches everything, the empty tag too */
	{ "*", "", true },
	{ "*", "a", true },
	{ "*", "a.b.c", true },
	{ "**", "x", true },
	{ "***", "", true },
	/* prefix */
	{ "a.*", "a.b", true },
	{ "a.*", "a.b.c", true },  /* '*' crosses dots */
	{ "a.*", "a.", true },     /* '*' may be empty */
	{ "a.*", "a", false },
	{ "a.*", "ab", false },    /* the dot is literal */
	{ "a.*", "A.b", false },   /* case-sensitive */
	/* suffix */
	{ "*.b", "a.b", true },
	{ "*.b", "x.y.b", true },
	{ "*.b", ".b", true },
	{ "*.b", "b", false },
	{ "*.b", "a.b.c", false },
	{ "*.b", "a.bb", false },
	/* several stars */
	{ "a*b*c", "abc", true },
	{ "a*b*c", "aXbYc", true },
	{ "a*b*c", "a.b.c", true },
	{ "a*b*c", "abcbc", true },
	{ "a*b*c", "acb", false },
	{ "a*b*c", "abcb", false },
	{ "a*b*c", "xabc", false },
	{ "a**b", "ab", true },
	{ "*x*", "x", true },
	{ "*x*", "axb", true },
	{ "*x*", "ab", false },
	{ "*.*", ".", true },
	{ "*.*", "ab", false },
	{ "kube.*.log", "kube.var.log.containers.x.log", true },
	{ "kube.*.log", "kube.var.log.containers.x.logs", false },
	/* backtracking: the first candidate for what follows '*' is wrong */
	{ "*ab", "aab", true },
	{ "*ab", "abab", true },
	{ "*ab", "aba", false },
	{ "*aab", "aaab", true },
	{ "*abc", "ababc", true },
	{ "*abc", "abcabd", false },
	{ "a*aab", "aaaab", true },
	{ "a*aab", "aab", false },  /* needs the leading a plus aab */
	{ "a*aab", "aaab", true },
	{ "a*aab", "aaa", false },
	{ "*a*a", "aa", true },
	{ "*a*a", "a", false },
	{ "a*a", "a", false },
	{ "*.x*.y", "a.xb.xc.y", true },
	{ "*.x*.y", "a.xb.yc.y", true },
	{ "*.x*.y", "a.yb.x", false },
	/* literals, dots, empty */
	{ "", "", true },
	{ "", "a", false },
	{ "a", "", false },
	{ "*a", "", false },
	{ "a*", "", false },
	{ "a.b", "a.b", true },
	{ "a.b", "aXb", false },
	{ "a.b", "a.b.c", false }, /* the whole tag must match */
	{ "a.b", "a.", false },
	{ "a.b", "A.B", false },
	{ "app", "app.x", false },
	{ "my_cpu", "my_cpu", true },
	{ "?", "a", false },       /* no '?' wildcard: literal */
	{ "?", "?", true },
	{ "[ab]", "a", false },    /* no classes either */
	{ "[ab]", "[ab]", true },
};

static void test_wildcard_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < DP_ARRAY_SIZE(wildcard_cases); i++) {
		const struct route_case *c = &wildcard_cases[i];
		bool got = dp_tag_wildcard_match(c->pattern, c->tag, strlen(c->tag));
		struct dp_match m;
		struct dp_err err = { 0 };

		if (got != c->expected)
			fail_msg("wildcard '%s' vs tag '%s': got %d, want %d",
				 c->pattern, c->tag, got, c->expected);
		/* the same through struct dp_match */
		assert_int_equal(dp_match_init(&m, c->pattern, NULL, &err), 0);
		assert_non_null(m.wildcard);
		assert_null(m.re);
		if (dp_match_tag(&m, c->tag, strlen(c->tag)) != c->expected)
			fail_msg("dp_match_tag wildcard '%s' vs '%s'", c->pattern, c->tag);
		dp_match_fini(&m);
	}
}

/* The tag is (ptr, len): bytes past len must be ignored, NULs are bytes. */
static void test_wildcard_len(void **state)
{
	(void)state;
	assert_true(dp_tag_wildcard_match("a.b", "a.bXYZ", 3));
	assert_false(dp_tag_wildcard_match("a.b", "a.bXYZ", 2));
	assert_true(dp_tag_wildcard_match("a.*", "a.bc", 2));
	assert_false(dp_tag_wildcard_match("*c", "abcd", 2));
	assert_true(dp_tag_wildcard_match("*c", "abcd", 3));
	assert_true(dp_tag_wildcard_match("*", NULL, 0));
	assert_true(dp_tag_wildcard_match("", NULL, 0));
	assert_false(dp_tag_wildcard_match("a", NULL, 0));
	assert_true(dp_tag_wildcard_match("a*", "a\0b", 3));
	assert_false(dp_tag_wildcard_match("a", "a\0", 2));
	assert_false(dp_tag_wildcard_match("a*b", "a\0c", 3));
	assert_true(dp_tag_wildcard_match("a*b", "a\0b", 3));
}

/* A long tag with many near-misses stays correct (and quick). */
static void test_wildcard_long(void **state)
{
	char tag[4096];

	(void)state;
	memset(tag, 'a', sizeof(tag));
	assert_false(dp_tag_wildcard_match("*a*a*a*b", tag, sizeof(tag)));
	tag[sizeof(tag) - 1] = 'b';
	assert_true(dp_tag_wildcard_match("*a*a*a*b", tag, sizeof(tag)));
	assert_true(dp_tag_wildcard_match("a*ab", tag, sizeof(tag)));
	assert_false(dp_tag_wildcard_match("a*abb", tag, sizeof(tag)));
}

/* The obvious recursive definition, to check the iterative one against. */
static bool ref_glob(const char *p, const char *t, size_t len)
{
	if (*p == '\0')
		return len == 0;
	if (*p == '*')
		return ref_glob(p + 1, t, len) || (len > 0 && ref_glob(p, t + 1, len - 1));
	return len > 0 && *p == *t && ref_glob(p + 1, t + 1, len - 1);
}

/* Every pattern and tag over a small alphabet, exhaustively up to a length,
 * so that each placement of stars against each near-miss is covered. */
static void test_wildcard_vs_reference(void **state)
{
	static const char palph[] = "ab.*";
	static const char talph[] = "ab.";
	char pat[8], tag[8];
	unsigned checked = 0;

	(void)state;
	for (unsigned plen = 0; plen <= 5; plen++) {
		unsigned pn = 1;
		for (unsigned i = 0; i < plen; i++)
			pn *= 4;
		for (unsigned pi = 0; pi < pn; pi++) {
			unsigned x = pi;
			for (unsigned i = 0; i < plen; i++, x /= 4)
				pat[i] = palph[x % 4];
			pat[plen] = '\0';
			for (unsigned tlen = 0; tlen <= 6; tlen++) {
				unsigned tn = 1;
				for (unsigned i = 0; i < tlen; i++)
					tn *= 3;
				for (unsigned ti = 0; ti < tn; ti++) {
					unsigned y = ti;
					for (unsigned i = 0; i < tlen; i++, y /= 3)
						tag[i] = talph[y % 3];
					bool want = ref_glob(pat, tag, tlen);
					if (dp_tag_wildcard_match(pat, tag, tlen) != want)
						fail_msg("'%s' vs '%.*s': want %d", pat,
							 (int)tlen, tag, want);
					checked++;
				}
			}
		}
	}
	assert_true(checked > 1000000);
}

static const struct route_case regex_cases[] = {
	/* anchored at the start, a prefix is enough (onig_match at 0) */
	{ "app", "app", true },
	{ "app", "app.x", true },
	{ "app", "apple", true },
	{ "app", "my.app", false },
	{ "app", "ap", false },
	{ "app$", "app", true },
	{ "app$", "app.x", false },
	{ "^app", "app.x", true },
	{ "\\Aapp\\z", "app", true },
	{ "\\Aapp\\z", "appx", false },
	{ ".*app", "my.app", true }, /* unanchored needs an explicit .* */
	{ "kube\\..*", "kube.var.log", true },
	{ "kube\\.", "kubeXvar", false },
	{ "kube.", "kubeXvar", true }, /* '.' is a regex dot here */
	/* Fluent Bit's documented examples */
	{ "myTag.(error|warn|1|2)", "myTag.error", true },
	{ "myTag.(error|warn|1|2)", "myTag.2", true },
	{ "myTag.(error|warn|1|2)", "myTag.info", false },
	{ "(?:kube|service)\\.(.*)", "service.nginx", true },
	{ "(?:kube|service)\\.(.*)", "kube.a.b", true },
	{ "(?:kube|service)\\.(.*)", "system.x", false },
	/* an empty match is no match (Fluent Bit tests onig_match() > 0) */
	{ ".*", "", false },
	{ ".*", "x", true },
	{ "x*", "abc", false },
	{ "x*", "xab", true },
	{ "a|", "b", false },
	{ "|a", "a", false }, /* first alternative wins, and it is empty */
	{ "a\\Kb", "ab", true },
	/* case-sensitive unless /re/i */
	{ "APP", "app", false },
	{ "/APP/i", "app.x", true },
	{ "/APP/", "app", false },
	{ "/app/", "app", true },
	{ "/app/", "/app/", false },
	{ "/a.b/m", "a\nb", true },
	{ "a.b", "a\nb", false },
	{ "/a b # comment/x", "ab", true },
	{ "/app/io", "APP", true },
	{ "/a/b", "/a/bc", true },  /* unknown flag: taken verbatim */
	{ "/a/b", "a", false },
	{ "/", "/x", true },
	{ "\\d+", "123.x", true },
	{ "\\d+", "x123", false },
	/* UTF-8: '.' is one character, invalid bytes never match '.' */
	{ "^.$", "\xc3\xa9", true },
	{ "^..$", "\xc3\xa9", false },
	{ "a.$", "a\xff", false },
	{ "a", "a\xff", true },
};

static void test_regex_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < DP_ARRAY_SIZE(regex_cases); i++) {
		const struct route_case *c = &regex_cases[i];
		struct dp_match m;
		struct dp_err err = { 0 };
		int rc = dp_match_init(&m, NULL, c->pattern, &err);

		if (rc != 0)
			fail_msg("regex '%s' did not compile: %s", c->pattern, err.msg);
		assert_null(m.wildcard);
		assert_non_null(m.re);
		/* twice: the match data is reused, the answer must not drift */
		for (int k = 0; k < 2; k++) {
			bool got = dp_match_tag(&m, c->tag, strlen(c->tag));
			if (got != c->expected)
				fail_msg("regex '%s' vs tag '%s': got %d, want %d",
					 c->pattern, c->tag, got, c->expected);
		}
		dp_match_fini(&m);
	}
}

static void test_regex_len(void **state)
{
	struct dp_match m;

	(void)state;
	assert_int_equal(dp_match_init(&m, NULL, "abc$", NULL), 0);
	assert_true(dp_match_tag(&m, "abcd", 3));
	assert_false(dp_match_tag(&m, "abcd", 4));
	assert_false(dp_match_tag(&m, "abcd", 2));
	assert_false(dp_match_tag(&m, NULL, 0));
	dp_match_fini(&m);

	assert_int_equal(dp_match_init(&m, NULL, "a\\x00b", NULL), 0);
	assert_true(dp_match_tag(&m, "a\0b", 3));
	dp_match_fini(&m);
}

struct bad_regex {
	const char *pattern;
	const char *msg_part; /* PCRE2's message, or part of it */
	const char *offset;   /* "at offset N" in the user's string */
};

static const struct bad_regex bad_regexes[] = {
	{ "(", "missing closing parenthesis", "at offset 1" },
	{ "abc(def", "missing closing parenthesis", "at offset 7" },
	{ "a[", "missing terminating ]", "at offset 2" },
	{ "*abc", "quantifier does not follow a repeatable item", "at offset 0" },
	{ "a{2,1}", "numbers out of order", "at offset 5" },
	{ "/(/i", "missing closing parenthesis", "at offset 2" }, /* slash counted */
	{ "\xff", "UTF-8 error", "at offset 0" },
};

static void test_regex_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < DP_ARRAY_SIZE(bad_regexes); i++) {
		const struct bad_regex *b = &bad_regexes[i];
		struct dp_match m;
		struct dp_err err = { 0 };

		assert_int_equal(dp_match_init(&m, NULL, b->pattern, &err), -EINVAL);
		assert_int_equal(err.code, -EINVAL);
		if (!strstr(err.msg, b->msg_part) || !strstr(err.msg, b->offset))
			fail_msg("regex '%s': message '%s' lacks '%s' / '%s'",
				 b->pattern, err.msg, b->msg_part, b->offset);
		assert_non_null(strstr(err.msg, "Match_Regex"));
		/* nothing left behind; fini is harmless */
		assert_null(m.wildcard);
		assert_null(m.re);
		dp_match_fini(&m);
		/* no err given: same code, no crash */
		assert_int_equal(dp_match_init(&m, NULL, b->pattern, NULL), -EINVAL);
	}
}

static void test_init_args(void **state)
{
	struct dp_match m;
	struct dp_err err = { 0 };

	(void)state;
	assert_int_equal(dp_match_init(&m, "a", "a", &err), -EINVAL);
	assert_int_equal(err.code, -EINVAL);
	assert_true(strlen(err.msg) > 0);
	assert_null(m.wildcard);
	assert_null(m.re);
	assert_int_equal(dp_match_init(&m, NULL, NULL, NULL), -EINVAL);
	dp_match_fini(&m);

	/* the pattern is copied: the caller's string may go away */
	char buf[8] = "a.*";
	assert_int_equal(dp_match_init(&m, buf, NULL, &err), 0);
	strcpy(buf, "zzz");
	assert_true(dp_match_tag(&m, "a.b", 3));
	assert_false(dp_match_tag(&m, "zzz", 3));
	dp_match_fini(&m);
	dp_match_fini(&m); /* twice is harmless */
	assert_null(m.wildcard);

	/* a finished match matches nothing rather than crashing */
	assert_false(dp_match_tag(&m, "a.b", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wildcard_table),
		cmocka_unit_test(test_wildcard_len),
		cmocka_unit_test(test_wildcard_long),
		cmocka_unit_test(test_wildcard_vs_reference),
		cmocka_unit_test(test_regex_table),
		cmocka_unit_test(test_regex_len),
		cmocka_unit_test(test_regex_invalid),
		cmocka_unit_test(test_init_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
