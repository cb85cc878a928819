/*
 * dp_sched.c — the retry backoff (see dp_sched.h): Fluent Bit's
 * backoff_full_jitter (src/flb_scheduler.c) in milliseconds, with a per
 * thread splitmix64 state instead of Fluent Bit's srand()/rand() (which
 * share one global state between threads and reseed from /dev/urandom on
 * every call).
 *
 * Threads: any; the implicit state is thread-local.
 */
#include <math.h>
#include <pthread.h>
#include <sys/random.h>
#include "dp_sched.h"
#include "dp_time.h"

void dp_sched_rng_seed(struct dp_sched_rng *r, uint64_t seed)
{
	r->s = seed;
}

/* splitmix64 (Steele, Lea, Flood 2014): every seed is a good one, which
 * a lazily seeded per-thread state needs. */
uint64_t dp_sched_rng_next(struct dp_sched_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, range] without modulo bias (Lemire's multiply-shift with
 * rejection). */
static uint64_t uniform(struct dp_sched_rng *r, uint64_t range)
{
	if (range == UINT64_MAX)
		return dp_sched_rng_next(r);
	uint64_t span = range + 1;
	unsigned __int128 m = (unsigned __int128)dp_sched_rng_next(r) * span;
	uint64_t lo = (uint64_t)m;
	if (lo < span) {
		uint64_t t = -span % span;
		while (lo < t) {
			m = (unsigned __int128)dp_sched_rng_next(r) * span;
			lo = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

/* Seconds to milliseconds, clamped: a NaN or negative value is 0, a huge
 * one ~31 years (no overflow later). */
static uint64_t to_ms(double s)
{
	double ms = s * 1000.0;
	if (!(ms > 0))
		return 0;
	if (ms > 1e12)
		return 1000000000000ull;
	return (uint64_t)llround(ms);
}

uint64_t dp_sched_backoff_ms_r(struct dp_sched_rng *r, double base, double cap, unsigned n)
{
	uint64_t b = to_ms(base), c = to_ms(cap);
	if (n == 0)
		n = 1;
	/* min(cap, base * 2^n), without computing 2^n when it would pass
	 * the cap (or overflow) */
	uint64_t hi = c;
	if (n < 64 && b <= (c >> n))
		hi = b << n;
	if (hi < b)
		return b;   /* cap < base: Fluent Bit's draw is undefined there */
	return b + uniform(r, hi - b);
}

static __thread struct dp_sched_rng tls_rng;
static __thread int tls_seeded;

uint64_t dp_sched_backoff_ms(double base, double cap, unsigned n)
{
	if (!tls_seeded) {
		uint64_t seed;
		/* Once per thread. Without entropy, the clock and the thread
		 * still make threads and processes draw apart. */
		if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
			seed = dp_time_mono_ns() ^ (uint64_t)(uintptr_t)pthread_self();
		dp_sched_rng_seed(&tls_rng, seed);
		tls_seeded = 1;
	}
	return dp_sched_backoff_ms_r(&tls_rng, base, cap, n);
}
