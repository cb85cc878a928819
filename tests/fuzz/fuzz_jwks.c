/*
 * fuzz_jwks.c — libFuzzer target for the http input's JSON Web Key Set
 * parsing (shards/in_http_jwks.c, oauth2.jwks_url's document): any bytes
 * through in_http_jwks_parse. A set returned has 1..JWKS_KEYS_MAX RSA
 * keys, each found by its kid (1..255 bytes); an error says why.
 * Single-threaded.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "in_http_jwks.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in_http_jwks_set *s = NULL;
	struct dp_err err = { 0 };
	unsigned skipped = 0;
	int rc = in_http_jwks_parse((const char *)data, size, &s, &skipped, &err);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	if (rc) {
		CHECK(!s && err.msg[0]);
		return 0;
	}
	CHECK(s && s->n >= 1 && s->n <= JWKS_KEYS_MAX);
	for (size_t i = 0; i < s->n; i++) {
		const struct in_http_jwk *k = &s->k[i];
		CHECK(k->kid_len >= 1 && k->kid_len <= JWKS_KID_MAX && k->pkey);
		CHECK(EVP_PKEY_is_a(k->pkey, "RSA") && EVP_PKEY_get_bits(k->pkey) >= 2048);
		CHECK(in_http_jwks_find(s, k->kid, k->kid_len) != NULL);
	}
	in_http_jwks_set_free(s);
	return 0;
}
