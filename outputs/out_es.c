/*
 * out_es.c — Fluent Bit's `es` (Elasticsearch) and `opensearch` outputs:
 * each burst of chunks goes to Host:Port/Path/_bulk as NDJSON bulk
 * requests (out_es_bulk.c) over one keep-alive connection per worker
 * (out_httpc.c), and the bulk response is read item by item
 * (out_es_resp.c).
 *
 * What a response does (docs/OPERATIONS.md, "opensearch / es output"):
 *   - 2xx with "errors":false: every record of the request is accepted;
 *   - 2xx with "errors":true: each item by its status: 2xx (and 409 to a
 *     create: the document is there) accepted; 429, 5xx retried, alone:
 *     the accepted ones are never sent again; any other status (400
 *     mapper_parsing_exception, ...) failed for good, logged (rate-limited)
 *     with the first item's error type and reason;
 *   - 5xx, 408, 429, 1xx/3xx, no response (connection, TLS, timeout), or a
 *     2xx that is not a bulk response: the request's records are retried;
 *   - any other 4xx: the request's records are failed for good.
 * Retries follow the worker's backoff up to Retry_Limit (out_worker.c):
 * flush returns -errno while any record of the burst is still to be
 * retried, and the worker gives the same burst back. What each record
 * became is kept per burst (state[]), so a retry sends only the records
 * still pending; burst_failed then tells the worker which records were
 * not accepted, and only those are counted failed.
 *
 * Threads: setup/teardown on the control thread; everything else on the
 * output worker that owns the context.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "dp_log.h"
#include "dp_pipeline.h"
#include "dp_time.h"
#include "dp_base64.h"
#include "out_aws.h"
#include "out_es.h"
#include "out_http.h"
#include "out_httpc.h"

/* Largest request body before compression; a larger burst is split into
 * several requests (Fluent Bit sends one per chunk, of at most a few MB). */
#define OUT_ES_BODY_MAX (5 * 1000 * 1000)
#define OUT_ES_BURST_RECS (DP_BURST * DP_CHUNK_RECS)

struct out_es_cfg {
	struct out_httpc_cfg hc;   /* Host, Port, HTTP_User, net.*, tls.* */
	char *path;
	char *index;
	char *type;
	bool suppress_type;
	bool logstash;
	char *prefix;
	char *prefix_key;
	char *separator;
	char *dateformat;
	char *time_key;
	char *time_key_format;
	bool time_key_nanos;
	bool include_tag;
	char *tag_key;
	bool generate_id;
	char *id_key;
	int write_op;
	bool replace_dots;
	bool current_time_index;
	char *buffer_size;
	bool trace_output;
	bool trace_error;
	char *compress;
	char *pipeline;
	char *http_api_key;         /* es only */
	char *cloud_id, *cloud_auth;
	struct out_aws_cfg aws;     /* AWS_Auth, ... (out_aws.h) */
	/* set by setup */
	char *uri;
	size_t resp_cap;
	bool resp_grow;
	bool gzip;
	struct out_es_bulk_opts bulk;
};

#define C(f) offsetof(struct out_es_cfg, f)

/* Keys and defaults of Fluent Bit's es and opensearch outputs
 * (plugins/out_es/es_conf.c and plugins/out_opensearch/opensearch.c
 * config_map; docs.fluentbit.io .../outputs/elasticsearch and
 * .../outputs/opensearch). The two share them. */
#define ES_OPTS \
	{ "Host", DP_OPT_STR, "127.0.0.1", C(hc.host), NULL, 0, 0, 0, "Host name or IP address of the server." }, \
	{ "Port", DP_OPT_INT, "9200", C(hc.port), NULL, 1, 65535, 0, "TCP port of the server." }, \
	{ "Path", DP_OPT_STR, "", C(path), NULL, 0, 0, 0, \
	  "Path prefix of the bulk API behind a reverse proxy: requests go to Path/_bulk." }, \
	{ "Index", DP_OPT_STR, "fluent-bit", C(index), NULL, 0, 0, 0, "Index of the documents (without Logstash_Format)." }, \
	{ "Type", DP_OPT_STR, "_doc", C(type), NULL, 0, 0, 0, "Mapping type (_type) of the documents." }, \
	{ "Suppress_Type_Name", DP_OPT_BOOL, "off", C(suppress_type), NULL, 0, 0, 0, \
	  "Leave _type out of the action lines (Elasticsearch 7 and later, OpenSearch)." }, \
	{ "Logstash_Format", DP_OPT_BOOL, "off", C(logstash), NULL, 0, 0, 0, \
	  "Index named Logstash_Prefix, Logstash_Prefix_Separator and the record's date in " \
	  "Logstash_DateFormat (logstash-2024.01.31)." }, \
	{ "Logstash_Prefix", DP_OPT_STR, "logstash", C(prefix), NULL, 0, 0, 0, \
	  "Logstash_Format: first part of the index name." }, \
	{ "Logstash_Prefix_Key", DP_OPT_STR, NULL, C(prefix_key), NULL, 0, 0, 0, \
	  "Logstash_Format: a top-level record key (or $key) whose string value replaces Logstash_Prefix; " \
	  "records without it use Logstash_Prefix." }, \
	{ "Logstash_Prefix_Separator", DP_OPT_STR, "-", C(separator), NULL, 0, 0, 0, \
	  "Logstash_Format: between the prefix and the date." }, \
	{ "Logstash_DateFormat", DP_OPT_STR, "%Y.%m.%d", C(dateformat), NULL, 0, 0, 0, \
	  "Logstash_Format: strftime format of the date in the index name (the record's time, UTC)." }, \
	{ "Time_Key", DP_OPT_STR, "@timestamp", C(time_key), NULL, 0, 0, 0, \
	  "Member added to each document with the record's time." }, \
	{ "Time_Key_Format", DP_OPT_STR, "%Y-%m-%dT%H:%M:%S", C(time_key_format), NULL, 0, 0, 0, \
	  "strftime format of Time_Key (UTC), followed by milliseconds and Z." }, \
	{ "Time_Key_Nanos", DP_OPT_BOOL, "off", C(time_key_nanos), NULL, 0, 0, 0, \
	  "Time_Key with nanoseconds instead of milliseconds." }, \
	{ "Include_Tag_Key", DP_OPT_BOOL, "off", C(include_tag), NULL, 0, 0, 0, "Add the tag to each document." }, \
	{ "Tag_Key", DP_OPT_STR, "flb-key", C(tag_key), NULL, 0, 0, 0, "Include_Tag_Key: the member's name." }, \
	{ "Generate_ID", DP_OPT_BOOL, "off", C(generate_id), NULL, 0, 0, 0, \
	  "Give each document an _id hashed from the record, so a retried record is not indexed twice." }, \
	{ "Id_Key", DP_OPT_STR, NULL, C(id_key), NULL, 0, 0, 0, \
	  "A top-level record key (or $key) whose string value is the document's _id." }, \
	{ "Write_Operation", DP_OPT_ENUM, "create", C(write_op), "create|index|update|upsert", 0, 0, 0, \
	  "Bulk action; update and upsert need Generate_ID or Id_Key." }, \
	{ "Replace_Dots", DP_OPT_BOOL, "off", C(replace_dots), NULL, 0, 0, 0, \
	  "Replace '.' by '_' in member names, at every depth." }, \
	{ "Current_Time_Index", DP_OPT_BOOL, "off", C(current_time_index), NULL, 0, 0, 0, \
	  "Logstash_Format: the index date from the current time, not the record's." }, \
	{ "Buffer_Size", DP_OPT_STR, "512k", C(buffer_size), NULL, 0, 0, 0, \
	  "Bytes of a response read; 'false': all of it. A response cut here cannot say which " \
	  "records failed: the unread ones are retried." }, \
	{ "Trace_Output", DP_OPT_BOOL, "off", C(trace_output), NULL, 0, 0, 0, \
	  "Print each request body to standard output (diagnostics)." }, \
	{ "Trace_Error", DP_OPT_BOOL, "off", C(trace_error), NULL, 0, 0, 0, \
	  "Log the whole response of a request with failed items (diagnostics)." }, \
	{ "compress", DP_OPT_STR, NULL, C(compress), NULL, 0, 0, 0, \
	  "gzip: compress request bodies (Content-Encoding: gzip)." }, \
	{ "Pipeline", DP_OPT_STR, NULL, C(pipeline), NULL, 0, 0, 0, "Ingest pipeline of the documents." }, \
	OUT_AWS_OPTS(struct out_es_cfg, aws, "AWS_Auth", "AWS_Region", "AWS_STS_Endpoint", "AWS_Role_ARN", \
		     "AWS_External_ID", "AWS_Service_Name", "es", "AWS_Profile"), \
	OUT_HTTPC_OPTS(struct out_es_cfg, hc)

static const struct dp_opt opensearch_opts[] = {
	ES_OPTS,
	{ NULL },
};

/* Elasticsearch's own: API keys and Elastic Cloud (es_conf.c,
 * flb_es_conf_set_cloud_auth / set_cloud_credentials). */
static const struct dp_opt es_opts[] = {
	ES_OPTS,
	{ "HTTP_API_Key", DP_OPT_STR, NULL, C(http_api_key), NULL, 0, 0, 0,
	  "An API key, base64 encoded as Elasticsearch gives it: sent as Authorization: ApiKey; "
	  "HTTP_User is then not used." },
	{ "Cloud_ID", DP_OPT_STR, NULL, C(cloud_id), NULL, 0, 0, 0,
	  "Elastic Cloud's deployment id (name:base64): Host and Port (443 unless it names one) "
	  "are taken from it. Set tls on." },
	{ "Cloud_Auth", DP_OPT_STR, NULL, C(cloud_auth), NULL, 0, 0, 0,
	  "Elastic Cloud's user:password, for HTTP_User and HTTP_Passwd." },
	{ NULL },
};

enum { REC_PENDING = 0, REC_OK, REC_FAILED };

struct es_worker {
	struct dp_output *o;
	struct out_es_cfg *cfg;
	struct out_httpc c;
	struct curl_slist *hdrs;
	struct out_buf body;
	struct out_buf gz;
	struct out_es_bulk_memo memo;
	struct out_aws_signer *aws; /* AWS_Auth */
	/* The burst the states are about (burst_key) and what each record of
	 * it became: state[chunk * DP_CHUNK_RECS + rec]. */
	uint64_t key;
	uint8_t *state;
	/* The request being answered: its items' records and statuses. */
	uint32_t *items;
	uint16_t *status;
	uint64_t skipped;
	struct dp_ratelimit skip_rl;
};

/* A key without a leading '$' (Fluent Bit's record accessor for a
 * top-level key): NULL when it names a nested key. */
static const char *top_key(char *k)
{
	if (!k)
		return NULL;
	const char *s = k[0] == '$' ? k + 1 : k;
	if (!*s || strchr(s, '[') || strchr(s, '\''))
		return NULL;
	return s;
}

/* Cloud_ID "name:base64(region$es_host[:port]$kibana_host)": Host
 * es_host.region, Port its own or 443; Cloud_Auth "user:password". */
static int cloud_setup(struct out_es_cfg *cfg, struct dp_err *err)
{
	if (cfg->cloud_id) {
		err->key = "Cloud_ID";
		const char *colon = strchr(cfg->cloud_id, ':');
		char buf[256], host[320];
		long n = colon ? dp_base64_decode(colon + 1, strlen(colon + 1), (uint8_t *)buf,
						  sizeof(buf) - 1, false) : -1;
		char *d1 = n > 0 ? (buf[n] = 0, strchr(buf, '$')) : NULL;
		char *d2 = d1 ? strchr(d1 + 1, '$') : NULL;
		if (!d2 || d1 == buf || d2 == d1 + 1)
			return dp_err_set(err, -EINVAL, "Cloud_ID '%s' is not name:base64(region$host$kibana)",
					  cfg->cloud_id);
		*d1 = *d2 = 0;
		char *port = strchr(d1 + 1, ':');
		if (port)
			*port++ = 0;
		snprintf(host, sizeof(host), "%s.%s", d1 + 1, buf);
		char *h = strdup(host);
		if (!h)
			return dp_err_set(err, -ENOMEM, "out of memory");
		free(cfg->hc.host);
		cfg->hc.host = h;
		cfg->hc.port = port ? strtol(port, NULL, 10) : 443;
		if (cfg->hc.port < 1 || cfg->hc.port > 65535)
			return dp_err_set(err, -EINVAL, "Cloud_ID '%s': bad port", cfg->cloud_id);
	}
	if (cfg->cloud_auth) {
		err->key = "Cloud_Auth";
		const char *colon = strchr(cfg->cloud_auth, ':');
		if (!colon || colon == cfg->cloud_auth)
			return dp_err_set(err, -EINVAL, "Cloud_Auth must be user:password");
		char *u = strndup(cfg->cloud_auth, (size_t)(colon - cfg->cloud_auth)), *p = strdup(colon + 1);
		if (!u || !p) {
			free(u);
			free(p);
			return dp_err_set(err, -ENOMEM, "out of memory");
		}
		free(cfg->hc.http_user);
		free(cfg->hc.http_passwd);
		cfg->hc.http_user = u;
		cfg->hc.http_passwd = p;
	}
	if (cfg->http_api_key) {
		err->key = "HTTP_API_Key";
		if (!*cfg->http_api_key || strpbrk(cfg->http_api_key, " \t\r\n"))
			return dp_err_set(err, -EINVAL, "HTTP_API_Key is empty or has blanks");
		free(cfg->hc.http_user);
		cfg->hc.http_user = NULL;   /* the key is the authentication */
	}
	return 0;
}

static int setup(struct dp_output *o, struct dp_err *err)
{
	struct out_es_cfg *cfg = o->cfg;
	int rc = out_httpc_global_init(err);
	if (rc)
		return rc;
	err->key = "compress";
	if (cfg->compress && strcasecmp(cfg->compress, "gzip"))
		return dp_err_set(err, -EINVAL, "invalid value '%s' for 'compress': expected gzip", cfg->compress);
	cfg->gzip = cfg->compress != NULL;
	if ((rc = cloud_setup(cfg, err)) != 0 || (rc = out_aws_setup(&cfg->aws, o->name, err)) != 0)
		return rc;
	err->key = "Host";
	if (!*cfg->hc.host || strpbrk(cfg->hc.host, "/ \t"))
		return dp_err_set(err, -EINVAL, "invalid Host '%s'", cfg->hc.host);
	err->key = "Path";
	if (strpbrk(cfg->path, " \t\r\n?#"))
		return dp_err_set(err, -EINVAL, "Path '%s' has blanks, '?' or '#'", cfg->path);
	err->key = "Pipeline";
	if (cfg->pipeline && (!*cfg->pipeline || strpbrk(cfg->pipeline, " \t\r\n&#?/")))
		return dp_err_set(err, -EINVAL, "invalid Pipeline name '%s'", cfg->pipeline);
	err->key = "Buffer_Size";
	cfg->resp_grow = false;
	int64_t sz = 0;
	bool off;
	if (!dp_opt_parse_bool(cfg->buffer_size, &off) && !off) {
		cfg->resp_grow = true;
		sz = 64 * 1024;
	} else if (dp_opt_parse_size(cfg->buffer_size, &sz) || sz < 1 || sz > 1000000000) {
		return dp_err_set(err, -EINVAL, "invalid value '%s' for 'Buffer_Size': a size or false",
				  cfg->buffer_size);
	}
	cfg->resp_cap = (size_t)sz + 1;
	err->key = "Logstash_Prefix_Key";
	if (cfg->prefix_key && !top_key(cfg->prefix_key))
		return dp_err_set(err, -EINVAL, "Logstash_Prefix_Key '%s': only a top-level key is supported",
				  cfg->prefix_key);
	err->key = "Id_Key";
	if (cfg->id_key && !top_key(cfg->id_key))
		return dp_err_set(err, -EINVAL, "Id_Key '%s': only a top-level key is supported", cfg->id_key);
	err->key = "Write_Operation";
	if ((cfg->write_op == OUT_ES_UPDATE || cfg->write_op == OUT_ES_UPSERT) && !cfg->id_key && !cfg->generate_id)
		return dp_err_set(err, -EINVAL, "Write_Operation update and upsert need Generate_ID or Id_Key");
	err->key = NULL;
	free(cfg->uri);
	cfg->uri = NULL;
	/* Fluent Bit: Path + "/_bulk", "?pipeline=" + Pipeline (es_conf.c) */
	size_t pl = strlen(cfg->path);
	while (pl && cfg->path[pl - 1] == '/')
		pl--;
	if (asprintf(&cfg->uri, "%s%.*s/_bulk%s%s", pl && cfg->path[0] != '/' ? "/" : "", (int)pl, cfg->path,
		     cfg->pipeline ? "?pipeline=" : "", cfg->pipeline ? cfg->pipeline : "") < 0) {
		cfg->uri = NULL;
		return dp_err_set(err, -ENOMEM, "out of memory");
	}
	cfg->bulk = (struct out_es_bulk_opts){
		.op = cfg->write_op,
		.index = cfg->index,
		.type = cfg->suppress_type ? NULL : cfg->type,
		.logstash = cfg->logstash,
		.prefix = cfg->prefix,
		.prefix_key = top_key(cfg->prefix_key),
		.separator = cfg->separator,
		.dateformat = cfg->dateformat,
		.current_time_index = cfg->current_time_index,
		.time_key = cfg->time_key,
		.time_key_format = cfg->time_key_format,
		.time_key_nanos = cfg->time_key_nanos,
		.tag_key = cfg->include_tag ? cfg->tag_key : NULL,
		.generate_id = cfg->generate_id,
		.id_key = top_key(cfg->id_key),
		.replace_dots = cfg->replace_dots,
	};
	return 0;
}

static void teardown(struct dp_output *o)
{
	struct out_es_cfg *cfg = o->cfg;
	free(cfg->uri);
	cfg->uri = NULL;
	out_aws_teardown(&cfg->aws);
}

static void worker_destroy(void *wctx)
{
	struct es_worker *w = wctx;
	out_httpc_fini(&w->c);
	curl_slist_free_all(w->hdrs);
	out_buf_fini(&w->body);
	out_buf_fini(&w->gz);
	free(w->state);
	free(w->items);
	free(w->status);
	free(w->aws);
	free(w);
}

static void *worker_create(struct dp_output *o, unsigned worker, struct dp_err *err)
{
	(void)worker;
	struct out_es_cfg *cfg = o->cfg;
	struct es_worker *w = calloc(1, sizeof(*w));
	if (!w) {
		dp_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	w->o = o;
	w->cfg = cfg;
	w->state = calloc(OUT_ES_BURST_RECS, 1);
	w->items = calloc(OUT_ES_BURST_RECS, sizeof(*w->items));
	w->status = calloc(OUT_ES_BURST_RECS, sizeof(*w->status));
	if (!w->state || !w->items || !w->status || out_buf_init(&w->body, OUT_ES_BODY_MAX) ||
	    (cfg->gzip && out_buf_init(&w->gz, out_http_gzip_bound(OUT_ES_BODY_MAX)))) {
		dp_err_set(err, -ENOMEM, "out of memory");
		worker_destroy(w);
		return NULL;
	}
	if (out_httpc_init(&w->c, o->name, &cfg->hc, cfg->uri, cfg->resp_cap, cfg->resp_grow, err) ||
	    (cfg->aws.auth && (!(w->aws = malloc(sizeof(*w->aws))) ||
			       out_aws_signer_init(w->aws, &cfg->aws, &w->c, "application/x-ndjson")) &&
	     dp_err_set(err, -ENOMEM, "cannot set up AWS signing"))) {
		worker_destroy(w);
		return NULL;
	}
	char auth[512];
	char *extra[1] = { auth };
	if (cfg->http_api_key)
		snprintf(auth, sizeof(auth), "Authorization: ApiKey %s", cfg->http_api_key);
	w->hdrs = out_httpc_headers(&w->c, "application/x-ndjson", cfg->gzip, extra, cfg->http_api_key ? 1 : 0);
	bool ok = w->hdrs != NULL;
	if (!ok || curl_easy_setopt(w->c.h, CURLOPT_HTTPHEADER, w->hdrs) != CURLE_OK) {
		dp_err_set(err, -ENOMEM, "cannot build the request headers");
		worker_destroy(w);
		return NULL;
	}
	return w;
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

static void settle_all(struct es_worker *w, uint32_t nit, uint8_t st)
{
	for (uint32_t i = 0; i < nit; i++)
		w->state[w->items[i]] = st;
}

/* Send the body of nit items and settle what the response says: 0 when
 * every item is settled, 1 when some are left to retry, -errno when the
 * whole request must be retried (nothing settled). */
static int send_bulk(struct es_worker *w, uint32_t nit)
{
	struct out_es_cfg *cfg = w->cfg;
	struct out_buf *b = &w->body;
	if (cfg->trace_output) {
		fwrite(b->p, 1, b->len, stdout);
		fflush(stdout);
	}
	if (cfg->gzip) {
		int rc = out_http_gzip(w->body.p, w->body.len, &w->gz);
		if (rc)
			return rc;
		b = &w->gz;
	}
	long status = 0;
	int rc = w->aws ? out_aws_signer_apply(w->aws, &w->c, w->hdrs, "POST", cfg->uri, b->p, b->len) : 0;
	if (rc || (rc = out_httpc_post(&w->c, b->p, b->len, &status)))
		return rc;
	enum out_http_verdict v = out_http_status_verdict(status);
	if (v != OUT_HTTP_OK) {
		char what[320];
		snprintf(what, sizeof(what), "HTTP status=%ld%s%.255s%s", status, w->c.resp_len ? ": \"" : "",
			 out_httpc_resp_line(&w->c), w->c.resp_len ? "\"" : "");
		if (v == OUT_HTTP_REJECTED) {
			out_httpc_log_cause(&w->c, status, DP_LOG_ERROR, "rejected, records dropped (not retried):",
					    what);
			settle_all(w, nit, REC_FAILED);
			return 0;
		}
		out_httpc_log_cause(&w->c, status, DP_LOG_WARN, "will retry:", what);
		return status == 429 || status == 503 ? -EAGAIN : -EIO;
	}
	struct out_es_resp r;
	out_es_resp_parse(w->c.resp, w->c.resp_len, w->status, nit, &r);
	if (r.errors == 0 && !r.bad) {
		settle_all(w, nit, REC_OK);
		return 0;
	}
	if (r.errors != 1) {
		/* Not a bulk response (a proxy's page?), or cut before
		 * "errors": what was kept is unknown; send it again. */
		char what[320];
		snprintf(what, sizeof(what), "HTTP status=%ld, not a bulk response%s: \"%.200s\"", status,
			 w->c.resp_cut ? " (cut at Buffer_Size)" : "", out_httpc_resp_line(&w->c));
		out_httpc_log_cause(&w->c, -1000, DP_LOG_WARN, "will retry:", what);
		return -EIO;
	}
	uint32_t ok = 0, failed = 0, retry = 0;
	for (uint32_t i = 0; i < nit; i++) {
		enum out_es_item iv = i < r.nitems ? out_es_item_verdict(w->status[i], cfg->write_op) : OUT_ES_ITEM_RETRY;
		if (iv == OUT_ES_ITEM_OK) {
			w->state[w->items[i]] = REC_OK;
			ok++;
		} else if (iv == OUT_ES_ITEM_FAILED) {
			w->state[w->items[i]] = REC_FAILED;
			failed++;
		} else {
			retry++;
		}
	}
	char what[512];
	snprintf(what, sizeof(what), "%u of %u items refused (%u failed, %u to retry%s), first: status=%u %s: %s",
		 failed + retry, nit, failed, retry,
		 r.nitems < nit ? (w->c.resp_cut ? ", response cut at Buffer_Size" : ", response short of items") : "",
		 r.err_status, r.err_type[0] ? r.err_type : "-", r.err_reason[0] ? r.err_reason : "-");
	/* one cause per kind: failed items are errors, retries warnings */
	if (failed)
		out_httpc_log_cause(&w->c, -1001, DP_LOG_ERROR, "bulk items failed (not retried):", what);
	else if (retry)
		out_httpc_log_cause(&w->c, -1002, DP_LOG_WARN, "bulk items will be retried:", what);
	if (cfg->trace_error)
		dp_error("[%s] bulk response: %s", w->o->name, w->c.resp);
	(void)ok;
	return retry ? 1 : 0;
}

static int flush(void *wctx, struct dp_chunk *const *c, unsigned n)
{
	struct es_worker *w = wctx;
	uint64_t key = burst_key(c, n);
	if (key != w->key) {
		memset(w->state, REC_PENDING, (size_t)n * DP_CHUNK_RECS);
		w->key = key;
	}
	int64_t now = (int64_t)(dp_time_real_ns() / 1000000000ull);
	unsigned ci = 0;
	uint32_t ri = 0;
	bool again = false;
	uint64_t skipped = 0;
	for (;;) {
		w->body.len = 0;
		uint32_t nit = 0;
		for (; ci < n; ci++, ri = 0) {
			size_t taglen;
			const char *tag = dp_chunk_tag(w->o->pl, c[ci], &taglen);
			for (; ri < c[ci]->nrecs; ri++) {
				uint32_t idx = ci * DP_CHUNK_RECS + ri;
				const struct dp_rec *r = &c[ci]->recs[ri];
				if ((r->flags & DP_REC_DROPPED) || w->state[idx] != REC_PENDING)
					continue;
				if (!out_es_bulk_rec(&w->body, &w->cfg->bulk, &w->memo, c[ci], r, tag, taglen, now)) {
					if (nit)
						goto full;
					/* Alone in a body and still too big, or not
					 * encodable: it can never be sent. */
					w->state[idx] = REC_FAILED;
					skipped++;
					continue;
				}
				w->items[nit++] = idx;
			}
		}
full:
		if (!nit)
			break;
		int rc = send_bulk(w, nit);
		if (rc < 0)
			return rc;
		if (rc > 0)
			again = true;
	}
	if (skipped && dp_ratelimit_ok(&w->skip_rl, dp_time_mono_ns(), OUT_HTTPC_LOG_EVERY_S * 1000000000ull))
		dp_error("[%s] %llu records cannot be encoded or exceed %d bytes: counted failed", w->o->name,
			 (unsigned long long)skipped, OUT_ES_BODY_MAX);
	if (again)
		return -EAGAIN;
	/* Nothing accepted at all: the worker's whole-burst failure path. */
	for (unsigned i = 0; i < n; i++)
		for (uint32_t k = 0; k < c[i]->nrecs; k++)
			if (w->state[i * DP_CHUNK_RECS + k] == REC_OK)
				return 0;
	for (unsigned i = 0; i < n; i++)
		for (uint32_t k = 0; k < c[i]->nrecs; k++)
			if (w->state[i * DP_CHUNK_RECS + k] == REC_FAILED)
				return DP_FLUSH_FAILED;
	return 0;
}

static uint32_t burst_failed(void *wctx, struct dp_chunk *const *c, unsigned n, uint64_t (*sel)[DP_CHUNK_RECS / 64])
{
	struct es_worker *w = wctx;
	uint32_t bad = 0;
	bool ours = w->key == burst_key(c, n);
	for (unsigned i = 0; i < n; i++)
		for (uint32_t k = 0; k < c[i]->nrecs; k++) {
			if (c[i]->recs[k].flags & DP_REC_DROPPED)
				continue;
			/* a burst flush never saw (cannot happen): all failed */
			if (!ours || w->state[i * DP_CHUNK_RECS + k] != REC_OK) {
				sel[i][k / 64] |= 1ull << (k % 64);
				bad++;
			}
		}
	/* Settled: a later burst of the same chunks starts afresh. */
	w->key = 0;
	return bad;
}

const struct dp_output_ops out_es_ops = {
	.name = "es",
	.desc = "Sends records to Elasticsearch through its bulk API",
	.opts = es_opts,
	.cfg_size = sizeof(struct out_es_cfg),
	.setup = setup,
	.worker_create = worker_create,
	.flush = flush,
	.burst_failed = burst_failed,
	.worker_destroy = worker_destroy,
	.teardown = teardown,
};

const struct dp_output_ops out_opensearch_ops = {
	.name = "opensearch",
	.desc = "Sends records to OpenSearch through its bulk API",
	.opts = opensearch_opts,
	.cfg_size = sizeof(struct out_es_cfg),
	.setup = setup,
	.worker_create = worker_create,
	.flush = flush,
	.burst_failed = burst_failed,
	.worker_destroy = worker_destroy,
	.teardown = teardown,
};
