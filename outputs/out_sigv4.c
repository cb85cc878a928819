/*
 * out_sigv4.c — AWS Signature Version 4 (see out_sigv4.h for the strings
 * it builds): OpenSSL's SHA-256 and HMAC, caller buffers only.
 *
 * Threads: any; a struct out_sigv4 belongs to the output worker using it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include "out_sigv4.h"

#define QUERY_PARAMS_MAX 32

static const char hexd[] = "0123456789abcdef";

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexd[p[i] >> 4];
		out[2 * i + 1] = hexd[p[i] & 15];
	}
	out[2 * n] = 0;
}

void out_sigv4_sha256_hex(const void *p, size_t len, char h[65])
{
	uint8_t d[32];
	SHA256(p, len, d);
	hex(d, 32, h);
}

void out_sigv4_amzdate(time_t t, char amzdate[17])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(amzdate, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* An output buffer that remembers it overflowed. */
struct ob {
	char *p;
	size_t len, cap;
	bool over;
};

static void put(struct ob *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void puts_(struct ob *b, const char *s)
{
	put(b, s, strlen(s));
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_' || c == '.' || c == '~';
}

static void put_enc(struct ob *b, const char *s, size_t n, bool keep_slash)
{
	static const char H[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c) || (keep_slash && c == '/')) {
			put(b, (const char *)&c, 1);
		} else {
			char e[3] = { '%', H[c >> 4], H[c & 15] };
			put(b, e, 3);
		}
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* s[0..n) percent-decoded ('+' stays: AWS reads it as itself) then
 * encoded again, so "a%20b" and "a b" sign alike. */
static void put_reenc(struct ob *b, const char *s, size_t n)
{
	char tmp[4];
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int h, l;
		if (c == '%' && i + 2 < n && (h = hexval(s[i + 1])) >= 0 && (l = hexval(s[i + 2])) >= 0) {
			c = (char)(h << 4 | l);
			i += 2;
		}
		tmp[0] = c;
		put_enc(b, tmp, 1, false);
	}
}

struct qp {
	const char *k, *v;
	size_t kl, vl;
};

/* Order of two query parameters: by encoded name, then value. Names and
 * values are compared as re-encoded, which is what AWS sorts. */
static int qp_cmp(const struct qp *a, const struct qp *b)
{
	char ab[512], bb[512];
	struct ob x = { ab, 0, sizeof(ab), false }, y = { bb, 0, sizeof(bb), false };
	ab[0] = bb[0] = 0;
	put_reenc(&x, a->k, a->kl);
	put_reenc(&y, b->k, b->kl);
	int c = strcmp(ab, bb);
	if (c)
		return c;
	x.len = y.len = 0;
	ab[0] = bb[0] = 0;
	put_reenc(&x, a->v, a->vl);
	put_reenc(&y, b->v, b->vl);
	return strcmp(ab, bb);
}

static int put_query(struct ob *b, const char *q)
{
	struct qp p[QUERY_PARAMS_MAX];
	unsigned n = 0;
	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		if (len) {
			if (n == QUERY_PARAMS_MAX)
				return -EINVAL;
			const char *eq = memchr(q, '=', len);
			p[n].k = q;
			p[n].kl = eq ? (size_t)(eq - q) : len;
			p[n].v = eq ? eq + 1 : q + len;
			p[n].vl = eq ? len - p[n].kl - 1 : 0;
			/* insertion sort: a handful of parameters */
			unsigned j = n++;
			struct qp t = p[j];
			while (j && qp_cmp(&p[j - 1], &t) > 0) {
				p[j] = p[j - 1];
				j--;
			}
			p[j] = t;
		}
		q = amp ? amp + 1 : q + len;
	}
	for (unsigned i = 0; i < n; i++) {
		if (i)
			put(b, "&", 1);
		put_reenc(b, p[i].k, p[i].kl);
		put(b, "=", 1);
		put_reenc(b, p[i].v, p[i].vl);
	}
	return 0;
}

/* A header value trimmed, inner runs of blanks folded to one space. */
static void put_trimmed(struct ob *b, const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	bool blank = false;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r') {
			blank = true;
			continue;
		}
		if (blank)
			put(b, " ", 1);
		blank = false;
		put(b, v, 1);
	}
}

static void put_lower(struct ob *b, const char *s)
{
	for (; *s; s++) {
		char c = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
		put(b, &c, 1);
	}
}

long out_sigv4_canonical(const struct out_sigv4_req *r, char *buf, size_t cap, char *signed_hdrs, size_t shcap)
{
	if (r->nhdrs > OUT_SIGV4_HDRS_MAX)
		return -EINVAL;
	struct ob b = { buf, 0, cap, false }, sh = { signed_hdrs, 0, shcap, false };
	if (!cap || !shcap)
		return -ENOSPC;
	buf[0] = signed_hdrs[0] = 0;
	puts_(&b, r->method);
	put(&b, "\n", 1);
	put_enc(&b, r->path && *r->path ? r->path : "/", strlen(r->path && *r->path ? r->path : "/"), true);
	put(&b, "\n", 1);
	if (put_query(&b, r->query))
		return -EINVAL;
	put(&b, "\n", 1);
	unsigned ord[OUT_SIGV4_HDRS_MAX];
	for (unsigned i = 0; i < r->nhdrs; i++) {
		unsigned j = i;
		while (j && strcasecmp(r->hdrs[ord[j - 1]].name, r->hdrs[i].name) > 0) {
			ord[j] = ord[j - 1];
			j--;
		}
		ord[j] = i;
	}
	for (unsigned i = 0; i < r->nhdrs; i++) {
		const struct out_sigv4_hdr *h = &r->hdrs[ord[i]];
		put_lower(&b, h->name);
		put(&b, ":", 1);
		put_trimmed(&b, h->value);
		put(&b, "\n", 1);
		if (i)
			put(&sh, ";", 1);
		put_lower(&sh, h->name);
	}
	put(&b, "\n", 1);
	put(&b, sh.p, sh.len);
	put(&b, "\n", 1);
	puts_(&b, r->payload_sha256);
	return b.over || sh.over ? -ENOSPC : (long)b.len;
}

long out_sigv4_string_to_sign(const struct out_sigv4 *s, const char *amzdate, const char *creq, size_t creq_len,
			      char *buf, size_t cap)
{
	char h[65];
	out_sigv4_sha256_hex(creq, creq_len, h);
	int n = snprintf(buf, cap, "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s", amzdate, amzdate, s->region,
			 s->service, h);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

static void hmac(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[32])
{
	unsigned int olen = 32;
	HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &olen);
}

void out_sigv4_signing_key(const char *secret, const char *date, const char *region, const char *service,
			   uint8_t key[32])
{
	char k0[4 + OUT_SIGV4_SECRET_MAX];
	int n = snprintf(k0, sizeof(k0), "AWS4%s", secret);
	uint8_t a[32], b[32];
	hmac(k0, (size_t)n < sizeof(k0) ? (size_t)n : sizeof(k0) - 1, date, strlen(date), a);
	hmac(a, 32, region, strlen(region), b);
	hmac(b, 32, service, strlen(service), a);
	hmac(a, 32, "aws4_request", 12, key);
	memset(k0, 0, sizeof(k0));
}

int out_sigv4_sign(struct out_sigv4 *s, const struct out_sigv4_req *r, const char *amzdate, const char *akid,
		   const char *secret, char *scratch, size_t scratch_cap, char *auth, size_t auth_cap)
{
	if (strlen(secret) >= OUT_SIGV4_SECRET_MAX || strlen(amzdate) != 16)
		return -EINVAL;
	char signed_hdrs[512];
	long cl = out_sigv4_canonical(r, scratch, scratch_cap, signed_hdrs, sizeof(signed_hdrs));
	if (cl < 0)
		return (int)cl;
	/* the string to sign goes after the canonical request */
	size_t off = (size_t)cl + 1;
	if (off >= scratch_cap)
		return -ENOSPC;
	long sl = out_sigv4_string_to_sign(s, amzdate, scratch, (size_t)cl, scratch + off, scratch_cap - off);
	if (sl < 0)
		return (int)sl;
	/* One derivation per day and secret (credentials refreshed by STS
	 * change the secret). */
	if (strncmp(s->key_date, amzdate, 8) || strcmp(s->key_secret, secret)) {
		memcpy(s->key_date, amzdate, 8);
		s->key_date[8] = 0;
		snprintf(s->key_secret, sizeof(s->key_secret), "%s", secret);
		out_sigv4_signing_key(secret, s->key_date, s->region, s->service, s->key);
	}
	uint8_t sig[32];
	char sighex[65];
	hmac(s->key, 32, scratch + off, (size_t)sl, sig);
	hex(sig, 32, sighex);
	int n = snprintf(auth, auth_cap, "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, "
			 "Signature=%s", akid, amzdate, s->region, s->service, signed_hdrs, sighex);
	return n < 0 || (size_t)n >= auth_cap ? -ENOSPC : 0;
}
