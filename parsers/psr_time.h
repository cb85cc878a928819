/*
 * psr_time.h — timestamp parsing for the syslog parsers: RFC 3339 (the
 * RFC 5424 TIMESTAMP) and the RFC 3164 "Mmm dd hh:mm:ss" form, both to
 * (seconds, nanoseconds) since the epoch, UTC.
 *
 * Written by hand because the libc alternatives (strptime + timegm) parse
 * the format string on every call, take the locale lock, and cost far more
 * than the line they are parsing. Calendar arithmetic is days-from-civil
 * (proleptic Gregorian, no table, no mktime), and a per-shard cache keeps
 * the epoch of the last "YYYY-MM-DDTHH" seen, because a burst of syslog
 * lines almost always shares its date and hour.
 *
 * Threads: a struct psr_time_cache belongs to one shard; the functions are
 * otherwise pure and safe from any thread.
 */
#ifndef PSR_TIME_H
#define PSR_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct psr_time_cache {
	uint64_t k0;       /* bytes 0..7 of the cached "YYYY-MM-DDTHH" */
	uint64_t k1;       /* bytes 5..12 (overlapping: 13 bytes, two loads) */
	int64_t hour_sec;  /* epoch of that date and hour, UTC wall clock */
	bool valid;
	uint32_t hits;     /* for tests and curiosity; wrap freely */
	uint32_t misses;
};

void psr_time_cache_init(struct psr_time_cache *tc);

/*
 * RFC 3339 date-time, the whole of s[0..len):
 *   YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|+HH:MM|-HH:MM|+HHMM|-HHMM)
 * 'T' and 'Z' upper case only (RFC 5424 section 6.2.3 requires it); a
 * second of 60 (leap second) is accepted and, as timegm() does, lands on
 * the next minute. More than 9 fraction digits, a missing offset, or any
 * out-of-range field (month 13, Feb 30, hour 25, offset hour 24) is
 * -EINVAL. tc may be NULL (no caching).
 */
int psr_time_rfc3339(struct psr_time_cache *tc, const char *s, size_t len,
		     int64_t *sec, uint32_t *nsec);

/*
 * RFC 3164 timestamp at the start of s: "Mmm dd hh:mm:ss", the day one or
 * two digits after one or two spaces ("Oct  1", "Oct 1", "Oct 11"), the
 * month name case-insensitive, optionally followed by ".F{1,9}" (some
 * relays add it; it becomes the nanoseconds). It carries no year and no
 * zone: the year is picked by psr_time_year_pick(now_year, now_mon, month)
 * and the time is read as UTC, which is what Fluent Bit's syslog-rfc3164
 * parser does when no Time_Offset is set.
 *
 * Returns how many bytes of s the timestamp spans (the parse stops at the
 * first byte that cannot continue it), or -EINVAL.
 */
int psr_time_rfc3164(const char *s, size_t len, int now_year, int now_mon,
		     int64_t *sec, uint32_t *nsec);

/*
 * The year of a timestamp that carries only its month (1..12), received
 * at now_year/now_mon: a December message read in January is last year's,
 * a January message read in December (a sender's clock slightly ahead over
 * New Year) is next year's, anything else is this year's. Fluent Bit always
 * uses the current year; this differs only across New Year.
 */
static inline int psr_time_year_pick(int now_year, int now_mon, int msg_mon)
{
	if (msg_mon == 12 && now_mon == 1)
		return now_year - 1;
	if (msg_mon == 1 && now_mon == 12)
		return now_year + 1;
	return now_year;
}

/* Calendar year and month (1..12) of an epoch second, UTC. */
void psr_time_ym(int64_t sec, int *year, int *mon);

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12). */
static inline int64_t psr_time_days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153u * (unsigned)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (unsigned)d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int64_t)era * 146097 + (int64_t)doe - 719468;
}

#endif
