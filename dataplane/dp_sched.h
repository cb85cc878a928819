/*
 * dp_sched.h — how long a failed flush waits before its retry: Fluent
 * Bit's exponential backoff with full jitter, with Fluent Bit's keys and
 * defaults ([SERVICE] scheduler.base 5, scheduler.cap 2000, seconds).
 *
 * Fluent Bit (src/flb_scheduler.c, backoff_full_jitter; the manual's page
 * administration/scheduling-and-retries): the wait before retry n, n = 1
 * for the first retry, is a uniform draw from
 *
 *     [base, min(cap, base * 2^n)]
 *
 * Fluent Bit draws whole seconds and then adds one second for its timer
 * (flb_sched_request_create: seconds += 1); sluice draws milliseconds and
 * adds nothing, since its waits are not rounded to a timer tick. The
 * bounds are Fluent Bit's.
 *
 * Threads: any. The random state is per thread (thread-local, seeded once
 * per thread from getrandom): no rand(), no lock, no shared cache line.
 */
#ifndef DP_SCHED_H
#define DP_SCHED_H

#include <stdint.h>

#define DP_SCHED_BASE_DEFAULT 5      /* seconds, Fluent Bit's default */
#define DP_SCHED_CAP_DEFAULT  2000   /* seconds, Fluent Bit's default */

/* A random state (splitmix64): one per thread, or one per test with a
 * fixed seed. */
struct dp_sched_rng {
	uint64_t s;
};

void dp_sched_rng_seed(struct dp_sched_rng *r, uint64_t seed);
uint64_t dp_sched_rng_next(struct dp_sched_rng *r);

/* The wait before retry n (1 = first retry) in milliseconds, drawn from r:
 * uniform in [base, min(cap, base * 2^n)], base and cap in seconds. Safe
 * for any n (no overflow: past the cap the bound is the cap) and for
 * cap < base (the wait is then base). n = 0 is taken as 1. */
uint64_t dp_sched_backoff_ms_r(struct dp_sched_rng *r, double base, double cap, unsigned n);

/* The same from this thread's random state. */
uint64_t dp_sched_backoff_ms(double base, double cap, unsigned n);

#endif
