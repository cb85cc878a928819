/*
 * dp_http_reload.c — /api/v2/reload, Fluent Bit's hot reload endpoint
 * (src/http_server/api/v2/reload.c): GET answers {"hot_reload_count":N};
 * POST or PUT reloads when [SERVICE] Hot_Reload is on. Fluent Bit answers
 * {"reload":"done","status":0} as soon as it has raised SIGHUP; sluice
 * waits for the outcome, so the answer says whether the new configuration
 * runs: 200 with Fluent Bit's body when it does, 400 with
 * {"reload":"failed","status":-1,"error":"..."} when the configuration was
 * refused (the old one runs on). With Hot_Reload off: 400
 * {"reload":"not enabled","status":-1}.
 * Threads: the HTTP server's; it waits for the control thread and holds
 * no lock meanwhile (the reload takes the pipeline lock).
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dp_http_int.h"
#include "dp_reload.h"

static void reply(struct dp_http_reply *r, int status, char *body)
{
	r->status = status;
	r->type = "application/json";
	r->body = body;
	r->len = body ? strlen(body) : 0;
}

/* msg as the inside of a JSON string. */
static void json_escape(char *out, size_t cap, const char *msg)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)msg; *p && n + 7 < cap; p++) {
		if (*p == '"' || *p == '\\')
			n += (size_t)snprintf(out + n, cap - n, "\\%c", *p);
		else if (*p < 0x20)
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", *p);
		else
			out[n++] = (char)*p;
	}
	out[n] = 0;
}

void dp_http_reload(struct dp_http *h, const char *method, struct dp_http_reply *r)
{
	char *body = NULL;
	if (!strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		if (asprintf(&body, "{\"hot_reload_count\":%u}", h->reload ? dp_reload_count(h->reload) : 0) < 0)
			body = NULL;
		reply(r, MHD_HTTP_OK, body);
		return;
	}
	if (strcmp(method, MHD_HTTP_METHOD_POST) && strcmp(method, MHD_HTTP_METHOD_PUT)) {
		reply(r, MHD_HTTP_BAD_REQUEST, strdup("{\"reload\":\"bad method\",\"status\":-1}"));
		return;
	}
	pthread_rwlock_rdlock(&h->pl_lock);
	bool on = h->pl && h->pl->svc.hot_reload;
	pthread_rwlock_unlock(&h->pl_lock);
	if (!on || !h->reload) {
		reply(r, MHD_HTTP_BAD_REQUEST, strdup("{\"reload\":\"not enabled\",\"status\":-1}"));
		return;
	}
	char msg[1024], esc[2048];
	if (dp_reload_ask(h->reload, msg, sizeof(msg)) == 0) {
		reply(r, MHD_HTTP_OK, strdup("{\"reload\":\"done\",\"status\":0}"));
		return;
	}
	json_escape(esc, sizeof(esc), msg);
	if (asprintf(&body, "{\"reload\":\"failed\",\"status\":-1,\"error\":\"%s\"}", esc) < 0)
		body = NULL;
	reply(r, MHD_HTTP_BAD_REQUEST, body);
}
