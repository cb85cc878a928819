/*
 * test_log_supp.c — Log_Suppress_Interval's decision (dp_log.h,
 * dp_log_supp_check) against Fluent Bit's src/flb_log.c
 * (flb_log_cache_check_suppress): the first message is written, an
 * identical one within the interval is not, the first one after it is and
 * starts a new interval; other messages are apart; the oldest of a full
 * table goes; the clock may wrap; threads logging the same message at once
 * write it once. Threads: the main one, and 4 in the last test.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "dp_log.h"

static int check(struct dp_log_supp *s, const char *m, uint32_t now)
{
	return dp_log_supp_check(s, m, strlen(m), now);
}

static void test_interval(void **state)
{
	(void)state;
	struct dp_log_supp s = { .interval = 2 };
	assert_int_equal(check(&s, "[http.0] flush failed", 1000), 1);
	assert_int_equal(check(&s, "[http.0] flush failed", 2000), 0);
	assert_int_equal(check(&s, "other", 2100), 1);   /* a different text is apart */
	assert_int_equal(check(&s, "[http.0] flush failed", 2999), 0);
	assert_int_equal(check(&s, "[http.0] flush failed", 3000), 1);   /* 2 s on: written */
	assert_int_equal(check(&s, "[http.0] flush failed", 4999), 0);   /* a new interval from 3000 */
	assert_int_equal(check(&s, "other", 4100), 1);
	struct dp_log_supp frac = { .interval = 0.25 };
	assert_int_equal(check(&frac, "x", 0), 1);
	assert_int_equal(check(&frac, "x", 249), 0);
	assert_int_equal(check(&frac, "x", 250), 1);
}

static void test_full_table_and_wrap(void **state)
{
	(void)state;
	struct dp_log_supp s = { .interval = 60 };
	char m[16];
	for (int i = 0; i <= DP_LOG_SUPP_SLOTS; i++) {   /* one more than the slots */
		snprintf(m, sizeof(m), "msg %d", i);
		assert_int_equal(check(&s, m, 100u + (uint32_t)i), 1);
	}
	/* "msg 0", the oldest, made room for the last: written again */
	assert_int_equal(check(&s, "msg 0", 200), 1);
	/* the others are still remembered (but "msg 1", the oldest now, went
	 * for "msg 0") */
	for (int i = 2; i <= DP_LOG_SUPP_SLOTS; i++) {
		snprintf(m, sizeof(m), "msg %d", i);
		assert_int_equal(check(&s, m, 300), 0);
	}
	/* the millisecond clock wraps */
	struct dp_log_supp w = { .interval = 1 };
	assert_int_equal(check(&w, "x", UINT32_MAX - 100), 1);
	assert_int_equal(check(&w, "x", 500), 0);    /* 601 ms later */
	assert_int_equal(check(&w, "x", 900), 1);    /* 1001 ms later */
}

static struct dp_log_supp shared = { .interval = 10 };
static int written[4];

static void *hammer(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < 20000; i++)
		written[id] += check(&shared, "[tail.0] same message", 5000);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)(intptr_t)i), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(written[0] + written[1] + written[2] + written[3], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_full_table_and_wrap),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
