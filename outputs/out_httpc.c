/*
 * out_httpc.c — the shared HTTP client of the http and es/opensearch
 * outputs (see out_httpc.h): libcurl's easy interface, one handle per
 * worker, so a worker keeps its connection alive between requests.
 *
 * Threads: out_httpc_global_init on the control thread; a struct out_httpc
 * on the output worker that owns it.
 */
#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include "dp_log.h"
#include "dp_time.h"
#include "out_httpc.h"

static const long tls_versions[] = { CURL_SSLVERSION_TLSv1_1, CURL_SSLVERSION_TLSv1_2, CURL_SSLVERSION_TLSv1_3 };

int out_httpc_global_init(struct dp_err *err)
{
	static bool curl_ready;
	/* Not thread-safe in every libcurl: called on the control thread,
	 * before any worker starts. */
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT))
			return dp_err_set(err, -ENOMEM, "cannot initialise libcurl");
		curl_ready = true;
	}
	return 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct out_httpc *c = arg;
	size_t n = size * nmemb;
	if (c->resp_grow && c->resp_len + n + 1 > c->resp_cap) {
		/* Buffer_Size false: the whole body, however long (once per
		 * request, not per record). */
		size_t cap = c->resp_cap * 2;
		while (cap < c->resp_len + n + 1)
			cap *= 2;
		char *r = realloc(c->resp, cap);
		if (r) {
			c->resp = r;
			c->resp_cap = cap;
		}
	}
	size_t room = c->resp_cap - 1 - c->resp_len;
	size_t k = n < room ? n : room;
	if (k < n)
		c->resp_cut = true;
	memcpy(c->resp + c->resp_len, p, k);
	c->resp_len += k;
	c->resp[c->resp_len] = 0;
	return n;
}

void out_httpc_fini(struct out_httpc *c)
{
	if (c->h)
		curl_easy_cleanup(c->h);
	c->h = NULL;
	curl_slist_free_all(c->connect_to);
	c->connect_to = NULL;
	free(c->url);
	free(c->hostport);
	free(c->resp);
	c->url = c->hostport = c->resp = NULL;
}

int out_httpc_init(struct out_httpc *c, const char *name, const struct out_httpc_cfg *cfg, const char *uri,
		   size_t resp_cap, bool grow, struct dp_err *err)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->cfg = cfg;
	c->uri = uri;
	c->resp_cap = resp_cap < 16 ? 16 : resp_cap;
	c->resp_grow = grow;
	if (!(c->resp = malloc(c->resp_cap)) || !(c->h = curl_easy_init()))
		return dp_err_set(err, -ENOMEM, "out of memory");
	c->resp[0] = 0;
	bool v6 = strchr(cfg->host, ':') != NULL;
	const char *host = cfg->tls && cfg->tls_vhost ? cfg->tls_vhost : cfg->host;
	bool vhost = host != cfg->host;
	if (asprintf(&c->url, "%s://%s%s%s:%lld%s%s", cfg->tls ? "https" : "http", v6 && !vhost ? "[" : "", host,
		     v6 && !vhost ? "]" : "", (long long)cfg->port, uri[0] == '/' ? "" : "/", uri) < 0) {
		c->url = NULL;
		return dp_err_set(err, -ENOMEM, "out of memory");
	}
	if (vhost && asprintf(&c->hostport, "Host: %s%s%s:%lld", v6 ? "[" : "", cfg->host, v6 ? "]" : "",
			      (long long)cfg->port) < 0) {
		c->hostport = NULL;
		return dp_err_set(err, -ENOMEM, "out of memory");
	}
	CURL *h = c->h;
	CURLcode rc = CURLE_OK;
#define SET(opt, v) do { if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, v); } while (0)
	SET(CURLOPT_URL, c->url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, c);
	SET(CURLOPT_USERAGENT, "sluice");
	SET(CURLOPT_POST, 1L);
	/* No proxy unless the output sets one: the http_proxy environment
	 * variables are ignored. */
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_FORBID_REUSE, cfg->keepalive ? 0L : 1L);
	SET(CURLOPT_MAXAGE_CONN, (long)cfg->keepalive_idle);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)(cfg->connect_timeout * 1000));
	SET(CURLOPT_TIMEOUT_MS, (long)(cfg->io_timeout * 1000));
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	if (cfg->http_user) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERNAME, cfg->http_user);
		SET(CURLOPT_PASSWORD, cfg->http_passwd);
	}
	if (vhost) {
		/* The URL names the vhost (SNI, certificate name); connect to
		 * Host:Port whatever the vhost resolves to. */
		char ct[600];
		snprintf(ct, sizeof(ct), "%s:%lld:%s%s%s:%lld", host, (long long)cfg->port, v6 ? "[" : "", cfg->host,
			 v6 ? "]" : "", (long long)cfg->port);
		if (!(c->connect_to = curl_slist_append(NULL, ct)))
			return dp_err_set(err, -ENOMEM, "out of memory");
		SET(CURLOPT_CONNECT_TO, c->connect_to);
	}
	if (cfg->tls) {
		SET(CURLOPT_SSL_VERIFYPEER, cfg->tls_verify ? 1L : 0L);
		SET(CURLOPT_SSL_VERIFYHOST, cfg->tls_verify && cfg->tls_verify_hostname ? 2L : 0L);
		SET(CURLOPT_SSLVERSION, tls_versions[cfg->tls_min_version]);
		if (cfg->tls_ca_file)
			SET(CURLOPT_CAINFO, cfg->tls_ca_file);
		if (cfg->tls_ca_path)
			SET(CURLOPT_CAPATH, cfg->tls_ca_path);
		if (cfg->tls_crt_file)
			SET(CURLOPT_SSLCERT, cfg->tls_crt_file);
		if (cfg->tls_key_file)
			SET(CURLOPT_SSLKEY, cfg->tls_key_file);
		if (cfg->tls_key_passwd)
			SET(CURLOPT_KEYPASSWD, cfg->tls_key_passwd);
		if (cfg->tls_ciphers)
			SET(CURLOPT_SSL_CIPHER_LIST, cfg->tls_ciphers);
	}
#undef SET
	if (rc != CURLE_OK)
		return dp_err_set(err, -EINVAL, "libcurl refused an option: %s", curl_easy_strerror(rc));
	return 0;
}

void out_httpc_log_cause(struct out_httpc *c, long cause, int level, const char *what, const char *detail)
{
	struct out_httpc_cause *hc = NULL;
	for (unsigned i = 0; i < c->ncauses && !hc; i++)
		if (c->causes[i].cause == cause)
			hc = &c->causes[i];
	if (!hc) {
		/* the last slot is shared by the causes past it */
		unsigned i = c->ncauses < OUT_HTTPC_CAUSES ? c->ncauses++ : OUT_HTTPC_CAUSES - 1;
		hc = &c->causes[i];
		*hc = (struct out_httpc_cause){ .cause = cause };
	}
	if (!dp_ratelimit_ok(&hc->rl, dp_time_mono_ns(), OUT_HTTPC_LOG_EVERY_S * 1000000000ull))
		return;
	unsigned long long more = hc->rl.suppressed;
	hc->rl.suppressed = 0;
	char extra[64] = "";
	if (more)
		snprintf(extra, sizeof(extra), " (%llu more since the last report)", more);
	dp_log(level, "[%s] %s:%lld%s: %s %s%s", c->name, c->cfg->host, (long long)c->cfg->port, c->uri, what,
	       detail, extra);
}

int out_httpc_curl_errno(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return -ECONNRESET;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return -EPROTO;
	default:
		return -EIO;
	}
}

int out_httpc_post(struct out_httpc *c, const void *body, size_t len, long *status)
{
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	c->resp_len = 0;
	c->resp[0] = 0;
	c->resp_cut = false;
	c->errbuf[0] = 0;
	CURLcode cc = curl_easy_perform(c->h);
	if (cc != CURLE_OK) {
		out_httpc_log_cause(c, -(long)cc, DP_LOG_WARN, "request failed, will retry:",
				    c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
		return out_httpc_curl_errno(cc);
	}
	*status = 0;
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

const char *out_httpc_resp_line(struct out_httpc *c)
{
	for (size_t i = 0; i < c->resp_len; i++)
		if (c->resp[i] == '\n' || c->resp[i] == '\r')
			c->resp[i] = ' ';
	return c->resp;
}

struct curl_slist *out_httpc_headers(const struct out_httpc *c, const char *ctype, bool gzip,
				     char *const *extra, int n)
{
	bool own_ctype = false;
	for (int i = 0; i < n; i++)
		if (!strncasecmp(extra[i], "Content-Type", 12) && (extra[i][12] == ':' || extra[i][12] == ';'))
			own_ctype = true;
	char buf[96];
	snprintf(buf, sizeof(buf), "Content-Type: %s", ctype);
	const char *fixed[4];
	int nf = 0;
	if (!own_ctype)
		fixed[nf++] = buf;
	fixed[nf++] = "Expect:";
	if (gzip)
		fixed[nf++] = "Content-Encoding: gzip";
	if (c->hostport)
		fixed[nf++] = c->hostport;
	struct curl_slist *l = NULL, *t;
	for (int i = 0; i < nf + n; i++) {
		if (!(t = curl_slist_append(l, i < nf ? fixed[i] : extra[i - nf]))) {
			curl_slist_free_all(l);
			return NULL;
		}
		l = t;
	}
	return l;
}
