/*
 * test_http_limit.c — the http input's ingest limits (in_http_limit.c):
 * Rate_Limit's token buckets (starting full, whole batches only,
 * Retry-After, refill with the fraction kept, per tenant, the overflow
 * bucket past the table, the clock's 32-bit wrap, no tokens granted twice
 * under concurrent takes) and Dedupe_Window's table (keys, the window,
 * in flight on this shard or another, bounded).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>
#include "dp_common.h"
#include "in_http_limit.h"

#define T0 1000000ull   /* ms */

static void setup_cfg(struct in_http_limit_cfg *cfg, int64_t rate, double window)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->rate_limit = rate;
	cfg->dedupe_window = window;
	struct dp_err err = { 0 };
	assert_int_equal(in_http_limit_setup(cfg, &err), 0);
}

static long take(struct in_http_limit_cfg *cfg, const char *tenant, uint64_t n, uint64_t now_ms)
{
	return in_http_rate_take(cfg, tenant, strlen(tenant), n, now_ms);
}

static void test_off(void **state)
{
	(void)state;
	struct in_http_limit_cfg cfg;
	setup_cfg(&cfg, 0, 0);
	assert_null(cfg.rate);
	assert_null(cfg.dd);
	in_http_limit_teardown(&cfg);
}

static void test_bucket(void **state)
{
	(void)state;
	struct in_http_limit_cfg cfg;
	setup_cfg(&cfg, 60, 0);                          /* one a second, a bucket of 60 */
	assert_int_equal(take(&cfg, "", 60, T0), 0);     /* a new bucket starts full */
	assert_int_equal(take(&cfg, "", 1, T0), 1);      /* empty: 1 s for one */
	assert_int_equal(take(&cfg, "", 5, T0), 5);
	assert_int_equal(take(&cfg, "", 61, T0), -1);    /* more than a minute's worth: never */
	/* refused batches took nothing: 4 s later 4 are back, 5 need 1 s more */
	assert_int_equal(take(&cfg, "", 5, T0 + 4000), 1);
	assert_int_equal(take(&cfg, "", 4, T0 + 4000), 0);
	/* the fraction stays owed: 1.5 s gives one token, the half is kept */
	assert_int_equal(take(&cfg, "", 1, T0 + 5500), 0);
	assert_int_equal(take(&cfg, "", 1, T0 + 6000), 0);
	assert_int_equal(take(&cfg, "", 1, T0 + 6000), 1);
	/* the refill stops at a minute's worth */
	assert_int_equal(take(&cfg, "", 60, T0 + 3600000), 0);
	assert_int_equal(take(&cfg, "", 1, T0 + 3600000), 1);
	in_http_limit_teardown(&cfg);
}

static void test_retry_after_rounds_up(void **state)
{
	(void)state;
	struct in_http_limit_cfg cfg;
	setup_cfg(&cfg, 6000, 0);                        /* 100 a second */
	assert_int_equal(take(&cfg, "", 6000, T0), 0);
	assert_int_equal(take(&cfg, "", 1, T0), 1);      /* 10 ms: at least 1 s */
	assert_int_equal(take(&cfg, "", 150, T0), 2);    /* 1.5 s: 2 */
	assert_int_equal(take(&cfg, "", 200, T0), 2);    /* 2 s exactly */
	in_http_limit_teardown(&cfg);
}

static void test_tenants(void **state)
{
	(void)state;
	struct in_http_limit_cfg cfg;
	setup_cfg(&cfg, 10, 0);
	assert_int_equal(take(&cfg, "a", 10, T0), 0);
	assert_true(take(&cfg, "a", 1, T0) > 0);
	assert_int_equal(take(&cfg, "b", 10, T0), 0);    /* its own bucket */
	assert_int_equal(take(&cfg, "", 10, T0), 0);     /* no tenant: one more */
	assert_true(take(&cfg, "a", 1, T0) > 0);
	in_http_limit_teardown(&cfg);
}

static void test_overflow_bucket(void **state)
{
	(void)state;
	struct in_http_limit_cfg cfg;
	setup_cfg(&cfg, 10, 0);
	char name[32];
	/* more tenants than the table holds: each gets a bucket or the
	 * shared overflow one, whose 10 tokens go to the first comers */
	int refused = 0;
	for (int i = 0; i < 3 * 4096; i++) {
		snprintf(name, sizeof(name), "tenant-%d", i);
		refused += take(&cfg, name, 10, T0) != 0;
	}
	assert_true(refused > 0);
	assert_true(refused < 3 * 4096 - 4096 + 1);
	/* a tenant that got its own slot keeps it */
	assert_true(take(&cfg, "tenant-0", 1, T0) > 0);
	assert_int_equal(take(&cfg, "tenant-0", 10, T0 + 60000), 0);
	in_http_limit_teardown(&cfg);
}

static void test_clock_wrap(void **state)
{
	(void)state;
	struct in_http_limit_cfg cfg;
	setup_cfg(&cfg, 60, 0);
	uint64_t t = (1ull << 32) - 500;                 /* the bucket's clock is 32-bit ms */
	assert_int_equal(take(&cfg, "", 60, t), 0);
	assert_int_equal(take(&cfg, "", 2, t + 1500), 1); /* across the wrap: 1 back */
	assert_int_equal(take(&cfg, "", 2, t + 2000), 0);
	in_http_limit_teardown(&cfg);
}

struct taker {
	struct in_http_limit_cfg *cfg;
	long taken;
};

static void *taker_run(void *arg)
{
	struct taker *k = arg;
	for (int i = 0; i < 50000; i++)
		k->taken += in_http_rate_take(k->cfg, "t", 1, 1, T0) == 0;
	return NULL;
}

static void test_concurrent_takes(void **state)
{
	(void)state;
	struct in_http_limit_cfg cfg;
	setup_cfg(&cfg, 100000, 0);
	struct taker k[4] = { { &cfg, 0 }, { &cfg, 0 }, { &cfg, 0 }, { &cfg, 0 } };
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, taker_run, &k[i]), 0);
	long sum = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		sum += k[i].taken;
	}
	/* 200,000 takes of one at the same instant: exactly the bucket */
	assert_int_equal(sum, 100000);
	in_http_limit_teardown(&cfg);
}

static struct in_http_dd_key key(const char *path, const char *tenant, const char *body)
{
	return in_http_dd_key(path, strlen(path), tenant, strlen(tenant), body, strlen(body));
}

static bool same(struct in_http_dd_key a, struct in_http_dd_key b)
{
	return a.lo == b.lo && a.hi == b.hi;
}

static void test_keys(void **state)
{
	(void)state;
	assert_true(same(key("/a", "", "{}"), key("/a", "", "{}")));
	assert_false(same(key("/a", "", "{}"), key("/b", "", "{}")));
	assert_false(same(key("/a", "", "{}"), key("/a", "t", "{}")));
	assert_false(same(key("/a", "", "{}"), key("/a", "", "{ }")));
	/* the parts cannot slide into each other */
	assert_false(same(key("/a", "b", "c"), key("/ab", "", "c")));
	assert_false(same(key("/a", "b", "c"), key("/a", "", "bc")));
}

static void test_dedupe_window(void **state)
{
	(void)state;
	struct in_http_limit_cfg cfg;
	setup_cfg(&cfg, 0, 10);
	_Atomic uint64_t mine = 0;
	struct in_http_dd_key a = key("/", "", "A"), b = key("/", "", "B");
	assert_int_equal(in_http_dd_look(&cfg, a, T0, &mine), IN_HTTP_DD_NEW);
	in_http_dd_note(&cfg, a, T0, &mine, 0, true);    /* answered at once: done */
	assert_int_equal(in_http_dd_look(&cfg, a, T0 + 9999, &mine), IN_HTTP_DD_DONE);
	assert_int_equal(in_http_dd_look(&cfg, b, T0 + 9999, &mine), IN_HTTP_DD_NEW);
	assert_int_equal(in_http_dd_look(&cfg, a, T0 + 10000, &mine), IN_HTTP_DD_NEW);
	/* noted again after the window: a new entry in the same slot */
	in_http_dd_note(&cfg, a, T0 + 10000, &mine, 0, true);
	assert_int_equal(in_http_dd_look(&cfg, a, T0 + 10001, &mine), IN_HTTP_DD_DONE);
	in_http_limit_teardown(&cfg);
}

static void test_dedupe_in_flight(void **state)
{
	(void)state;
	struct in_http_limit_cfg cfg;
	setup_cfg(&cfg, 0, 60);
	_Atomic uint64_t here = 3, other = 7;
	struct in_http_dd_key a = key("/", "", "A");
	/* its answer waits for chunk 5 of this shard, whose head is 3 */
	in_http_dd_note(&cfg, a, T0, &here, 5, false);
	assert_int_equal(in_http_dd_look(&cfg, a, T0, &here), IN_HTTP_DD_INFLIGHT_HERE);
	assert_int_equal(in_http_dd_look(&cfg, a, T0, &other), IN_HTTP_DD_INFLIGHT);
	atomic_store(&here, 5);                           /* chunk 5 still out */
	assert_int_equal(in_http_dd_look(&cfg, a, T0, &other), IN_HTTP_DD_INFLIGHT);
	atomic_store(&here, 6);                           /* back: the first is safe */
	assert_int_equal(in_http_dd_look(&cfg, a, T0, &other), IN_HTTP_DD_DONE);
	assert_int_equal(in_http_dd_look(&cfg, a, T0, &here), IN_HTTP_DD_DONE);
	in_http_limit_teardown(&cfg);
}

static void test_dedupe_bounded(void **state)
{
	(void)state;
	struct in_http_limit_cfg cfg;
	setup_cfg(&cfg, 0, 3600);
	_Atomic uint64_t rel = 0;
	char body[32];
	/* twice the table's 65,536 entries, all within the window */
	for (int i = 0; i < 131072; i++) {
		snprintf(body, sizeof(body), "b%d", i);
		in_http_dd_note(&cfg, key("/", "", body), T0 + (uint64_t)i, &rel, 0, true);
	}
	int newest = 0, oldest = 0;
	for (int i = 0; i < 1000; i++) {
		snprintf(body, sizeof(body), "b%d", 131071 - i);
		newest += in_http_dd_look(&cfg, key("/", "", body), T0 + 131072, &rel) == IN_HTTP_DD_DONE;
		snprintf(body, sizeof(body), "b%d", i);
		oldest += in_http_dd_look(&cfg, key("/", "", body), T0 + 131072, &rel) == IN_HTTP_DD_DONE;
	}
	/* the oldest of a full probe group go first: the newest stay */
	assert_true(newest >= 990);
	assert_true(oldest <= 10);
	in_http_limit_teardown(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_retry_after_rounds_up),
		cmocka_unit_test(test_tenants),
		cmocka_unit_test(test_overflow_bucket),
		cmocka_unit_test(test_clock_wrap),
		cmocka_unit_test(test_concurrent_takes),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_dedupe_window),
		cmocka_unit_test(test_dedupe_in_flight),
		cmocka_unit_test(test_dedupe_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
