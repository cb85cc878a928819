/*
 * test_hist.c — the fixed-bucket histogram (dp_hist.h): a value on a
 * bound goes in that bound's bucket (Prometheus' le is inclusive), one
 * past it in the next, beyond the last in +Inf; the bounds ascend; and a
 * reader's sum of several histograms adds buckets, counts and sums.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dp_hist.h"

static void check_spec(const struct dp_hist_spec *s)
{
	assert_true(s->nb > 0 && s->nb <= DP_HIST_MAXB);
	for (unsigned i = 1; i < s->nb; i++)
		assert_true(s->le[i] > s->le[i - 1]);
	assert_true(s->scale >= 1);
	/* Every bound in its own bucket, the next value in the next. */
	for (unsigned i = 0; i < s->nb; i++) {
		assert_int_equal(dp_hist_bucket(s, s->le[i]), i);
		assert_int_equal(dp_hist_bucket(s, s->le[i] + 1), i + 1);
		if (s->le[i] > (i ? s->le[i - 1] + 1 : 0))
			assert_int_equal(dp_hist_bucket(s, s->le[i] - 1), i);
	}
	assert_int_equal(dp_hist_bucket(s, 0), 0);
	assert_int_equal(dp_hist_bucket(s, UINT64_MAX), s->nb);
}

static void test_bounds(void **state)
{
	(void)state;
	check_spec(&dp_hist_seconds);
	check_spec(&dp_hist_records);
	/* The ranges the metrics promise: 0.5 ms .. 60 s, 1 .. 65536. */
	assert_int_equal(dp_hist_seconds.nb, 16);
	assert_true(dp_hist_seconds.le[0] == 500000ull);
	assert_true(dp_hist_seconds.le[15] == 60000000000ull);
	assert_int_equal(dp_hist_records.nb, 9);
	for (unsigned i = 0; i < dp_hist_records.nb; i++)
		assert_true(dp_hist_records.le[i] == 1ull << (2 * i));
	/* Seconds: 1 ms lands in le=0.001, 1.2 ms in le=0.0025. */
	assert_int_equal(dp_hist_bucket(&dp_hist_seconds, 1000000), 1);
	assert_int_equal(dp_hist_bucket(&dp_hist_seconds, 1200000), 2);
	/* Records: the largest burst, 32 chunks of 1024 records, is under le=65536. */
	assert_int_equal(dp_hist_bucket(&dp_hist_records, 32768), 8);
	assert_int_equal(dp_hist_bucket(&dp_hist_records, 2), 1);
}

static void test_observe_and_sum(void **state)
{
	(void)state;
	struct dp_hist a, b, sum;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&sum, 0, sizeof(sum));
	dp_hist_observe(&a, &dp_hist_records, 1);
	dp_hist_observe(&a, &dp_hist_records, 5);
	dp_hist_observe(&a, &dp_hist_records, 100000);
	dp_hist_observe(&b, &dp_hist_records, 4);
	dp_hist_observe(&b, &dp_hist_records, 16);
	assert_int_equal(dp_hist_count(&a), 3);
	assert_true(a.sum == 100006);
	dp_hist_add_to(&sum, &a);
	dp_hist_add_to(&sum, &b);
	assert_int_equal(dp_hist_count(&sum), 5);
	assert_true(sum.sum == 100026);
	assert_true(sum.b[0] == 1);   /* 1 */
	assert_true(sum.b[1] == 1);   /* 4 */
	assert_true(sum.b[2] == 2);   /* 5, 16 */
	assert_true(sum.b[9] == 1);   /* 100000: +Inf */
	/* Buckets past a spec's last are never touched. */
	for (unsigned i = dp_hist_records.nb + 1; i <= DP_HIST_MAXB; i++)
		assert_true(sum.b[i] == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_observe_and_sum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
