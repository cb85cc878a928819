/*
 * out_httpc.h — the HTTP client part the HTTP-speaking outputs share (http,
 * es/opensearch): one libcurl easy handle per worker set up from the
 * connection keys (Host, Port, tls.*, net.*, HTTP_User/HTTP_Passwd), one
 * request at a time with the status and the first bytes of the response
 * body captured, libcurl errors mapped to -errno, and failures logged once
 * per cause then rate-limited.
 *
 * What a request carries (headers, method, body) and what a response means
 * for the records stay with each output.
 *
 * Threads: out_httpc_global_init on the control thread before any worker
 * starts; a struct out_httpc belongs to the output worker that made it.
 */
#ifndef OUT_HTTPC_H
#define OUT_HTTPC_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dp_common.h"
#include "dp_log.h"
#include "dp_opt.h"

/* The connection keys, embedded in an output's option struct. */
struct out_httpc_cfg {
	char *host;
	int64_t port;
	char *http_user;
	char *http_passwd;
	bool keepalive;
	double keepalive_idle;
	double connect_timeout;
	double io_timeout;
	bool tls;
	bool tls_verify;
	bool tls_verify_hostname;
	char *tls_ca_file, *tls_ca_path, *tls_crt_file, *tls_key_file, *tls_key_passwd, *tls_vhost;
	int tls_min_version;
	char *tls_ciphers;
};

/* The option rows of the keys above but Host and Port (whose defaults
 * differ per output), for an option struct T holding a struct
 * out_httpc_cfg named M. */
#define OUT_HTTPC_OPT(T, M, f) (offsetof(T, M) + offsetof(struct out_httpc_cfg, f))
#define OUT_HTTPC_OPTS(T, M) \
	{ "HTTP_User", DP_OPT_STR, NULL, OUT_HTTPC_OPT(T, M, http_user), NULL, 0, 0, 0, "Basic authentication user." }, \
	{ "HTTP_Passwd", DP_OPT_STR, "", OUT_HTTPC_OPT(T, M, http_passwd), NULL, 0, 0, 0, \
	  "Basic authentication password." }, \
	{ "net.keepalive", DP_OPT_BOOL, "true", OUT_HTTPC_OPT(T, M, keepalive), NULL, 0, 0, 0, \
	  "Keep the connection open between requests." }, \
	{ "net.keepalive_idle_timeout", DP_OPT_SECONDS, "30", OUT_HTTPC_OPT(T, M, keepalive_idle), NULL, 1, 86400, 0, \
	  "A kept connection idle longer than this is not reused (a new one is opened)." }, \
	{ "net.connect_timeout", DP_OPT_SECONDS, "10", OUT_HTTPC_OPT(T, M, connect_timeout), NULL, 0, 3600, 0, \
	  "Time allowed to connect (TCP and TLS); then the burst is retried." }, \
	{ "net.io_timeout", DP_OPT_SECONDS, "0", OUT_HTTPC_OPT(T, M, io_timeout), NULL, 0, 86400, 0, \
	  "Time allowed for a whole request and its response; 0: no limit." }, \
	{ "tls", DP_OPT_BOOL, "off", OUT_HTTPC_OPT(T, M, tls), NULL, 0, 0, 0, "Use TLS (https)." }, \
	{ "tls.verify", DP_OPT_BOOL, "on", OUT_HTTPC_OPT(T, M, tls_verify), NULL, 0, 0, 0, \
	  "Verify the server's certificate chain." }, \
	{ "tls.verify_hostname", DP_OPT_BOOL, "off", OUT_HTTPC_OPT(T, M, tls_verify_hostname), NULL, 0, 0, 0, \
	  "Also check that the certificate names Host (or tls.vhost)." }, \
	{ "tls.ca_file", DP_OPT_STR, NULL, OUT_HTTPC_OPT(T, M, tls_ca_file), NULL, 0, 0, 0, \
	  "PEM file of the CA certificates to trust (default: the system's)." }, \
	{ "tls.ca_path", DP_OPT_STR, NULL, OUT_HTTPC_OPT(T, M, tls_ca_path), NULL, 0, 0, 0, \
	  "Directory of CA certificates (c_rehash layout)." }, \
	{ "tls.crt_file", DP_OPT_STR, NULL, OUT_HTTPC_OPT(T, M, tls_crt_file), NULL, 0, 0, 0, "Client certificate (PEM)." }, \
	{ "tls.key_file", DP_OPT_STR, NULL, OUT_HTTPC_OPT(T, M, tls_key_file), NULL, 0, 0, 0, "Client private key (PEM)." }, \
	{ "tls.key_passwd", DP_OPT_STR, NULL, OUT_HTTPC_OPT(T, M, tls_key_passwd), NULL, 0, 0, 0, \
	  "Password of tls.key_file." }, \
	{ "tls.vhost", DP_OPT_STR, NULL, OUT_HTTPC_OPT(T, M, tls_vhost), NULL, 0, 0, 0, \
	  "Server name sent in TLS SNI (and checked with tls.verify_hostname) instead of Host." }, \
	{ "tls.min_version", DP_OPT_ENUM, "TLSv1.2", OUT_HTTPC_OPT(T, M, tls_min_version), "TLSv1.1|TLSv1.2|TLSv1.3", 0, 0, 0, \
	  "Lowest TLS version accepted." }, \
	{ "tls.ciphers", DP_OPT_STR, NULL, OUT_HTTPC_OPT(T, M, tls_ciphers), NULL, 0, 0, 0, \
	  "OpenSSL cipher list (TLS 1.2 and below)." }

#define OUT_HTTPC_LOG_EVERY_S 30
#define OUT_HTTPC_CAUSES 16

/* One log line per cause per OUT_HTTPC_LOG_EVERY_S. */
struct out_httpc_cause {
	long cause;   /* HTTP status, or -CURLcode, or an output's own code */
	struct dp_ratelimit rl;
};

struct out_httpc {
	const char *name;           /* the output's, for logs */
	const struct out_httpc_cfg *cfg;
	const char *uri;            /* for logs */
	CURL *h;
	struct curl_slist *connect_to;
	char *url;
	char *hostport;             /* "Host: h:p" when tls.vhost moves the URL's host; the
	                               output puts it in its header list */
	/* The response body: its first resp_cap - 1 bytes, NUL-terminated. */
	char *resp;
	size_t resp_len;
	size_t resp_cap;
	bool resp_grow;             /* grow resp without limit (es Buffer_Size false) */
	bool resp_cut;              /* the body was longer than what was kept */
	char errbuf[CURL_ERROR_SIZE];
	struct out_httpc_cause causes[OUT_HTTPC_CAUSES];
	unsigned ncauses;
};

/* libcurl's process-wide setup: control thread, before any worker. */
int out_httpc_global_init(struct dp_err *err);

/* Set up c for Host:Port/uri (uri starts with '/' or one is put in front)
 * from cfg: connection, TLS, basic auth, timeouts, no proxy, POST. resp_cap
 * bytes of a response body are kept (grow: without limit). cfg and uri
 * must outlive c. The caller then sets its own headers (CURLOPT_HTTPHEADER
 * on c->h, with c->hostport when set). 0 or -errno with err filled;
 * out_httpc_fini either way. */
int out_httpc_init(struct out_httpc *c, const char *name, const struct out_httpc_cfg *cfg, const char *uri,
		   size_t resp_cap, bool grow, struct dp_err *err);
void out_httpc_fini(struct out_httpc *c);

/* POST body[0..len) and wait for the response: 0 with *status set (the
 * body's first bytes in c->resp), or -errno when no response came
 * (connection, TLS, timeout), logged as the cause -CURLcode. */
int out_httpc_post(struct out_httpc *c, const void *body, size_t len, long *status);

/* Log at level "[name] host:port/uri: what detail" once per cause, then at
 * most every OUT_HTTPC_LOG_EVERY_S with the count of the ones in between. */
void out_httpc_log_cause(struct out_httpc *c, long cause, int level, const char *what, const char *detail);

/* The -errno for a libcurl error. */
int out_httpc_curl_errno(CURLcode cc);

/* c->resp on one line (CR, LF to blanks), for logs. */
const char *out_httpc_resp_line(struct out_httpc *c);

/* The request headers of both outputs: Content-Type: ctype (unless one of
 * the extra lines is a Content-Type), "Expect:" (no 100-continue round trip
 * on large bodies), Content-Encoding: gzip with gzip, the Host line of
 * tls.vhost, then the n extra lines (copied; the caller keeps them). NULL
 * when out of memory. */
struct curl_slist *out_httpc_headers(const struct out_httpc *c, const char *ctype, bool gzip,
				     char *const *extra, int n);

#endif
