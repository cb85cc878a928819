/*
 * in_http_jwks.h — the JSON Web Key Set of the http input's oauth2.*
 * keys (Fluent Bit's src/flb_oauth2_jwt.c): RSA public keys by kid,
 * fetched from oauth2.jwks_url with libcurl on a thread of their own, at
 * start and every oauth2.jwks_refresh_interval seconds (sooner, at most
 * every JWKS_KICK_MIN seconds, when a token names a kid the set lacks).
 *
 * A set, once published, is never changed: a refresh makes a new one. The
 * shards read the current set without a lock: two slots, the index of the
 * current one, and a count of readers per slot (in_http_jwks_acquire: two
 * atomic adds and two loads a request). The fetch thread puts a new set
 * into the slot not current, once that slot's readers have left, then
 * makes it current; so a set is freed only when no shard holds it.
 *
 * A fetch that fails (connection, status other than 200, a body that is
 * not a key set, no usable RSA key) keeps the set there is (logged,
 * counted); it is tried again after JWKS_RETRY seconds. Before the first
 * good fetch there is no set, and tokens are refused (401), as Fluent
 * Bit, which fetches on the first request and refuses it when that fails.
 *
 * Threads: create/destroy on the control thread, start on any (a shard,
 * once), acquire/release/kick on shards, the rest on the fetch thread.
 */
#ifndef IN_HTTP_JWKS_H
#define IN_HTTP_JWKS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dp_common.h"

#define JWKS_KID_MAX 255
#define JWKS_BODY_MAX (1u << 20)   /* largest JWKS document read */
#define JWKS_KEYS_MAX 64           /* keys of a set kept; more are ignored */
#define JWKS_RETRY 5               /* seconds before a failed fetch is tried again */
#define JWKS_KICK_MIN 10           /* seconds between fetches an unknown kid asks for */

struct evp_pkey_st;

struct in_http_jwk {
	struct evp_pkey_st *pkey;   /* RSA public key, read-only once made */
	uint16_t kid_len;
	char kid[JWKS_KID_MAX + 1];
};

struct in_http_jwks_set {
	size_t n;
	struct in_http_jwk k[];
};

struct in_http_jwks {
	char *url;
	int64_t interval;           /* seconds */
	char name[64];              /* the input, for log lines */
	struct in_http_jwks_set *slot[2];
	atomic_uint readers[2];
	atomic_uint cur;            /* the slot readers take */
	atomic_bool kick;           /* a token named a kid the set lacks */
	atomic_int started;         /* 0 no, 1 starting, 2 thread running, -1 failed */
	atomic_uint_least64_t fetch_ok, fetch_failed;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;                  /* under mu */
};

/* The key set of the JWKS text json[0..len): *out (NULL on error), 0, or
 * -EINVAL with err saying why. Keys other than kty RSA, or whose "use" is
 * not "sig" or "alg" not "RS256", are ignored; an RSA key without a kid,
 * or whose n or e is missing or not base64url, or whose modulus is under
 * 2048 bits, is skipped (*skipped counts them; err says why of the first).
 * No key left: -EINVAL. */
int in_http_jwks_parse(const char *json, size_t len, struct in_http_jwks_set **out,
		       unsigned *skipped, struct dp_err *err);
void in_http_jwks_set_free(struct in_http_jwks_set *s);
/* The key named kid[0..len) in s, or NULL. */
struct evp_pkey_st *in_http_jwks_find(const struct in_http_jwks_set *s, const char *kid, size_t len);

/* url: http:// or https:// (else -EINVAL with err); nothing fetched yet. */
int in_http_jwks_create(struct in_http_jwks **out, const char *url, int64_t interval,
			const char *name, struct dp_err *err);
/* Start the fetch thread, once however many call it (the first fetch is
 * made on it, so this does not wait on the network). */
void in_http_jwks_start(struct in_http_jwks *j);
/* Stop the thread and free everything: no shard may hold a set. */
void in_http_jwks_destroy(struct in_http_jwks *j);
/* Publish s (the fetch thread; the unit tests). */
void in_http_jwks_publish(struct in_http_jwks *j, struct in_http_jwks_set *s);

/* The current set (NULL: none yet) held until release(j, *slot). */
static inline const struct in_http_jwks_set *in_http_jwks_acquire(struct in_http_jwks *j,
								  unsigned *slot)
{
	for (;;) {
		unsigned i = atomic_load(&j->cur);
		atomic_fetch_add(&j->readers[i], 1);
		if (atomic_load(&j->cur) == i) {   /* still current: the writer waits for us */
			*slot = i;
			return j->slot[i];
		}
		atomic_fetch_sub(&j->readers[i], 1);
	}
}

static inline void in_http_jwks_release(struct in_http_jwks *j, unsigned slot)
{
	atomic_fetch_sub_explicit(&j->readers[slot], 1, memory_order_release);
}

/* Ask for an early fetch (a kid not in the set): one store, no wake-up. */
static inline void in_http_jwks_kick(struct in_http_jwks *j)
{
	if (!atomic_load_explicit(&j->kick, memory_order_relaxed))
		atomic_store_explicit(&j->kick, true, memory_order_relaxed);
}

#endif
