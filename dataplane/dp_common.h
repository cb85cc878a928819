/*
 * dp_common.h — definitions every sluice module shares: cache-line
 * alignment, branch hints, the burst size and the readable error struct.
 * No state; safe from any thread.
 */
#ifndef DP_COMMON_H
#define DP_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdarg.h>
#include <limits.h>

#define DP_CACHE_LINE 64
#define dp_cache_aligned __attribute__((aligned(DP_CACHE_LINE)))

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define DP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define DP_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Counters: plain integers with one writer (the shard or worker that owns
 * them), read by any thread with relaxed loads (the control thread sums
 * them): a reading may be a few events behind, never torn. The add is a
 * load and a store, not a locked instruction: there is one writer. */
#define DP_CNT_ADD(x, n) __atomic_store_n(&(x), (x) + (n), __ATOMIC_RELAXED)
#define DP_CNT_GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* Items handled per burst call (frames per read, datagrams per recvmmsg,
 * chunks per ring dequeue). Batches are stack arrays of this size. */
#define DP_BURST 32

/* Room for the longest control-path error: two paths (a file:line prefix
 * and a path in the message, "x.conf:3: cannot open '/y'"), each up to
 * PATH_MAX, plus a key, a value shown up to a fixed width and the words.
 * Messages are never cut at this size in practice; were one longer, it
 * ends in "..." so a cut is visible. dp_err lives on the control path
 * (stack and per-worker structs), never per event. */
#define DP_ERR_MSG_MAX (2 * PATH_MAX + 1024)

/* A control-path error a person can read:
 * "sluice.conf:14: [OUTPUT] kafka: unknown key 'Brokerz'". */
struct dp_err {
	int code;      /* -errno */
	char msg[DP_ERR_MSG_MAX];
	const char *key; /* optional: the configuration key at fault, so the
	                    caller can point at its line */
};

static inline int dp_err_set(struct dp_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline int dp_err_set(struct dp_err *e, int code, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
		if (n >= (int)sizeof(e->msg))
			memcpy(e->msg + sizeof(e->msg) - 4, "...", 4);
		e->code = code;
	}
	return code;
}

/* FNV-1a over n bytes, continuing from h (DP_FNV1A_INIT to start): the
 * one hash for names and keys (file names, config signatures, sampling). */
#define DP_FNV1A_INIT  0xcbf29ce484222325ull
#define DP_FNV1A_PRIME 0x100000001b3ull
static inline uint64_t dp_fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * DP_FNV1A_PRIME;
	return h;
}

#endif
