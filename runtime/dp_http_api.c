/*
 * dp_http_api.c — the HTTP server's endpoints, with Fluent Bit's paths
 * and answers (src/http_server/api/v1/ and api/v2/ in its tree):
 *
 *   /                           {"fluent-bit":{"version","edition","flags"}}, or
 *                               the status page to a browser (Accept asks
 *                               for text/html; dp_http_page.html)
 *   /api/v1/uptime              {"uptime_sec":N,"uptime_hr":"..."}
 *   /api/v1/metrics             {"input":{..},"filter":{..},"output":{..}}
 *   /api/v1/metrics/prometheus  Prometheus text (dp_prom.h)
 *   /api/v2/metrics/prometheus  the same
 *   /api/v2/metrics             cmetrics' text
 *   /api/v1/health              "ok" 200 / "error" 500 (Health_Check On)
 *   /api/v1/storage             the store's counters (storage.path set)
 *
 * Runs on the server's thread; bodies are written to a memory stream
 * (malloc per request: the control plane, not the data path).
 */
#include <ctype.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "dp_http_int.h"
#include "dp_prom.h"
#include "dp_stats.h"
#include "dp_time.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "0.1.0"
#endif

#define JSON "application/json"
#define TEXT "text/plain; charset=utf-8"
/* Fluent Bit's FLB_HS_CONTENT_TYPE_PROMETHEUS */
#define PROM "text/plain; version=0.0.4"
#define HTML "text/html; charset=utf-8"

static void api_root(struct dp_http *h, FILE *f)
{
	(void)h;
	/* Fluent Bit lists its FLB_HAVE_* build flags; these are sluice's. */
	fprintf(f, "{\"fluent-bit\":{\"version\":\"%s\",\"edition\":\"sluice\",\"flags\":["
		"\"SLUICE_HAVE_HTTP_SERVER\",\"SLUICE_HAVE_METRICS\",\"SLUICE_HAVE_TLS\","
		"\"SLUICE_HAVE_STORAGE\",\"SLUICE_HAVE_STREAM_PROCESSOR\"]},"
		"\"sluice\":{\"version\":\"%s\"}}", SLUICE_VERSION, SLUICE_VERSION);
}

/* Fluent Bit's uptime_hr (api/v1/uptime.c): "s" only above 1. */
static void api_uptime(struct dp_http *h, FILE *f)
{
	uint64_t now = (uint64_t)time(NULL);
	long up = now > h->start_unix ? (long)(now - h->start_unix) : 0;
	int d = (int)(up / 86400), hr = (int)(up % 86400 / 3600), m = (int)(up % 3600 / 60), s = (int)(up % 60);
	fprintf(f, "{\"uptime_sec\":%ld,\"uptime_hr\":\"Fluent Bit has been running:  %d day%s, %d hour%s, "
		"%d minute%s and %d second%s\"}", up, d, d > 1 ? "s" : "", hr, hr > 1 ? "s" : "", m,
		m > 1 ? "s" : "", s, s > 1 ? "s" : "");
}

/* Fluent Bit's per-instance keys, in the rows' order, from the tables. */
static void fb_section(FILE *f, const char *key, const struct dp_stats_field *t, unsigned nt, const void *sums,
		       size_t stride, const char *const *names, unsigned n, bool last)
{
	fprintf(f, "\"%s\":{", key);
	for (unsigned i = 0; i < n; i++) {
		fputs(i ? "," : "", f);
		dp_stats_json_str(f, names[i]);
		fputs(":{", f);
		const char *sep = "";
		for (unsigned k = 0; k < nt; k++) {
			if (!t[k].fb)
				continue;
			fprintf(f, "%s\"%s\":%llu", sep, t[k].fb,
				(unsigned long long)dp_stats_get((const char *)sums + i * stride, &t[k]));
			sep = ",";
		}
		fputc('}', f);
	}
	fprintf(f, "}%s", last ? "" : ",");
}

static void api_metrics(struct dp_http *h, FILE *f)
{
	const struct dp_pipeline *pl = h->pl;
	struct dp_stats_in in[DP_MAX_INPUTS];
	struct dp_stats_out out[DP_MAX_OUTPUTS];
	struct dp_stats_flt flt[DP_MAX_FILTERS];
	const char *in_names[DP_MAX_INPUTS], *out_names[DP_MAX_OUTPUTS], *flt_names[DP_MAX_FILTERS];
	dp_stats_collect(pl, in, out);
	dp_stats_collect_flt(pl, flt);
	for (unsigned i = 0; i < pl->nin; i++)
		in_names[i] = dp_stats_in_name(pl->in[i]);
	for (unsigned i = 0; i < pl->nout; i++)
		out_names[i] = dp_stats_out_name(pl->out[i]);
	for (unsigned i = 0; i < pl->nflt; i++)
		flt_names[i] = dp_stats_flt_name(pl->flt[i]);
	fputc('{', f);
	fb_section(f, "input", dp_stats_in_fields, dp_stats_in_nfields, in, sizeof(in[0]), in_names, pl->nin, false);
	fb_section(f, "filter", dp_stats_flt_fields, dp_stats_flt_nfields, flt, sizeof(flt[0]), flt_names, pl->nflt,
		   false);
	fb_section(f, "output", dp_stats_out_fields, dp_stats_out_nfields, out, sizeof(out[0]), out_names, pl->nout,
		   true);
	fputc('}', f);
}

void dp_http_api_hc_totals(const struct dp_pipeline *pl, uint64_t *errors, uint64_t *retries_failed)
{
	struct dp_stats_in in[DP_MAX_INPUTS];
	struct dp_stats_out out[DP_MAX_OUTPUTS];
	dp_stats_collect(pl, in, out);
	*errors = *retries_failed = 0;
	for (unsigned o = 0; o < pl->nout; o++) {
		*errors += out[o].rejected_bursts;
		*retries_failed += out[o].retries_failed;
	}
}

/* Fluent Bit's is_healthy (api/v1/health.c): the errors and retry
 * failures since the oldest sample of the last HC_Period seconds, each
 * against its limit; no sample yet: healthy. */
static bool healthy(struct dp_http *h)
{
	const struct dp_service *svc = &h->pl->svc;
	uint64_t e, rf;
	dp_http_api_hc_totals(h->pl, &e, &rf);
	uint64_t now = dp_time_mono_ns() / 1000000000ull;
	bool ok = true;
	pthread_mutex_lock(&h->mu);
	for (unsigned k = 0; k < h->hc_n; k++) {
		const struct dp_http_hc_sample *s = &h->hc[(h->hc_head + k) % h->hc_cap];
		if (s->sec + (uint64_t)svc->hc_period < now)
			continue;
		ok = e - s->errors <= (uint64_t)svc->hc_errors_count &&
		     rf - s->retries_failed <= (uint64_t)svc->hc_retry_failure_count;
		break;
	}
	pthread_mutex_unlock(&h->mu);
	return ok;
}

static void api_storage(struct dp_http *h, FILE *f)
{
	struct dp_stats_store st;
	dp_stats_collect_store(h->pl, &st);
	fputs("{\"storage_layer\":{\"path\":", f);
	dp_stats_json_str(f, h->pl->svc.storage_path);
	for (unsigned k = 0; k < dp_stats_store_nfields; k++)
		fprintf(f, ",\"%s\":%llu", dp_stats_store_fields[k].name,
			(unsigned long long)dp_stats_get(&st, &dp_stats_store_fields[k]));
	fputs("}}", f);
}

/* Whether the media range s[0..n) is the type t, case aside. */
static bool media_is(const char *s, size_t n, const char *t)
{
	return strlen(t) == n && !strncasecmp(s, t, n);
}

/* The q parameter among a media range's parameters p..end ("; q=0.5"),
 * clamped to [0, 1]; 1 when absent (RFC 9110 12.5.1). */
static double accept_q(const char *p, const char *end)
{
	while (p < end && (p = memchr(p, ';', (size_t)(end - p)))) {
		for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
			;
		if (end - p >= 2 && tolower((unsigned char)p[0]) == 'q' && p[1] == '=') {
			double q = strtod(p + 2, NULL);
			return q < 0 ? 0 : q > 1 ? 1 : q;
		}
	}
	return 1;
}

/* A browser sends "text/html,...,ANY;q=0.8" (ANY: the range star slash
 * star); curl ANY; Fluent Bit's clients nothing or application/json. Only
 * a named text/html counts (a wildcard is not a browser), against the q
 * of the most specific range that covers application/json (exact, then
 * application/ANY, then ANY); a tie goes to HTML. */
bool dp_http_accept_html(const char *accept)
{
	double html = 0, json = 0;
	int json_spec = -1; /* how specific json's range is: 2 exact .. 0 ANY */
	for (const char *p = accept; p && *p;) {
		const char *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		size_t n = strcspn(p, ";, \t");
		double q = accept_q(p + n, end);
		int spec = media_is(p, n, "application/json") ? 2 : media_is(p, n, "application/*") ? 1
			   : media_is(p, n, "*/*")               ? 0 : -1;
		if (media_is(p, n, "text/html") || media_is(p, n, "application/xhtml+xml"))
			html = q > html ? q : html;
		else if (spec > json_spec) {
			json_spec = spec;
			json = q;
		}
		p = *end ? end + 1 : end;
	}
	return html > 0 && html >= json;
}

/* The status page: a copy, since a reply's body is freed once sent. */
static void set_page(struct dp_http_reply *r)
{
	r->status = MHD_HTTP_OK;
	r->type = HTML;
	r->cache_control = "no-store";
	r->body = malloc(dp_http_page_len);
	if (!r->body) {
		r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		r->type = TEXT;
		return;
	}
	memcpy(r->body, dp_http_page, dp_http_page_len);
	r->len = dp_http_page_len;
}

static void set_text(struct dp_http_reply *r, int status, const char *text)
{
	r->status = status;
	r->type = TEXT;
	r->body = strdup(text);
	r->len = r->body ? strlen(r->body) : 0;
}

void dp_http_api_route(struct dp_http *h, const char *path, const char *accept, struct dp_http_reply *r)
{
	const struct dp_service *svc = &h->pl->svc;
	if (!strcmp(path, "/")) {
		r->vary = "Accept"; /* one path, two answers: caches must keep both */
		if (dp_http_accept_html(accept)) {
			set_page(r);
			return;
		}
	}
	if (!strcmp(path, "/api/v1/health") && svc->health_check) {
		bool ok = healthy(h);
		set_text(r, ok ? MHD_HTTP_OK : MHD_HTTP_INTERNAL_SERVER_ERROR, ok ? "ok\n" : "error\n");
		return;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		set_text(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
		return;
	}
	r->status = MHD_HTTP_OK;
	r->type = JSON;
	if (!strcmp(path, "/"))
		api_root(h, f);
	else if (!strcmp(path, "/api/v1/uptime"))
		api_uptime(h, f);
	else if (!strcmp(path, "/api/v1/metrics"))
		api_metrics(h, f);
	else if (!strcmp(path, "/api/v1/metrics/prometheus") || !strcmp(path, "/api/v2/metrics/prometheus")) {
		r->type = PROM;
		dp_prom_write(h->pl, f, DP_PROM_TEXT, h->start_unix);
	} else if (!strcmp(path, "/api/v2/metrics")) {
		r->type = TEXT;
		dp_prom_write(h->pl, f, DP_PROM_CMT, h->start_unix);
	} else if (!strcmp(path, "/api/v1/storage") && h->pl->store)
		api_storage(h, f);
	else {
		r->status = MHD_HTTP_NOT_FOUND;
		r->type = TEXT;
		fputs("not found\n", f);
	}
	if (fclose(f)) {
		free(buf);
		set_text(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
		return;
	}
	r->body = buf;
	r->len = len;
}
