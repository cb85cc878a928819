/*
 * dp_http.h — the built-in HTTP server ([SERVICE] HTTP_Server): Fluent
 * Bit's monitoring endpoints (/, /api/v1/uptime, /api/v1/metrics,
 * /api/v1/metrics/prometheus, /api/v2/metrics[/prometheus],
 * /api/v1/health, /api/v1/storage) over libmicrohttpd on a thread of its
 * own, apart from the data path: it only reads the per-thread counters.
 *
 * The control thread calls create (binds HTTP_Listen:HTTP_Port, before
 * any data thread starts, so a port in use stops sluice at once), start
 * once the pipeline runs, and destroy before the pipeline stops.
 */
#ifndef DP_HTTP_H
#define DP_HTTP_H

#include "dp_common.h"
#include "dp_pipeline.h"

struct dp_http;

/* NULL with err->code 0 when HTTP_Server is off; NULL with err set when
 * the address cannot be bound (the message names the key). */
struct dp_http *dp_http_create(struct dp_pipeline *pl, struct dp_err *err);
/* Serve requests, after dp_pipeline_start. */
int dp_http_start(struct dp_http *h, struct dp_err *err);
/* Stop serving and free; h may be NULL. */
void dp_http_destroy(struct dp_http *h);

/* Reload (dp_reload.h), control thread; h may be NULL. While locked no
 * request reads the pipeline; set gives the server the pipeline to read
 * from now on (NULL: none, requests get 503) and unlocks. */
struct dp_reload;
void dp_http_pipeline_lock(struct dp_http *h);
void dp_http_pipeline_set(struct dp_http *h, struct dp_pipeline *pl);
/* Where POST/PUT /api/v2/reload sends its requests. */
void dp_http_set_reload(struct dp_http *h, struct dp_reload *r);

#endif
