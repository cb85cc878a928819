/*
 * in_http_limit.c — the http input's ingest limits (in_http_limit.h).
 *
 * Rate_Limit: one token bucket per tenant, shared by the shards (a
 * tenant's connections land on any shard), in a table of RATE_SLOTS
 * slots found by the tenant's hash. A slot is two atomics: the tenant's
 * hash (claimed once with a CAS) and its state, tokens and the time of
 * the last refill packed in 64 bits and changed with a CAS loop: one CAS
 * per request, no lock. A minute's worth of records is the bucket's size,
 * refilled continuously (N/60 per second). Tenants past RATE_SLOTS (the
 * table is never emptied: a tenant's slot outlives its requests) share
 * one overflow bucket, and that is logged once.
 *
 * Dedupe_Window: a request's key is XXH3-128 (libxxhash) of its path,
 * tenant and body; a collision of two different batches (which would
 * drop the second) has a probability near 2^-128 per pair. Accepted keys
 * live in a table of DD_SLOTS entries (about 2.6 MB per input, allocated
 * only with the key set), each with its time and the chunk number its
 * answer waited for on its shard: a copy arriving after the first was
 * stored gets the 2xx without being kept again; one arriving while the
 * first is still being stored, on the same shard, gets the 2xx when the
 * first's does (answers of a shard go out in order, so it waits for the
 * same chunks); on another shard, 503 Retry-After: 1 (never a 2xx for
 * records that are not safe yet). A slot is reused once its time is past the window, or the
 * oldest of its probe group when all are live (a very busy window may
 * forget a key early: the copy is then kept twice, never lost). The table
 * is shared by the shards under one mutex, taken twice per request (look,
 * then note), never per record.
 *
 * Threads: setup/teardown on the control thread; the rest on any shard.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY   /* XXH3_state_t on the stack */
#include <xxhash.h>
#include "dp_common.h"
#include "dp_log.h"
#include "in_http_limit.h"

#define RATE_SLOTS 4096u
#define RATE_PROBE 16u
#define DD_SLOTS 65536u
#define DD_PROBE 8u

struct rate_slot {
	_Atomic uint64_t key;       /* tenant hash | 1; 0: free */
	_Atomic uint64_t state;     /* tokens << 32 | last refill, ms (mod 2^32) */
};

struct http_rate {
	uint64_t per_min;
	_Atomic bool overflow_said;
	struct rate_slot overflow;
	struct rate_slot slot[RATE_SLOTS];
};

struct dd_slot {
	struct in_http_dd_key k;
	uint64_t at_ms;             /* 0: free */
	const _Atomic uint64_t *released;
	uint64_t after;
	bool done;
};

struct http_dedupe {
	pthread_mutex_t mu;
	uint64_t window_ms;
	struct dd_slot slot[];
};

int in_http_limit_setup(struct in_http_limit_cfg *cfg, struct dp_err *err)
{
	if (cfg->rate_limit) {
		if (!(cfg->rate = calloc(1, sizeof(*cfg->rate))))
			return dp_err_set(err, -ENOMEM, "out of memory");
		cfg->rate->per_min = (uint64_t)cfg->rate_limit;
	}
	if (cfg->dedupe_window > 0) {
		cfg->dd = calloc(1, sizeof(*cfg->dd) + DD_SLOTS * sizeof(cfg->dd->slot[0]));
		if (!cfg->dd)
			return dp_err_set(err, -ENOMEM, "out of memory");
		pthread_mutex_init(&cfg->dd->mu, NULL);
		cfg->dd->window_ms = (uint64_t)(cfg->dedupe_window * 1000);
	}
	return 0;
}

void in_http_limit_teardown(struct in_http_limit_cfg *cfg)
{
	free(cfg->rate);
	cfg->rate = NULL;
	if (cfg->dd)
		pthread_mutex_destroy(&cfg->dd->mu);
	free(cfg->dd);
	cfg->dd = NULL;
}

/* ---- Rate_Limit ---- */

static struct rate_slot *rate_slot(struct http_rate *r, const char *tenant, size_t len)
{
	uint64_t h = XXH3_64bits(tenant, len) | 1;
	for (unsigned i = 0; i < RATE_PROBE; i++) {
		struct rate_slot *s = &r->slot[(h + i) % RATE_SLOTS];
		uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);
		if (k == h)
			return s;
		if (k == 0) {
			uint64_t zero = 0;
			if (atomic_compare_exchange_strong(&s->key, &zero, h) || zero == h)
				return s;
		}
	}
	if (!atomic_exchange(&r->overflow_said, true))
		dp_warn("http: Rate_Limit: more tenants than %u buckets; the others share one", RATE_SLOTS);
	return &r->overflow;
}

long in_http_rate_take(struct in_http_limit_cfg *cfg, const char *tenant, size_t len, uint64_t n,
		       uint64_t now_ms)
{
	struct http_rate *r = cfg->rate;
	uint64_t cap = r->per_min;
	if (n > cap)
		return -1;
	struct rate_slot *s = rate_slot(r, tenant, len);
	uint32_t now = (uint32_t)now_ms;
	uint64_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
	for (;;) {
		uint64_t tokens, last;
		if (st == 0) {   /* a new bucket starts full */
			tokens = cap;
			last = now;
		} else {
			tokens = st >> 32;
			last = (uint32_t)st;
			uint64_t elapsed = (uint32_t)(now - (uint32_t)last);
			uint64_t add = elapsed * cap / 60000;
			if (tokens + add >= cap) {
				tokens = cap;
				last = now;
			} else if (add) {
				tokens += add;
				last = (uint32_t)(last + add * 60000 / cap);   /* the fraction stays owed */
			}
		}
		if (tokens < n) {
			uint64_t ms = ((n - tokens) * 60000 + cap - 1) / cap;
			return (long)DP_MAX((ms + 999) / 1000, 1);
		}
		uint64_t next = (tokens - n) << 32 | (uint32_t)last;
		if (next == 0)
			next = 1;   /* 0 means a new bucket; 1 ms off does no harm */
		if (atomic_compare_exchange_weak_explicit(&s->state, &st, next, memory_order_relaxed,
							  memory_order_relaxed))
			return 0;
	}
}

/* ---- Dedupe_Window ---- */

struct in_http_dd_key in_http_dd_key(const char *path, size_t plen, const char *tenant, size_t tlen,
				     const char *body, size_t blen)
{
	XXH3_state_t st;
	XXH3_128bits_reset(&st);
	XXH3_128bits_update(&st, path, plen);
	XXH3_128bits_update(&st, "\0", 1);
	XXH3_128bits_update(&st, tenant, tlen);
	XXH3_128bits_update(&st, "\0", 1);
	XXH3_128bits_update(&st, body, blen);
	XXH128_hash_t h = XXH3_128bits_digest(&st);
	return (struct in_http_dd_key){ h.low64, h.high64 };
}

static bool live(const struct http_dedupe *d, const struct dd_slot *s, uint64_t now_ms)
{
	return s->at_ms && now_ms - s->at_ms < d->window_ms;
}

static struct dd_slot *dd_find(struct http_dedupe *d, struct in_http_dd_key k, uint64_t now_ms)
{
	for (unsigned i = 0; i < DD_PROBE; i++) {
		struct dd_slot *s = &d->slot[(k.lo + i) % DD_SLOTS];
		if (live(d, s, now_ms) && s->k.lo == k.lo && s->k.hi == k.hi)
			return s;
	}
	return NULL;
}

enum in_http_dd in_http_dd_look(struct in_http_limit_cfg *cfg, struct in_http_dd_key k, uint64_t now_ms,
				const _Atomic uint64_t *mine)
{
	struct http_dedupe *d = cfg->dd;
	pthread_mutex_lock(&d->mu);
	const struct dd_slot *s = dd_find(d, k, now_ms);
	enum in_http_dd rc = !s ? IN_HTTP_DD_NEW :
			     s->done || atomic_load_explicit(s->released, memory_order_acquire) > s->after ?
			     IN_HTTP_DD_DONE : s->released == mine ? IN_HTTP_DD_INFLIGHT_HERE :
			     IN_HTTP_DD_INFLIGHT;
	pthread_mutex_unlock(&d->mu);
	return rc;
}

void in_http_dd_note(struct in_http_limit_cfg *cfg, struct in_http_dd_key k, uint64_t now_ms,
		     const _Atomic uint64_t *released, uint64_t after, bool done)
{
	struct http_dedupe *d = cfg->dd;
	pthread_mutex_lock(&d->mu);
	struct dd_slot *s = dd_find(d, k, now_ms);
	for (unsigned i = 0; !s && i < DD_PROBE; i++) {
		struct dd_slot *c = &d->slot[(k.lo + i) % DD_SLOTS];
		if (!live(d, c, now_ms))
			s = c;
	}
	if (!s) {   /* all live: the oldest goes */
		s = &d->slot[k.lo % DD_SLOTS];
		for (unsigned i = 1; i < DD_PROBE; i++) {
			struct dd_slot *c = &d->slot[(k.lo + i) % DD_SLOTS];
			if (c->at_ms < s->at_ms)
				s = c;
		}
	}
	*s = (struct dd_slot){ .k = k, .at_ms = now_ms ? now_ms : 1, .released = released,
			       .after = after, .done = done };
	pthread_mutex_unlock(&d->mu);
}
