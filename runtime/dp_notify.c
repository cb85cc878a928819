/*
 * dp_notify.c — sd_notify for sluice run as a systemd Type=notify service
 * (see dp_notify.h and conf/sluice.service.in). libsystemd does the
 * sending; what is here is when not to bother (no NOTIFY_SOCKET) and the
 * watchdog arithmetic. Control thread only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include "dp_log.h"
#include "dp_notify.h"

static int notify_on(void)
{
	const char *s = getenv("NOTIFY_SOCKET");
	return s && *s;
}

/* A failed send is logged at debug only: nothing sluice does depends
 * on systemd hearing it, and a watchdog ping every few seconds to a
 * systemd that went away must not fill the log. */
static void notify_send(const char *msg)
{
	if (!notify_on())
		return;
	int rc = sd_notify(0, msg);
	if (rc < 0)
		dp_debug("sd_notify '%.40s': %d", msg, rc);
}

void dp_notify_ready(void)
{
	notify_send("READY=1");
}

void dp_notify_reloading(void)
{
	struct timespec ts;
	char msg[64];
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
	notify_send(msg);
}

void dp_notify_stopping(void)
{
	notify_send("STOPPING=1");
}

void dp_notify_status(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	if (!notify_on())
		return;
	int n = snprintf(msg, sizeof(msg), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	notify_send(msg);
}

uint64_t dp_notify_watchdog_usec(void)
{
	uint64_t usec = 0;
	if (!notify_on() || sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}

void dp_notify_watchdog(void)
{
	if (dp_notify_watchdog_usec())
		notify_send("WATCHDOG=1");
}

double dp_notify_wait_cap(double seconds)
{
	uint64_t usec = dp_notify_watchdog_usec();
	double half = (double)usec / 2e6;
	return usec && half < seconds ? half : seconds;
}
