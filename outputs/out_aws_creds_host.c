/*
 * out_aws_creds_host.c — the credential sources of the host sluice runs
 * on, tried after the environment and the shared files (Fluent Bit's
 * standard chain, src/aws/flb_aws_credentials.c; the order of AWS SDKs):
 *
 *   - EKS web identity (IRSA; flb_aws_credentials_sts.c): with
 *     AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, STS
 *     AssumeRoleWithWebIdentity (not signed: the token is the proof) at
 *     AWS_STS_Endpoint or https://sts.REGION.amazonaws.com;
 *   - ECS task role (flb_aws_credentials_http.c): with
 *     AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, a GET of
 *     http://169.254.170.2 + it; or AWS_CONTAINER_CREDENTIALS_FULL_URI
 *     (AWS_CONTAINER_AUTHORIZATION_TOKEN sent as Authorization);
 *   - EC2 instance metadata, IMDSv2 (flb_aws_credentials_ec2.c,
 *     flb_aws_imds.c): PUT /latest/api/token, then
 *     /latest/meta-data/iam/security-credentials/ names the role and
 *     .../ROLE gives the credentials; AWS_EC2_METADATA_SERVICE_ENDPOINT
 *     moves it, AWS_EC2_METADATA_DISABLED=true turns it off.
 * ECS and IMDS answer JSON with AccessKeyId, SecretAccessKey, Token and
 * Expiration; STS answers XML (out_aws_sts_parse).
 *
 * Threads: the control thread (setup) and the provider's refresh thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "out_aws.h"

int out_aws_host_source(void)
{
	const char *wf = getenv("AWS_WEB_IDENTITY_TOKEN_FILE"), *ra = getenv("AWS_ROLE_ARN");
	if (wf && *wf && ra && *ra)
		return OUT_AWS_SRC_WEBID;
	const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
		   *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	if ((rel && *rel) || (full && *full))
		return OUT_AWS_SRC_ECS;
	const char *off = getenv("AWS_EC2_METADATA_DISABLED");
	if (off && !strcasecmp(off, "true"))
		return -ENOENT;
	return OUT_AWS_SRC_IMDS;
}

/* The string value of "key" in a flat JSON object into out: 0 or -EINVAL.
 * The credential documents have no escapes in these values. */
static int json_str(const char *js, const char *key, char *out, size_t cap)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\"", key);
	const char *p = strstr(js, k);
	if (!p)
		return -EINVAL;
	p += strlen(k);
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p++ != ':')
		return -EINVAL;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p++ != '"')
		return -EINVAL;
	const char *e = strchr(p, '"');
	if (!e || e == p || (size_t)(e - p) >= cap || memchr(p, '\\', (size_t)(e - p)))
		return -EINVAL;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = 0;
	return 0;
}

int out_aws_json_creds(const char *js, struct out_aws_creds *c)
{
	struct out_aws_creds t = { 0 };
	char exp[64];
	if (json_str(js, "AccessKeyId", t.akid, sizeof(t.akid)) ||
	    json_str(js, "SecretAccessKey", t.secret, sizeof(t.secret)) ||
	    json_str(js, "Token", t.token, sizeof(t.token)) || json_str(js, "Expiration", exp, sizeof(exp)))
		return -EINVAL;
	struct tm tm = { 0 };
	if (!strptime(exp, "%Y-%m-%dT%H:%M:%S", &tm))
		return -EINVAL;
	t.expires = (int64_t)timegm(&tm);
	*c = t;
	return 0;
}

static int bad_answer(const char *from, long status, char *body, char *what, size_t wcap)
{
	for (char *s = body; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
	snprintf(what, wcap, "%s: HTTP status=%ld: %.300s", from, status, body);
	return status / 100 == 2 ? -EPROTO : -EIO;
}

static void url_enc(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(dst);
	for (; *s && n + 4 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		    ch == '_' || ch == '.' || ch == '~')
			dst[n++] = (char)ch;
		else
			n += (size_t)snprintf(dst + n, cap - n, "%%%02X", ch);
	}
	dst[n] = 0;
}

static int webid(const char *sts_url, struct out_aws_creds *c, char *body, char *what, size_t wcap)
{
	const char *path = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(what, wcap, "cannot read AWS_WEB_IDENTITY_TOKEN_FILE %s", path);
		return -ENOENT;
	}
	char tok[4096];
	size_t n = fread(tok, 1, sizeof(tok) - 1, f);
	fclose(f);
	while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' '))
		n--;
	tok[n] = 0;
	static __thread char url[16384];
	const char *sess = getenv("AWS_ROLE_SESSION_NAME");
	char session[64];
	snprintf(session, sizeof(session), "sluice-%ld-%lld", (long)getpid(), (long long)time(NULL));
	snprintf(url, sizeof(url), "%s/?Action=AssumeRoleWithWebIdentity&RoleArn=", sts_url);
	url_enc(url, sizeof(url), getenv("AWS_ROLE_ARN"));
	strncat(url, "&RoleSessionName=", sizeof(url) - strlen(url) - 1);
	url_enc(url, sizeof(url), sess && *sess ? sess : session);
	strncat(url, "&Version=2011-06-15&WebIdentityToken=", sizeof(url) - strlen(url) - 1);
	url_enc(url, sizeof(url), tok);
	long status;
	int rc = out_aws_http(url, NULL, NULL, 20000, body, &status, what, wcap);
	if (rc)
		return rc;
	if (status / 100 != 2 || out_aws_sts_parse(body, c))
		return bad_answer("STS AssumeRoleWithWebIdentity", status, body, what, wcap);
	return 0;
}

static int ecs(struct out_aws_creds *c, char *body, char *what, size_t wcap)
{
	const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *tok = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	char url[2048], auth[2100];
	if (rel && *rel)
		snprintf(url, sizeof(url), "http://169.254.170.2%s", rel);
	else
		snprintf(url, sizeof(url), "%s", full);
	struct curl_slist h = { auth, NULL };
	snprintf(auth, sizeof(auth), "Authorization: %s", tok ? tok : "");
	long status;
	int rc = out_aws_http(url, NULL, tok && *tok ? &h : NULL, 5000, body, &status, what, wcap);
	if (rc)
		return rc;
	if (status / 100 != 2 || out_aws_json_creds(body, c))
		return bad_answer("ECS credentials", status, body, what, wcap);
	return 0;
}

static int imds(struct out_aws_creds *c, char *body, char *what, size_t wcap)
{
	const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	char base[512], url[1024], tokh[256], role[256];
	snprintf(base, sizeof(base), "%s", ep && *ep ? ep : "http://169.254.169.254");
	size_t l = strlen(base);
	while (l && base[l - 1] == '/')
		base[--l] = 0;
	long status;
	struct curl_slist ttl = { "X-aws-ec2-metadata-token-ttl-seconds: 21600", NULL };
	snprintf(url, sizeof(url), "%s/latest/api/token", base);
	int rc = out_aws_http(url, "PUT", &ttl, 1000, body, &status, what, wcap);
	if (rc)
		return rc;
	if (status / 100 != 2 || !body[0] || strlen(body) > 200)
		return bad_answer("EC2 metadata token", status, body, what, wcap);
	snprintf(tokh, sizeof(tokh), "X-aws-ec2-metadata-token: %s", body);
	struct curl_slist th = { tokh, NULL };
	snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/", base);
	if ((rc = out_aws_http(url, NULL, &th, 1000, body, &status, what, wcap)))
		return rc;
	size_t rl = strcspn(body, "\r\n");
	if (status / 100 != 2 || !rl || rl >= sizeof(role))
		return bad_answer("EC2 metadata (no instance role?)", status, body, what, wcap);
	memcpy(role, body, rl);
	role[rl] = 0;
	snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/%s", base, role);
	if ((rc = out_aws_http(url, NULL, &th, 1000, body, &status, what, wcap)))
		return rc;
	if (status / 100 != 2 || out_aws_json_creds(body, c))
		return bad_answer("EC2 metadata credentials", status, body, what, wcap);
	return 0;
}

int out_aws_host_fetch(int src, const char *sts_url, struct out_aws_creds *c, char *what, size_t wcap)
{
	static __thread char body[OUT_AWS_BODY_MAX];
	switch (src) {
	case OUT_AWS_SRC_WEBID:
		return webid(sts_url, c, body, what, wcap);
	case OUT_AWS_SRC_ECS:
		return ecs(c, body, what, wcap);
	case OUT_AWS_SRC_IMDS:
		return imds(c, body, what, wcap);
	default:
		snprintf(what, wcap, "no credential source");
		return -ENOENT;
	}
}
