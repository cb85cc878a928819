/*
 * dp_log.c — log lines in Fluent Bit's layout (see dp_log.h).
 *
 * Threads: any; one write(2) per line keeps lines whole.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "dp_common.h"
#include "dp_log.h"

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
