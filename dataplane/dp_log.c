/*
 * dp_log.c — log lines in Fluent Bit's layout (see dp_log.h).
 *
 * Threads: any; one write(2) per line keeps lines whole.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "dp_common.h"
#include "dp_log.h"
#include "dp_time.h"

_Atomic int dp_log_level = DP_LOG_INFO;
static int log_fd = 2;

static const char *const names[] = { "", "error", " warn", " info", "debug", "trace" };

void dp_log_set_fd(int fd)
{
	log_fd = fd;
}

void dp_log_write(int level, const char *fmt, ...)
{
	/* Room for a whole dp_err message and the prefix: errors are logged
	 * as they are, never cut. */
	char line[DP_ERR_MSG_MAX + 128];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	int n = (int)strftime(line, sizeof(line), "[%Y/%m/%d %H:%M:%S] ", &tm);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "[%s] [sluice] ", names[level]);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	line[n++] = '\n';
	ssize_t w = write(log_fd, line, (size_t)n);
	(void)w;
}

int dp_ratelimit_ok(struct dp_ratelimit *rl, uint64_t now_ns, uint64_t every_ns)
{
	if (rl->last_ns && now_ns - rl->last_ns < every_ns) {
		rl->suppressed++;
		return 0;
	}
	rl->last_ns = now_ns;
	return 1;
}

/* ---- Log_Suppress_Interval (dp_log.h) ---- */

static uint32_t supp_hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
	uint32_t x = (uint32_t)(h ^ (h >> 32));
	return x ? x : 1;   /* never 0: a slot of 0 is free */
}

int dp_log_supp_check(struct dp_log_supp *s, const char *msg, size_t len, uint32_t now_ms)
{
	uint32_t h = supp_hash(msg, len);
	double iv = s->interval * 1000.0;
	uint32_t every = iv >= 2147483647.0 ? 2147483647u : (uint32_t)iv;
	uint64_t want = (uint64_t)h << 32 | now_ms;
	/* A lost race is retried; after a few, the line is written (a
	 * duplicate costs less than a lost message). */
	for (int tries = 0; tries < 4; tries++) {
		int victim = -1;
		uint64_t seen = 0;
		uint32_t best = 0;   /* the victim's age; a free slot counts as oldest */
		for (int i = 0; i < DP_LOG_SUPP_SLOTS; i++) {
			uint64_t v = atomic_load_explicit(&s->slot[i], memory_order_acquire);
			uint32_t age = now_ms - (uint32_t)v;
			if (v && (uint32_t)(v >> 32) == h) {
				if (age < every)
					return 0;   /* written less than an interval ago */
				victim = i;     /* expired: written again, from now */
				seen = v;
				break;
			}
			uint32_t score = v ? age : UINT32_MAX;
			if (victim < 0 || score > best) {
				victim = i;     /* else a free slot, or the oldest, goes */
				seen = v;
				best = score;
			}
		}
		if (atomic_compare_exchange_strong_explicit(&s->slot[victim], &seen, want, memory_order_acq_rel,
							    memory_order_acquire))
			return 1;
	}
	return 1;
}

void dp_log_write_supp(struct dp_log_supp *s, int level, const char *fmt, ...)
{
	char msg[DP_ERR_MSG_MAX + 96];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	if (dp_log_supp_check(s, msg, len, (uint32_t)(dp_time_mono_ns() / 1000000ull)))
		dp_log_write(level, "%s", msg);
}
