/*
 * test_sched.c — the retry backoff (dp_sched.h) and its configuration.
 *
 * The formula is Fluent Bit's backoff_full_jitter (src/flb_scheduler.c in
 * fluent/fluent-bit; the manual's administration/scheduling-and-retries
 * page): retry n waits a uniform draw from [base, min(cap, base * 2^n)],
 * defaults scheduler.base 5 and scheduler.cap 2000 seconds. Checked here:
 * the bounds for every n, that draws spread over the range (not one value,
 * not only the ends), large n without overflow, cap < base, per-thread
 * states that differ; and in a pipeline: the defaults, fractions, and the
 * errors (file:line, key) for 0, a negative or malformed value and cap <
 * base; Retry_Limit's words and its refusal of 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dp_conf.h"
#include "dp_pipeline.h"
#include "dp_sched.h"

static void test_bounds_each_n(void **state)
{
	(void)state;
	struct dp_sched_rng r;
	dp_sched_rng_seed(&r, 42);
	for (unsigned n = 1; n < 40; n++) {
		uint64_t hi = 5000ull << (n < 20 ? n : 20);
		if (hi > 2000000)
			hi = 2000000;
		for (int i = 0; i < 2000; i++) {
			uint64_t ms = dp_sched_backoff_ms_r(&r, 5, 2000, n);
			if (ms < 5000 || ms > hi)
				fail_msg("n=%u: %llu ms outside [5000, %llu]", n, (unsigned long long)ms,
					 (unsigned long long)hi);
		}
	}
}

/* n = 1: [5 s, 10 s]. Ten equal bins all used, none with more than twice
 * its share, and the mean near the middle: full jitter, not a constant. */
static void test_spread(void **state)
{
	(void)state;
	struct dp_sched_rng r;
	dp_sched_rng_seed(&r, 7);
	unsigned bins[10] = { 0 };
	double sum = 0;
	const int N = 100000;
	for (int i = 0; i < N; i++) {
		uint64_t ms = dp_sched_backoff_ms_r(&r, 5, 2000, 1);
		unsigned b = (unsigned)((ms - 5000) * 10 / 5001);
		bins[b]++;
		sum += (double)ms;
	}
	for (int b = 0; b < 10; b++) {
		assert_true(bins[b] > N / 10 / 2);
		assert_true(bins[b] < N / 10 * 2);
	}
	double mean = sum / N;
	assert_true(mean > 7300 && mean < 7700);
}

/* Far past the cap: the cap bounds the draw, for n up to UINT_MAX, with no
 * shift overflow (UBSan would say) and still spread below the cap. */
static void test_large_n(void **state)
{
	(void)state;
	struct dp_sched_rng r;
	dp_sched_rng_seed(&r, 1);
	const unsigned ns[] = { 9, 10, 11, 31, 32, 63, 64, 65, 1000, 4294967295u };
	for (unsigned k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		uint64_t lo = UINT64_MAX, hi = 0;
		for (int i = 0; i < 1000; i++) {
			uint64_t ms = dp_sched_backoff_ms_r(&r, 5, 2000, ns[k]);
			assert_true(ms >= 5000 && ms <= 2000000);
			lo = ms < lo ? ms : lo;
			hi = ms > hi ? ms : hi;
		}
		assert_true(hi - lo > 1000000);   /* not pinned at the cap */
	}
	/* huge base and cap: clamped, no overflow */
	uint64_t ms = dp_sched_backoff_ms_r(&r, 1e15, 1e18, 70);
	assert_true(ms >= 1000000000000ull);
}

static void test_edges(void **state)
{
	(void)state;
	struct dp_sched_rng r;
	dp_sched_rng_seed(&r, 3);
	/* cap < base: base (Fluent Bit's range would be empty) */
	assert_int_equal(dp_sched_backoff_ms_r(&r, 5, 2, 3), 5000);
	/* cap == base: exactly base */
	assert_int_equal(dp_sched_backoff_ms_r(&r, 1, 1, 5), 1000);
	/* n = 0 is the first retry */
	for (int i = 0; i < 100; i++) {
		uint64_t ms = dp_sched_backoff_ms_r(&r, 0.1, 100, 0);
		assert_true(ms >= 100 && ms <= 200);
	}
	/* the thread's own state: bounds hold, two draws rarely equal */
	unsigned same = 0;
	uint64_t prev = 0;
	for (int i = 0; i < 100; i++) {
		uint64_t ms = dp_sched_backoff_ms(5, 2000, 3);
		assert_true(ms >= 5000 && ms <= 40000);
		same += ms == prev;
		prev = ms;
	}
	assert_true(same < 5);
}

/* Seeds give reproducible, distinct streams. */
static void test_rng(void **state)
{
	(void)state;
	struct dp_sched_rng a, b, c;
	dp_sched_rng_seed(&a, 99);
	dp_sched_rng_seed(&b, 99);
	dp_sched_rng_seed(&c, 100);
	unsigned eq = 0;
	for (int i = 0; i < 64; i++) {
		uint64_t x = dp_sched_rng_next(&a);
		assert_int_equal(x, dp_sched_rng_next(&b));
		eq += x == dp_sched_rng_next(&c);
	}
	assert_int_equal(eq, 0);
}

/* ---- configuration ---- */

static struct dp_err err;

static struct dp_pipeline *build(const char *text)
{
	memset(&err, 0, sizeof(err));
	struct dp_conf *c = dp_conf_load_buffer(text, strlen(text), "s.conf", &err);
	assert_non_null(c);
	struct dp_pipeline *pl = dp_pipeline_create(c, &err);
	dp_conf_destroy(c);
	return pl;
}

#define PIPE "[INPUT]\n    Name dummy\n[OUTPUT]\n    Name null\n    Match *\n"

static void test_conf_defaults(void **state)
{
	(void)state;
	struct dp_pipeline *pl = build(PIPE);
	if (!pl)
		fail_msg("%s", err.msg);
	assert_true(pl->svc.sched_base == DP_SCHED_BASE_DEFAULT);
	assert_true(pl->svc.sched_cap == DP_SCHED_CAP_DEFAULT);
	assert_int_equal(pl->out[0]->retry_limit, 1);   /* Fluent Bit's default */
	dp_pipeline_destroy(pl);
	pl = build("[SERVICE]\n    scheduler.base 0.25\n    scheduler.cap 30\n" PIPE);
	if (!pl)
		fail_msg("%s", err.msg);
	assert_true(pl->svc.sched_base == 0.25);
	assert_true(pl->svc.sched_cap == 30);
	dp_pipeline_destroy(pl);
}

static void expect_error(const char *text, const char *where, const char *key)
{
	struct dp_pipeline *pl = build(text);
	if (pl) {
		dp_pipeline_destroy(pl);
		fail_msg("accepted: %s", text);
	}
	if (!strstr(err.msg, where) || !strstr(err.msg, key))
		fail_msg("error '%s' does not name %s and %s", err.msg, where, key);
}

static void test_conf_errors(void **state)
{
	(void)state;
	expect_error("[SERVICE]\n    scheduler.base 0\n" PIPE, "s.conf:2:", "'scheduler.base'");
	expect_error("[SERVICE]\n    scheduler.base -1\n" PIPE, "s.conf:2:", "'scheduler.base'");
	expect_error("[SERVICE]\n    scheduler.base soon\n" PIPE, "s.conf:2:", "'scheduler.base'");
	expect_error("[SERVICE]\n    Flush 1\n    scheduler.cap 0\n" PIPE, "s.conf:3:", "'scheduler.cap'");
	expect_error("[SERVICE]\n    scheduler.base 10\n    scheduler.cap 5\n" PIPE, "s.conf:3:",
		     "'scheduler.cap'");
	/* base above the default cap, cap not written: base is named */
	expect_error("[SERVICE]\n    scheduler.base 3000\n" PIPE, "s.conf:2:", "'scheduler.base'");
}

static void test_retry_limit(void **state)
{
	(void)state;
	static const struct { const char *v; int want; } ok[] = {
		{ "1", 1 }, { "7", 7 }, { "no_limits", -1 }, { "False", -1 }, { "off", -1 },
		{ "no_retries", 0 },
	};
	for (unsigned i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), PIPE "    Retry_Limit %s\n", ok[i].v);
		struct dp_pipeline *pl = build(text);
		if (!pl)
			fail_msg("Retry_Limit %s: %s", ok[i].v, err.msg);
		assert_int_equal(pl->out[0]->retry_limit, ok[i].want);
		dp_pipeline_destroy(pl);
	}
	/* Fluent Bit warns and uses 1 for these; sluice refuses them */
	expect_error(PIPE "    Retry_Limit 0\n", "s.conf:6:", "'Retry_Limit'");
	expect_error(PIPE "    Retry_Limit -2\n", "s.conf:6:", "no_retries");
	expect_error(PIPE "    Retry_Limit many\n", "s.conf:6:", "'Retry_Limit'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds_each_n),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_large_n),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_rng),
		cmocka_unit_test(test_conf_defaults),
		cmocka_unit_test(test_conf_errors),
		cmocka_unit_test(test_retry_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
