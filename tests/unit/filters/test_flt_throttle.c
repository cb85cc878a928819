/*
 * test_flt_throttle.c — the throttle filter (filters/flt_throttle.c): the
 * sliding window of Fluent Bit's documentation ("7 becomes 6"), window
 * expiry, ticks without records, and the config errors. Time is driven
 * through fx->now_ns, never slept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <msgpack.h>
#include "flt_test_util.h"

extern const struct dp_filter_ops flt_throttle_ops;

#define SEC 1000000000ull
#define T0 (1000 * SEC + 123)

static void make(struct flt_t *t, ...)
{
	flt_t_init(t, &flt_throttle_ops);
	va_list ap;
	va_start(ap, t);
	for (const char *k; (k = va_arg(ap, const char *));)
		flt_kv(t, k, va_arg(ap, const char *));
	va_end(ap);
	if (flt_setup(t))
		fail_msg("setup: %s", t->err.msg);
}

/* Offer n records at time now; returns how many were kept (and checks
 * the chunk holds exactly those). */
static unsigned offer(struct flt_t *t, uint64_t now, unsigned n)
{
	unsigned kept = 0;
	t->fx.now_ns = now;
	for (unsigned i = 0; i < n; i++) {
		uint32_t before = t->c.nrecs;
		flt_rec(t, "msg", "x", NULL);
		if (flt_run(t) == DP_FILTER_KEEP)
			kept++;
		else
			assert_int_equal(t->c.nrecs, before);
		if (t->c.nrecs > DP_CHUNK_RECS - 10)
			dp_chunk_reset(&t->c);
	}
	return kept;
}

/* Docs, "Functional description": Rate 5, Window 5, Interval 1s; panes
 * 1 3 5 7 3 4, then 7 offered becomes 6 kept. */
static void test_doc_window(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Rate", "5", "Window", "5", "Interval", "1s", NULL);
	static const unsigned panes[] = { 1, 3, 5, 7, 3, 4 };
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(offer(&t, T0 + i * SEC, panes[i]), panes[i]);
	assert_int_equal(offer(&t, T0 + 6 * SEC, 7), 6);
	flt_expect(&t, t.c.nrecs - 1, "msg", "x", NULL);
	flt_t_fini(&t);
}

/* A burst fills the window (Rate x Window records); nothing more passes
 * until its pane leaves the window, Window intervals later. */
static void test_burst_and_expiry(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Rate", "10", "Window", "3", "Interval", "500ms", NULL);
	assert_int_equal(offer(&t, T0, 100), 30);
	assert_int_equal(offer(&t, T0 + SEC / 2, 5), 0);
	/* Ticks move the window even when no record comes. */
	t.fx.now_ns = T0 + SEC;
	flt_throttle_ops.tick(t.ctx, &t.fx, false);
	assert_int_equal(offer(&t, T0 + SEC + SEC / 4, 5), 0);
	assert_int_equal(offer(&t, T0 + 3 * SEC / 2, 100), 30);
	/* A long silence empties the whole window at once. */
	assert_int_equal(offer(&t, T0 + 100 * SEC, 40), 30);
	flt_throttle_ops.tick(t.ctx, &t.fx, true);
	flt_t_fini(&t);
}

/* Defaults: Rate 1, Window 5, Interval 1: 5 records per window span. */
static void test_defaults(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Print_Status", "on", NULL);
	assert_int_equal(offer(&t, T0, 9), 5);
	for (unsigned i = 1; i < 5; i++)
		assert_int_equal(offer(&t, T0 + i * SEC, 1), 0);
	/* The tick logs the status line here (Print_Status). */
	t.fx.now_ns = T0 + 5 * SEC;
	flt_throttle_ops.tick(t.ctx, &t.fx, false);
	assert_int_equal(offer(&t, T0 + 5 * SEC, 9), 5);
	flt_t_fini(&t);
}

/* A fractional Rate: Rate 1.5 x Window 2 = 3 records per window. */
static void test_fractional_rate(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Rate", "1.5", "Window", "2", NULL);
	assert_int_equal(offer(&t, T0, 10), 3);
	flt_t_fini(&t);
}

static void test_config_errors(void **state)
{
	(void)state;
	static const struct {
		const char *k, *v, *want;
	} cases[] = {
		{ "Rate", "abc", "Rate: expected a positive number" },
		{ "Rate", "0", "Rate: expected a positive number" },
		{ "Rate", "-3", "Rate: expected a positive number" },
		{ "Window", "0", "Window" },
		{ "Window", "x", "Window" },
		{ "Interval", "0", "Interval" },
		{ "Interval", "soon", "Interval" },
		{ "Print_Status", "maybe", "Print_Status" },
		{ "Rates", "1", "unknown key 'Rates'" },
	};
	for (size_t i = 0; i < DP_ARRAY_SIZE(cases); i++) {
		struct flt_t t;
		flt_t_init(&t, &flt_throttle_ops);
		flt_kv(&t, "Match", "*");
		flt_kv(&t, cases[i].k, cases[i].v);
		flt_setup_fails(&t, "test.conf:3: [FILTER] throttle", cases[i].want);
		flt_t_fini(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_window),
		cmocka_unit_test(test_burst_and_expiry),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_fractional_rate),
		cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
