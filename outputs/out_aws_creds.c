/*
 * out_aws_creds.c — where an AWS-signing output's credentials come from
 * (Fluent Bit's standard chain, src/aws/flb_aws_credentials*.c, in part):
 *
 *   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 *      AWS_SESSION_TOKEN (flb_aws_credentials.c, environment provider);
 *   2. the shared files (flb_aws_credentials_profile.c): the profile
 *      (AWS_Profile, else AWS_PROFILE, else "default") of the credentials
 *      file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials;
 *      section [name]), then of the config file (AWS_CONFIG_FILE, else
 *      ~/.aws/config; section [profile name], or [default]);
 *   3. with AWS_Role_ARN, STS AssumeRole (flb_aws_credentials_sts.c)
 *      signed with the credentials of 1 or 2: a GET of
 *      ?Action=AssumeRole&Version=2011-06-15&RoleArn=..&RoleSessionName=..
 *      [&ExternalId=..] to AWS_STS_Endpoint (default
 *      https://sts.REGION.amazonaws.com), whose XML answer holds
 *      AccessKeyId, SecretAccessKey, SessionToken and Expiration.
 * When 1 and 2 find nothing, the host's sources are asked
 * (out_aws_creds_host.c): EKS web identity, ECS task role or EC2 instance
 * metadata; their credentials expire and are refreshed like an assumed
 * role's, and with AWS_Role_ARN they are the base credentials of 3.
 * credential_process is not run (docs/OPERATIONS.md).
 *
 * Expiring credentials (an assumed role's, the host's) are refreshed by
 * a thread of the provider's own,
 * 5 minutes before they expire (or at half their life when that is
 * shorter); a failed attempt is retried after 5 s, doubling up to 60 s.
 * Workers never wait for it: they read the credentials published last.
 *
 * Threads: setup/teardown on the control thread; the refresh thread;
 * out_aws_provider_get on output workers.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "dp_log.h"
#include "out_aws.h"

struct out_aws_provider {
	char name[64];                /* the output's, for logs */
	const struct out_aws_cfg *cfg;
	struct out_aws_creds base;
	int src;                      /* OUT_AWS_SRC_*: where base comes from */
	pthread_mutex_t mu;           /* cur and its generation */
	struct out_aws_creds cur;
	_Atomic uint64_t gen;         /* 0: none yet */
	/* the refresh thread */
	bool threaded;
	pthread_t th;
	pthread_cond_t cv;
	bool stop;
	char sts_url[512];
	char sts_host[300];
	struct out_sigv4 sv;
};

/* ---- shared files ---- */

static void trim(char *s)
{
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	char *b = s;
	while (isspace((unsigned char)*b))
		b++;
	memmove(s, b, strlen(b) + 1);
}

/* The keys of section want (exact, after trimming) of an INI file: 1 when
 * the section holds an access key, 0 when not, -ENOENT no file. */
static int ini_read(const char *path, const char *want, struct out_aws_creds *c)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -ENOENT;
	char line[4400];
	bool in = false;
	struct out_aws_creds t = { 0 };
	while (fgets(line, sizeof(line), f)) {
		trim(line);
		if (!line[0] || line[0] == '#' || line[0] == ';')
			continue;
		if (line[0] == '[') {
			char *e = strchr(line, ']');
			if (e)
				*e = 0;
			trim(line + 1);
			in = !strcmp(line + 1, want);
			continue;
		}
		char *eq = strchr(line, '=');
		if (!in || !eq)
			continue;
		*eq = 0;
		char *k = line, *v = eq + 1;
		trim(k);
		trim(v);
		if (!strcasecmp(k, "aws_access_key_id"))
			snprintf(t.akid, sizeof(t.akid), "%s", v);
		else if (!strcasecmp(k, "aws_secret_access_key"))
			snprintf(t.secret, sizeof(t.secret), "%s", v);
		else if (!strcasecmp(k, "aws_session_token"))
			snprintf(t.token, sizeof(t.token), "%s", v);
	}
	fclose(f);
	if (!t.akid[0] || !t.secret[0])
		return 0;
	*c = t;
	return 1;
}

static void file_path(char *buf, size_t cap, const char *env, const char *leaf)
{
	const char *e = getenv(env), *home = getenv("HOME");
	if (e && *e)
		snprintf(buf, cap, "%s", e);
	else
		snprintf(buf, cap, "%s/.aws/%s", home ? home : "", leaf);
}

int out_aws_creds_base(const char *profile, struct out_aws_creds *c, struct dp_err *err)
{
	memset(c, 0, sizeof(*c));
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	if (ak && *ak && sk && *sk) {
		const char *tok = getenv("AWS_SESSION_TOKEN");
		snprintf(c->akid, sizeof(c->akid), "%s", ak);
		snprintf(c->secret, sizeof(c->secret), "%s", sk);
		snprintf(c->token, sizeof(c->token), "%s", tok ? tok : "");
		return 0;
	}
	if (!profile)
		profile = getenv("AWS_PROFILE");
	if (!profile || !*profile)
		profile = "default";
	char cred[512], conf[512], sect[160];
	file_path(cred, sizeof(cred), "AWS_SHARED_CREDENTIALS_FILE", "credentials");
	file_path(conf, sizeof(conf), "AWS_CONFIG_FILE", "config");
	if (ini_read(cred, profile, c) == 1)
		return 0;
	snprintf(sect, sizeof(sect), "%s%s", strcmp(profile, "default") ? "profile " : "", profile);
	if (ini_read(conf, sect, c) == 1)
		return 0;
	return dp_err_set(err, -ENOENT, "no AWS credentials: none in the environment (AWS_ACCESS_KEY_ID, "
			  "AWS_SECRET_ACCESS_KEY) nor for profile '%s' in %s or %s", profile, cred, conf);
}

/* ---- STS ---- */

/* The text of <tag>...</tag> in xml into out: 0 or -EINVAL. */
static int xml_text(const char *xml, const char *tag, char *out, size_t cap)
{
	char open[64], close[64];
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	const char *b = strstr(xml, open), *e;
	if (!b || !(e = strstr(b += strlen(open), close)) || (size_t)(e - b) >= cap || e == b)
		return -EINVAL;
	memcpy(out, b, (size_t)(e - b));
	out[e - b] = 0;
	return 0;
}

int out_aws_sts_parse(const char *xml, struct out_aws_creds *c)
{
	char exp[64];
	struct out_aws_creds t = { 0 };
	const char *cr = strstr(xml, "<Credentials>");
	if (!cr || xml_text(cr, "AccessKeyId", t.akid, sizeof(t.akid)) ||
	    xml_text(cr, "SecretAccessKey", t.secret, sizeof(t.secret)) ||
	    xml_text(cr, "SessionToken", t.token, sizeof(t.token)) || xml_text(cr, "Expiration", exp, sizeof(exp)))
		return -EINVAL;
	struct tm tm = { 0 };
	const char *rest = strptime(exp, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return -EINVAL;
	t.expires = (int64_t)timegm(&tm);
	*c = t;
	return 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	char *buf = arg;   /* OUT_AWS_BODY_MAX, NUL-terminated */
	size_t have = strlen(buf), n = size * nmemb, k = n;
	if (have + k > OUT_AWS_BODY_MAX - 1)
		k = OUT_AWS_BODY_MAX - 1 - have;
	memcpy(buf + have, p, k);
	buf[have + k] = 0;
	return n;
}

int out_aws_http(const char *url, const char *method, struct curl_slist *hdrs, long timeout_ms, char *body,
		 long *status, char *what, size_t wcap)
{
	body[0] = 0;
	*status = 0;
	CURL *c = curl_easy_init();
	if (!c) {
		snprintf(what, wcap, "out of memory");
		return -ENOMEM;
	}
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (method)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 10000 ? timeout_ms : 10000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sluice");
	CURLcode cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK) {
		snprintf(what, wcap, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		return out_httpc_curl_errno(cc);
	}
	return 0;
}

static void put_enc(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(dst);
	for (; *s && n + 4 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
			dst[n++] = (char)ch;
		else
			n += (size_t)snprintf(dst + n, cap - n, "%%%02X", ch);
	}
	dst[n] = 0;
}

/* One AssumeRole: 0 with *out filled, or -errno with why in what. */
static int sts_assume(struct out_aws_provider *p, struct out_aws_creds *out, char *what, size_t wcap)
{
	const struct out_aws_cfg *cfg = p->cfg;
	char query[2048] = "Action=AssumeRole&DurationSeconds=3600";
	if (cfg->external_id) {
		strncat(query, "&ExternalId=", sizeof(query) - strlen(query) - 1);
		put_enc(query, sizeof(query), cfg->external_id);
	}
	strncat(query, "&RoleArn=", sizeof(query) - strlen(query) - 1);
	put_enc(query, sizeof(query), cfg->role_arn);
	char session[64];
	snprintf(session, sizeof(session), "sluice-%ld-%lld", (long)getpid(), (long long)time(NULL));
	strncat(query, "&RoleSessionName=", sizeof(query) - strlen(query) - 1);
	put_enc(query, sizeof(query), session);
	strncat(query, "&Version=2011-06-15", sizeof(query) - strlen(query) - 1);

	char amzdate[17], sha[65], auth[1024], scratch[8192];
	out_sigv4_amzdate(time(NULL), amzdate);
	out_sigv4_sha256_hex("", 0, sha);
	struct out_sigv4_hdr h[3] = { { "host", p->sts_host }, { "x-amz-date", amzdate },
				      { "x-amz-security-token", p->base.token } };
	struct out_sigv4_req r = { .method = "GET", .path = "/", .query = query, .hdrs = h,
				   .nhdrs = p->base.token[0] ? 3 : 2, .payload_sha256 = sha };
	int rc = out_sigv4_sign(&p->sv, &r, amzdate, p->base.akid, p->base.secret, scratch, sizeof(scratch), auth,
				sizeof(auth));
	if (rc) {
		snprintf(what, wcap, "cannot sign the request");
		return rc;
	}
	char url[3000], hl[4][4200];
	snprintf(url, sizeof(url), "%s/?%s", p->sts_url, query);
	snprintf(hl[0], sizeof(hl[0]), "Host: %s", p->sts_host);
	snprintf(hl[1], sizeof(hl[1]), "x-amz-date: %s", amzdate);
	snprintf(hl[2], sizeof(hl[2]), "Authorization: %s", auth);
	snprintf(hl[3], sizeof(hl[3]), "x-amz-security-token: %s", p->base.token);
	struct curl_slist n[4];
	int nh = p->base.token[0] ? 4 : 3;
	for (int i = 0; i < nh; i++)
		n[i] = (struct curl_slist){ hl[i], i + 1 < nh ? &n[i + 1] : NULL };
	static __thread char body[OUT_AWS_BODY_MAX];
	long status = 0;
	rc = out_aws_http(url, NULL, n, 20000, body, &status, what, wcap);
	if (rc)
		return rc;
	for (char *s = body; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
	if (status / 100 != 2) {
		snprintf(what, wcap, "HTTP status=%ld: %.300s", status, body);
		return -EIO;
	}
	if (out_aws_sts_parse(body, out)) {
		snprintf(what, wcap, "not an AssumeRole response: %.300s", body);
		return -EPROTO;
	}
	return 0;
}

/* The credentials to sign with: the host's (refetched), then the role
 * assumed with them. 0, or -errno with why in what. */
static int fetch(struct out_aws_provider *p, struct out_aws_creds *out, char *what, size_t wcap)
{
	if (p->src != OUT_AWS_SRC_STATIC) {
		int rc = out_aws_host_fetch(p->src, p->sts_url, &p->base, what, wcap);
		if (rc)
			return rc;
	}
	if (!p->cfg->role_arn) {
		*out = p->base;
		return 0;
	}
	return sts_assume(p, out, what, wcap);
}

static const char *const src_names[] = { "environment or shared files", "EKS web identity", "ECS task role",
					 "EC2 instance metadata" };

static void publish(struct out_aws_provider *p, const struct out_aws_creds *c)
{
	pthread_mutex_lock(&p->mu);
	p->cur = *c;
	atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
	pthread_mutex_unlock(&p->mu);
}

int out_aws_provider_get(struct out_aws_provider *p, struct out_aws_creds *dst, uint64_t *gen)
{
	uint64_t g = atomic_load_explicit(&p->gen, memory_order_acquire);
	if (!g)
		return -EAGAIN;
	if (g == *gen)
		return 0;
	pthread_mutex_lock(&p->mu);
	*dst = p->cur;
	*gen = atomic_load_explicit(&p->gen, memory_order_relaxed);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

/* When to renew credentials that expire at exp (got at now). */
static int64_t renew_at(int64_t now, int64_t exp)
{
	int64_t at = exp - 300, half = now + (exp - now) / 2;
	return at < half ? half : at;
}

static void *refresh_main(void *arg)
{
	struct out_aws_provider *p = arg;
	/* after setup's attempt: renew what it got, or retry its failure */
	int64_t next = p->cur.expires ? renew_at(time(NULL), p->cur.expires) : time(NULL) + 5, backoff = 10;
	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		int64_t now = time(NULL);
		if (now < next) {
			struct timespec ts = { .tv_sec = next };
			pthread_cond_timedwait(&p->cv, &p->mu, &ts);   /* CLOCK_REALTIME, like next */
			continue;
		}
		pthread_mutex_unlock(&p->mu);
		struct out_aws_creds c;
		char what[512];
		int rc = fetch(p, &c, what, sizeof(what));
		if (!rc) {
			publish(p, &c);
			dp_info("[%s] AWS: credentials renewed (%s%s%s) until %lld", p->name, src_names[p->src],
				p->cfg->role_arn ? ", role " : "", p->cfg->role_arn ? p->cfg->role_arn : "",
				(long long)c.expires);
			/* credentials without an expiry: look again in an hour */
			next = c.expires ? renew_at(time(NULL), c.expires) : time(NULL) + 3600;
			backoff = 5;
		} else {
			dp_error("[%s] AWS: getting credentials (%s%s%s) failed, retrying in %llds: %s", p->name,
				 src_names[p->src], p->cfg->role_arn ? ", role " : "",
				 p->cfg->role_arn ? p->cfg->role_arn : "", (long long)backoff, what);
			next = time(NULL) + backoff;
			backoff = backoff * 2 > 60 ? 60 : backoff * 2;
		}
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* "scheme://host[:port][/...]" -> base URL without a trailing '/' and
 * the Host header's value. */
static int sts_url_setup(struct out_aws_provider *p, const char *ep, const char *region)
{
	if (!ep)
		snprintf(p->sts_url, sizeof(p->sts_url), "https://sts.%s.amazonaws.com", region);
	else if (!strncmp(ep, "http://", 7) || !strncmp(ep, "https://", 8))
		snprintf(p->sts_url, sizeof(p->sts_url), "%s", ep);
	else
		snprintf(p->sts_url, sizeof(p->sts_url), "https://%s", ep);
	size_t l = strlen(p->sts_url);
	while (l && p->sts_url[l - 1] == '/')
		p->sts_url[--l] = 0;
	const char *h = strstr(p->sts_url, "://") + 3;
	size_t hl = strcspn(h, "/?#");
	if (!hl || hl >= sizeof(p->sts_host) || h[hl])
		return -EINVAL;
	memcpy(p->sts_host, h, hl);
	p->sts_host[hl] = 0;
	return 0;
}

int out_aws_setup(struct out_aws_cfg *cfg, const char *name, struct dp_err *err)
{
	if (!cfg->auth)
		return 0;
	err->key = cfg->region ? "AWS_Region" : "AWS_Auth";
	if (!cfg->region || !*cfg->region)
		return dp_err_set(err, -EINVAL, "AWS_Auth needs AWS_Region (the region of the service, us-east-1)");
	if (strpbrk(cfg->region, " /\t"))
		return dp_err_set(err, -EINVAL, "invalid AWS_Region '%s'", cfg->region);
	err->key = "AWS_Auth";
	if (!cfg->service || !*cfg->service || strpbrk(cfg->service, " /\t"))
		return dp_err_set(err, -EINVAL, "AWS_Auth needs the service name signed (es, aoss, ...)");
	if (cfg->prov)
		out_aws_teardown(cfg);
	struct out_aws_provider *p = calloc(1, sizeof(*p));
	if (!p)
		return dp_err_set(err, -ENOMEM, "out of memory");
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->cfg = cfg;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	cfg->prov = p;
	err->key = NULL;
	int rc = out_aws_creds_base(cfg->profile, &p->base, err);
	if (rc == -ENOENT && (p->src = out_aws_host_source()) > 0)
		rc = 0;
	if (rc)
		return rc;
	if (p->src == OUT_AWS_SRC_STATIC && !cfg->role_arn) {
		publish(p, &p->base);
		return 0;
	}
	err->key = "AWS_STS_Endpoint";
	if (sts_url_setup(p, cfg->sts_endpoint, cfg->region))
		return dp_err_set(err, -EINVAL, "AWS_STS_Endpoint '%s' is not a URL (https://host[:port])",
				  cfg->sts_endpoint);
	err->key = NULL;
	p->sv = (struct out_sigv4){ .region = cfg->region, .service = "sts" };
	char what[512];
	struct out_aws_creds c;
	if ((rc = fetch(p, &c, what, sizeof(what))) == 0) {
		publish(p, &c);
		dp_info("[%s] AWS: credentials from %s%s%s", name, src_names[p->src], cfg->role_arn ? ", role " : "",
			cfg->role_arn ? cfg->role_arn : "");
	} else if (p->src == OUT_AWS_SRC_IMDS) {
		/* The last resort, tried because nothing else was found: on
		 * a host that is not an EC2 instance this is a configuration
		 * error. */
		return dp_err_set(err, -ENOENT, "no AWS credentials: none in the environment (AWS_ACCESS_KEY_ID, "
				  "AWS_SECRET_ACCESS_KEY), the shared files (AWS_Profile) or EC2 instance metadata "
				  "(%s)", what);
	} else {
		/* Not fatal: STS or the host's service may be back soon; the
		 * records wait. */
		dp_error("[%s] AWS: getting credentials (%s%s%s) failed, will retry: %s", name, src_names[p->src],
			 cfg->role_arn ? ", role " : "", cfg->role_arn ? cfg->role_arn : "", what);
	}
	if ((rc = pthread_create(&p->th, NULL, refresh_main, p)) != 0)
		return dp_err_set(err, -rc, "cannot start the AWS credentials thread");
	p->threaded = true;
	return 0;
}

void out_aws_teardown(struct out_aws_cfg *cfg)
{
	struct out_aws_provider *p = cfg->prov;
	if (!p)
		return;
	if (p->threaded) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->th, NULL);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	memset(p, 0, sizeof(*p));   /* secrets */
	free(p);
	cfg->prov = NULL;
}
