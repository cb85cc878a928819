/*
 * psr_strptime.h — strptime-style time parsing for [PARSER] Time_Format:
 * text to UTC seconds + nanoseconds, with Fluent Bit's extensions.
 *
 * Conversions: %Y %y %m %d %e %H %M %S %I %p %j %b %B %h %a %A %T %D %F
 * %R %s %z %Z %L %n %t %%, and literal text. Whitespace in the format
 * matches any run of whitespace (also none) in the text, as strptime(3).
 *   %L   fractional seconds, any number of digits (Fluent Bit's extension;
 *        the first 9 give the nanoseconds, more are consumed and dropped)
 *   %z   Z, +hh, +hhmm, +hh:mm (and '-')
 *   %Z   UTC, GMT or Z only; any other zone name is an error (no tz
 *        database lookups per record)
 *   %s   seconds since the epoch (absolute: no offset is applied to it)
 * Text left after the format is ignored, as Fluent Bit's strptime does
 * (so "%Y-%m-%dT%H:%M:%S" reads "2020-01-01T00:00:00.5Z").
 *
 * A format without a year (%Y %y %D %F %s) takes the year of `now`, and
 * one without month and day takes now's month and day, as Fluent Bit does.
 * The zone: the text's %z/%Z when present, else the fixed Time_Offset, else
 * (PSR_TIME_LOCAL, Time_System_Timezone) the system's zone for that wall
 * time.
 *
 * Why not libc: strptime parses the format string per call and takes the
 * locale lock, mktime/timegm read TZ; the calendar here is days-from-civil.
 *
 * The cache: a format is split after its last seconds conversion (%S, %T,
 * %s) when what follows is only %L, %z, %Z and literals; the text up to
 * there (plus the byte after it, because numeric conversions stop at the
 * first non-digit) is the cache key, and a hit skips straight to the tail.
 * Other formats use the whole text as the key. Log timestamps repeat
 * within a second, so most lines hit.
 *
 * Threads: a compiled format is read-only (any thread); a cache belongs to
 * one shard.
 */
#ifndef PSR_STRPTIME_H
#define PSR_STRPTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dp_common.h"

#define PSR_TFMT_MAX   128  /* longest Time_Format */
#define PSR_TCACHE_KEY 64   /* longest cached text prefix */

struct psr_tfmt {
	char fmt[PSR_TFMT_MAX];
	uint16_t len;
	uint16_t head_end;  /* format offset where the cached head ends */
	bool has_year;
	bool has_date;      /* month/day or day of year */
	bool epoch;         /* %s */
};

struct psr_tcache {
	bool valid;
	const struct psr_tfmt *fmt;  /* the format it was filled with */
	uint8_t klen;           /* bytes of key[] that are the head's text */
	int16_t la;             /* byte after the head, or -1 at end of text */
	int32_t year;           /* now's year it was computed with */
	int64_t head_sec;       /* head's wall time as if UTC (or epoch for %s) */
	int32_t head_off;       /* zone found inside the head */
	uint32_t head_nsec;     /* fraction found inside the head */
	bool head_has_off;
	bool head_epoch;
	int32_t loc_off;        /* PSR_TIME_LOCAL: the system zone at head_sec */
	char key[PSR_TCACHE_KEY];
	uint64_t hits, misses;
};

#define PSR_TIME_LENIENT 0x1  /* Time_Strict off: a failure midway keeps what was read */
#define PSR_TIME_LOCAL   0x2  /* Time_System_Timezone: no %z → the system's zone */

/* Compile fmt: 0, or -EINVAL with err->msg naming the bad conversion. */
int psr_tfmt_compile(struct psr_tfmt *f, const char *fmt, struct dp_err *err);

static inline void psr_tcache_init(struct psr_tcache *tc)
{
	*tc = (struct psr_tcache){ 0 };
}

/* Parse s[0..len). now: epoch seconds for a missing year/date; off: the
 * fixed offset (seconds east of UTC) when the text has no zone; flags
 * PSR_TIME_*. tc may be NULL (no cache). 0 or -EINVAL. */
int psr_strptime(const struct psr_tfmt *f, struct psr_tcache *tc, const char *s, size_t len,
		 int64_t now, int32_t off, unsigned flags, int64_t *sec, uint32_t *nsec);

/* "+0200", "-06:00", "Z", "UTC" → seconds east of UTC; 0 or -EINVAL. */
int psr_tz_offset_parse(const char *s, int32_t *off);

#endif
