/*
 * dp_reload.h — hot reload: switching a running pipeline to a new
 * configuration without losing a record (runtime/dp_reload.c), and the
 * requests for it that the HTTP server (/api/v2/reload) hands to the
 * control thread.
 *
 * Threads: dp_reload_apply, _begin and _end on the control thread;
 * dp_reload_ask and dp_reload_count on any (the HTTP server's).
 */
#ifndef DP_RELOAD_H
#define DP_RELOAD_H

#include <stddef.h>
#include <stdint.h>
#include "dp_common.h"
#include "dp_pipeline.h"

struct dp_http;
struct dp_reload;

struct dp_reload *dp_reload_new(void);
void dp_reload_free(struct dp_reload *r);

/* Ask the control thread for a reload (it raises SIGHUP) and wait for
 * its outcome: 0, or -errno with the reason in msg. Requests that arrive
 * while one runs are served by the next. */
int dp_reload_ask(struct dp_reload *r, char *msg, size_t cap);
/* Reloads done so far (Fluent Bit's hot_reload_count). */
unsigned dp_reload_count(struct dp_reload *r);
/* Control thread, around a reload started by SIGHUP: begin says which
 * requests it serves, end gives them the outcome. */
uint64_t dp_reload_begin(struct dp_reload *r);
void dp_reload_end(struct dp_reload *r, uint64_t upto, int rc, const char *msg);

/* Switch from *cur (running) to next (made by dp_pipeline_create from the
 * new configuration, not started). First every shard stops reading and
 * every record in flight is delivered by the outputs it was routed to
 * (within Grace; past it nothing changes and an error says which
 * outputs were behind). Then:
 *  - when the inputs, the parsers, the shards and the store are as they
 *    were, the shards keep their inputs (listeners, connections, unread
 *    bytes, contexts, counters) and take on the new filters, outputs and
 *    routes: no connection is closed;
 *  - otherwise the old pipeline stops (connections closed once read) and
 *    the new one starts.
 * 0: *cur is next, the old one is freed. -EAGAIN: the old pipeline was
 * stopped but next did not start (err says why): *cur is NULL and the
 * caller starts the old configuration again. Other errors: next is
 * freed, *cur runs as before. http (or NULL) is the HTTP server, which is
 * kept away from the pipelines while they change. */
int dp_reload_apply(struct dp_pipeline **cur, struct dp_pipeline *next, struct dp_http *http,
		    struct dp_err *err);

#endif
