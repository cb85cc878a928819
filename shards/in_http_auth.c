/*
 * in_http_auth.c — the http input's bearer tokens (in_http_auth.h): the
 * static token file, JWT verification, the 401 answer.
 *
 * Static tokens are kept as SHA-256 digests; a request's token is hashed
 * and compared with every one of them with CRYPTO_memcmp, so the time
 * taken says nothing of how much of a token matched, nor of its length.
 *
 * JWTs are decoded and their signature verified by libjwt 1.10 (Debian
 * 12). Two things of that version are not safe as they stand, so this
 * file does them itself:
 *   - jwt_decode verifies with whatever algorithm the token's header
 *     names, with our key: an HS256 token whose secret is our RS256
 *     public key passes (algorithm confusion). The algorithm it decoded
 *     with (jwt_get_alg) must be the configured one, else 401; "none" is
 *     never configured.
 *   - jwt_get_grant_int answers 0 with no error for a claim that is not
 *     an integer (a string, 1.5, an array), which for nbf would let any
 *     token in. exp and nbf are read from the claim's JSON text: a number
 *     (NumericDate may have a fraction) or the token is refused.
 *   1.10 has no jwt_valid (exp, nbf, aud came in 1.12): done here.
 * And one thing is too slow: jwt_decode takes the RS256 key as PEM text
 * and parses it on every call, which with OpenSSL 3.0's decoders costs
 * about 1.7 ms, 100 times the verification itself. So for RS256 the key
 * is parsed once at setup (an EVP_PKEY, read-only afterwards, which
 * OpenSSL lets threads share) and the signature is verified here with
 * EVP_DigestVerify; libjwt then only decodes the token (no key) for its
 * header and claims. HS256 stays with libjwt (constant-time compare since
 * Debian's fix of CVE-2024-25189).
 * Nothing else is kept between requests: each token is decoded and
 * verified anew.
 *
 * oauth2.validate (Fluent Bit's src/flb_oauth2_jwt.c): the same decoding
 * and RS256 check, with the key of the JWKS set (in_http_jwks.h) the
 * header's kid names, and Fluent Bit's claim rules on top: kid, exp, iss
 * and aud required, iss equal to oauth2.issuer, the client (azp, else
 * client_id) one of oauth2.allowed_clients. exp and nbf are checked as
 * for JWT_Key (JWT_Leeway; Fluent Bit allows no skew and ignores nbf).
 * The tenant claim is optional there (Fluent Bit has no tenants).
 *
 * Threads: setup/teardown on the control thread; the checks on shards,
 * reading the configuration only (libjwt and OpenSSL keep no shared state
 * here).
 */
#include <errno.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_base64.h"
#include "dp_conf.h"
#include "in_http_auth.h"
#include "in_http_jwks.h"

/* Longest Authorization value looked at; a longer token is refused. */
#define AUTH_TOKEN_MAX 8192

enum { ALG_AUTO, ALG_HS256, ALG_RS256 };

struct in_http_token {
	uint8_t sha[32];
	uint8_t tenant_len;
	char tenant[IN_HTTP_TENANT_MAX];
};

static void sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned len = 0;
	if (!EVP_Digest(p, n, out, &len, EVP_sha256(), NULL))
		memset(out, 0, 32);   /* matches no token: all-zero digests are not made */
}

/* RFC 6750 b64token: the characters a bearer token may hold. */
static bool is_b64token(const char *p, size_t n)
{
	size_t i = 0;
	for (; i < n; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'))
			break;
	}
	while (i < n && p[i] == '=')
		i++;
	return n && i == n && p[0] != '=';
}

int in_http_auth_tokens_parse(struct in_http_auth_cfg *a, const char *name, const char *text,
			      size_t len, struct dp_err *err)
{
	size_t cap = 0;
	unsigned line = 0;
	for (size_t off = 0; off < len; ) {
		const char *p = text + off, *nl = memchr(p, '\n', len - off);
		size_t n = nl ? (size_t)(nl - p) : len - off;
		off += n + 1;
		line++;
		const char *f[3];
		size_t fl[3];
		unsigned nf = 0;
		for (size_t i = 0; i < n && nf < 3; ) {
			while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
				i++;
			if (i == n || (nf == 0 && p[i] == '#'))
				break;
			size_t s = i;
			while (i < n && p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
				i++;
			f[nf] = p + s;
			fl[nf++] = i - s;
		}
		if (!nf)
			continue;
		if (nf > 2)
			return dp_err_set(err, -EINVAL, "%s:%u: expected 'TOKEN [TENANT]'", name, line);
		if (!is_b64token(f[0], fl[0]) || fl[0] > AUTH_TOKEN_MAX)
			return dp_err_set(err, -EINVAL, "%s:%u: a token is letters, digits and '-._~+/' "
					  "(then '='), at most %d bytes", name, line, AUTH_TOKEN_MAX);
		if (nf == 2 && fl[1] > IN_HTTP_TENANT_MAX)
			return dp_err_set(err, -EINVAL, "%s:%u: the tenant is longer than %d bytes", name,
					  line, IN_HTTP_TENANT_MAX);
		if (a->ntokens == cap) {
			size_t nc = cap ? 2 * cap : 16;
			struct in_http_token *t = realloc(a->tokens, nc * sizeof(*t));
			if (!t)
				return dp_err_set(err, -ENOMEM, "out of memory");
			a->tokens = t;
			cap = nc;
		}
		struct in_http_token *t = &a->tokens[a->ntokens];
		memset(t, 0, sizeof(*t));
		sha256(f[0], fl[0], t->sha);
		for (size_t i = 0; i < a->ntokens; i++)
			if (!memcmp(a->tokens[i].sha, t->sha, 32))
				return dp_err_set(err, -EINVAL, "%s:%u: the token is already on an earlier "
						  "line", name, line);
		if (nf == 2) {
			t->tenant_len = (uint8_t)fl[1];
			memcpy(t->tenant, f[1], fl[1]);
		}
		a->ntokens++;
	}
	if (!a->ntokens)
		return dp_err_set(err, -EINVAL, "%s: no token in the file", name);
	return 0;
}

static bool is_pem(const unsigned char *d, size_t n)
{
	return n >= 11 && !memcmp(d, "-----BEGIN ", 11);
}

int in_http_auth_key_set(struct in_http_auth_cfg *a, const char *name, const unsigned char *data,
			 size_t len, struct dp_err *err)
{
	bool pem = is_pem(data, len);
	int alg = a->jwt_alg != ALG_AUTO ? a->jwt_alg : pem ? ALG_RS256 : ALG_HS256;
	if (alg == ALG_HS256) {
		/* a secret written with echo or an editor ends with a newline */
		while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
			len--;
		if (pem)
			return dp_err_set(err, -EINVAL, "%s: JWT_Algorithm HS256 with a PEM key: a "
					  "public key must not be used as an HMAC secret", name);
		if (!len)
			return dp_err_set(err, -EINVAL, "%s: the HS256 secret is empty", name);
	} else {
		BIO *b = BIO_new_mem_buf(data, (int)len);
		EVP_PKEY *k = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		if (!k || !EVP_PKEY_is_a(k, "RSA")) {
			EVP_PKEY_free(k);
			return dp_err_set(err, -EINVAL, "%s: RS256 needs a PEM RSA public key "
					  "('-----BEGIN PUBLIC KEY-----')", name);
		}
		EVP_PKEY_free(a->pkey);
		a->pkey = k;
	}
	free(a->key);
	if (!(a->key = malloc(len + 1)))
		return dp_err_set(err, -ENOMEM, "out of memory");
	memcpy(a->key, data, len);
	a->key[len] = 0;
	a->key_len = len;
	a->alg = alg;
	return 0;
}

/* The whole of file path (at most 1 MiB), NUL-terminated; NULL with err. */
static char *slurp(const char *path, size_t *len, struct dp_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		dp_err_set(err, -errno, "%s %s: %s", err->key, path, strerror(errno));
		return NULL;
	}
	char *b = malloc((1u << 20) + 1);
	size_t n = b ? fread(b, 1, (1u << 20) + 1, f) : 0;
	bool bad = ferror(f);
	fclose(f);
	if (!b || bad || n > (1u << 20)) {
		free(b);
		dp_err_set(err, -EINVAL, "%s: cannot be read, or larger than 1 MiB", path);
		return NULL;
	}
	b[n] = 0;
	*len = n;
	return b;
}

/* The values of every oauth2.allowed_clients line of sec (split on
 * spaces and commas) into a->clients. */
static int clients_setup(struct in_http_auth_cfg *a, const struct dp_conf_section *sec,
			 struct dp_err *err)
{
	err->key = "oauth2.allowed_clients";
	for (unsigned i = 0; sec && i < sec->nkv; i++) {
		if (strcasecmp(sec->kv[i].key, "oauth2.allowed_clients") != 0)
			continue;
		for (const char *p = sec->kv[i].val; *p; ) {
			p += strspn(p, " \t,");
			size_t n = strcspn(p, " \t,");
			if (!n)
				break;
			char **c = realloc(a->clients, (a->nclients + 1) * sizeof(*c));
			if (!c || !(c[a->nclients] = strndup(p, n))) {
				if (c)
					a->clients = c;
				return dp_err_set(err, -ENOMEM, "out of memory");
			}
			a->clients = c;
			a->nclients++;
			p += n;
		}
	}
	return 0;
}

static int oauth2_setup(struct in_http_auth_cfg *a, const struct dp_conf_section *sec,
			const char *name, struct dp_err *err)
{
	int rc;
	if (!a->o_validate)
		return 0;   /* the other oauth2.* keys do nothing then, as in Fluent Bit */
	err->key = "oauth2.validate";
	if (a->jwt_key)
		return dp_err_set(err, -EINVAL, "oauth2.validate and JWT_Key: a JWT is checked "
				  "against one or the other; set only one");
	if (!a->o_issuer || !*a->o_issuer || !a->o_jwks_url || !*a->o_jwks_url)
		return dp_err_set(err, -EINVAL, "oauth2.validate needs oauth2.issuer and "
				  "oauth2.jwks_url");
	err->key = "oauth2.allowed_audience";
	for (const char *c = a->o_audience; c && *c; c++)
		if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
			return dp_err_set(err, -EINVAL, "oauth2.allowed_audience holds a quote, a "
					  "backslash or a control character");
	if ((rc = clients_setup(a, sec, err)) != 0)
		return rc;
	err->key = "oauth2.jwks_url";
	return in_http_jwks_create(&a->jwks, a->o_jwks_url, a->o_refresh, name, err);
}

void in_http_auth_start(struct in_http_auth_cfg *a)
{
	if (a->jwks)
		in_http_jwks_start(a->jwks);
}

int in_http_auth_setup(struct in_http_auth_cfg *a, const struct dp_conf_section *sec,
		       const char *name, struct dp_err *err)
{
	size_t n;
	int rc = 0;
	if (a->tokens_file) {
		err->key = "Auth_Tokens_File";
		char *t = slurp(a->tokens_file, &n, err);
		if (!t)
			return err->code;
		rc = in_http_auth_tokens_parse(a, a->tokens_file, t, n, err);
		free(t);
		if (rc)
			return rc;
	}
	if (a->jwt_key) {
		err->key = "JWT_Key";
		unsigned char *k = (unsigned char *)slurp(a->jwt_key, &n, err);
		if (!k)
			return err->code;
		rc = in_http_auth_key_set(a, a->jwt_key, k, n, err);
		OPENSSL_cleanse(k, n);
		free(k);
		if (rc)
			return rc;
	}
	err->key = "JWT_Audience";
	for (const char *c = a->jwt_audience; c && *c; c++)
		if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
			return dp_err_set(err, -EINVAL, "JWT_Audience holds a quote, a backslash or a "
					  "control character");
	err->key = "JWT_Tenant_Claim";
	if (!a->jwt_tenant_claim || !*a->jwt_tenant_claim)
		return dp_err_set(err, -EINVAL, "JWT_Tenant_Claim is empty");
	if ((rc = oauth2_setup(a, sec, name, err)) != 0)
		return rc;
	a->on = a->tokens_file || a->jwt_key || a->o_validate;
	err->key = "Tenant_Key";
	if (a->tenant_key && (!*a->tenant_key || !a->on))
		return dp_err_set(err, -EINVAL, !*a->tenant_key ? "Tenant_Key is empty" :
				  "Tenant_Key needs Auth_Tokens_File, JWT_Key or oauth2.validate");
	err->key = NULL;
	return 0;
}

void in_http_auth_teardown(struct in_http_auth_cfg *a)
{
	if (a->key)
		OPENSSL_cleanse(a->key, a->key_len);
	free(a->key);
	free(a->tokens);
	EVP_PKEY_free(a->pkey);
	a->pkey = NULL;
	in_http_jwks_destroy(a->jwks);
	a->jwks = NULL;
	for (size_t i = 0; i < a->nclients; i++)
		free(a->clients[i]);
	free(a->clients);
	a->clients = NULL;
	a->nclients = 0;
	a->key = NULL;
	a->tokens = NULL;
	a->ntokens = 0;
}

/* Claim `name` as a number: 1 (*v set), 0 absent, -1 not a number. */
static int claim_num(jwt_t *j, const char *name, double *v)
{
	char *js = jwt_get_grants_json(j, name);
	if (!js)
		return 0;
	char *end;
	int rc = -1;
	if ((js[0] == '-' || (js[0] >= '0' && js[0] <= '9'))) {
		*v = strtod(js, &end);
		rc = *end ? -1 : 1;
	}
	free(js);
	return rc;
}

/* Does the compact JSON array js (as jansson writes it: ["a","b"]) hold
 * the string want? Strings are compared as JSON text, the same escapes
 * on both sides: jansson (JSON_COMPACT, no JSON_ENSURE_ASCII) escapes
 * only '"', '\\' and control characters, and a JWT_Audience holding one
 * of those is refused at setup, so want needs no escaping. */
static bool aud_in(const char *js, const char *want)
{
	size_t wl = strlen(want);
	const char *p = js;
	if (*p++ != '[')
		return false;
	while (*p == '"') {
		const char *s = ++p;
		while (*p && *p != '"')
			p += (*p == '\\' && p[1]) ? 2 : 1;
		if (!*p)
			return false;
		if ((size_t)(p - s) == wl && !memcmp(s, want, wl))
			return true;
		p++;
		if (*p != ',')
			break;
		p++;
	}
	return false;
}

/* RS256: t = "HEADER.CLAIMS.SIG", SIG an RSASSA-PKCS1-v1_5 SHA-256
 * signature of "HEADER.CLAIMS" by a->pkey. */
static bool rs256_ok(EVP_PKEY *pk, const char *t, size_t len)
{
	const char *d1 = memchr(t, '.', len);
	const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - t)) : NULL;
	uint8_t sig[1024];
	long sl = d2 ? dp_base64_decode(d2 + 1, len - (size_t)(d2 + 1 - t), sig, sizeof(sig), true) : -1;
	if (sl <= 0)
		return false;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	bool ok = c && EVP_DigestVerifyInit_ex(c, NULL, "SHA256", NULL, NULL, pk, NULL) == 1 &&
		  EVP_DigestVerify(c, sig, (size_t)sl, (const uint8_t *)t, (size_t)(d2 - t)) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

/* Does aud (a string, or an array of strings) hold want? */
static bool aud_ok(jwt_t *j, const char *want)
{
	const char *aud = jwt_get_grant(j, "aud");
	char *js = aud ? NULL : jwt_get_grants_json(j, "aud");
	bool ok = aud ? !strcmp(aud, want) : js && aud_in(js, want);
	free(js);
	return ok;
}

/* oauth2.validate's claim rules (Fluent Bit's): NULL, or why not. */
static const char *oauth2_claims(const struct in_http_auth_cfg *a, jwt_t *j, int has_exp)
{
	const char *iss = jwt_get_grant(j, "iss");
	char *aud = jwt_get_grants_json(j, "aud");
	bool has_aud = aud != NULL;
	free(aud);
	if (has_exp != 1 || !iss || !has_aud)
		return "token lacks exp, iss or aud";
	if (strcmp(iss, a->o_issuer) != 0)
		return "token issuer does not match";
	if (a->o_audience && !aud_ok(j, a->o_audience))
		return "token audience does not match";
	if (!a->nclients)
		return NULL;
	const char *cl = jwt_get_grant(j, "azp");
	if (!cl)
		cl = jwt_get_grant(j, "client_id");
	for (size_t i = 0; cl && i < a->nclients; i++)
		if (!strcmp(cl, a->clients[i]))
			return NULL;
	return "token client not allowed";
}

int in_http_auth_jwt(const struct in_http_auth_cfg *a, const char *tok, size_t len, time_t now,
		     char buf[IN_HTTP_TENANT_MAX], struct psr_http_str *tenant, const char **why)
{
	char t[AUTH_TOKEN_MAX + 1];
	bool o = a->jwks != NULL;   /* oauth2.validate: the key from the JWKS */
	*why = "invalid token";
	if ((!a->key && !o) || len > AUTH_TOKEN_MAX || memchr(tok, 0, len))
		return -EACCES;
	memcpy(t, tok, len);
	t[len] = 0;
	jwt_t *j = NULL;
	bool rs = o || a->alg == ALG_RS256;
	/* RS256: decoded without a key (libjwt then says JWT_ALG_NONE and
	 * checks nothing), its header's alg read, its signature checked here */
	if (jwt_decode(&j, t, rs ? NULL : a->key, rs ? 0 : (int)a->key_len) || !j) {
		jwt_free(j);
		OPENSSL_cleanse(t, len);
		return -EACCES;
	}
	int rc = -EACCES;
	double exp = 0, nbf = 0;
	int has_exp = claim_num(j, "exp", &exp), has_nbf = claim_num(j, "nbf", &nbf);
	const char *halg = jwt_get_header(j, "alg");
	const char *ten = jwt_get_grant(j, a->jwt_tenant_claim), *w = NULL;
	const char *kid = o ? jwt_get_header(j, "kid") : NULL;
	EVP_PKEY *pk = a->pkey;
	unsigned slot = 0;
	const struct in_http_jwks_set *set = o ? in_http_jwks_acquire(a->jwks, &slot) : NULL;
	if (o) {
		pk = set && kid ? in_http_jwks_find(set, kid, strlen(kid)) : NULL;
		if (set && kid && !pk)
			in_http_jwks_kick(a->jwks);   /* maybe rotated: fetch again soon */
	}
	if (rs ? !halg || strcmp(halg, "RS256") != 0 : jwt_get_alg(j) != JWT_ALG_HS256) {
		*why = "token algorithm not accepted";
	} else if (o && !kid) {
		*why = "token has no kid";
	} else if (o && !set) {
		*why = "signing keys not loaded";
	} else if (o && !pk) {
		*why = "token kid unknown";
	} else if (rs && !rs256_ok(pk, t, len)) {
		*why = "invalid token";
	} else if (has_exp < 0 || has_nbf < 0) {
		*why = "invalid token: exp or nbf is not a number";
	} else if (has_exp && (double)now >= exp + (double)a->jwt_leeway) {
		*why = "token expired";
	} else if (has_nbf && (double)now + (double)a->jwt_leeway < nbf) {
		*why = "token not yet valid";
	} else if (o && (w = oauth2_claims(a, j, has_exp)) != NULL) {
		*why = w;
	} else if (a->jwt_audience && !aud_ok(j, a->jwt_audience)) {
		*why = "token audience does not match";
	} else {
		rc = 0;
	}
	if (o)
		in_http_jwks_release(a->jwks, slot);
	if (!rc) {
		size_t tl = ten ? strlen(ten) : 0;
		if ((!o || ten) && (!tl || tl > IN_HTTP_TENANT_MAX)) {
			/* JWT_Key: a JWT names its tenant; oauth2: when it has the claim */
			*why = "token has no valid tenant claim";
			rc = -EACCES;
		} else {
			if (tl)
				memcpy(buf, ten, tl);
			*tenant = (struct psr_http_str){ buf, (uint32_t)tl };
		}
	}
	jwt_free(j);
	OPENSSL_cleanse(t, len);
	return rc;
}

int in_http_auth_check(const struct in_http_auth_cfg *a, const struct psr_http_req *r, time_t now,
		       char buf[IN_HTTP_TENANT_MAX], struct psr_http_str *tenant, const char **why)
{
	*tenant = (struct psr_http_str){ buf, 0 };
	if (!a->on)
		return 0;
	const struct psr_http_str *h = psr_http_header(r, "Authorization");
	*why = "missing bearer token";
	if (!h || h->len < 7 || strncasecmp(h->p, "Bearer ", 7) != 0)
		return -EACCES;
	const char *tok = h->p + 7;
	size_t len = h->len - 7;
	while (len && (*tok == ' ' || *tok == '\t')) {
		tok++;
		len--;
	}
	if (!len)
		return -EACCES;
	*why = "invalid token";
	if (!is_b64token(tok, len) || len > AUTH_TOKEN_MAX)
		return -EACCES;
	if (a->ntokens) {
		uint8_t sha[32];
		size_t hit = SIZE_MAX;
		sha256(tok, len, sha);
		for (size_t i = 0; i < a->ntokens; i++)   /* all of them, whatever matched */
			if (!CRYPTO_memcmp(sha, a->tokens[i].sha, 32))
				hit = i;
		if (hit != SIZE_MAX) {
			*tenant = (struct psr_http_str){ a->tokens[hit].tenant, a->tokens[hit].tenant_len };
			return 0;
		}
	}
	return a->key || a->jwks ? in_http_auth_jwt(a, tok, len, now, buf, tenant, why) : -EACCES;
}

size_t in_http_auth_answer(const char *why, bool close, char *out, size_t cap)
{
	char body[160];
	int bl = snprintf(body, sizeof(body), "{\"status\":\"error\",\"error\":\"%s\"}", why);
	bool missing = !strcmp(why, "missing bearer token");
	int n = snprintf(out, cap, "HTTP/1.1 401 Unauthorized\r\nServer: sluice\r\n"
			 "WWW-Authenticate: Bearer%s\r\n%sContent-Type: application/json\r\n"
			 "Content-Length: %d\r\n\r\n%s", missing ? "" : " error=\"invalid_token\"",
			 close ? "Connection: close\r\n" : "", bl, body);
	return n < 0 ? 0 : DP_MIN((size_t)n, cap - 1);
}
