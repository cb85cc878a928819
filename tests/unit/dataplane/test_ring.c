/*
 * test_ring.c — the SPSC ring (dp_ring.h): size rounding, empty and full,
 * partial bursts, 32-bit index wraparound, and a two-thread stress run that
 * checks strict order with no loss and no duplicate.
 *
 * The single-threaded tests set head/tail directly (the struct is public)
 * to start next to UINT32_MAX. The stress test spins, never sleeps: the
 * producer yields the CPU after a run of failed attempts so that it also
 * finishes quickly on a machine with fewer free cores than threads.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "dp_ring.h"

#define V(x) ((void *)(uintptr_t)(x))

/* Put the ring's indices (and both cached copies) at start, as if that
 * many items had already gone through it. */
static void ring_set_index(struct dp_ring *r, uint32_t start)
{
	atomic_store(&r->head, start);
	atomic_store(&r->tail, start);
	r->tail_cache = start;
	r->head_cache = start;
}

static void test_size_rounding(void **state)
{
	static const struct { uint32_t ask, want; } sizes[] = {
		{ 1, 1 }, { 2, 2 }, { 3, 4 }, { 4, 4 }, { 5, 8 }, { 7, 8 },
		{ 8, 8 }, { 9, 16 }, { 1000, 1024 }, { 1024, 1024 },
		{ 1025, 2048 }, { (1u << 20) + 1, 1u << 21 },
	};

	(void)state;
	for (size_t i = 0; i < DP_ARRAY_SIZE(sizes); i++) {
		struct dp_ring *r = dp_ring_create(sizes[i].ask);

		assert_non_null(r);
		assert_int_equal(r->size, sizes[i].want);
		assert_int_equal(r->mask, sizes[i].want - 1);
		assert_int_equal(dp_ring_count(r), 0);
		/* the two sides do not share a cache line */
		assert_int_equal((uintptr_t)r % DP_CACHE_LINE, 0);
		assert_true((uintptr_t)&r->tail - (uintptr_t)&r->head >= DP_CACHE_LINE);
		/* every slot is usable: exactly size items fit */
		for (uint32_t k = 0; k < r->size; k++) {
			void *one = V(k + 1);
			assert_int_equal(dp_ring_enqueue_burst(r, &one, 1), 1);
		}
		void *extra = V(1);
		assert_int_equal(dp_ring_enqueue_burst(r, &extra, 1), 0);
		assert_int_equal(dp_ring_count(r), r->size);
		dp_ring_destroy(r);
	}
	assert_null(dp_ring_create(0));
	assert_null(dp_ring_create((1u << 30) + 1));
	assert_null(dp_ring_create(UINT32_MAX));
}

static void test_empty_full(void **state)
{
	struct dp_ring *r = dp_ring_create(8);
	void *in[16], *out[16];

	(void)state;
	assert_non_null(r);
	for (unsigned i = 0; i < 16; i++)
		in[i] = V(100 + i);

	/* empty: nothing comes out and the output array is left alone */
	out[0] = V(0xdead);
	assert_int_equal(dp_ring_dequeue_burst(r, out, 16), 0);
	assert_ptr_equal(out[0], V(0xdead));
	assert_int_equal(dp_ring_dequeue_burst(r, out, 0), 0);
	assert_int_equal(dp_ring_enqueue_burst(r, in, 0), 0);
	assert_int_equal(dp_ring_count(r), 0);

	/* fill exactly */
	assert_int_equal(dp_ring_enqueue_burst(r, in, 8), 8);
	assert_int_equal(dp_ring_count(r), 8);
	/* full: nothing goes in, nothing is overwritten */
	assert_int_equal(dp_ring_enqueue_burst(r, in + 8, 1), 0);
	assert_int_equal(dp_ring_enqueue_burst(r, in + 8, 8), 0);
	assert_int_equal(dp_ring_count(r), 8);

	/* drain in order */
	assert_int_equal(dp_ring_dequeue_burst(r, out, 3), 3);
	for (unsigned i = 0; i < 3; i++)
		assert_ptr_equal(out[i], in[i]);
	assert_int_equal(dp_ring_count(r), 5);
	assert_int_equal(dp_ring_dequeue_burst(r, out, 16), 5);
	for (unsigned i = 0; i < 5; i++)
		assert_ptr_equal(out[i], in[3 + i]);
	assert_int_equal(dp_ring_dequeue_burst(r, out, 16), 0);
	assert_int_equal(dp_ring_count(r), 0);

	/* empty again: room for a full ring again */
	assert_int_equal(dp_ring_enqueue_burst(r, in + 8, 8), 8);
	assert_int_equal(dp_ring_dequeue_burst(r, out, 8), 8);
	for (unsigned i = 0; i < 8; i++)
		assert_ptr_equal(out[i], in[8 + i]);

	/* a ring of one */
	struct dp_ring *one = dp_ring_create(1);
	assert_int_equal(dp_ring_enqueue_burst(one, in, 4), 1);
	assert_int_equal(dp_ring_enqueue_burst(one, in + 1, 1), 0);
	assert_int_equal(dp_ring_dequeue_burst(one, out, 4), 1);
	assert_ptr_equal(out[0], in[0]);
	assert_int_equal(dp_ring_enqueue_burst(one, in + 1, 1), 1);
	assert_int_equal(dp_ring_dequeue_burst(one, out, 4), 1);
	assert_ptr_equal(out[0], in[1]);
	dp_ring_destroy(one);
	dp_ring_destroy(r);
}

/* A burst larger than what is free (or available) handles what it can and
 * says how many; the rest is the caller's. */
static void test_partial_bursts(void **state)
{
	struct dp_ring *r = dp_ring_create(16);
	void *in[64], *out[64];
	uint32_t next_out = 0;

	(void)state;
	for (unsigned i = 0; i < 64; i++)
		in[i] = V(i);

	assert_int_equal(dp_ring_enqueue_burst(r, in, 10), 10);
	assert_int_equal(dp_ring_enqueue_burst(r, in + 10, 10), 6); /* 6 free */
	assert_int_equal(dp_ring_count(r), 16);
	assert_int_equal(dp_ring_dequeue_burst(r, out, 4), 4);
	for (unsigned i = 0; i < 4; i++)
		assert_ptr_equal(out[i], V(next_out++));
	/* the producer's cached tail is stale (0): it must look again */
	assert_int_equal(dp_ring_enqueue_burst(r, in + 16, 10), 4);
	assert_int_equal(dp_ring_enqueue_burst(r, in + 20, 64 - 20), 0);
	/* more than the ring holds asked: get what there is */
	assert_int_equal(dp_ring_dequeue_burst(r, out, 64), 16);
	for (unsigned i = 0; i < 16; i++)
		assert_ptr_equal(out[i], V(next_out++));
	/* the consumer's cached head is stale: it must look again */
	assert_int_equal(dp_ring_enqueue_burst(r, in + 20, 3), 3);
	assert_int_equal(dp_ring_dequeue_burst(r, out, 32), 3);
	for (unsigned i = 0; i < 3; i++)
		assert_ptr_equal(out[i], V(next_out++));
	/* a burst of more than the whole ring into an empty ring */
	assert_int_equal(dp_ring_enqueue_burst(r, in, 64), 16);
	assert_int_equal(dp_ring_dequeue_burst(r, out, 5), 5);
	assert_int_equal(dp_ring_dequeue_burst(r, out + 5, 64), 11);
	for (unsigned i = 0; i < 16; i++)
		assert_ptr_equal(out[i], in[i]);
	dp_ring_destroy(r);
}

/* Indices are free-running uint32_t: crossing UINT32_MAX must not change
 * order, count, or the full and empty tests. */
static void test_wraparound(void **state)
{
	static const uint32_t starts[] = {
		UINT32_MAX - 20, UINT32_MAX - 7, UINT32_MAX - 1, UINT32_MAX,
		0x7fffffffu, 0x80000000u - 3,
	};

	(void)state;
	for (size_t s = 0; s < DP_ARRAY_SIZE(starts); s++) {
		struct dp_ring *r = dp_ring_create(8);
		uint32_t next_in = 1, next_out = 1;
		void *buf[16];

		assert_non_null(r);
		ring_set_index(r, starts[s]);
		assert_int_equal(dp_ring_count(r), 0);
		assert_int_equal(dp_ring_dequeue_burst(r, buf, 16), 0);

		/* fill across the wrap: full is still full */
		for (unsigned i = 0; i < 16; i++)
			buf[i] = V(next_in + i);
		assert_int_equal(dp_ring_enqueue_burst(r, buf, 16), 8);
		next_in += 8;
		assert_int_equal(dp_ring_count(r), 8);
		assert_int_equal(dp_ring_enqueue_burst(r, buf, 1), 0);
		assert_int_equal(atomic_load(&r->head), starts[s] + 8);

		/* many small steps through the wrap, checking order and count */
		for (unsigned step = 0; step < 64; step++) {
			unsigned take = 1 + step % 5, give = 1 + (step * 3) % 7;
			unsigned got = dp_ring_dequeue_burst(r, buf, take);
			uint32_t before = dp_ring_count(r);

			for (unsigned i = 0; i < got; i++)
				assert_ptr_equal(buf[i], V(next_out++));
			for (unsigned i = 0; i < give; i++)
				buf[i] = V(next_in + i);
			unsigned put = dp_ring_enqueue_burst(r, buf, give);
			assert_int_equal(put, DP_MIN(give, 8 - before));
			next_in += put;
			assert_int_equal(dp_ring_count(r), next_in - next_out);
			assert_true(dp_ring_count(r) <= 8);
		}
		/* drain: nothing lost, nothing twice */
		unsigned got;
		while ((got = dp_ring_dequeue_burst(r, buf, 3)) > 0)
			for (unsigned i = 0; i < got; i++)
				assert_ptr_equal(buf[i], V(next_out++));
		assert_int_equal(next_out, next_in);
		assert_int_equal(dp_ring_count(r), 0);
		/* both indices really went past the wrap */
		assert_true(atomic_load(&r->tail) - starts[s] == next_out - 1);
		if (starts[s] > UINT32_MAX - 64)
			assert_true(atomic_load(&r->tail) < starts[s]);
		dp_ring_destroy(r);
	}
}

/* --- two threads --- */

struct stress {
	struct dp_ring *r;
	uint64_t n;           /* items 1..n */
	unsigned max_burst;
	uint32_t seed;
	atomic_bool stop;     /* the consumer failed: producer, give up */
};

#define STRESS_MAX_BURST 64

static inline uint32_t xorshift32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* Spinning alone would stall for a whole time slice when both threads
 * share one CPU; yielding now and then keeps the test quick there. */
static inline void backoff(unsigned *spins)
{
	if (++*spins % 32 == 0)
		sched_yield();
	else
		cpu_relax();
}

static void *stress_producer(void *arg)
{
	struct stress *st = arg;
	uint32_t rnd = st->seed;
	uint64_t next = 1;
	void *buf[STRESS_MAX_BURST];
	unsigned spins = 0;

	while (next <= st->n) {
		unsigned want = 1 + xorshift32(&rnd) % st->max_burst;
		unsigned done = 0;

		if (want > st->n - next + 1)
			want = (unsigned)(st->n - next + 1);
		for (unsigned i = 0; i < want; i++)
			buf[i] = V(next + i);
		while (done < want) {
			unsigned k = dp_ring_enqueue_burst(st->r, buf + done, want - done);

			if (k > want - done)
				abort(); /* more than asked: the consumer will see garbage */
			if (k == 0) {
				if (atomic_load_explicit(&st->stop, memory_order_relaxed))
					return NULL;
				backoff(&spins);
			}
			done += k;
		}
		next += want;
	}
	return NULL;
}

static void stress_run(uint32_t ring_size, uint64_t n, unsigned max_burst,
		       uint32_t start_index)
{
	struct stress st = {
		.r = dp_ring_create(ring_size),
		.n = n,
		.max_burst = max_burst,
		.seed = 0x9e3779b9u,
	};
	uint32_t rnd = 0x12345678u;
	uint64_t expect = 1;
	void *buf[STRESS_MAX_BURST];
	unsigned spins = 0;
	pthread_t tid;
	char why[128] = "";

	assert_non_null(st.r);
	assert_true(max_burst <= STRESS_MAX_BURST);
	ring_set_index(st.r, start_index);
	assert_int_equal(pthread_create(&tid, NULL, stress_producer, &st), 0);

	while (expect <= n && !why[0]) {
		unsigned want = 1 + xorshift32(&rnd) % max_burst;
		unsigned got = dp_ring_dequeue_burst(st.r, buf, want);

		if (got > want) {
			snprintf(why, sizeof(why), "dequeued %u of %u asked", got, want);
			break;
		}
		if (got == 0) {
			backoff(&spins);
			continue;
		}
		for (unsigned i = 0; i < got; i++, expect++) {
			if (buf[i] != V(expect)) {
				snprintf(why, sizeof(why), "item %llu: got %llu",
					 (unsigned long long)expect,
					 (unsigned long long)(uintptr_t)buf[i]);
				break;
			}
		}
		/* seen from the consumer, head can only be ahead of tail and
		 * at most one ring ahead */
		if (!why[0] && dp_ring_count(st.r) > st.r->size)
			snprintf(why, sizeof(why), "count %u > size %u",
				 dp_ring_count(st.r), st.r->size);
	}
	if (why[0])
		atomic_store(&st.stop, true);
	assert_int_equal(pthread_join(tid, NULL), 0);
	if (why[0]) {
		dp_ring_destroy(st.r);
		fail_msg("%s", why);
	}
	/* the producer is done: nothing more may come out */
	assert_int_equal(dp_ring_dequeue_burst(st.r, buf, max_burst), 0);
	assert_int_equal(dp_ring_count(st.r), 0);
	assert_int_equal((uint32_t)(atomic_load(&st.r->head) - start_index), (uint32_t)n);
	dp_ring_destroy(st.r);
}

/* 20 million items, indices wrapping half way through. */
static void test_stress(void **state)
{
	(void)state;
	stress_run(512, 20000000, STRESS_MAX_BURST, UINT32_MAX - 10000000u);
}

/* A tiny ring and bursts bigger than it: nearly every call meets a full or
 * an empty ring, so the cached indices are refreshed all the time. */
static void test_stress_tiny(void **state)
{
	(void)state;
	stress_run(4, 500000, 9, UINT32_MAX - 250000u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_rounding),
		cmocka_unit_test(test_empty_full),
		cmocka_unit_test(test_partial_bursts),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_stress),
		cmocka_unit_test(test_stress_tiny),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
