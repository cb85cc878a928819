/*
 * psr_strptime.c — Time_Format parsing (contract and cache in
 * psr_strptime.h). The format string is walked per call (it is a dozen
 * bytes; compiling it to opcodes measured no faster than the cache makes
 * the common case); calendar arithmetic is days-from-civil.
 *
 * Threads: compile on the control thread; parse on the shard that owns
 * the cache.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "psr_strptime.h"
#include "psr_time.h"

struct tmx {
	int year, mon, mday, yday;   /* yday 1..366, 0: not given */
	int hour, min, sec;
	int pm;                      /* -1: no %p */
	bool has_year, has_md, hour12;
	bool has_epoch;
	int64_t epoch;
	bool has_off;
	int32_t off;
	uint32_t nsec;
};

static const char *const mon_full[12] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};
static const char *const day_full[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
};

static inline bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* At most maxd digits at s[*pos] into [lo, hi]. */
static int num(const char *s, size_t len, size_t *pos, unsigned maxd, long lo, long hi, int *out)
{
	size_t p = *pos;
	long v = 0;
	unsigned n = 0;
	while (p < len && n < maxd && (unsigned)(s[p] - '0') < 10) {
		v = v * 10 + (s[p] - '0');
		p++;
		n++;
	}
	if (!n || v < lo || v > hi)
		return -EINVAL;
	*pos = p;
	*out = (int)v;
	return 0;
}

/* A full or three-letter English name, case-insensitive; index or -1.
 * The three letters pick the entry; the full name is consumed when it
 * follows, so "June" is read whole. */
static int name(const char *s, size_t len, size_t *pos, const char *const *tab, int n)
{
	const char *p = s + *pos;
	size_t left = len - *pos;
	if (left < 3)
		return -1;
	uint32_t k = (uint32_t)((uint8_t)(p[0] | 0x20) << 16 | (uint8_t)(p[1] | 0x20) << 8 |
				(uint8_t)(p[2] | 0x20));
	for (int i = 0; i < n; i++) {
		const char *t = tab[i];
		if (k != (uint32_t)((t[0] | 0x20) << 16 | t[1] << 8 | t[2]))
			continue;
		size_t fl = strlen(t);
		*pos += left >= fl && !strncasecmp(p + 3, t + 3, fl - 3) ? fl : 3;
		return i;
	}
	return -1;
}

/* Z, +hh, +hhmm, +hh:mm at s[*pos]. */
static int zone_num(const char *s, size_t len, size_t *pos, int32_t *off)
{
	size_t p = *pos;
	if (p < len && (s[p] == 'Z' || s[p] == 'z')) {
		*off = 0;
		*pos = p + 1;
		return 0;
	}
	if (p >= len || (s[p] != '+' && s[p] != '-'))
		return -EINVAL;
	bool neg = s[p++] == '-';
	int h, m = 0;
	if (num(s, len, &p, 2, 0, 23, &h) || p - *pos != 3)
		return -EINVAL;
	if (p < len && s[p] == ':')
		p++;
	size_t q = p;
	if (q < len && (unsigned)(s[q] - '0') < 10) {
		if (num(s, len, &q, 2, 0, 59, &m) || q - p != 2)
			return -EINVAL;
		p = q;
	} else if (s[p - 1] == ':') {
		return -EINVAL;
	}
	*off = (neg ? -1 : 1) * (h * 3600 + m * 60);
	*pos = p;
	return 0;
}

int psr_tz_offset_parse(const char *s, int32_t *off)
{
	size_t len = strlen(s), pos = 0;
	if (!strcasecmp(s, "UTC") || !strcasecmp(s, "GMT")) {
		*off = 0;
		return 0;
	}
	if (zone_num(s, len, &pos, off) || pos != len)
		return -EINVAL;
	return 0;
}

/* Fraction digits: the first 9 make the nanoseconds. */
static int frac(const char *s, size_t len, size_t *pos, uint32_t *nsec)
{
	static const uint32_t scale[10] = {
		1000000000, 100000000, 10000000, 1000000, 100000, 10000, 1000, 100, 10, 1,
	};
	size_t p = *pos;
	uint32_t v = 0;
	unsigned n = 0;
	while (p < len && (unsigned)(s[p] - '0') < 10) {
		if (n < 9) {
			v = v * 10 + (uint32_t)(s[p] - '0');
			n++;
		}
		p++;
	}
	if (p == *pos)
		return -EINVAL;
	*nsec = v * scale[n];
	*pos = p;
	return 0;
}

/* Walk fmt[from..to) over s from *pos. Fields read before a failure stay
 * set (Time_Strict off uses them). */
static int walk(const char *fmt, size_t from, size_t to, const char *s, size_t len, size_t *pos,
		struct tmx *t)
{
	size_t p = *pos;
	int v, rc = 0;
	for (size_t i = from; i < to && !rc; i++) {
		char c = fmt[i];
		if (is_space(c)) {
			while (p < len && is_space(s[p]))
				p++;
			continue;
		}
		if (c != '%') {
			if (p >= len || s[p] != c)
				rc = -EINVAL;
			else
				p++;
			continue;
		}
		c = fmt[++i];
		switch (c) {
		case 'Y':
			if (!(rc = num(s, len, &p, 4, 0, 9999, &t->year)))
				t->has_year = true;
			break;
		case 'y':
			if (!(rc = num(s, len, &p, 2, 0, 99, &v))) {
				t->year = v < 69 ? 2000 + v : 1900 + v;
				t->has_year = true;
			}
			break;
		case 'm':
			if (!(rc = num(s, len, &p, 2, 1, 12, &t->mon)))
				t->has_md = true;
			break;
		case 'd':
		case 'e':
			while (p < len && s[p] == ' ')
				p++;
			if (!(rc = num(s, len, &p, 2, 1, 31, &t->mday)))
				t->has_md = true;
			break;
		case 'j':
			rc = num(s, len, &p, 3, 1, 366, &t->yday);
			break;
		case 'H':
			rc = num(s, len, &p, 2, 0, 23, &t->hour);
			t->hour12 = false;
			break;
		case 'I':
			rc = num(s, len, &p, 2, 1, 12, &t->hour);
			t->hour12 = true;
			break;
		case 'M':
			rc = num(s, len, &p, 2, 0, 59, &t->min);
			break;
		case 'S':
			rc = num(s, len, &p, 2, 0, 60, &t->sec);
			break;
		case 'p':
			if (len - p >= 2 && !strncasecmp(s + p, "AM", 2))
				t->pm = 0;
			else if (len - p >= 2 && !strncasecmp(s + p, "PM", 2))
				t->pm = 1;
			else
				rc = -EINVAL;
			p += rc ? 0 : 2;
			break;
		case 'b':
		case 'B':
		case 'h':
			if ((v = name(s, len, &p, mon_full, 12)) < 0) {
				rc = -EINVAL;
			} else {
				t->mon = v + 1;
				t->has_md = true;
			}
			break;
		case 'a':
		case 'A':
			if (name(s, len, &p, day_full, 7) < 0)
				rc = -EINVAL;
			break;
		case 'T':
			rc = walk("%H:%M:%S", 0, 8, s, len, &p, t);
			break;
		case 'R':
			rc = walk("%H:%M", 0, 5, s, len, &p, t);
			break;
		case 'D':
			rc = walk("%m/%d/%y", 0, 8, s, len, &p, t);
			break;
		case 'F':
			rc = walk("%Y-%m-%d", 0, 8, s, len, &p, t);
			break;
		case 's': {
			bool neg = p < len && s[p] == '-';
			size_t q = p + neg;
			int64_t e = 0;
			unsigned n = 0;
			while (q < len && n < 18 && (unsigned)(s[q] - '0') < 10) {
				e = e * 10 + (s[q++] - '0');
				n++;
			}
			if (!n) {
				rc = -EINVAL;
			} else {
				t->epoch = neg ? -e : e;
				t->has_epoch = true;
				p = q;
			}
			break;
		}
		case 'L':
			rc = frac(s, len, &p, &t->nsec);
			break;
		case 'z':
			if (!(rc = zone_num(s, len, &p, &t->off)))
				t->has_off = true;
			break;
		case 'Z':
			if (len - p >= 3 && (!strncmp(s + p, "UTC", 3) || !strncmp(s + p, "GMT", 3)))
				p += 3;
			else if (p < len && s[p] == 'Z')
				p++;
			else
				rc = -EINVAL;
			if (!rc) {
				t->off = 0;
				t->has_off = true;
			}
			break;
		case 'n':
		case 't':
			while (p < len && is_space(s[p]))
				p++;
			break;
		case '%':
			if (p >= len || s[p] != '%')
				rc = -EINVAL;
			else
				p++;
			break;
		default:
			rc = -EINVAL;  /* compile rejected it; defensive */
		}
	}
	*pos = p;
	return rc;
}

/* Conversions allowed after the cache split point. */
static bool tail_safe(char c)
{
	return c == 'L' || c == 'z' || c == 'Z' || c == '%' || c == 'n' || c == 't';
}

int psr_tfmt_compile(struct psr_tfmt *f, const char *fmt, struct dp_err *err)
{
	size_t n = strlen(fmt);
	memset(f, 0, sizeof(*f));
	if (n == 0 || n >= sizeof(f->fmt))
		return dp_err_set(err, -EINVAL, "Time_Format must be 1..%zu bytes",
				  sizeof(f->fmt) - 1);
	memcpy(f->fmt, fmt, n);
	f->len = (uint16_t)n;
	size_t split = 0;
	bool unsafe_after = false;
	for (size_t i = 0; i < n; i++) {
		if (fmt[i] != '%')
			continue;
		char c = fmt[++i];
		if (!c || !strchr("YymdejHIMSpbBhaATRDFsLzZnt%", c))
			return dp_err_set(err, -EINVAL, "Time_Format '%s': unsupported conversion '%%%c'",
					  fmt, c ? c : ' ');
		if (strchr("YyDFs", c))
			f->has_year = true;
		if (strchr("mdebBhjDF", c))
			f->has_date = true;
		if (c == 's')
			f->epoch = true;
		if (c == 'S' || c == 'T' || c == 's') {
			split = i + 1;
			unsafe_after = false;
		} else if (!tail_safe(c)) {
			unsafe_after = true;
		}
	}
	if (f->epoch) {
		f->has_year = f->has_date = true;
	}
	f->head_end = (uint16_t)(split && !unsafe_after ? split : n);
	return 0;
}

/* Wall clock of the parsed fields as if UTC (no zone applied). */
static int64_t wall(const struct tmx *t)
{
	if (t->has_epoch)
		return t->epoch;
	int hour = t->hour;
	if (t->hour12 || t->pm >= 0) {
		hour %= 12;
		if (t->pm == 1)
			hour += 12;
	}
	int64_t days;
	if (!t->has_md && t->yday)
		days = psr_time_days_from_civil(t->year, 1, 1) + t->yday - 1;
	else
		days = psr_time_days_from_civil(t->year, t->mon, t->mday);
	return days * 86400 + hour * 3600 + t->min * 60 + t->sec;
}

/* The system zone's offset at a wall time (Time_System_Timezone). libc,
 * but only on a cache miss. */
static int32_t local_off(int64_t w)
{
	time_t x = (time_t)w;
	struct tm lt;
	if (!localtime_r(&x, &lt))
		return 0;
	x = (time_t)(w - lt.tm_gmtoff);
	if (!localtime_r(&x, &lt))
		return 0;
	return (int32_t)lt.tm_gmtoff;
}

static void civil(int64_t sec, int *y, int *m, int *d)
{
	int64_t z = (sec >= 0 ? sec : sec - 86399) / 86400 + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int psr_strptime(const struct psr_tfmt *f, struct psr_tcache *tc, const char *s, size_t len,
		 int64_t now, int32_t off, unsigned flags, int64_t *sec, uint32_t *nsec)
{
	struct tmx t = { .year = 1970, .mon = 1, .mday = 1, .pm = -1 };
	int32_t nowkey = 0;
	if (!f->has_year || !f->has_date) {
		int y, m, d;
		civil(now, &y, &m, &d);
		t.year = y;
		if (!f->has_date) {
			t.mon = m;
			t.mday = d;
		}
		nowkey = y * 10000 + (f->has_date ? 0 : m * 100 + d);
	}

	size_t pos = 0;
	int64_t head;
	int32_t loff = 0;
	int rc;
	if (tc && tc->valid && tc->fmt == f && tc->year == nowkey && len >= tc->klen &&
	    (tc->la < 0 ? len == tc->klen : len > tc->klen && (uint8_t)s[tc->klen] == tc->la) &&
	    !memcmp(s, tc->key, tc->klen)) {
		tc->hits++;
		pos = tc->klen;
		head = tc->head_sec;
		t.has_epoch = tc->head_epoch;
		t.has_off = tc->head_has_off;
		t.off = tc->head_off;
		t.nsec = tc->head_nsec;
		loff = tc->loc_off;
	} else {
		rc = walk(f->fmt, 0, f->head_end, s, len, &pos, &t);
		if (rc && !(flags & PSR_TIME_LENIENT))
			return rc;
		head = wall(&t);
		if ((flags & PSR_TIME_LOCAL) && !t.has_epoch)
			loff = local_off(head);
		if (tc) {
			tc->misses++;
			tc->valid = false;
			if (!rc && pos <= PSR_TCACHE_KEY) {
				memcpy(tc->key, s, pos);
				tc->klen = (uint8_t)pos;
				tc->la = pos < len ? (uint8_t)s[pos] : -1;
				tc->year = nowkey;
				tc->fmt = f;
				tc->head_sec = head;
				tc->head_epoch = t.has_epoch;
				tc->head_has_off = t.has_off;
				tc->head_off = t.off;
				tc->head_nsec = t.nsec;
				tc->loc_off = loff;
				tc->valid = true;
			}
		}
		if (rc)
			goto done;  /* lenient: what was read stands */
	}
	rc = walk(f->fmt, f->head_end, f->len, s, len, &pos, &t);
	if (rc && !(flags & PSR_TIME_LENIENT))
		return rc;
done:
	if (t.has_epoch)
		*sec = head;
	else if (t.has_off)
		*sec = head - t.off;
	else if (flags & PSR_TIME_LOCAL)
		*sec = head - loff;
	else
		*sec = head - off;
	*nsec = t.nsec;
	return 0;
}
