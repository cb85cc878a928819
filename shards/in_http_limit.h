/*
 * in_http_limit.h — the http input's ingest limits, sluice's own keys
 * (Fluent Bit's in_http has none): Max_Batch_Records, Rate_Limit per
 * tenant, Dedupe_Window, and the JSON accepted answer (Accepted_Response).
 * See in_http_limit.c for how each works and what it costs.
 */
#ifndef IN_HTTP_LIMIT_H
#define IN_HTTP_LIMIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dp_opt.h"

struct http_rate;
struct http_dedupe;

struct in_http_limit_cfg {
	int64_t max_batch_records;  /* 0: none */
	int64_t rate_limit;         /* records per minute per tenant, 0: none */
	double dedupe_window;       /* seconds, 0: off */
	int accepted;               /* Accepted_Response: 0 none (Fluent Bit's), 1 json */
	/* made by setup, shared by the shards */
	struct http_rate *rate;
	struct http_dedupe *dd;
};

#define IN_HTTP_LIMIT_OPTS(T, m)                                                                     \
	{ "Max_Batch_Records", DP_OPT_INT, "0", offsetof(T, m.max_batch_records), NULL, 0, INT32_MAX, 0, \
	  "sluice: most records in one request; a larger one is answered 413 with a JSON error and "  \
	  "nothing of it kept. 0: no limit." },                                                       \
	{ "Rate_Limit", DP_OPT_INT, "0", offsetof(T, m.rate_limit), NULL, 0, 100000000, 0,            \
	  "sluice: records per minute per tenant (the bearer token's, or one for all without "        \
	  "auth), a token bucket holding a minute's worth; a batch that does not fit is answered 429 " \
	  "with Retry-After, nothing of it kept. 0: no limit." },                                     \
	{ "Dedupe_Window", DP_OPT_SECONDS, "0", offsetof(T, m.dedupe_window), NULL, 0, 86400, 0,       \
	  "sluice: seconds during which a request whose path, tenant and body equal an accepted "    \
	  "one's is answered as accepted and not kept again (counted deduplicated), once the first " \
	  "is (503 with Retry-After: 1 when the first is still being stored on another shard). 0: off." },                                     \
	{ "Accepted_Response", DP_OPT_ENUM, "none", offsetof(T, m.accepted), "none|json", 0, 0, 0,    \
	  "sluice: the body of the success answer: none (Fluent Bit's, empty) or json "               \
	  "({\"status\":\"accepted\",\"received_count\":N})." }

int in_http_limit_setup(struct in_http_limit_cfg *cfg, struct dp_err *err);
void in_http_limit_teardown(struct in_http_limit_cfg *cfg);

/* Rate_Limit: take n records of tenant's bucket. 0: taken; > 0: the
 * seconds until they fit (Retry-After); -1: n is more than a minute's
 * worth, it never fits. Any shard (atomics, no lock). */
long in_http_rate_take(struct in_http_limit_cfg *cfg, const char *tenant, size_t len, uint64_t n,
		       uint64_t now_ms);

/* Dedupe_Window: a request's key (XXH3-128 of its path, tenant, body). */
struct in_http_dd_key {
	uint64_t lo, hi;
};
struct in_http_dd_key in_http_dd_key(const char *path, size_t plen, const char *tenant, size_t tlen,
				     const char *body, size_t blen);
enum in_http_dd { IN_HTTP_DD_NEW, IN_HTTP_DD_DONE, IN_HTTP_DD_INFLIGHT_HERE, IN_HTTP_DD_INFLIGHT };
/* Was the key accepted within the window (DONE), is it still being
 * stored by the shard whose settled count is `mine` (INFLIGHT_HERE) or by
 * another (INFLIGHT), or is it new? Any shard. */
enum in_http_dd in_http_dd_look(struct in_http_limit_cfg *cfg, struct in_http_dd_key k, uint64_t now_ms,
				const _Atomic uint64_t *mine);
/* Note a request taken: it is done once *released (its shard's settled
 * chunk count, published by that shard) passes after; done: already. */
void in_http_dd_note(struct in_http_limit_cfg *cfg, struct in_http_dd_key k, uint64_t now_ms,
		     const _Atomic uint64_t *released, uint64_t after, bool done);

#endif
