/*
 * in_http_auth.h — bearer-token authentication of the http input's
 * requests, and the tenant each request belongs to (sluice's own keys;
 * Fluent Bit's in_http has no such keys, its oauth2.* ones fetch a JWKS):
 *
 *   Auth_Tokens_File  static tokens, one a line, `TOKEN [TENANT]`;
 *   JWT_Key           JSON Web Tokens signed with HS256 (a shared secret)
 *                     or RS256 (a PEM public key), checked for exp, nbf
 *                     (JWT_Leeway), aud (JWT_Audience), the tenant taken
 *                     from the JWT_Tenant_Claim claim;
 *   Tenant_Key        the record key the tenant is added under.
 *
 * A request must carry `Authorization: Bearer TOKEN` when the file, the
 * key or oauth2.validate is set: a token of the file is accepted, else it
 * is checked as a JWT. None set: no authentication (as Fluent Bit).
 *
 * Threads: setup and teardown on the control thread; in_http_auth_check
 * on any shard, reading what setup made and, with oauth2.validate, the
 * current JWKS set (lock-free, in_http_jwks.h); in_http_auth_start on a
 * shard (it starts the JWKS fetch thread).
 */
#ifndef IN_HTTP_AUTH_H
#define IN_HTTP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "dp_common.h"
#include "psr_http.h"

/* Longest tenant (bytes), from the file or a claim; a longer claim is
 * refused (401). */
#define IN_HTTP_TENANT_MAX 255

struct in_http_token;
struct evp_pkey_st;
struct in_http_jwks;
struct dp_conf_section;

struct in_http_auth_cfg {
	char *tokens_file;          /* Auth_Tokens_File */
	char *jwt_key;              /* JWT_Key */
	int jwt_alg;                /* JWT_Algorithm: 0 auto, 1 HS256, 2 RS256 */
	char *jwt_audience;         /* JWT_Audience */
	char *jwt_tenant_claim;     /* JWT_Tenant_Claim */
	int64_t jwt_leeway;         /* JWT_Leeway, seconds */
	char *tenant_key;           /* Tenant_Key */
	bool o_validate;            /* oauth2.validate */
	char *o_issuer;             /* oauth2.issuer */
	char *o_jwks_url;           /* oauth2.jwks_url */
	char *o_audience;           /* oauth2.allowed_audience */
	char *o_clients;            /* oauth2.allowed_clients (the last; all are read) */
	int64_t o_refresh;          /* oauth2.jwks_refresh_interval, seconds */
	/* made by setup */
	bool on;                    /* a token file or a JWT key: requests need a token */
	struct in_http_token *tokens;   /* sorted by nothing: all are compared */
	size_t ntokens;
	unsigned char *key;         /* HS256 secret (as libjwt takes it), or RS256 PEM */
	struct evp_pkey_st *pkey;   /* RS256: the key, parsed once (in_http_auth.c says why) */
	size_t key_len;
	int alg;                    /* the one algorithm accepted: 1 HS256, 2 RS256 */
	struct in_http_jwks *jwks;  /* oauth2.validate: the key set */
	char **clients;             /* oauth2.allowed_clients, every value of every line */
	size_t nclients;
};

#define IN_HTTP_AUTH_OPTS(T, F) \
	{ "Auth_Tokens_File", DP_OPT_STR, NULL, offsetof(T, F.tokens_file), NULL, 0, 0, 0, \
	  "sluice: file of bearer tokens, one a line as 'TOKEN [TENANT]' ('#' starts a comment " \
	  "line), read at start-up. A request must carry 'Authorization: Bearer TOKEN' (401 " \
	  "otherwise); the tenant is the line's second field. See 'HTTP input' in " \
	  "docs/OPERATIONS.md." }, \
	{ "JWT_Key", DP_OPT_STR, NULL, offsetof(T, F.jwt_key), NULL, 0, 0, 0, \
	  "sluice: file of the key bearer JSON Web Tokens are verified with: a PEM public key " \
	  "(RS256) or a shared secret (HS256; its trailing newline dropped). Only that algorithm " \
	  "is accepted ('none' never). With Auth_Tokens_File too, a token not in the file is " \
	  "checked as a JWT." }, \
	{ "JWT_Algorithm", DP_OPT_ENUM, "auto", offsetof(T, F.jwt_alg), "auto|HS256|RS256", 0, 0, 0, \
	  "sluice: the JWT algorithm; auto: RS256 when JWT_Key holds a PEM public key, else " \
	  "HS256." }, \
	{ "JWT_Audience", DP_OPT_STR, NULL, offsetof(T, F.jwt_audience), NULL, 0, 0, 0, \
	  "sluice: when set, a JWT's 'aud' (a string, or an array of strings) must hold this " \
	  "value." }, \
	{ "JWT_Tenant_Claim", DP_OPT_STR, "tenant", offsetof(T, F.jwt_tenant_claim), NULL, 0, 0, 0, \
	  "sluice: the JWT claim naming the request's tenant: a non-empty string of at most 255 " \
	  "bytes, required (a token without it is refused, 401)." }, \
	{ "JWT_Leeway", DP_OPT_INT, "60", offsetof(T, F.jwt_leeway), NULL, 0, 3600, 0, \
	  "sluice: seconds of clock skew allowed when checking a JWT's 'exp' and 'nbf' against " \
	  "the wall clock." }, \
	{ "Tenant_Key", DP_OPT_STR, NULL, offsetof(T, F.tenant_key), NULL, 0, 0, 0, \
	  "sluice: add the request's tenant to each of its records under this key (replacing " \
	  "one the record has); needs Auth_Tokens_File or JWT_Key. A token without a tenant " \
	  "only removes the record's own key." }, \
	{ "oauth2.validate", DP_OPT_BOOL, "off", offsetof(T, F.o_validate), NULL, 0, 0, 0, \
	  "Verify bearer JSON Web Tokens (RS256) with the keys of oauth2.jwks_url: a request " \
	  "without a valid one is answered 401. Needs oauth2.issuer and oauth2.jwks_url. See " \
	  "'HTTP input: authentication and tenants' in docs/OPERATIONS.md." }, \
	{ "oauth2.issuer", DP_OPT_STR, NULL, offsetof(T, F.o_issuer), NULL, 0, 0, 0, \
	  "The 'iss' a token must carry (required with oauth2.validate)." }, \
	{ "oauth2.jwks_url", DP_OPT_STR, NULL, offsetof(T, F.o_jwks_url), NULL, 0, 0, 0, \
	  "http:// or https:// URL of the JSON Web Key Set; the key a token's 'kid' names " \
	  "verifies it (required with oauth2.validate). Fetched at start on a thread of its own, " \
	  "then every oauth2.jwks_refresh_interval; a failed fetch keeps the keys there are." }, \
	{ "oauth2.allowed_audience", DP_OPT_STR, NULL, offsetof(T, F.o_audience), NULL, 0, 0, 0, \
	  "When set, a token's 'aud' (a string, or an array of strings) must hold this value." }, \
	{ "oauth2.allowed_clients", DP_OPT_STR, NULL, offsetof(T, F.o_clients), NULL, 0, 0, 0, \
	  "Client ids a token's 'azp' (or 'client_id' without 'azp') must be one of: separated " \
	  "by spaces or commas; repeat the key for more. Unset: any client." }, \
	{ "oauth2.jwks_refresh_interval", DP_OPT_INT, "300", offsetof(T, F.o_refresh), NULL, 1, \
	  604800, 0, "Seconds between fetches of oauth2.jwks_url (a failed one is tried again " \
	  "after 5 s; a token naming a kid not in the set makes it sooner, at most every 10 s)." }

/* Read the token file and the JWT key (cfg's keys set by dp_opt), the
 * oauth2.allowed_clients lines of sec: 0, or -errno with err naming the
 * key, and file:line for a bad token line. name: the input's, for logs. */
int in_http_auth_setup(struct in_http_auth_cfg *a, const struct dp_conf_section *sec,
		       const char *name, struct dp_err *err);
/* Start what runs beside the shards (the JWKS fetch thread): any thread,
 * any number of times. */
void in_http_auth_start(struct in_http_auth_cfg *a);
void in_http_auth_teardown(struct in_http_auth_cfg *a);

/* The token lines of text[0..len) (name: the file, for messages) into a:
 * 0 or -EINVAL with err. Called by setup; apart for the unit tests. */
int in_http_auth_tokens_parse(struct in_http_auth_cfg *a, const char *name, const char *text,
			      size_t len, struct dp_err *err);
/* The JWT key data[0..len) (as read from a file): 0 or -EINVAL with err. */
int in_http_auth_key_set(struct in_http_auth_cfg *a, const char *name, const unsigned char *data,
			 size_t len, struct dp_err *err);

/* Is request r let in? 0: yes, *tenant set (into a's tokens or buf;
 * len 0 for none). -EACCES: no, *why says why (static text, for the
 * answer's body). now: the wall clock (seconds since the epoch). */
int in_http_auth_check(const struct in_http_auth_cfg *a, const struct psr_http_req *r, time_t now,
		       char buf[IN_HTTP_TENANT_MAX], struct psr_http_str *tenant, const char **why);

/* The same for a bare JWT tok[0..len) (no file lookup): for the fuzzer. */
int in_http_auth_jwt(const struct in_http_auth_cfg *a, const char *tok, size_t len, time_t now,
		     char buf[IN_HTTP_TENANT_MAX], struct psr_http_str *tenant, const char **why);

/* The 401 answer for why into out[0..cap): its length. close: with
 * Connection: close. */
size_t in_http_auth_answer(const char *why, bool close, char *out, size_t cap);

#endif
