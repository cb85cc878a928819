/*
 * out_http.c — Fluent Bit's `http` output: each burst of chunks is POSTed
 * (or PUT) to Host:Port/URI as one request, in Format json, json_lines,
 * json_stream, msgpack or gelf, over one keep-alive connection per worker
 * (libcurl's easy interface, TLS through its OpenSSL backend).
 *
 * When a burst is released (docs/OPERATIONS.md, "http output"):
 *   - 2xx: delivered;
 *   - 5xx, 408, 429, 1xx/3xx, and any connection, TLS or timeout error:
 *     flush returns -errno and the worker retries the whole burst with
 *     Fluent Bit's backoff up to Retry_Limit (out_worker.c);
 *   - any other 4xx: retrying cannot help; flush returns DP_FLUSH_FAILED,
 *     the records are counted failed (stats "errors") and never sent again.
 * Every such cause (a status, a curl error) is logged once, then at most
 * every OUT_HTTPC_LOG_EVERY_S seconds, with the status and the first bytes
 * of the response body (log_response_payload).
 *
 * A body larger than Body_Max_Size is split into several requests. When a
 * later one must be retried, the retry starts at it (the worker keeps where
 * the burst stopped), so the parts already accepted are not sent twice.
 *
 * With body_key and headers_key (Fluent Bit's, out_http_rec.c) each record
 * is a request of its own: its body_key string as the body, its
 * headers_key map as headers. A retry starts at the record whose request
 * failed, as above. burst_failed then names the records given up on (no
 * body or headers, a 4xx, or the ones not yet accepted when Retry_Limit
 * ran out); the others count as delivered.
 *
 * Threads: setup on the control thread; everything else on the output
 * worker that owns the context (one CURL easy handle each).
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_log.h"
#include "dp_pipeline.h"
#include "dp_time.h"
#include "out_aws.h"
#include "out_http.h"
#include "out_httpc.h"

#define OUT_HTTP_RESP_PREFIX 256   /* bytes of a response body kept for the log */
#define OUT_HTTP_MAX_HEADERS 64

struct out_http_cfg {
	struct out_httpc_cfg hc;   /* Host, Port, HTTP_User, net.*, tls.* */
	char *uri;
	int format;
	char *header;          /* the last one; all are read from the section */
	char *header_tag;
	int http_method;
	char *proxy;
	char *compress;
	bool allow_dup;
	bool log_payload;
	char *date_key;
	char *date_format;
	char *gelf_ts, *gelf_host, *gelf_short, *gelf_full, *gelf_level;
	int64_t body_max;
	struct out_aws_cfg aws;    /* aws_auth, ... (out_aws.h) */
	char *body_key;
	char *headers_key;
	/* set by setup */
	bool by_rec;           /* body_key: one request per record (out_http_rec.c) */
	struct dp_ra body_ra, hdrs_ra;
	char **hdr_vals;
	unsigned nhdr;
	bool gzip;
	int date_fmt;
};

#define C(f) offsetof(struct out_http_cfg, f)

static const struct dp_opt http_opts[] = {
	{ "Host", DP_OPT_STR, "127.0.0.1", C(hc.host), NULL, 0, 0, 0, "Host name or IP address of the HTTP server." },
	{ "Port", DP_OPT_INT, "80", C(hc.port), NULL, 1, 65535, 0, "TCP port of the HTTP server." },
	{ "URI", DP_OPT_STR, "/", C(uri), NULL, 0, 0, 0, "Path of the request; a '/' is put in front when missing." },
	{ "Format", DP_OPT_ENUM, "msgpack", C(format), "msgpack|json|json_lines|json_stream|gelf", 0, 0, 0,
	  "Body of a request: msgpack events back to back; json: one array; json_lines: one object per "
	  "line; json_stream: objects back to back; gelf: one GELF object per line." },
	{ "Header", DP_OPT_STR, NULL, C(header), NULL, 0, 0, 0,
	  "`Header NAME VALUE`: add a request header (VALUE is the rest of the line). Repeats. A "
	  "Content-Type given here replaces the format's." },
	{ "Header_Tag", DP_OPT_STR, NULL, C(header_tag), NULL, 0, 0, 0,
	  "Send the records' tag in this header; a request then holds the records of one tag." },
	{ "http_method", DP_OPT_ENUM, "POST", C(http_method), "POST|PUT", 0, 0, 0, "Request method." },
	{ "Proxy", DP_OPT_STR, NULL, C(proxy), NULL, 0, 0, 0,
	  "HTTP proxy, http://HOST:PORT. Without it no proxy is used (the http_proxy environment "
	  "variables are ignored)." },
	{ "compress", DP_OPT_STR, NULL, C(compress), NULL, 0, 0, 0,
	  "gzip: compress request bodies (Content-Encoding: gzip)." },
	{ "Allow_Duplicated_Headers", DP_OPT_BOOL, "true", C(allow_dup), NULL, 0, 0, 0,
	  "false: of several Header lines with the same name, only the last is sent." },
	{ "log_response_payload", DP_OPT_BOOL, "true", C(log_payload), NULL, 0, 0, 0,
	  "Log the first bytes of the response body with a failed request's status." },
	{ "json_date_key", DP_OPT_STR, "date", C(date_key), NULL, 0, 0, 0,
	  "Key of the time in JSON formats; 'false' leaves it out." },
	{ "json_date_format", DP_OPT_STR, "double", C(date_format), NULL, 0, 0, 0,
	  "double, epoch, epoch_ms, iso8601 or java_sql_timestamp." },
	{ "gelf_timestamp_key", DP_OPT_STR, NULL, C(gelf_ts), NULL, 0, 0, 0,
	  "Format gelf: record key of the timestamp (default timestamp)." },
	{ "gelf_host_key", DP_OPT_STR, NULL, C(gelf_host), NULL, 0, 0, 0,
	  "Format gelf: record key of the host (default host)." },
	{ "gelf_short_message_key", DP_OPT_STR, NULL, C(gelf_short), NULL, 0, 0, 0,
	  "Format gelf: record key of short_message (default short_message)." },
	{ "gelf_full_message_key", DP_OPT_STR, NULL, C(gelf_full), NULL, 0, 0, 0,
	  "Format gelf: record key of full_message (default full_message)." },
	{ "gelf_level_key", DP_OPT_STR, NULL, C(gelf_level), NULL, 0, 0, 0,
	  "Format gelf: record key of the level (default level)." },
	{ "body_key", DP_OPT_STR, NULL, C(body_key), NULL, 0, 0, 0,
	  "Record accessor ($key, $a['b']) of a string or binary sent as the body of a request of its "
	  "own, one per record (Format is then unused). Needs headers_key." },
	{ "headers_key", DP_OPT_STR, NULL, C(headers_key), NULL, 0, 0, 0,
	  "Record accessor of a map whose string values are the request's headers (with body_key, "
	  "which it needs); Content-Type comes from it." },
	OUT_HTTPC_OPTS(struct out_http_cfg, hc),
	OUT_AWS_OPTS(struct out_http_cfg, aws, "aws_auth", "aws_region", "aws_sts_endpoint", "aws_role_arn",
		     "aws_external_id", "aws_service", NULL, "aws_profile"),
	{ "Body_Max_Size", DP_OPT_SIZE, "5M", C(body_max), NULL, 1024, 1000000000, 0,
	  "Largest request body (before compression); a larger burst is split into several "
	  "requests (sluice)." },
	{ NULL },
};

struct http_worker {
	struct dp_output *o;
	struct out_http_cfg *cfg;
	struct out_httpc c;     /* the connection, the response, cause logging */
	struct curl_slist *hdrs;
	struct out_aws_signer *aws;   /* aws_auth */
	struct out_http_fmt fmt;
	struct out_buf body;
	struct out_buf gz;
	/* A split burst stopped by a retriable error: where to start again
	 * when the same burst comes back (deliver() retries it unchanged).
	 * resume_key tells it from a later burst of recycled chunks (after
	 * Retry_Limit gave up on this one); 0: nothing to resume. */
	uint64_t resume_key;
	struct out_http_pos resume;
	bool resume_rejected;
	struct dp_ratelimit skip_rl;
	/* What burst_failed reports: the burst flushed last (burst_key), how
	 * its last flush ended, and (body_key) its records given up on, bit r
	 * of failed[chunk][r / 64]: refused for good, or giving no request. */
	uint64_t last_key;
	int last_rc;
	uint64_t failed[DP_BURST][DP_CHUNK_RECS / 64];
	/* body_key: the Header lines ("Name: value"), a record's headers, and
	 * the nodes of a request's header list (libcurl only reads a list, so
	 * it may live here: no allocation per request). */
	char *cfg_lines[OUT_HTTP_MAX_HEADERS];
	int ncfg;
	bool cfg_ctype;
	struct out_http_rec_hdrs rh;
	struct curl_slist nodes[OUT_HTTP_REC_MAX_HDRS + OUT_HTTP_MAX_HEADERS + 8];
	char tagline[DP_TAG_MAX + 160];
	uint64_t rec_bad[4];   /* per enum out_http_rec_result, and [0]: too big */
	uint64_t hdr_left_out;
	struct dp_ratelimit rec_rl;
};

static void free_headers(struct out_http_cfg *cfg)
{
	for (unsigned i = 0; i < cfg->nhdr; i++)
		free(cfg->hdr_vals[i]);
	free(cfg->hdr_vals);
	cfg->hdr_vals = NULL;
	cfg->nhdr = 0;
}

static int setup(struct dp_output *o, struct dp_err *err)
{
	struct out_http_cfg *cfg = o->cfg;
	int rc = out_httpc_global_init(err);
	if (rc)
		return rc;
	err->key = "json_date_format";
	if ((cfg->date_fmt = out_json_date_format_parse(cfg->date_format)) < 0)
		return dp_err_set(err, -EINVAL, "invalid value '%s' for 'json_date_format': expected double, "
				  "epoch, epoch_ms, iso8601 or java_sql_timestamp", cfg->date_format);
	err->key = "compress";
	if (cfg->compress && strcasecmp(cfg->compress, "gzip"))
		return dp_err_set(err, -EINVAL, "invalid value '%s' for 'compress': expected gzip",
				  cfg->compress);
	cfg->gzip = cfg->compress != NULL;
	err->key = "Host";
	if (!*cfg->hc.host || strpbrk(cfg->hc.host, "/ \t"))
		return dp_err_set(err, -EINVAL, "invalid Host '%s'", cfg->hc.host);
	err->key = "URI";
	if (strpbrk(cfg->uri, " \t\r\n"))
		return dp_err_set(err, -EINVAL, "URI '%s' has blanks; escape them as %%20", cfg->uri);
	err->key = "Header_Tag";
	const char *hn, *hv;
	size_t hnl, hvl;
	if (cfg->header_tag && (out_http_header_parse(cfg->header_tag, &hn, &hnl, &hv, &hvl) || hvl))
		return dp_err_set(err, -EINVAL, "invalid header name '%s'", cfg->header_tag);
	/* Header repeats: every one, in order, from the section. */
	free_headers(cfg);
	const struct dp_conf_section *s = o->sec;
	cfg->hdr_vals = calloc(s->nkv + 1, sizeof(*cfg->hdr_vals));
	if (!cfg->hdr_vals)
		return dp_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < s->nkv; i++) {
		if (strcasecmp(s->kv[i].key, "Header"))
			continue;
		if (out_http_header_parse(s->kv[i].val, &hn, &hnl, &hv, &hvl)) {
			err->key = NULL;
			return dp_err_set(err, -EINVAL, "%s:%d: [OUTPUT] http: Header: expects NAME VALUE, got '%s'",
					  s->kv[i].file, s->kv[i].line, s->kv[i].val);
		}
		if (!(cfg->hdr_vals[cfg->nhdr++] = strdup(s->kv[i].val)))
			return dp_err_set(err, -ENOMEM, "out of memory");
	}
	err->key = "Header";
	if (cfg->nhdr > OUT_HTTP_MAX_HEADERS)
		return dp_err_set(err, -E2BIG, "at most %d Header lines", OUT_HTTP_MAX_HEADERS);
	cfg->by_rec = false;
	if ((rc = out_http_rec_setup(cfg->body_key, cfg->headers_key, &cfg->body_ra, &cfg->hdrs_ra, err)) < 0)
		return rc;
	cfg->by_rec = rc == 1;
	err->key = NULL;
	return out_aws_setup(&cfg->aws, o->name, err);
}

static void teardown(struct dp_output *o)
{
	free_headers(o->cfg);
	out_aws_teardown(&((struct out_http_cfg *)o->cfg)->aws);
}

static struct curl_slist *header_list(struct http_worker *w)
{
	struct out_http_cfg *cfg = w->cfg;
	char **lines = w->cfg_lines;
	int n = out_http_header_lines((const char *const *)cfg->hdr_vals, cfg->nhdr, cfg->allow_dup, lines,
				      OUT_HTTP_MAX_HEADERS);
	if (n < 0)
		return NULL;
	w->ncfg = n;
	for (int i = 0; i < n; i++)
		if (!strncasecmp(lines[i], "Content-Type", 12) && (lines[i][12] == ':' || lines[i][12] == ';'))
			w->cfg_ctype = true;
	return out_httpc_headers(&w->c, out_http_content_type(w->fmt.fmt), cfg->gzip, lines, n);
}

static void worker_destroy(void *wctx)
{
	struct http_worker *w = wctx;
	out_httpc_fini(&w->c);
	curl_slist_free_all(w->hdrs);
	for (int i = 0; i < w->ncfg; i++)
		free(w->cfg_lines[i]);
	out_buf_fini(&w->body);
	out_buf_fini(&w->gz);
	free(w->aws);
	free(w);
}

static void *worker_create(struct dp_output *o, unsigned worker, struct dp_err *err)
{
	(void)worker;
	struct out_http_cfg *cfg = o->cfg;
	struct http_worker *w = calloc(1, sizeof(*w));
	if (!w) {
		dp_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	w->o = o;
	w->cfg = cfg;
	w->fmt.fmt = (enum out_http_format)cfg->format;
	w->fmt.json.date_key = strcasecmp(cfg->date_key, "false") ? cfg->date_key : NULL;
	w->fmt.json.date_format = cfg->date_fmt;
	w->fmt.gelf = (struct out_gelf_keys){ cfg->gelf_host, cfg->gelf_short, cfg->gelf_full, cfg->gelf_level,
					      cfg->gelf_ts };
	size_t cap = (size_t)cfg->body_max;
	/* body_key sends bodies from the chunks: no body buffer to fill. */
	if (out_buf_init(&w->body, cfg->by_rec ? 1024 : cap) || (cfg->gzip && out_buf_init(&w->gz, out_http_gzip_bound(cap)))) {
		dp_err_set(err, -ENOMEM, "out of memory");
		worker_destroy(w);
		return NULL;
	}
	if (out_httpc_init(&w->c, o->name, &cfg->hc, cfg->uri, OUT_HTTP_RESP_PREFIX, false, err)) {
		worker_destroy(w);
		return NULL;
	}
	CURLcode rc = CURLE_OK;
	if (!(w->hdrs = header_list(w))) {
		dp_err_set(err, -ENOMEM, "cannot build the request headers");
		worker_destroy(w);
		return NULL;
	}
	/* aws_auth: the Content-Type is signed when it is the same on every request */
	if (cfg->aws.auth && (!(w->aws = malloc(sizeof(*w->aws))) ||
			      out_aws_signer_init(w->aws, &cfg->aws, &w->c, cfg->by_rec || w->cfg_ctype ? NULL :
						  out_http_content_type(w->fmt.fmt)))) {
		dp_err_set(err, -ENOMEM, "cannot set up AWS signing");
		worker_destroy(w);
		return NULL;
	}
	rc = curl_easy_setopt(w->c.h, CURLOPT_HTTPHEADER, w->hdrs);
	if (rc == CURLE_OK && cfg->http_method == 1)
		rc = curl_easy_setopt(w->c.h, CURLOPT_CUSTOMREQUEST, "PUT");
	if (rc == CURLE_OK && cfg->proxy)
		rc = curl_easy_setopt(w->c.h, CURLOPT_PROXY, cfg->proxy);
	if (rc != CURLE_OK) {
		dp_err_set(err, -EINVAL, "libcurl refused an option: %s", curl_easy_strerror(rc));
		worker_destroy(w);
		return NULL;
	}
	return w;
}

/* One request of body[0..len) (gzip'd with compress) with the header list
 * hl set on the handle (aws_auth puts its headers in front of it): 0,
 * DP_FLUSH_FAILED or -errno. */
static int request(struct http_worker *w, struct curl_slist *hl, const void *body, size_t len)
{
	struct out_http_cfg *cfg = w->cfg;
	if (cfg->gzip) {
		int rc = out_http_gzip(body, len, &w->gz);
		if (rc)
			return rc;
		body = w->gz.p;
		len = w->gz.len;
	}
	long status = 0;
	int prc = w->aws ? out_aws_signer_apply(w->aws, &w->c, hl, cfg->http_method == 1 ? "PUT" : "POST", cfg->uri,
						 body, len) : 0;
	if (!prc)
		prc = out_httpc_post(&w->c, body, len, &status);
	if (prc)
		return prc;
	enum out_http_verdict v = out_http_status_verdict(status);
	if (v == OUT_HTTP_OK)
		return 0;
	/* The status, and the body's first bytes on one line. */
	const char *resp = out_httpc_resp_line(&w->c);
	size_t resp_len = w->c.resp_len;
	char what[OUT_HTTP_RESP_PREFIX + 64];
	snprintf(what, sizeof(what), "HTTP status=%ld%s%s%s", status, cfg->log_payload && resp_len ? ": \"" : "",
		 cfg->log_payload ? resp : "", cfg->log_payload && resp_len ? "\"" : "");
	if (v == OUT_HTTP_REJECTED) {
		out_httpc_log_cause(&w->c, status, DP_LOG_ERROR, "rejected, records dropped (not retried):", what);
		return DP_FLUSH_FAILED;
	}
	out_httpc_log_cause(&w->c, status, DP_LOG_WARN, "will retry:", what);
	return status == 429 || status == 503 ? -EAGAIN : -EIO;
}

/* One request with the body in w->body: 0, DP_FLUSH_FAILED or -errno. */
static int post(struct http_worker *w, const struct dp_chunk *c)
{
	struct out_http_cfg *cfg = w->cfg;
	struct curl_slist *tagged = NULL;
	if (cfg->header_tag) {
		size_t taglen;
		const char *tag = dp_chunk_tag(w->o->pl, c, &taglen);
		char line[DP_TAG_MAX + 160];
		snprintf(line, sizeof(line), "%s: %.*s", cfg->header_tag, (int)taglen, tag);
		for (struct curl_slist *l = w->hdrs; l; l = l->next) {
			struct curl_slist *t = curl_slist_append(tagged, l->data);
			if (!t) {
				curl_slist_free_all(tagged);
				return -ENOMEM;
			}
			tagged = t;
		}
		struct curl_slist *t = curl_slist_append(tagged, line);
		if (!t) {
			curl_slist_free_all(tagged);
			return -ENOMEM;
		}
		tagged = t;
		curl_easy_setopt(w->c.h, CURLOPT_HTTPHEADER, tagged);
	}
	int rc = request(w, tagged ? tagged : w->hdrs, w->body.p, w->body.len);
	if (tagged) {
		curl_easy_setopt(w->c.h, CURLOPT_HTTPHEADER, w->hdrs);
		curl_slist_free_all(tagged);
	}
	return rc;
}

/* Format: bodies of as many records as Body_Max_Size allows, from *pos
 * on. 0, or the first request's -errno with *pos at its first record. */
static int flush_bodies(struct http_worker *w, struct dp_chunk *const *c, unsigned n, struct out_http_pos *pos,
			bool *rejected)
{
	uint64_t skipped = 0;
	int rc = 0;
	while (pos->chunk < n) {
		struct out_http_pos start = *pos;
		uint32_t recs = out_http_body_fill(&w->body, &w->fmt, c, n, pos, w->cfg->header_tag != NULL, &skipped);
		if (!recs && pos->chunk == start.chunk && pos->rec == start.rec)
			break;   /* cannot happen with Body_Max_Size >= 1k; never spin */
		if (!recs)
			continue;
		rc = post(w, c[start.chunk]);
		if (rc == DP_FLUSH_FAILED) {
			/* The other requests of the burst are still sent; the
			 * whole burst is then counted failed (see OPERATIONS). */
			*rejected = true;
			rc = 0;
		} else if (rc) {
			*pos = start;
			break;
		}
	}
	if (skipped && dp_ratelimit_ok(&w->skip_rl, dp_time_mono_ns(), OUT_HTTPC_LOG_EVERY_S * 1000000000ull))
		dp_warn("[%s] %llu records cannot be encoded in this Format or exceed Body_Max_Size: left out",
			w->o->name, (unsigned long long)skipped);
	return rc;
}

/* Put s in node k of a header list; the next free node. */
static unsigned node(struct curl_slist *nd, unsigned k, const char *s)
{
	nd[k].data = (char *)s;   /* libcurl only reads it */
	nd[k].next = NULL;
	if (k)
		nd[k - 1].next = &nd[k];
	return k + 1;
}

/* body_key: the request of one record, its headers first (Fluent Bit adds
 * the record's, then Header_Tag, Content-Encoding, the Header lines). */
static int post_rec(struct http_worker *w, const struct dp_chunk *ch, const char *body, size_t blen)
{
	struct out_http_cfg *cfg = w->cfg;
	struct curl_slist *nd = w->nodes;
	unsigned k = 0;
	for (unsigned i = 0; i < w->rh.n; i++)
		k = node(nd, k, w->rh.line[i]);
	/* No Content-Type when the record gives none, as Fluent Bit (libcurl
	 * would send a form's). */
	if (!w->rh.has_ctype && !w->cfg_ctype)
		k = node(nd, k, "Content-Type:");
	k = node(nd, k, "Expect:");
	if (cfg->gzip)
		k = node(nd, k, "Content-Encoding: gzip");
	if (w->c.hostport)
		k = node(nd, k, w->c.hostport);
	if (cfg->header_tag) {
		size_t taglen;
		const char *tag = dp_chunk_tag(w->o->pl, ch, &taglen);
		snprintf(w->tagline, sizeof(w->tagline), "%s: %.*s", cfg->header_tag, (int)taglen, tag);
		k = node(nd, k, w->tagline);
	}
	for (int i = 0; i < w->ncfg; i++)
		k = node(nd, k, w->cfg_lines[i]);
	curl_easy_setopt(w->c.h, CURLOPT_HTTPHEADER, nd);
	int rc = request(w, nd, body, blen);
	curl_easy_setopt(w->c.h, CURLOPT_HTTPHEADER, w->hdrs);
	return rc;
}

static void mark_failed(struct http_worker *w, const struct out_http_pos *pos)
{
	w->failed[pos->chunk][pos->rec / 64] |= 1ull << (pos->rec % 64);
}

/* body_key: one request per record from *pos on. A record that gives no
 * request, or whose request is refused for good, is marked failed; the
 * first retriable error returns its -errno with *pos at its record. */
static int flush_recs(struct http_worker *w, struct dp_chunk *const *c, unsigned n, struct out_http_pos *pos,
		      bool *rejected)
{
	struct out_http_cfg *cfg = w->cfg;
	const char *const *over = cfg->allow_dup ? NULL : (const char *const *)w->cfg_lines;
	unsigned nover = cfg->allow_dup ? 0 : (unsigned)w->ncfg;
	int rc = 0;
	for (; pos->chunk < n; pos->chunk++, pos->rec = 0) {
		const struct dp_chunk *ch = c[pos->chunk];
		for (; pos->rec < ch->nrecs; pos->rec++) {
			const struct dp_rec *r = &ch->recs[pos->rec];
			if (r->flags & DP_REC_DROPPED)
				continue;
			const char *body = NULL;
			size_t blen = 0;
			enum out_http_rec_result res = out_http_rec_get(&cfg->body_ra, &cfg->hdrs_ra, ch, r, over, nover,
									&body, &blen, &w->rh);
			w->hdr_left_out += w->rh.left_out;
			if (res != OUT_HTTP_REC_OK || blen > (size_t)cfg->body_max) {
				w->rec_bad[res]++;   /* [0]: a body over Body_Max_Size */
				mark_failed(w, pos);
				continue;
			}
			rc = post_rec(w, ch, body, blen);
			if (rc == DP_FLUSH_FAILED) {
				*rejected = true;
				mark_failed(w, pos);
				rc = 0;
			} else if (rc) {
				goto out;
			}
		}
	}
out:
	if ((w->rec_bad[0] | w->rec_bad[1] | w->rec_bad[2] | w->rec_bad[3] | w->hdr_left_out) &&
	    dp_ratelimit_ok(&w->rec_rl, dp_time_mono_ns(), OUT_HTTPC_LOG_EVERY_S * 1000000000ull)) {
		dp_warn("[%s] records counted failed: %llu without a string or binary %s, %llu without a map %s, "
			"%llu with more than %d headers or %d bytes of them, %llu with a body over Body_Max_Size; "
			"%llu header pairs left out (not string:string, not valid HTTP, or Content-Length / "
			"Transfer-Encoding)", w->o->name, (unsigned long long)w->rec_bad[OUT_HTTP_REC_NO_BODY],
			cfg->body_key, (unsigned long long)w->rec_bad[OUT_HTTP_REC_NO_HEADERS], cfg->headers_key,
			(unsigned long long)w->rec_bad[OUT_HTTP_REC_HDR_BIG], OUT_HTTP_REC_MAX_HDRS,
			OUT_HTTP_REC_HDR_BYTES, (unsigned long long)w->rec_bad[0],
			(unsigned long long)w->hdr_left_out);
		memset(w->rec_bad, 0, sizeof(w->rec_bad));
		w->hdr_left_out = 0;
	}
	return rc;
}

/* What identifies a burst across its retries: its chunks and what they
 * hold (a pool recycles chunk addresses, not their opening times). */
static uint64_t burst_key(struct dp_chunk *const *c, unsigned n)
{
	uint64_t h = 1469598103934665603ull ^ n;
	for (unsigned i = 0; i < n; i++) {
		uint64_t v[4] = { (uintptr_t)c[i], c[i]->opened_ns, c[i]->st_seq,
				  ((uint64_t)c[i]->nrecs << 32) | c[i]->data_len };
		for (unsigned j = 0; j < 4; j++)
			h = (h ^ v[j]) * 1099511628211ull;
	}
	return h | 1;
}

/* A retry of a burst (deliver() calls again with the same chunks) starts
 * where the last attempt stopped: the requests already accepted are not
 * sent again. */
static int flush(void *wctx, struct dp_chunk *const *c, unsigned n)
{
	struct http_worker *w = wctx;
	uint64_t key = burst_key(c, n);
	struct out_http_pos pos = { 0, 0 };
	bool rejected = false;
	if (w->resume_key == key) {
		pos = w->resume;
		rejected = w->resume_rejected;
	} else if (w->cfg->by_rec) {
		memset(w->failed, 0, sizeof(w->failed[0]) * n);
	}
	w->resume_key = 0;
	int rc = w->cfg->by_rec ? flush_recs(w, c, n, &pos, &rejected) : flush_bodies(w, c, n, &pos, &rejected);
	if (rc < 0) {
		w->resume_key = key;
		w->resume = pos;
		w->resume_rejected = rejected;
	} else if (rejected) {
		rc = DP_FLUSH_FAILED;
	}
	w->last_key = key;
	w->last_rc = rc;
	return rc;
}

/* The records of a settled burst that were not accepted: with Format, all
 * of a burst that had a request refused or ran out of retries (the
 * requests hold records of several chunks); with body_key, those marked
 * failed and, after the last retry, those not yet accepted. */
static uint32_t burst_failed(void *wctx, struct dp_chunk *const *c, unsigned n, uint64_t (*sel)[DP_CHUNK_RECS / 64])
{
	struct http_worker *w = wctx;
	bool ours = w->last_key == burst_key(c, n);
	bool rec = ours && w->cfg->by_rec;
	bool all = !ours || (!w->cfg->by_rec && w->last_rc != 0);
	struct out_http_pos from = rec && w->last_rc < 0 ? w->resume : (struct out_http_pos){ n, 0 };
	uint32_t bad = 0;
	for (unsigned i = 0; i < n; i++)
		for (uint32_t k = 0; k < c[i]->nrecs; k++) {
			if (c[i]->recs[k].flags & DP_REC_DROPPED)
				continue;
			bool f = all || i > from.chunk || (i == from.chunk && k >= from.rec) ||
				 (rec && (w->failed[i][k / 64] >> (k % 64) & 1));
			if (f) {
				sel[i][k / 64] |= 1ull << (k % 64);
				bad++;
			}
		}
	/* Settled: a later burst of the same chunks starts afresh. */
	w->last_key = 0;
	w->resume_key = 0;
	return bad;
}

const struct dp_output_ops out_http_ops = {
	.name = "http",
	.desc = "Sends records to an HTTP server, one request per burst",
	.opts = http_opts,
	.cfg_size = sizeof(struct out_http_cfg),
	.setup = setup,
	.worker_create = worker_create,
	.flush = flush,
	.burst_failed = burst_failed,
	.worker_destroy = worker_destroy,
	.teardown = teardown,
};
