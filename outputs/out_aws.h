/*
 * out_aws.h — AWS authentication of the es, opensearch and http outputs
 * (Fluent Bit's AWS_Auth keys): the option rows, the credential provider
 * one output shares among its workers (out_aws_creds.c: environment,
 * shared credentials/config files with AWS_Profile, STS AssumeRole with
 * AWS_Role_ARN refreshed on a thread of its own), and the per-worker
 * signer that adds SigV4 headers to a libcurl request (out_aws_sign.c,
 * over out_sigv4.c).
 *
 * Threads: out_aws_setup / out_aws_teardown on the control thread; the
 * provider's refresh thread; a struct out_aws_signer on the output worker
 * that owns it, which reads the provider's credentials without blocking
 * (a lock only when they changed, held for a copy).
 */
#ifndef OUT_AWS_H
#define OUT_AWS_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "dp_common.h"
#include "dp_opt.h"
#include "out_httpc.h"
#include "out_sigv4.h"

/* The keys, embedded in an output's option struct. */
struct out_aws_cfg {
	bool auth;
	char *region;
	char *sts_endpoint;
	char *role_arn;
	char *external_id;
	char *service;
	char *profile;
	/* set by out_aws_setup */
	struct out_aws_provider *prov;
};

#define OUT_AWS_OPT(T, M, f) (offsetof(T, M) + offsetof(struct out_aws_cfg, f))
/* Rows for an option struct T holding a struct out_aws_cfg named M. The
 * key names are Fluent Bit's: es/opensearch spell them AWS_Auth, ...,
 * http aws_auth, ...; AUTH..PROFILE are those names, SVC_DEF the service's
 * default (NULL: required). */
#define OUT_AWS_OPTS(T, M, AUTH, REGION, STS, ROLE, EXT, SVC, SVC_DEF, PROFILE) \
	{ AUTH, DP_OPT_BOOL, "off", OUT_AWS_OPT(T, M, auth), NULL, 0, 0, 0, \
	  "Sign requests with AWS Signature Version 4 (Amazon OpenSearch Service, ...); needs " REGION "." }, \
	{ REGION, DP_OPT_STR, NULL, OUT_AWS_OPT(T, M, region), NULL, 0, 0, 0, \
	  AUTH ": the AWS region of the service (us-east-1)." }, \
	{ STS, DP_OPT_STR, NULL, OUT_AWS_OPT(T, M, sts_endpoint), NULL, 0, 0, 0, \
	  AUTH " with " ROLE ": URL of the STS endpoint (default https://sts.REGION.amazonaws.com)." }, \
	{ ROLE, DP_OPT_STR, NULL, OUT_AWS_OPT(T, M, role_arn), NULL, 0, 0, 0, \
	  AUTH ": assume this IAM role through STS AssumeRole, with the credentials found otherwise; " \
	  "its temporary credentials are refreshed before they expire." }, \
	{ EXT, DP_OPT_STR, NULL, OUT_AWS_OPT(T, M, external_id), NULL, 0, 0, 0, \
	  ROLE ": the external ID the role's trust policy asks for." }, \
	{ SVC, DP_OPT_STR, SVC_DEF, OUT_AWS_OPT(T, M, service), NULL, 0, 0, 0, \
	  AUTH ": the service name signed (es; aoss for OpenSearch Serverless, which also gets " \
	  "x-amz-content-sha256)." }, \
	{ PROFILE, DP_OPT_STR, NULL, OUT_AWS_OPT(T, M, profile), NULL, 0, 0, 0, \
	  AUTH ": the profile read from the shared credentials and config files " \
	  "(default: AWS_PROFILE, else default)." }

/* Temporary or long-term credentials. */
struct out_aws_creds {
	char akid[128];
	char secret[OUT_SIGV4_SECRET_MAX];
	char token[4096];
	int64_t expires;   /* Unix seconds; 0: does not expire */
};

struct out_aws_provider;

/* Check cfg (region when auth, ...; err->key names the key) and, with
 * auth on, find the credentials: environment, then the shared files;
 * with a role, assume it once here (a failure is retried on the refresh
 * thread, not fatal) and start the refresh thread. 0 or -errno. */
int out_aws_setup(struct out_aws_cfg *cfg, const char *name, struct dp_err *err);
void out_aws_teardown(struct out_aws_cfg *cfg);

/* The provider's current credentials into *dst when their generation is
 * not *gen (then *gen updated): 0, or -EAGAIN while there are none yet. */
int out_aws_provider_get(struct out_aws_provider *p, struct out_aws_creds *dst, uint64_t *gen);

/* Base credentials: environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN), then the profile of the shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials) and config file
 * (AWS_CONFIG_FILE, ~/.aws/config). 0, or -ENOENT with where it looked in
 * err. */
int out_aws_creds_base(const char *profile, struct out_aws_creds *c, struct dp_err *err);

#define OUT_AWS_BODY_MAX 16384

/* One request of the credential sources (libcurl, no proxy): method NULL
 * for GET; the response's first OUT_AWS_BODY_MAX - 1 bytes into body,
 * NUL-terminated, and its status. 0, or -errno with why in what. */
int out_aws_http(const char *url, const char *method, struct curl_slist *hdrs, long timeout_ms, char *body,
		 long *status, char *what, size_t wcap);

/* The host's credential sources (out_aws_creds_host.c), after the
 * environment and the shared files. */
enum { OUT_AWS_SRC_STATIC = 0, OUT_AWS_SRC_WEBID, OUT_AWS_SRC_ECS, OUT_AWS_SRC_IMDS };

/* Which host source the environment selects: EKS web identity, ECS, or
 * EC2 instance metadata; -ENOENT when AWS_EC2_METADATA_DISABLED=true. */
int out_aws_host_source(void);

/* Credentials from host source src (sts_url: web identity's STS): 0, or
 * -errno with why in what. Blocks up to a few seconds. */
int out_aws_host_fetch(int src, const char *sts_url, struct out_aws_creds *c, char *what, size_t wcap);

/* An ECS / EC2 metadata JSON credentials document: 0 or -EINVAL. */
int out_aws_json_creds(const char *json, struct out_aws_creds *c);

/* An STS AssumeRole XML response's credentials: 0 or -EINVAL. */
int out_aws_sts_parse(const char *xml, struct out_aws_creds *c);

/* A worker's signer. */
struct out_aws_signer {
	const struct out_aws_cfg *cfg;
	struct out_sigv4 sv;
	struct out_aws_creds creds;
	uint64_t gen;
	bool aoss;
	const char *ctype;              /* Content-Type sent, signed; NULL: not signed */
	char host[300];                 /* the Host header's value */
	char h_host[320], h_date[40], h_sha[96], h_tok[4200], h_auth[1024];
	struct curl_slist nodes[5];     /* our headers, in front of the output's */
	char scratch[16384];
};

/* Set up s for requests of c (Host from c's config). ctype: the request's
 * Content-Type when the output always sends that one (it is then signed).
 * 0 or -errno. */
int out_aws_signer_init(struct out_aws_signer *s, const struct out_aws_cfg *cfg, const struct out_httpc *c,
			const char *ctype);

/* Sign the next request of c (method, its path and query as sent, its
 * body) and set c's CURLOPT_HTTPHEADER to the AWS headers followed by
 * base. 0, -EAGAIN (no credentials yet) or -errno; logged per cause. */
int out_aws_signer_apply(struct out_aws_signer *s, struct out_httpc *c, struct curl_slist *base, const char *method,
			 const char *uri, const void *body, size_t len);

#endif
