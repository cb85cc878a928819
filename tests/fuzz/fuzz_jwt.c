/*
 * fuzz_jwt.c — libFuzzer target for the http input's bearer tokens
 * (shards/in_http_auth.c). The first byte picks what the rest is:
 *   0: an Authorization header value, through in_http_auth_check with a
 *      token file and an HS256 key (file lookup, then libjwt's decoding);
 *   1: a token, through in_http_auth_jwt with the HS256 and the RS256
 *      configurations (libjwt's header and base64 handling; our alg check);
 *   2: "HEADER\nCLAIMS", JSON texts base64url-encoded and signed here with
 *      the HS256 secret, so that the signature passes and the claim checks
 *      (exp, nbf, aud, the tenant) see arbitrary JSON.
 * A token let in has a tenant of 1..IN_HTTP_TENANT_MAX bytes (JWT) and an
 * HS256 signature for mode 2 only when its header says HS256.
 * Single-threaded.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "in_http_auth.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

static const char secret[] = "fuzz-secret-0123456789abcdef";
static const char pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkXwDMNUF5x3v6483JI4QuOzN4\n"
	"Jb6ANDQHzmivIKW+wzlWRY80riL1Avg6j8uFV++2yfzZF1kC3nQ5fiqf6aMbG32O\n"
	"A711Am59UEOvbSJQVQpMW86nI5Y8YhbUbkyYQopk3NR58s7a/5ZqCn+Ybw+iCF+o\n"
	"06czQMT18/3Tv04JpQIDAQAB\n"
	"-----END PUBLIC KEY-----\n";

static struct in_http_auth_cfg hs, rs;

static void init(void)
{
	static bool done;
	struct dp_err err;
	if (done)
		return;
	done = true;
	hs.jwt_tenant_claim = "tenant";
	hs.jwt_audience = "ingest";
	hs.jwt_leeway = 60;
	CHECK(!in_http_auth_key_set(&hs, "hs", (const unsigned char *)secret, strlen(secret), &err));
	const char *toks = "abc acme\nxyz\n";
	CHECK(!in_http_auth_tokens_parse(&hs, "toks", toks, strlen(toks), &err));
	hs.on = true;
	rs.jwt_tenant_claim = "sub";
	CHECK(!in_http_auth_key_set(&rs, "rs", (const unsigned char *)pem, strlen(pem), &err));
	rs.on = true;
}

static size_t b64url(const uint8_t *p, size_t n, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = tab[v >> 6 & 63];
		if (i + 2 < n)
			out[o++] = tab[v & 63];
	}
	return o;
}

static void jwt(const struct in_http_auth_cfg *a, const char *t, size_t n)
{
	char buf[IN_HTTP_TENANT_MAX];
	struct psr_http_str tenant = { 0 };
	const char *why = NULL;
	int rc = in_http_auth_jwt(a, t, n, 1700000000, buf, &tenant, &why);
	CHECK(rc == 0 || (rc == -EACCES && why && *why));
	if (!rc)
		CHECK(tenant.p == buf && tenant.len >= 1 && tenant.len <= IN_HTTP_TENANT_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char tok[12000];
	init();
	if (size < 1 || size > 4096)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	if (data[0] % 3 == 0) {
		static char head[8192];
		int hl = snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: %.*s"
				  "\r\n\r\n", (int)n, p);
		struct psr_http_req r;
		if (hl > 0 && !memchr(p, '\n', n) && !psr_http_req_parse(head, (size_t)hl, &r)) {
			char buf[IN_HTTP_TENANT_MAX];
			struct psr_http_str tenant;
			const char *why;
			int rc = in_http_auth_check(&hs, &r, 1700000000, buf, &tenant, &why);
			CHECK(rc == 0 || rc == -EACCES);
			CHECK(tenant.len <= IN_HTTP_TENANT_MAX);
		}
	} else if (data[0] % 3 == 1) {
		jwt(&hs, p, n);
		jwt(&rs, p, n);
	} else {
		const char *nl = memchr(p, '\n', n);
		size_t h = nl ? (size_t)(nl - p) : n, c = nl ? n - h - 1 : 0;
		size_t o = b64url((const uint8_t *)p, h, tok);
		tok[o++] = '.';
		o += b64url((const uint8_t *)p + h + (nl ? 1 : 0), c, tok + o);
		uint8_t mac[32];
		unsigned ml = 0;
		HMAC(EVP_sha256(), secret, (int)strlen(secret), (const uint8_t *)tok, o, mac, &ml);
		tok[o++] = '.';
		o += b64url(mac, ml, tok + o);
		jwt(&hs, tok, o);
	}
	return 0;
}
