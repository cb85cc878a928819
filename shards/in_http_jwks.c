/*
 * in_http_jwks.c — the http input's JSON Web Key Set (in_http_jwks.h):
 * parsing a JWKS into RSA keys, the fetch thread, publishing a new set
 * while shards read the current one.
 *
 * A JWK's n and e (RFC 7518 6.3.1: base64url, big-endian, no padding)
 * become an EVP_PKEY through OpenSSL 3's EVP_PKEY_fromdata, once per
 * fetch; requests verify with it as with JWT_Key's parsed key.
 *
 * Threads: parse anywhere; the fetch loop on its own thread (named
 * "jwks"); create/destroy on the control thread.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dp_base64.h"
#include "dp_log.h"
#include "dp_time.h"
#include "in_http_jwks.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BYTES 2048    /* 16384-bit modulus */

void in_http_jwks_set_free(struct in_http_jwks_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		EVP_PKEY_free(s->k[i].pkey);
	free(s);
}

struct evp_pkey_st *in_http_jwks_find(const struct in_http_jwks_set *s, const char *kid, size_t len)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (s->k[i].kid_len == len && !memcmp(s->k[i].kid, kid, len))
			return s->k[i].pkey;
	return NULL;
}

/* n and e (base64url) as an RSA public key, or NULL with *why. */
static EVP_PKEY *rsa_from(const char *n64, const char *e64, const char **why)
{
	uint8_t nb[RSA_MAX_BYTES], eb[16];
	long nl = dp_base64_decode(n64, strlen(n64), nb, sizeof(nb), true);
	long el = dp_base64_decode(e64, strlen(e64), eb, sizeof(eb), true);
	if (nl <= 0 || el <= 0) {
		*why = "n or e is not base64url";
		return NULL;
	}
	size_t off = 0;
	while (off < (size_t)nl && !nb[off])
		off++;
	if (((size_t)nl - off) * 8 < RSA_MIN_BITS) {
		*why = "the modulus is shorter than 2048 bits";
		return NULL;
	}
	EVP_PKEY *pk = NULL;
	BIGNUM *bn = BN_bin2bn(nb + off, (int)((size_t)nl - off), NULL);
	BIGNUM *be = BN_bin2bn(eb, (int)el, NULL);
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *p = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (bn && be && b && c && !BN_is_zero(be) &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be) &&
	    (p = OSSL_PARAM_BLD_to_param(b)) != NULL && EVP_PKEY_fromdata_init(c) == 1 &&
	    EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, p) == 1) {
		*why = NULL;
	} else {
		EVP_PKEY_free(pk);
		pk = NULL;
		*why = "OpenSSL does not take it as an RSA public key";
	}
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	BN_free(be);
	return pk;
}

static const char *str_of(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

int in_http_jwks_parse(const char *json, size_t len, struct in_http_jwks_set **out,
		       unsigned *skipped, struct dp_err *err)
{
	*out = NULL;
	*skipped = 0;
	json_error_t je;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	json_t *keys = json_is_object(root) ? json_object_get(root, "keys") : NULL;
	if (!json_is_array(keys)) {
		json_decref(root);
		return dp_err_set(err, -EINVAL, root ? "no \"keys\" array" : "not JSON: %s", je.text);
	}
	size_t cnt = json_array_size(keys);
	struct in_http_jwks_set *s = calloc(1, sizeof(*s) + DP_MIN(cnt, JWKS_KEYS_MAX) *
					    sizeof(struct in_http_jwk));
	if (!s) {
		json_decref(root);
		return dp_err_set(err, -ENOMEM, "out of memory");
	}
	const char *first = NULL;
	for (size_t i = 0; i < cnt && s->n < JWKS_KEYS_MAX; i++) {
		json_t *k = json_array_get(keys, i);
		const char *kty = json_is_object(k) ? str_of(k, "kty") : NULL;
		const char *use = kty ? str_of(k, "use") : NULL, *alg = kty ? str_of(k, "alg") : NULL;
		if (!kty || strcmp(kty, "RSA") != 0 || (use && strcmp(use, "sig") != 0) ||
		    (alg && strcmp(alg, "RS256") != 0))
			continue;   /* not a key RS256 tokens are signed with */
		const char *kid = str_of(k, "kid"), *n = str_of(k, "n"), *e = str_of(k, "e"), *why;
		EVP_PKEY *pk = NULL;
		if (!kid || !*kid || strlen(kid) > JWKS_KID_MAX)
			why = "no kid (or longer than 255 bytes)";
		else if (!n || !e)
			why = "no n or no e";
		else
			pk = rsa_from(n, e, &why);
		if (!pk) {
			if (!first)
				first = why;
			++*skipped;
			continue;
		}
		struct in_http_jwk *w = &s->k[s->n++];
		w->pkey = pk;
		w->kid_len = (uint16_t)strlen(kid);
		memcpy(w->kid, kid, w->kid_len);
	}
	json_decref(root);
	if (!s->n) {
		free(s);
		return dp_err_set(err, -EINVAL, "no usable RSA key%s%s", first ? ": " : "",
				  first ? first : "");
	}
	if (first)
		dp_err_set(err, 0, "%u RSA key(s) skipped: %s", *skipped, first);
	*out = s;
	return 0;
}

int in_http_jwks_create(struct in_http_jwks **out, const char *url, int64_t interval,
			const char *name, struct dp_err *err)
{
	*out = NULL;
	if (!url || (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0))
		return dp_err_set(err, -EINVAL, "oauth2.jwks_url must be an http:// or https:// URL");
	static bool curl_ready;   /* control thread only, as out_httpc.c's */
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT))
			return dp_err_set(err, -ENOMEM, "cannot initialise libcurl");
		curl_ready = true;
	}
	struct in_http_jwks *j = calloc(1, sizeof(*j));
	if (!j || !(j->url = strdup(url))) {
		free(j);
		return dp_err_set(err, -ENOMEM, "out of memory");
	}
	j->interval = interval;
	snprintf(j->name, sizeof(j->name), "%s", name ? name : "http");
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	*out = j;
	return 0;
}

void in_http_jwks_publish(struct in_http_jwks *j, struct in_http_jwks_set *s)
{
	unsigned k = !atomic_load(&j->cur);
	/* readers of slot k came before the last publish, or are backing off */
	while (atomic_load_explicit(&j->readers[k], memory_order_acquire) != 0) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	in_http_jwks_set_free(j->slot[k]);
	j->slot[k] = s;
	atomic_store(&j->cur, k);
}

struct body {
	char *p;
	size_t n;
	struct in_http_jwks *j;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;
	if (b->n + n > JWKS_BODY_MAX)
		return 0;   /* too large: the transfer fails */
	memcpy(b->p + b->n, p, n);
	b->n += n;
	return n;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct in_http_jwks *j = arg;
	(void)a, (void)b, (void)c, (void)d;
	pthread_mutex_lock(&j->mu);
	bool stop = j->stop;
	pthread_mutex_unlock(&j->mu);
	return stop;   /* non-zero aborts the transfer */
}

/* One fetch: true when a new set is published. */
static bool fetch(struct in_http_jwks *j, bool had_failed)
{
	struct body b = { malloc(JWKS_BODY_MAX), 0, j };
	struct dp_err err = { 0 };
	char cerr[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURL *c = b.p ? curl_easy_init() : NULL;
	CURLcode rc = CURLE_OUT_OF_MEMORY;
	if (c) {
		curl_easy_setopt(c, CURLOPT_URL, j->url);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 15L);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, j);
		curl_easy_setopt(c, CURLOPT_USERAGENT, "sluice");
		rc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);
	}
	struct in_http_jwks_set *s = NULL;
	unsigned skipped = 0;
	if (rc != CURLE_OK)
		dp_err_set(&err, -EIO, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
	else if (status != 200)
		dp_err_set(&err, -EIO, "HTTP status %ld", status);
	else
		in_http_jwks_parse(b.p, b.n, &s, &skipped, &err);
	free(b.p);
	if (!s) {
		atomic_fetch_add(&j->fetch_failed, 1);
		dp_warn("[input:http:%s] JWKS %s: %s; %s, tried again in %d s", j->name, j->url,
			err.msg, j->slot[atomic_load(&j->cur)] ? "the keys fetched before stay" :
			"tokens are refused until it is fetched", JWKS_RETRY);
		return false;
	}
	size_t n = s->n;
	in_http_jwks_publish(j, s);
	atomic_fetch_add(&j->fetch_ok, 1);
	if (skipped)
		dp_warn("[input:http:%s] JWKS %s: %s", j->name, j->url, err.msg);
	if (had_failed || atomic_load(&j->fetch_ok) == 1)
		dp_info("[input:http:%s] JWKS %s: %zu RSA key(s)", j->name, j->url, n);
	return true;
}

static double mono(void)
{
	return (double)dp_time_mono_ns() / 1e9;
}

static void *loop(void *arg)
{
	struct in_http_jwks *j = arg;
	double next = 0, last = -1e9;
	bool failed = false;
	pthread_mutex_lock(&j->mu);
	while (!j->stop) {
		double now = mono();
		bool kick = atomic_load_explicit(&j->kick, memory_order_relaxed) &&
			    now - last >= JWKS_KICK_MIN;
		if (now >= next || kick) {
			pthread_mutex_unlock(&j->mu);
			atomic_store_explicit(&j->kick, false, memory_order_relaxed);
			bool ok = fetch(j, failed);
			failed = !ok;
			last = mono();
			next = last + (ok ? (double)j->interval : DP_MIN((double)j->interval, JWKS_RETRY));
			pthread_mutex_lock(&j->mu);
			continue;
		}
		/* wake at least every second to see a kick (shards set it
		 * without waking us: no syscall on their side) */
		double until = DP_MIN(next, now + 1.0);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		double d = until - now;
		ts.tv_sec += (time_t)d;
		ts.tv_nsec += (long)((d - (double)(time_t)d) * 1e9);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&j->cv, &j->mu, &ts);
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

void in_http_jwks_start(struct in_http_jwks *j)
{
	int zero = 0;
	if (!j || !atomic_compare_exchange_strong(&j->started, &zero, 1))
		return;
	if (pthread_create(&j->th, NULL, loop, j) != 0) {
		dp_error("[input:http:%s] cannot start the JWKS thread: tokens are refused", j->name);
		atomic_store(&j->started, -1);
		return;
	}
	pthread_setname_np(j->th, "jwks");
	atomic_store(&j->started, 2);
}

void in_http_jwks_destroy(struct in_http_jwks *j)
{
	if (!j)
		return;
	if (atomic_load(&j->started) == 2) {
		pthread_mutex_lock(&j->mu);
		j->stop = true;
		pthread_cond_signal(&j->cv);
		pthread_mutex_unlock(&j->mu);
		pthread_join(j->th, NULL);
	}
	in_http_jwks_set_free(j->slot[0]);
	in_http_jwks_set_free(j->slot[1]);
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	free(j->url);
	free(j);
}
