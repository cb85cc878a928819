/*
 * test_notify.c — runtime/dp_notify.c against a Unix datagram socket of
 * the test's own, standing in for systemd's NOTIFY_SOCKET: the exact
 * messages (RELOADING with MONOTONIC_USEC as systemd >= 253 reads it),
 * silence without NOTIFY_SOCKET, sd_watchdog_enabled's rules (WATCHDOG_PID
 * must be this process) and the control loop's wait cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "dp_notify.h"

static int sock = -1;
static char path[108];

static int setup(void **state)
{
	(void)state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(path, sizeof(path), "/tmp/sluice-test-notify-%d.sock", (int)getpid());
	unlink(path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	struct timeval tv = { 2, 0 };   /* a message that never comes fails, not hangs */
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setenv("NOTIFY_SOCKET", path, 1);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(sock);
	unlink(path);
	return 0;
}

/* The next message, or "" when none is waiting (non-blocking). */
static const char *next_msg(int wait)
{
	static char buf[512];
	ssize_t n = recv(sock, buf, sizeof(buf) - 1, wait ? 0 : MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void test_messages(void **state)
{
	(void)state;
	dp_notify_ready();
	assert_string_equal(next_msg(1), "READY=1");
	dp_notify_stopping();
	assert_string_equal(next_msg(1), "STOPPING=1");
	dp_notify_status("running: %u shards", 3u);
	assert_string_equal(next_msg(1), "STATUS=running: 3 shards");
	uint64_t before = now_usec();
	dp_notify_reloading();
	uint64_t after = now_usec();
	unsigned long long t = 0;
	const char *m = next_msg(1);
	assert_int_equal(sscanf(m, "RELOADING=1\nMONOTONIC_USEC=%llu", &t), 1);
	assert_true(t >= before && t <= after);
	assert_null(strchr(strchr(m, '\n') + 1, '\n'));   /* exactly two fields */
}

static void test_no_socket_no_message(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	setenv("WATCHDOG_USEC", "400000", 1);
	dp_notify_ready();
	dp_notify_reloading();
	dp_notify_status("x");
	dp_notify_watchdog();
	assert_int_equal(dp_notify_watchdog_usec(), 0);
	assert_true(dp_notify_wait_cap(3600) == 3600);
	setenv("NOTIFY_SOCKET", path, 1);
	unsetenv("WATCHDOG_USEC");
	assert_string_equal(next_msg(0), "");
}

static void test_watchdog(void **state)
{
	(void)state;
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());

	/* off: no WATCHDOG_USEC */
	assert_int_equal(dp_notify_watchdog_usec(), 0);
	dp_notify_watchdog();
	assert_string_equal(next_msg(0), "");
	assert_true(dp_notify_wait_cap(3600) == 3600);

	/* on, WATCHDOG_PID unset: for us */
	setenv("WATCHDOG_USEC", "400000", 1);
	assert_int_equal(dp_notify_watchdog_usec(), 400000);
	assert_true(dp_notify_wait_cap(3600) == 0.2);
	assert_true(dp_notify_wait_cap(0.05) == 0.05);   /* a shorter wait stays */
	dp_notify_watchdog();
	assert_string_equal(next_msg(1), "WATCHDOG=1");

	/* WATCHDOG_PID ours: on; another process's: off */
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(dp_notify_watchdog_usec(), 400000);
	setenv("WATCHDOG_PID", "1", 1);
	assert_int_equal(dp_notify_watchdog_usec(), 0);
	assert_true(dp_notify_wait_cap(3600) == 3600);
	dp_notify_watchdog();
	assert_string_equal(next_msg(0), "");
	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_no_socket_no_message),
		cmocka_unit_test(test_watchdog),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
