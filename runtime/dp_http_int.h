/*
 * dp_http_int.h — what the HTTP server (dp_http.c) and its endpoints
 * (dp_http_api.c) share. The server's thread and its health sampler.
 */
#ifndef DP_HTTP_INT_H
#define DP_HTTP_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "dp_pipeline.h"

/* One health sample: Fluent Bit's error and retry-failure totals over all
 * outputs at a second (api/v1/health.c keeps one per second of HC_Period). */
struct dp_http_hc_sample {
	uint64_t sec;  /* monotonic seconds */
	uint64_t errors, retries_failed;
};

struct dp_http {
	struct dp_pipeline *pl;      /* read under pl_lock (a reload writes it) */
	pthread_rwlock_t pl_lock;
	struct dp_reload *reload;    /* /api/v2/reload (dp_reload.h), or NULL */
	int fd;                      /* the bound listening socket until start */
	struct MHD_Daemon *mhd;
	uint64_t start_unix;         /* process start, for uptime */
	/* Health_Check: samples of the last HC_Period seconds, oldest first,
	 * written by the sampler thread, read by requests (mutex: neither is
	 * the data path). */
	pthread_t sampler;
	bool sampler_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct dp_http_hc_sample *hc;
	unsigned hc_cap, hc_head, hc_n;
};

/* An endpoint's answer: status, content type, body (malloc'd), and the
 * Cache-Control and Vary headers when set. */
struct dp_http_reply {
	int status;
	const char *type;
	char *body;
	size_t len;
	const char *cache_control;
	const char *vary;
};

/* Route a GET to its endpoint; 404 for an unknown path. accept: the
 * request's Accept header or NULL (`/` serves the status page to a
 * browser, Fluent Bit's JSON to anyone else). */
void dp_http_api_route(struct dp_http *h, const char *path, const char *accept, struct dp_http_reply *r);
/* Whether an Accept header prefers HTML to JSON: it names text/html (or
 * application/xhtml+xml) with a q above 0 and at least that of JSON. */
bool dp_http_accept_html(const char *accept);

/* The status page, dp_http_page.html, generated into dp_http_page.c by
 * dp_http_page_gen.py at build time: UTF-8 bytes (hence unsigned), a NUL
 * after them, len without it. */
extern const unsigned char dp_http_page[];
extern const size_t dp_http_page_len;
/* Fluent Bit's totals over every output: its errors and retries_failed. */
void dp_http_api_hc_totals(const struct dp_pipeline *pl, uint64_t *errors, uint64_t *retries_failed);

/* /api/v2/reload: GET the count, POST/PUT reload (dp_http_reload.c). */
void dp_http_reload(struct dp_http *h, const char *method, struct dp_http_reply *r);

#endif
