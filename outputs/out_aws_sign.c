/*
 * out_aws_sign.c — SigV4 headers on the requests of an HTTP-speaking
 * output (es, opensearch, http) with AWS_Auth on: per request, the
 * provider's latest credentials (out_aws_creds.c), then x-amz-date,
 * x-amz-security-token (temporary credentials), x-amz-content-sha256
 * (service aoss, as Fluent Bit sends for OpenSearch Serverless), Host and
 * Authorization, signed over host, the x-amz-* headers and the
 * Content-Type when the output gives it (out_sigv4.c).
 *
 * The headers live in the signer's own buffers and curl_slist nodes, put
 * in front of the output's header list: nothing is allocated per request.
 *
 * Threads: the output worker that owns the signer.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "dp_log.h"
#include "out_aws.h"

/* Causes of out_httpc_log_cause owned here. */
#define CAUSE_NO_CREDS (-1100)
#define CAUSE_SIGN (-1101)

int out_aws_signer_init(struct out_aws_signer *s, const struct out_aws_cfg *cfg, const struct out_httpc *c,
			const char *ctype)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->sv.region = cfg->region;
	s->sv.service = cfg->service;
	s->aoss = !strcmp(cfg->service, "aoss");
	s->ctype = ctype;
	const struct out_httpc_cfg *hc = c->cfg;
	if (c->hostport) {
		/* tls.vhost: the output sends this Host line already */
		snprintf(s->host, sizeof(s->host), "%s", c->hostport + strlen("Host: "));
	} else {
		bool v6 = strchr(hc->host, ':') != NULL;
		bool dflt = hc->port == (hc->tls ? 443 : 80);
		char port[16] = "";
		if (!dflt)
			snprintf(port, sizeof(port), ":%lld", (long long)hc->port);
		if ((size_t)snprintf(s->host, sizeof(s->host), "%s%s%s%s", v6 ? "[" : "", hc->host, v6 ? "]" : "",
				     port) >= sizeof(s->host))
			return -ENAMETOOLONG;
	}
	return 0;
}

int out_aws_signer_apply(struct out_aws_signer *s, struct out_httpc *c, struct curl_slist *base, const char *method,
			 const char *uri, const void *body, size_t len)
{
	time_t now = time(NULL);
	if (out_aws_provider_get(s->cfg->prov, &s->creds, &s->gen) ||
	    (s->creds.expires && (int64_t)now >= s->creds.expires)) {
		out_httpc_log_cause(c, CAUSE_NO_CREDS, DP_LOG_WARN, "will retry:",
				    "no valid AWS credentials yet (STS AssumeRole pending or failing)");
		return -EAGAIN;
	}
	char path[1024], amzdate[17], sha[65];
	const char *q = strchr(uri, '?');
	size_t pl = q ? (size_t)(q - uri) : strlen(uri);
	if (pl + 2 > sizeof(path))
		return -ENAMETOOLONG;
	size_t off = uri[0] == '/' ? 0 : 1;
	path[0] = '/';
	memcpy(path + off, uri, pl);
	path[pl + off] = 0;
	out_sigv4_amzdate(now, amzdate);
	out_sigv4_sha256_hex(body, len, sha);
	struct out_sigv4_hdr h[5];
	unsigned n = 0;
	h[n++] = (struct out_sigv4_hdr){ "host", s->host };
	h[n++] = (struct out_sigv4_hdr){ "x-amz-date", amzdate };
	if (s->ctype)
		h[n++] = (struct out_sigv4_hdr){ "content-type", s->ctype };
	if (s->creds.token[0])
		h[n++] = (struct out_sigv4_hdr){ "x-amz-security-token", s->creds.token };
	if (s->aoss)
		h[n++] = (struct out_sigv4_hdr){ "x-amz-content-sha256", sha };
	struct out_sigv4_req r = { .method = method, .path = path, .query = q ? q + 1 : NULL, .hdrs = h, .nhdrs = n,
				   .payload_sha256 = sha };
	char auth[sizeof(s->h_auth) - 16];
	int rc = out_sigv4_sign(&s->sv, &r, amzdate, s->creds.akid, s->creds.secret, s->scratch, sizeof(s->scratch),
				auth, sizeof(auth));
	if (rc) {
		out_httpc_log_cause(c, CAUSE_SIGN, DP_LOG_ERROR, "cannot sign the request:", strerror(-rc));
		return rc;
	}
	unsigned k = 0;
	if (!c->hostport) {
		snprintf(s->h_host, sizeof(s->h_host), "Host: %s", s->host);
		s->nodes[k++].data = s->h_host;
	}
	snprintf(s->h_date, sizeof(s->h_date), "x-amz-date: %s", amzdate);
	s->nodes[k++].data = s->h_date;
	if (s->creds.token[0]) {
		snprintf(s->h_tok, sizeof(s->h_tok), "x-amz-security-token: %s", s->creds.token);
		s->nodes[k++].data = s->h_tok;
	}
	if (s->aoss) {
		snprintf(s->h_sha, sizeof(s->h_sha), "x-amz-content-sha256: %s", sha);
		s->nodes[k++].data = s->h_sha;
	}
	snprintf(s->h_auth, sizeof(s->h_auth), "Authorization: %s", auth);
	s->nodes[k++].data = s->h_auth;
	for (unsigned i = 0; i < k; i++)
		s->nodes[i].next = i + 1 < k ? &s->nodes[i + 1] : base;
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, &s->nodes[0]);
	return 0;
}
