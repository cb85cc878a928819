/*
 * test_re_set.c — re_set: one database answers for many patterns; the
 * patterns Hyperscan rejects fall back to PCRE2 and answer the same way;
 * invalid patterns are errors naming them; PCRE2-only sets agree with the
 * Hyperscan ones; captures; Fluent Bit's /re/opts form. Single-threaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "dp_log.h"
#include "re_set.h"

#define S(x) x, strlen(x)

static void test_many_patterns_one_scan(void **state)
{
	(void)state;
	const char *p[] = { "ERROR", "timeout.*upstream", "^Jan", "disk (full|quota)", "x{3}" };
	struct dp_err err = { 0 };
	struct re_set *s = re_set_create(p, NULL, 5, "grep.0", &err);
	assert_non_null(s);
	assert_int_equal(re_set_count(s), 5);
	assert_int_equal(re_set_fallbacks(s), 0);
	struct re_scratch *sc = re_scratch_create(s);
	assert_non_null(sc);
	uint64_t bits[1];

	assert_int_equal(re_set_match(s, sc, S("Jan  1 ERROR timeout to upstream db"), bits), 3);
	assert_int_equal(bits[0], 0x7);
	assert_int_equal(re_set_match(s, sc, S("Feb disk quota; xxx"), bits), 2);
	assert_int_equal(bits[0], 0x18);
	assert_int_equal(re_set_match(s, sc, S("all is well in Jan"), bits), 0);
	assert_int_equal(bits[0], 0);
	/* '^' anchors at the start of the subject only (no multiline). */
	assert_int_equal(re_set_match(s, sc, S("x\nJan"), bits), 0);
	/* case matters by default; '.' does not cross a newline */
	assert_false(re_set_any(s, sc, S("error timeout\nupstream")));
	assert_true(re_set_any(s, sc, S("an ERROR")));
	assert_int_equal(re_set_first(s, sc, S("xxx then ERROR")), 0);
	assert_int_equal(re_set_first(s, sc, S("xxx then disk full")), 3);
	assert_int_equal(re_set_first(s, sc, S("nothing")), -1);
	/* the empty subject, and NULL with length 0 */
	assert_false(re_set_any(s, sc, "", 0));
	assert_false(re_set_any(s, sc, NULL, 0));
	re_scratch_destroy(sc);
	re_set_destroy(s);
}

static void test_flags(void **state)
{
	(void)state;
	const char *p[] = { "error", "a.b", "^two$" };
	unsigned f[] = { RE_CASELESS, RE_DOTALL, RE_MULTILINE };
	struct dp_err err = { 0 };
	struct re_set *s = re_set_create(p, f, 3, "t", &err);
	assert_non_null(s);
	struct re_scratch *sc = re_scratch_create(s);
	uint64_t bits[1];
	assert_int_equal(re_set_match(s, sc, S("ERROR a\nb\ntwo\nthree"), bits), 3);
	assert_int_equal(re_set_match(s, sc, S("Error"), bits), 1);
	re_scratch_destroy(sc);
	re_set_destroy(s);
}

static void test_empty_match(void **state)
{
	(void)state;
	/* PCRE: ".*" matches every subject, the empty one too. */
	const char *p[] = { "zz", ".*" };
	struct dp_err err = { 0 };
	struct re_set *s = re_set_create(p, NULL, 2, "t", &err);
	assert_non_null(s);
	struct re_scratch *sc = re_scratch_create(s);
	uint64_t bits[1];
	assert_int_equal(re_set_match(s, sc, "", 0, bits), 1);
	assert_int_equal(bits[0], 2);
	assert_int_equal(re_set_match(s, sc, S("azz"), bits), 2);
	re_scratch_destroy(sc);
	re_set_destroy(s);
}

/* Back references and lookaround: Hyperscan refuses them, PCRE2 matches
 * them; the rest of the set stays in Hyperscan. */
static void test_fallback(void **state)
{
	(void)state;
	const char *p[] = { "ERROR", "(a)\\1", "foo(?=bar)", "(?<!x)yz", "warn" };
	struct dp_err err = { 0 };
	int saved = dp_log_level;
	dp_log_level = DP_LOG_OFF;  /* the warnings are expected */
	struct re_set *s = re_set_create(p, NULL, 5, "grep.1", &err);
	dp_log_level = saved;
	assert_non_null(s);
	assert_int_equal(re_set_fallbacks(s), 3);
	assert_false(re_set_is_fallback(s, 0));
	assert_true(re_set_is_fallback(s, 1));
	assert_true(re_set_is_fallback(s, 2));
	assert_true(re_set_is_fallback(s, 3));
	assert_false(re_set_is_fallback(s, 4));
	struct re_scratch *sc = re_scratch_create(s);
	uint64_t bits[1];
	assert_int_equal(re_set_match(s, sc, S("aa foobar yz"), bits), 3);
	assert_int_equal(bits[0], 0xe);
	assert_int_equal(re_set_match(s, sc, S("ab foobaz xyz warn"), bits), 1);
	assert_int_equal(bits[0], 0x10);
	assert_int_equal(re_set_first(s, sc, S("warn foobar")), 2);
	assert_int_equal(re_set_first(s, sc, S("warn ERROR foobar")), 0);
	assert_true(re_set_any(s, sc, S("yz")));
	assert_false(re_set_any(s, sc, S("xyz")));
	re_scratch_destroy(sc);
	re_set_destroy(s);
}

static void test_invalid(void **state)
{
	(void)state;
	const char *p[] = { "ok", "a(b" };
	struct dp_err err = { 0 };
	assert_null(re_set_create(p, NULL, 2, "grep.0", &err));
	assert_int_equal(err.code, -EINVAL);
	assert_non_null(strstr(err.msg, "grep.0"));
	assert_non_null(strstr(err.msg, "'a(b'"));
	const char *q[] = { "[z-a]" };
	assert_null(re_set_create(q, NULL, 1, "grep.0", &err));
	assert_non_null(strstr(err.msg, "'[z-a]'"));
	/* Onigmo constructs with no exact PCRE2 form are refused by name,
	 * not passed on for PCRE2 to read otherwise (re_onig.h) */
	const char *r[] = { "ok", "(?~a|b)" };
	assert_null(re_set_create(r, NULL, 2, "grep.1", &err));
	assert_int_equal(err.code, -EINVAL);
	assert_non_null(strstr(err.msg, "'(?~a|b)'"));
	assert_non_null(strstr(err.msg, "absent operator"));
	const char *u[] = { "[\\u00e9]" };
	assert_null(re_set_create(u, NULL, 1, "grep.1", &err));
	assert_non_null(strstr(err.msg, "UTF-8"));
}

/* Onigmo's && and absent operator, rewritten with lookarounds: Hyperscan
 * has none, PCRE2 answers (a fallback), the same way Onigmo would. */
static void test_onigmo_rewritten(void **state)
{
	(void)state;
	const char *p[] = { "^[a-z&&[^aeiou]]+$", "\\A/\\*(?~\\*/)\\*/\\z", "x\\u0041" };
	struct dp_err err = { 0 };
	struct re_set *s = re_set_create(p, NULL, 3, "grep.0", &err);
	assert_non_null(s);
	assert_int_equal(re_set_fallbacks(s), 2);
	struct re_scratch *sc = re_scratch_create(s);
	assert_non_null(sc);
	assert_int_equal(re_set_first(s, sc, S("rhythm")), 0);
	assert_int_equal(re_set_first(s, sc, S("bad")), -1);
	assert_int_equal(re_set_first(s, sc, S("/* a */")), 1);
	assert_int_equal(re_set_first(s, sc, S("/* a */ */")), -1);
	assert_int_equal(re_set_first(s, sc, S("xA")), 2);
	re_scratch_destroy(sc);
	re_set_destroy(s);
}

/* More than 64 patterns: bits spill into the second word; PCRE2-only
 * gives the same answers as Hyperscan. */
static void test_many_and_pcre_only(void **state)
{
	(void)state;
	enum { N = 70 };
	char buf[N][16];
	const char *p[N];
	for (int i = 0; i < N; i++) {
		snprintf(buf[i], sizeof(buf[i]), "w%02dx", i);
		p[i] = buf[i];
	}
	struct dp_err err = { 0 };
	struct re_set *hs = re_set_create(p, NULL, N, "t", &err);
	struct re_set *pc = re_set_create_ex(p, NULL, N, "t", RE_SET_PCRE_ONLY, &err);
	assert_non_null(hs);
	assert_non_null(pc);
	assert_int_equal(re_set_fallbacks(hs), 0);
	assert_int_equal(re_set_fallbacks(pc), N);
	struct re_scratch *a = re_scratch_create(hs), *b = re_scratch_create(pc);
	uint64_t x[2], y[2];
	const char *subj = "w01x w65x w69x w70x w3x";
	assert_int_equal(re_set_match(hs, a, S(subj), x), 3);
	assert_int_equal(re_set_match(pc, b, S(subj), y), 3);
	assert_memory_equal(x, y, sizeof(x));
	assert_int_equal(x[0], 1ull << 1);
	assert_int_equal(x[1], 1ull << 1 | 1ull << 5);
	assert_int_equal(re_set_first(hs, a, S("w69x w66x")), 66);
	assert_int_equal(re_set_first(pc, b, S("w69x w66x")), 66);
	re_scratch_destroy(a);
	re_scratch_destroy(b);
	re_set_destroy(hs);
	re_set_destroy(pc);
}

static void test_capture(void **state)
{
	(void)state;
	const char *p[] = { "^([a-z]+)\\.(\\d+)(x)?", "zz" };
	struct dp_err err = { 0 };
	struct re_set *s = re_set_create_ex(p, NULL, 2, "t", RE_SET_CAPTURES, &err);
	assert_non_null(s);
	assert_int_equal(re_set_fallbacks(s), 0);
	struct re_scratch *sc = re_scratch_create(s);
	size_t ov[8];
	assert_int_equal(re_set_capture(s, sc, 0, S("app.42 rest"), ov, 4), 4);
	assert_int_equal(ov[0], 0);
	assert_int_equal(ov[1], 6);
	assert_int_equal(ov[2], 0);
	assert_int_equal(ov[3], 3);
	assert_int_equal(ov[4], 4);
	assert_int_equal(ov[5], 6);
	assert_true(ov[6] == SIZE_MAX && ov[7] == SIZE_MAX);
	assert_int_equal(re_set_capture(s, sc, 0, S("APP.42"), ov, 4), 0);
	re_scratch_destroy(sc);
	re_set_destroy(s);
	/* without RE_SET_CAPTURES a Hyperscan pattern has no PCRE2 code */
	s = re_set_create(p, NULL, 2, "t", &err);
	sc = re_scratch_create(s);
	assert_int_equal(re_set_capture(s, sc, 0, S("app.42"), ov, 4), -1);
	re_scratch_destroy(sc);
	re_set_destroy(s);
}

static void test_fb_pattern(void **state)
{
	(void)state;
	char buf[32];
	unsigned f = 0;
	assert_int_equal(re_pattern_from_fb("^aa", buf, sizeof(buf), &f), 0);
	assert_string_equal(buf, "^aa");
	assert_int_equal(f, 0);
	assert_int_equal(re_pattern_from_fb("/^apple$/", buf, sizeof(buf), &f), 0);
	assert_string_equal(buf, "^apple$");
	assert_int_equal(f, 0);
	assert_int_equal(re_pattern_from_fb("/Err/i", buf, sizeof(buf), &f), 0);
	assert_string_equal(buf, "Err");
	assert_int_equal(f, RE_CASELESS);
	f = 0;
	assert_int_equal(re_pattern_from_fb("/a.b/mx", buf, sizeof(buf), &f), 0);
	assert_string_equal(buf, "a.b");
	assert_int_equal(f, RE_DOTALL | RE_EXTENDED);
	f = 0;
	/* not the slash form: kept as it is */
	assert_int_equal(re_pattern_from_fb("/var/log", buf, sizeof(buf), &f), 0);
	assert_string_equal(buf, "/var/log");
	assert_int_equal(re_pattern_from_fb("/", buf, sizeof(buf), &f), 0);
	assert_string_equal(buf, "/");
	assert_int_equal(re_pattern_from_fb("0123456789", buf, 5, &f), -ENAMETOOLONG);
}

/* One scratch grown to serve two sets (a Hyperscan one and one with a
 * PCRE2 fallback needing more ovector pairs) answers for both. */
static void test_scratch_grow(void **state)
{
	(void)state;
	const char *pa[] = { "^b$", "a" };
	const char *pb[] = { "(x)(y)(z)\\1", "q" };
	unsigned fa[] = { RE_MULTILINE, 0 };
	struct dp_err err = { 0 };
	struct re_set *a = re_set_create(pa, fa, 2, "a", &err);
	struct re_set *b = re_set_create(pb, NULL, 2, "b", &err);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(re_set_is_fallback(b, 0));
	struct re_scratch *sc = re_scratch_create(a);
	assert_non_null(sc);
	assert_int_equal(re_scratch_grow(sc, b), 0);
	assert_int_equal(re_set_first(a, sc, S("x\nb\ny")), 0);
	assert_int_equal(re_set_first(a, sc, S("xa")), 1);
	assert_int_equal(re_set_first(b, sc, S("q xyzx")), 0);
	assert_int_equal(re_set_first(b, sc, S("q")), 1);
	assert_int_equal(re_set_first(b, sc, S("xyzy")), -1);
	re_scratch_destroy(sc);
	re_set_destroy(a);
	re_set_destroy(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_patterns_one_scan),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_empty_match),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_onigmo_rewritten),
		cmocka_unit_test(test_many_and_pcre_only),
		cmocka_unit_test(test_capture),
		cmocka_unit_test(test_fb_pattern),
		cmocka_unit_test(test_scratch_grow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
