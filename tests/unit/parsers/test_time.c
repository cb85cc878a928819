/*
 * test_time.c — RFC 3339 and RFC 3164 timestamp parsing (psr_time.h),
 * checked against libc's timegm/gmtime_r, which the tests may use.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "psr_time.h"

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
		.tm_hour = h, .tm_min = mi, .tm_sec = s,
	};
	return (int64_t)timegm(&tm);
}

static int p3339(struct psr_time_cache *tc, const char *s, int64_t *sec, uint32_t *nsec)
{
	return psr_time_rfc3339(tc, s, strlen(s), sec, nsec);
}

struct ok_case {
	const char *s;
	int y, mo, d, h, mi, sec;
	int off_min;     /* the offset written in s */
	uint32_t nsec;
};

static const struct ok_case ok_cases[] = {
	{ "2003-10-11T22:14:15.003Z", 2003, 10, 11, 22, 14, 15, 0, 3000000 },
	{ "2003-08-24T05:14:15.000003-07:00", 2003, 8, 24, 5, 14, 15, -420, 3000 },
	{ "1985-04-12T23:20:50.52Z", 1985, 4, 12, 23, 20, 50, 0, 520000000 },
	{ "1996-12-19T16:39:57-08:00", 1996, 12, 19, 16, 39, 57, -480, 0 },
	{ "1990-12-31T23:59:60Z", 1990, 12, 31, 23, 59, 60, 0, 0 },
	{ "1990-12-31T15:59:60-08:00", 1990, 12, 31, 15, 59, 60, -480, 0 },
	{ "2000-02-29T00:00:00+0530", 2000, 2, 29, 0, 0, 0, 330, 0 },
	{ "2024-02-29T12:00:00.123456789Z", 2024, 2, 29, 12, 0, 0, 0, 123456789 },
	{ "2023-06-01T12:00:00+02:00", 2023, 6, 1, 12, 0, 0, 120, 0 },
	{ "2023-06-01T00:30:00.5+23:59", 2023, 6, 1, 0, 30, 0, 1439, 500000000 },
	{ "1970-01-01T00:00:00Z", 1970, 1, 1, 0, 0, 0, 0, 0 },
	{ "1969-12-31T23:59:59Z", 1969, 12, 31, 23, 59, 59, 0, 0 },
	{ "2106-02-07T06:28:15Z", 2106, 2, 7, 6, 28, 15, 0, 0 },
	{ "2400-02-29T01:02:03.000000001Z", 2400, 2, 29, 1, 2, 3, 0, 1 },
	{ "0001-01-01T00:00:00Z", 1, 1, 1, 0, 0, 0, 0, 0 },
	{ "9999-12-31T23:59:59.999999999Z", 9999, 12, 31, 23, 59, 59, 0, 999999999 },
};

static void test_rfc3339_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct ok_case *k = &ok_cases[i];
		struct psr_time_cache tc;
		psr_time_cache_init(&tc);
		int64_t sec = 0;
		uint32_t nsec = 99;
		int64_t want = utc(k->y, k->mo, k->d, k->h, k->mi, k->sec) - k->off_min * 60;
		/* with the cache, twice (miss then hit), and without */
		for (int round = 0; round < 3; round++) {
			int rc = p3339(round < 2 ? &tc : NULL, k->s, &sec, &nsec);
			if (rc != 0 || sec != want || nsec != k->nsec)
				fail_msg("%s (round %d): rc %d sec %lld nsec %u, want %lld %u", k->s,
					 round, rc, (long long)sec, nsec, (long long)want, k->nsec);
		}
		assert_int_equal(tc.misses, 1);
		assert_int_equal(tc.hits, 1);
	}
}

static const char *const bad_cases[] = {
	"2003-13-11T22:14:15Z", "2003-00-11T22:14:15Z", "2003-02-30T22:14:15Z",
	"2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2003-04-31T00:00:00Z",
	"2003-10-00T22:14:15Z", "2003-10-32T22:14:15Z", "2003-10-11T25:14:15Z",
	"2003-10-11T24:00:00Z", "2003-10-11T22:60:15Z", "2003-10-11T22:14:61Z",
	"2003-10-11 22:14:15Z", "2003-10-11t22:14:15Z", "2003-10-11T22:14:15z",
	"2003-10-11T22:14:15", "2003-10-11T22:14:15.", "2003-10-11T22:14:15.Z",
	"2003-10-11T22:14:15.1234567890Z", "2003-10-11T22:14:15+24:00",
	"2003-10-11T22:14:15+05:60", "2003-10-11T22:14:15Zx", "2003-10-11T22:14:15+05:00x",
	"2003-10-11T22:14:15+05", "2003-10-11T22:14:15+5:00", "2003-10-11T22:14:15+05-00",
	"2O03-10-11T22:14:15Z", "2003/10/11T22:14:15Z", "2003-10-11T22.14.15Z",
	"2003-1-11T22:14:15Z", "2003-10-11T22:14:1Z", "-", "", "2003-10-11T22:14:15.003Z ",
	"2003-10-11T22:14:15,003Z", "2003-10-11T22:14:15 Z", "+003-10-11T22:14:15Z",
};

static void test_rfc3339_invalid(void **state)
{
	(void)state;
	struct psr_time_cache tc;
	psr_time_cache_init(&tc);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		int64_t sec;
		uint32_t nsec;
		int rc = p3339(&tc, bad_cases[i], &sec, &nsec);
		if (rc != -EINVAL)
			fail_msg("'%s' accepted (rc %d)", bad_cases[i], rc);
		assert_int_equal(p3339(NULL, bad_cases[i], &sec, &nsec), -EINVAL);
	}
}

/* Every prefix of a valid timestamp is invalid (it loses its zone), and
 * reading it must stay inside the given length (ASan checks that). */
static void test_rfc3339_truncated(void **state)
{
	(void)state;
	const char *full = "2003-08-24T05:14:15.000003-07:00";
	size_t n = strlen(full);
	for (size_t l = 0; l < n; l++) {
		char *s = malloc(l ? l : 1);
		memcpy(s, full, l);
		int64_t sec;
		uint32_t nsec;
		int rc = psr_time_rfc3339(NULL, s, l, &sec, &nsec);
		/* "...-07" and "...-070" are not offsets; "...-0700"-style needs 4 digits */
		assert_int_equal(rc, -EINVAL);
		free(s);
	}
}

/* Many random instants, formatted by gmtime_r, parse back exactly. */
static void test_rfc3339_roundtrip(void **state)
{
	(void)state;
	struct psr_time_cache tc;
	psr_time_cache_init(&tc);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* 1900 .. 2200 */
		int64_t t = (int64_t)(x % 9467280000ull) - 2208988800ll;
		int off_min = (int)((x >> 40) % 1440) - 719;
		uint32_t ns = (uint32_t)((x >> 20) % 1000000000u);
		time_t local = (time_t)(t + off_min * 60);
		struct tm tm;
		gmtime_r(&local, &tm);
		char s[64];
		int n = (int)strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
		int am = off_min < 0 ? -off_min : off_min;
		if (i % 3 == 0)
			snprintf(s + n, sizeof(s) - (size_t)n, ".%09u%c%02d:%02d", ns,
				 off_min < 0 ? '-' : '+', am / 60, am % 60);
		else if (i % 3 == 1)
			snprintf(s + n, sizeof(s) - (size_t)n, "%c%02d%02d",
				 off_min < 0 ? '-' : '+', am / 60, am % 60);
		else
			snprintf(s + n, sizeof(s) - (size_t)n, ".%06uZ", ns / 1000);
		int64_t sec;
		uint32_t nsec;
		int rc = p3339(i & 4 ? &tc : NULL, s, &sec, &nsec);
		int64_t want = i % 3 == 2 ? (int64_t)local : t;
		uint32_t want_ns = i % 3 == 0 ? ns : i % 3 == 2 ? ns / 1000 * 1000 : 0;
		if (rc != 0 || sec != want || nsec != want_ns)
			fail_msg("%s: rc %d sec %lld/%u want %lld/%u", s, rc, (long long)sec, nsec,
				 (long long)want, want_ns);
	}
}

static void test_rfc3339_cache(void **state)
{
	(void)state;
	struct psr_time_cache tc;
	psr_time_cache_init(&tc);
	int64_t sec, sec2;
	uint32_t nsec;

	assert_int_equal(p3339(&tc, "2023-06-01T12:00:00Z", &sec, &nsec), 0);
	assert_int_equal(p3339(&tc, "2023-06-01T12:59:59.5Z", &sec2, &nsec), 0);
	assert_int_equal(sec2 - sec, 3599);
	assert_int_equal(tc.misses, 1);
	assert_int_equal(tc.hits, 1);
	/* next hour, same day: miss */
	assert_int_equal(p3339(&tc, "2023-06-01T13:00:00Z", &sec2, &nsec), 0);
	assert_int_equal(sec2 - sec, 3600);
	assert_int_equal(tc.misses, 2);
	/* a cached prefix with bad minutes is still rejected */
	assert_int_equal(p3339(&tc, "2023-06-01T13:61:00Z", &sec2, &nsec), -EINVAL);
	assert_int_equal(tc.hits, 2);
	/* an invalid date is never cached: the next valid line still parses */
	assert_int_equal(p3339(&tc, "2023-02-30T13:00:00Z", &sec2, &nsec), -EINVAL);
	assert_int_equal(p3339(&tc, "2023-02-30T13:00:00Z", &sec2, &nsec), -EINVAL);
	assert_int_equal(tc.misses, 2);
	assert_int_equal(p3339(&tc, "2023-06-01T13:00:01Z", &sec2, &nsec), 0);
	assert_int_equal(sec2 - sec, 3601);
	/* differing only in the day's last digit or the year's first */
	assert_int_equal(p3339(&tc, "2023-06-02T13:00:01Z", &sec2, &nsec), 0);
	assert_int_equal(sec2 - sec, 86400 + 3601);
	assert_int_equal(p3339(&tc, "3023-06-02T13:00:01Z", &sec2, &nsec), 0);
	assert_int_equal(sec2, utc(3023, 6, 2, 13, 0, 1));
}

static void test_days_and_ym(void **state)
{
	(void)state;
	for (int y = 1; y <= 9999; y += 7) {
		for (int m = 1; m <= 12; m++) {
			int64_t d = psr_time_days_from_civil(y, m, 28);
			assert_int_equal(d * 86400, utc(y, m, 28, 0, 0, 0));
		}
	}
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		time_t t = (time_t)(x % 8000000000ull) - 2000000000ll;
		struct tm tm;
		gmtime_r(&t, &tm);
		int y, mo;
		psr_time_ym(t, &y, &mo);
		if (y != tm.tm_year + 1900 || mo != tm.tm_mon + 1)
			fail_msg("%lld: %d-%d want %d-%d", (long long)t, y, mo, tm.tm_year + 1900,
				 tm.tm_mon + 1);
	}
	int y, mo;
	psr_time_ym(0, &y, &mo);
	assert_int_equal(y, 1970);
	assert_int_equal(mo, 1);
	psr_time_ym(-1, &y, &mo);
	assert_int_equal(y, 1969);
	assert_int_equal(mo, 12);
}

static int p3164(const char *s, int ny, int nm, int64_t *sec, uint32_t *nsec)
{
	return psr_time_rfc3164(s, strlen(s), ny, nm, sec, nsec);
}

static void test_rfc3164(void **state)
{
	(void)state;
	int64_t sec;
	uint32_t nsec;

	assert_int_equal(p3164("Oct 11 22:14:15", 2003, 10, &sec, &nsec), 15);
	assert_int_equal(sec, utc(2003, 10, 11, 22, 14, 15));
	assert_int_equal(nsec, 0);
	/* the parse stops where the timestamp does */
	assert_int_equal(p3164("Oct 11 22:14:15 mymachine su: x", 2003, 10, &sec, &nsec), 15);
	assert_int_equal(p3164("Oct  1 02:04:05 host", 2003, 10, &sec, &nsec), 15);
	assert_int_equal(sec, utc(2003, 10, 1, 2, 4, 5));
	assert_int_equal(p3164("Oct 1 02:04:05", 2003, 10, &sec, &nsec), 14);
	assert_int_equal(sec, utc(2003, 10, 1, 2, 4, 5));
	assert_int_equal(p3164("Oct  11 02:04:05", 2003, 10, &sec, &nsec), 16);
	assert_int_equal(sec, utc(2003, 10, 11, 2, 4, 5));
	assert_int_equal(p3164("oCT 11 22:14:15", 2003, 10, &sec, &nsec), 15);
	assert_int_equal(p3164("JAN 31 00:00:00", 2003, 1, &sec, &nsec), 15);
	assert_int_equal(sec, utc(2003, 1, 31, 0, 0, 0));
	assert_int_equal(p3164("Feb 29 00:00:00", 2024, 2, &sec, &nsec), 15);
	assert_int_equal(sec, utc(2024, 2, 29, 0, 0, 0));
	assert_int_equal(p3164("Sep 30 23:59:59.123", 2024, 9, &sec, &nsec), 19);
	assert_int_equal(sec, utc(2024, 9, 30, 23, 59, 59));
	assert_int_equal(nsec, 123000000);

	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	for (int m = 1; m <= 12; m++) {
		char s[32];
		snprintf(s, sizeof(s), "%s 15 10:20:30", months[m - 1]);
		assert_int_equal(p3164(s, 2010, 6, &sec, &nsec), 15);
		assert_int_equal(sec, utc(2010, m, 15, 10, 20, 30));
	}

	static const char *const bad[] = {
		"Foo 11 22:14:15", "Oct 32 22:14:15", "Oct 00 22:14:15", "Feb 29 00:00:00",
		"Apr 31 00:00:00", "Oct 11 24:00:00", "Oct 11 22:60:00", "Oct 11 22:14:61",
		"Oct 111 22:14:15", "Oct11 22:14:15", "Oct   1 22:14:15", "Oct 11 22:14",
		"Oct 11 2:14:15", "Oct 11 22-14-15", "Oct 11 22:14:15.", "Oct 11 22:14:15.1234567890",
		"Oc 11 22:14:15", "Oct x1 22:14:15", "", "Oct",
		"O\xe3t 11 22:14:15", "Oc\x14 11 22:14:15",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (p3164(bad[i], 2023, 6, &sec, &nsec) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);

	/* prefixes never read past their length (ASan) and never pass */
	const char *full = "Oct 11 22:14:15";
	for (size_t l = 0; l < strlen(full); l++) {
		char *s = malloc(l ? l : 1);
		memcpy(s, full, l);
		assert_int_equal(psr_time_rfc3164(s, l, 2003, 10, &sec, &nsec), -EINVAL);
		free(s);
	}
}

/* Fractions of every length 0..11, all digit values in every position,
 * followed by each kind of byte that can end them (a zone, a space, a
 * non-digit, the end of the buffer), in buffers of exactly the string's
 * size (ASan: the 8-byte loads of the fraction stay inside). The answer
 * is the digits read one by one. */
static void test_fraction_digits(void **state)
{
	(void)state;
	static const char *const tails[] = { "Z", "+01:00", "-0130", "", " ", "x", "/", ":", "\xff" };
	uint64_t x = 0x2545f4914f6cdd1dull;
	for (int nd = 0; nd <= 11; nd++) {
		for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
			for (int rep = 0; rep < 40; rep++) {
				char digits[16];
				uint64_t v = 0;
				for (int i = 0; i < nd; i++) {
					x ^= x << 13;
					x ^= x >> 7;
					x ^= x << 17;
					/* rep 0..9: every digit the same value; then random */
					int dv = rep < 10 ? rep : (int)(x % 10);
					digits[i] = (char)('0' + dv);
					v = v * 10 + (uint64_t)dv;
				}
				digits[nd] = 0;
				uint32_t want_ns = 0;
				if (nd >= 1 && nd <= 9) {
					want_ns = (uint32_t)v;
					for (int i = nd; i < 9; i++)
						want_ns *= 10;
				}
				int64_t base = utc(2003, 10, 11, 22, 14, 15);
				int64_t off = tails[t][0] == '+' ? 3600 : tails[t][0] == '-' ? -5400 : 0;
				bool zone = tails[t][0] == 'Z' || off != 0;

				/* RFC 3339: valid with 1..9 digits and a zone */
				char buf[64];
				int n = snprintf(buf, sizeof(buf), "2003-10-11T22:14:15.%s%s", digits, tails[t]);
				char *s = malloc((size_t)n);
				memcpy(s, buf, (size_t)n);
				int64_t sec = 0;
				uint32_t nsec = 7;
				int rc = psr_time_rfc3339(NULL, s, (size_t)n, &sec, &nsec);
				bool ok = nd >= 1 && nd <= 9 && zone;
				if (ok ? rc != 0 || sec != base - off || nsec != want_ns : rc != -EINVAL)
					fail_msg("rfc3339 '%s': rc %d nsec %u, want %s %u", buf, rc, nsec,
						 ok ? "ok" : "EINVAL", want_ns);
				free(s);

				/* RFC 3164: the fraction ends at any non-digit */
				n = snprintf(buf, sizeof(buf), "Oct 11 22:14:15.%s%s", digits, tails[t]);
				s = malloc((size_t)n);
				memcpy(s, buf, (size_t)n);
				rc = psr_time_rfc3164(s, (size_t)n, 2003, 10, &sec, &nsec);
				ok = nd >= 1 && nd <= 9;
				if (ok ? rc != 16 + nd || sec != base || nsec != want_ns : rc != -EINVAL)
					fail_msg("rfc3164 '%s': rc %d nsec %u, want %s %u", buf, rc, nsec,
						 ok ? "ok" : "EINVAL", want_ns);
				free(s);
			}
		}
	}
}

static void test_year_rollover(void **state)
{
	(void)state;
	assert_int_equal(psr_time_year_pick(2024, 1, 12), 2023);
	assert_int_equal(psr_time_year_pick(2023, 12, 1), 2024);
	assert_int_equal(psr_time_year_pick(2024, 1, 1), 2024);
	assert_int_equal(psr_time_year_pick(2024, 6, 12), 2024);
	assert_int_equal(psr_time_year_pick(2024, 2, 12), 2024);
	assert_int_equal(psr_time_year_pick(2024, 11, 1), 2024);

	int64_t sec;
	uint32_t nsec;
	/* a December line received on 1 January is last year's */
	assert_int_equal(p3164("Dec 31 23:59:59", 2024, 1, &sec, &nsec), 15);
	assert_int_equal(sec, utc(2023, 12, 31, 23, 59, 59));
	/* and a January line received on 31 December is next year's */
	assert_int_equal(p3164("Jan  1 00:00:01", 2023, 12, &sec, &nsec), 15);
	assert_int_equal(sec, utc(2024, 1, 1, 0, 0, 1));
	/* Feb 29 is checked against the picked year */
	assert_int_equal(p3164("Feb 29 12:00:00", 2023, 3, &sec, &nsec), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339_table),
		cmocka_unit_test(test_rfc3339_invalid),
		cmocka_unit_test(test_rfc3339_truncated),
		cmocka_unit_test(test_rfc3339_roundtrip),
		cmocka_unit_test(test_rfc3339_cache),
		cmocka_unit_test(test_days_and_ym),
		cmocka_unit_test(test_rfc3164),
		cmocka_unit_test(test_fraction_digits),
		cmocka_unit_test(test_year_rollover),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
