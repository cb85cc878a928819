/*
 * dp_time.h — clocks in nanoseconds. vDSO calls, no syscall; still, the
 * data path reads them once per loop, not per event.
 */
#ifndef DP_TIME_H
#define DP_TIME_H

#include <stdint.h>
#include <time.h>

static inline uint64_t dp_time_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t dp_time_real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
