/*
 * test_strptime.c — Time_Format parsing (psr_strptime.h): every conversion
 * against timegm() of the same date, zones, %L, the missing year, the
 * cache (hits, and the byte after the cached head), Time_Strict off and
 * bad formats.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "psr_strptime.h"

/* 2024-06-15T12:00:00Z: "now" for formats without a year */
#define NOW 1718452800

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = s };
	return (int64_t)timegm(&tm);
}

static int parse_off(const char *fmt, const char *s, int32_t off, unsigned flags,
		     struct psr_tcache *tc, int64_t *sec, uint32_t *nsec)
{
	struct psr_tfmt f;
	struct dp_err e = { 0 };
	assert_int_equal(psr_tfmt_compile(&f, fmt, &e), 0);
	return psr_strptime(&f, tc, s, strlen(s), NOW, off, flags, sec, nsec);
}

static void expect(const char *fmt, const char *s, int64_t want, uint32_t want_ns)
{
	int64_t sec = -1;
	uint32_t ns = 1;
	if (parse_off(fmt, s, 0, 0, NULL, &sec, &ns))
		fail_msg("'%s' with '%s' failed", s, fmt);
	if (sec != want || ns != want_ns)
		fail_msg("'%s' with '%s': %lld.%09u want %lld.%09u", s, fmt, (long long)sec, ns,
			 (long long)want, want_ns);
}

static void expect_fail(const char *fmt, const char *s)
{
	int64_t sec;
	uint32_t ns;
	assert_int_equal(parse_off(fmt, s, 0, 0, NULL, &sec, &ns), -EINVAL);
}

static void test_conversions(void **state)
{
	(void)state;
	/* Fluent Bit's apache/nginx format */
	expect("%d/%b/%Y:%H:%M:%S %z", "10/Oct/2000:13:55:36 -0700", utc(2000, 10, 10, 20, 55, 36), 0);
	/* docker: %L after %S */
	expect("%Y-%m-%dT%H:%M:%S.%L", "2018-08-01T18:12:34.123456789Z",
	       utc(2018, 8, 1, 18, 12, 34), 123456789);
	expect("%Y-%m-%dT%H:%M:%S.%L", "2018-08-01T18:12:34.5", utc(2018, 8, 1, 18, 12, 34), 500000000);
	/* more than 9 fraction digits are consumed, not used */
	expect("%Y-%m-%dT%H:%M:%S.%L%z", "2018-08-01T18:12:34.1234567891+01:00",
	       utc(2018, 8, 1, 17, 12, 34), 123456789);
	/* cri: %L%z */
	expect("%Y-%m-%dT%H:%M:%S.%L%z", "2019-11-03T10:00:00.000000001Z",
	       utc(2019, 11, 3, 10, 0, 0), 1);
	expect("%F %T", "1999-12-31 23:59:59", utc(1999, 12, 31, 23, 59, 59), 0);
	expect("%D %R", "02/29/24 07:08", utc(2024, 2, 29, 7, 8, 0), 0);
	expect("%y%m%d", "690101", utc(1969, 1, 1, 0, 0, 0), 0);
	expect("%y%m%d", "680101", utc(2068, 1, 1, 0, 0, 0), 0);
	expect("%Y %j", "2024 060", utc(2024, 2, 29, 0, 0, 0), 0);
	expect("%I:%M %p %Y-%m-%d", "12:30 AM 2020-01-02", utc(2020, 1, 2, 0, 30, 0), 0);
	expect("%I:%M %p %Y-%m-%d", "12:30 pm 2020-01-02", utc(2020, 1, 2, 12, 30, 0), 0);
	expect("%I:%M %p %Y-%m-%d", "01:30 PM 2020-01-02", utc(2020, 1, 2, 13, 30, 0), 0);
	expect("%a, %d %B %Y %H:%M:%S %Z", "Tuesday, 05 March 2024 01:02:03 GMT",
	       utc(2024, 3, 5, 1, 2, 3), 0);
	expect("%A %e %h %Y", "Mon  4 Feb 2019", utc(2019, 2, 4, 0, 0, 0), 0);
	expect("%s", "1500000000", 1500000000, 0);
	expect("%s.%L", "1500000000.25", 1500000000, 250000000);
	expect("%Y-%m-%d %H:%M:%S %z", "2020-01-01 00:00:00 +05", utc(2019, 12, 31, 19, 0, 0), 0);
	expect("%Y-%m-%d %H:%M:%S %z", "2020-01-01 00:00:00 -0130", utc(2020, 1, 1, 1, 30, 0), 0);
	expect("%Y%%%m", "2020%03", utc(2020, 3, 1, 0, 0, 0), 0);
	/* whitespace in the format matches any run, also none */
	expect("%Y-%m-%d %H:%M", "2020-01-01\t \t05:06", utc(2020, 1, 1, 5, 6, 0), 0);
	expect("%Y-%m-%d %H:%M", "2020-01-0105:06", utc(2020, 1, 1, 5, 6, 0), 0);
	/* text after the format is ignored (strptime returns where it stopped) */
	expect("%Y-%m-%dT%H:%M:%S", "2020-01-01T00:00:00.999Z", utc(2020, 1, 1, 0, 0, 0), 0);
	/* leap second lands on the next minute, as timegm */
	expect("%F %T", "2016-12-31 23:59:60", utc(2017, 1, 1, 0, 0, 0), 0);
}

static void test_failures(void **state)
{
	(void)state;
	expect_fail("%Y-%m-%d", "2020-13-01");
	expect_fail("%Y-%m-%d", "2020-00-01");
	expect_fail("%H:%M", "24:00");
	expect_fail("%H:%M", "12:60");
	expect_fail("%d/%b/%Y", "10/Foo/2000");
	expect_fail("%Y-%m-%dT%H:%M:%S", "2020-01-01 00:00:00");  /* literal T */
	expect_fail("%Y-%m-%d %H:%M:%S %z", "2020-01-01 00:00:00 +2500");
	expect_fail("%Y-%m-%d %H:%M:%S %z", "2020-01-01 00:00:00 0100");
	expect_fail("%Y %Z", "2020 CEST");  /* only UTC/GMT/Z: no tz database */
	expect_fail("%S.%L", "12.");
	expect_fail("%Y", "");
	expect_fail("%s", "x");
}

static void test_compile_errors(void **state)
{
	(void)state;
	struct psr_tfmt f;
	struct dp_err e = { 0 };
	assert_int_equal(psr_tfmt_compile(&f, "%Y-%Q", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "%Q"));
	assert_int_equal(psr_tfmt_compile(&f, "%Y %", &e), -EINVAL);
	assert_int_equal(psr_tfmt_compile(&f, "", &e), -EINVAL);
	char big[PSR_TFMT_MAX + 1];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(psr_tfmt_compile(&f, big, &e), -EINVAL);
}

static void test_no_year(void **state)
{
	(void)state;
	/* syslog-rfc3164: the year of now (2024) */
	expect("%b %d %H:%M:%S", "Oct 11 22:14:15", utc(2024, 10, 11, 22, 14, 15), 0);
	expect("%b %d %H:%M:%S", "Feb  3 01:02:03", utc(2024, 2, 3, 1, 2, 3), 0);
	/* no date at all: today's (now's) date */
	expect("%H:%M:%S", "01:02:03", utc(2024, 6, 15, 1, 2, 3), 0);
}

static void test_offsets(void **state)
{
	(void)state;
	int64_t sec;
	uint32_t ns;
	/* Time_Offset applies when the text has no zone */
	assert_int_equal(parse_off("%Y-%m-%d %H:%M:%S", "2020-01-01 02:00:00", 7200, 0, NULL, &sec,
				   &ns), 0);
	assert_int_equal(sec, utc(2020, 1, 1, 0, 0, 0));
	/* ... and not when it has one */
	assert_int_equal(parse_off("%Y-%m-%d %H:%M:%S %z", "2020-01-01 02:00:00 +0000", 7200, 0,
				   NULL, &sec, &ns), 0);
	assert_int_equal(sec, utc(2020, 1, 1, 2, 0, 0));
	/* nor to an epoch */
	assert_int_equal(parse_off("%s", "1000", 7200, 0, NULL, &sec, &ns), 0);
	assert_int_equal(sec, 1000);

	int32_t off;
	assert_int_equal(psr_tz_offset_parse("+0200", &off), 0);
	assert_int_equal(off, 7200);
	assert_int_equal(psr_tz_offset_parse("-06:30", &off), 0);
	assert_int_equal(off, -(6 * 3600 + 1800));
	assert_int_equal(psr_tz_offset_parse("UTC", &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(psr_tz_offset_parse("+2", &off), -EINVAL);
	assert_int_equal(psr_tz_offset_parse("0200", &off), -EINVAL);
	assert_int_equal(psr_tz_offset_parse("+0200x", &off), -EINVAL);

	/* Time_System_Timezone: the system zone (TZ) for that date */
	setenv("TZ", "America/New_York", 1);
	tzset();
	assert_int_equal(parse_off("%Y-%m-%d %H:%M:%S", "2020-01-15 12:00:00", 0, PSR_TIME_LOCAL,
				   NULL, &sec, &ns), 0);
	assert_int_equal(sec, utc(2020, 1, 15, 17, 0, 0));
	assert_int_equal(parse_off("%Y-%m-%d %H:%M:%S", "2020-07-15 12:00:00", 0, PSR_TIME_LOCAL,
				   NULL, &sec, &ns), 0);
	assert_int_equal(sec, utc(2020, 7, 15, 16, 0, 0));
	unsetenv("TZ");
	tzset();
}

static void test_lenient(void **state)
{
	(void)state;
	int64_t sec;
	uint32_t ns;
	/* Time_Strict off: the fraction %L expects is missing */
	assert_int_equal(parse_off("%Y-%m-%dT%H:%M:%S.%L", "2020-01-01T01:02:03", 0, 0, NULL, &sec,
				   &ns), -EINVAL);
	assert_int_equal(parse_off("%Y-%m-%dT%H:%M:%S.%L", "2020-01-01T01:02:03", 0,
				   PSR_TIME_LENIENT, NULL, &sec, &ns), 0);
	assert_int_equal(sec, utc(2020, 1, 1, 1, 2, 3));
	assert_int_equal(ns, 0);
}

static void test_cache(void **state)
{
	(void)state;
	struct psr_tfmt f;
	struct psr_tcache tc;
	struct dp_err e = { 0 };
	int64_t sec;
	uint32_t ns;
	psr_tcache_init(&tc);
	assert_int_equal(psr_tfmt_compile(&f, "%Y-%m-%dT%H:%M:%S.%L%z", &e), 0);
	const char *a = "2020-05-06T07:08:09.100+02:00";
	const char *b = "2020-05-06T07:08:09.200-01:00";  /* same head, other tail */
	const char *d = "2020-05-06T07:08:10.200Z";        /* next second: miss */
	assert_int_equal(psr_strptime(&f, &tc, a, strlen(a), NOW, 0, 0, &sec, &ns), 0);
	assert_int_equal(sec, utc(2020, 5, 6, 5, 8, 9));
	assert_int_equal(ns, 100000000);
	assert_int_equal(psr_strptime(&f, &tc, b, strlen(b), NOW, 0, 0, &sec, &ns), 0);
	assert_int_equal(sec, utc(2020, 5, 6, 8, 8, 9));
	assert_int_equal(ns, 200000000);
	assert_int_equal(tc.hits, 1);
	assert_int_equal(psr_strptime(&f, &tc, d, strlen(d), NOW, 0, 0, &sec, &ns), 0);
	assert_int_equal(sec, utc(2020, 5, 6, 7, 8, 10));
	assert_int_equal(tc.misses, 2);

	/* The byte after the head is part of the key: "%S" read "5" from
	 * "...:5" but would read "59" from "...:59". */
	assert_int_equal(psr_tfmt_compile(&f, "%H:%M:%S", &e), 0);
	psr_tcache_init(&tc);
	assert_int_equal(psr_strptime(&f, &tc, "10:00:5", 7, NOW, 0, 0, &sec, &ns), 0);
	assert_int_equal(psr_strptime(&f, &tc, "10:00:59", 8, NOW, 0, 0, &sec, &ns), 0);
	assert_int_equal(sec, utc(2024, 6, 15, 10, 0, 59));
	assert_int_equal(tc.hits, 0);

	/* A fraction read inside the cached head comes back on a hit (found
	 * by fuzz_strptime). */
	assert_int_equal(psr_tfmt_compile(&f, "%L", &e), 0);
	psr_tcache_init(&tc);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(psr_strptime(&f, &tc, "1d", 2, NOW, 0, 0, &sec, &ns), 0);
		assert_int_equal(ns, 100000000);
	}
	assert_int_equal(tc.hits, 1);

	/* The year of now is part of the key of a format without one. */
	assert_int_equal(psr_tfmt_compile(&f, "%b %d %H:%M:%S", &e), 0);
	psr_tcache_init(&tc);
	assert_int_equal(psr_strptime(&f, &tc, "Jan 01 00:00:00", 15, NOW, 0, 0, &sec, &ns), 0);
	assert_int_equal(sec, utc(2024, 1, 1, 0, 0, 0));
	assert_int_equal(psr_strptime(&f, &tc, "Jan 01 00:00:00", 15, NOW + 366 * 86400, 0, 0, &sec,
				      &ns), 0);
	assert_int_equal(sec, utc(2025, 1, 1, 0, 0, 0));
	assert_int_equal(tc.hits, 0);

	/* A format whose tail is not cache-safe (%Y after %S) keys on the
	 * whole text: same text hits, other text misses. */
	assert_int_equal(psr_tfmt_compile(&f, "%H:%M:%S %Y-%m-%d", &e), 0);
	psr_tcache_init(&tc);
	assert_int_equal(psr_strptime(&f, &tc, "01:02:03 2020-01-01", 19, NOW, 0, 0, &sec, &ns), 0);
	assert_int_equal(psr_strptime(&f, &tc, "01:02:03 2020-01-02", 19, NOW, 0, 0, &sec, &ns), 0);
	assert_int_equal(sec, utc(2020, 1, 2, 1, 2, 3));
	assert_int_equal(psr_strptime(&f, &tc, "01:02:03 2020-01-02", 19, NOW, 0, 0, &sec, &ns), 0);
	assert_int_equal(sec, utc(2020, 1, 2, 1, 2, 3));
	assert_int_equal(tc.hits, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conversions),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_no_year),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_lenient),
		cmocka_unit_test(test_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
