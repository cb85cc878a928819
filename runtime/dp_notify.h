/*
 * dp_notify.h — telling systemd how sluice is doing (sd_notify): READY=1
 * once the pipeline runs, RELOADING=1 around a reload, STOPPING=1 when a
 * drain starts, STATUS= lines, and the watchdog pings WatchdogSec= asks
 * for. Every call is a no-op when NOTIFY_SOCKET is unset (sluice not run
 * by systemd as Type=notify). Control thread only.
 */
#ifndef DP_NOTIFY_H
#define DP_NOTIFY_H

#include <stdint.h>

void dp_notify_ready(void);
/* "RELOADING=1" with "MONOTONIC_USEC=<now>" (what Type=notify-reload of
 * systemd >= 253 asks for; older ones ignore the second field); send
 * dp_notify_ready() once the reload is done. */
void dp_notify_reloading(void);
void dp_notify_stopping(void);
/* One STATUS= line (shown by systemctl status), printf-style. */
void dp_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The watchdog period in µs, 0 when WatchdogSec is off (sd_watchdog_enabled:
 * WATCHDOG_USEC set and WATCHDOG_PID unset or this process). */
uint64_t dp_notify_watchdog_usec(void);
void dp_notify_watchdog(void);
/* The longest the control thread may sleep before its next watchdog
 * ping: seconds, or half the watchdog period when that is shorter. */
double dp_notify_wait_cap(double seconds);

#endif
