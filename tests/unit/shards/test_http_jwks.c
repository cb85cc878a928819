/*
 * test_http_jwks.c — the http input's JWKS (in_http_jwks.c): RSA keys
 * read from n and e, keys of another kty, use or alg ignored, RSA keys
 * with a bad n or e (not base64url, missing, too short) or no kid
 * skipped, no usable key or not a key set refused; publishing a set while
 * a reader holds the one it replaces waits for that reader.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "in_http_jwks.h"

/* A 2048-bit modulus (openssl genpkey), base64url. */
#define N2048 \
	"001YVkyNDvd4mtn1n-ywuHiHT5unvw4yXYhSVFF4a8vu0pG_tYH_kD0VWp5edmddqw3gF8c3AFUh" \
	"0FjCMWSQhbShz5c-cnxGzz6BZ8MSoY1eTgcnSHibX-0BqdKsx3MWhGhWgHKtFcS1kwvEm0BOB-Yd" \
	"OLDbiBVKa5SrzG8UfqBw10f1cNUh1Sa3j38FdbFAWorwLSmmb46v-bC0pOuPF6vQur-sT1e_ohOv" \
	"-GuChDcJycPpoKT0njwjgCTB59b8pSMBA0COq2HOQE4KlY5vfShp_AXeS6pQgQXE6hEkvA5j_DgH" \
	"0kH9MXgCB9U1Qd-FufkT4p75e8lme7TEFZy0oQ"
#define RSA(kid) "{\"kty\":\"RSA\",\"kid\":\"" kid "\",\"n\":\"" N2048 "\",\"e\":\"AQAB\"}"

static int parse(const char *js, struct in_http_jwks_set **s, unsigned *skipped, struct dp_err *err)
{
	memset(err, 0, sizeof(*err));
	return in_http_jwks_parse(js, strlen(js), s, skipped, err);
}

static void test_good(void **state)
{
	(void)state;
	struct in_http_jwks_set *s;
	struct dp_err err;
	unsigned sk;
	const char *js = "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"ec\",\"crv\":\"P-256\",\"x\":\"AA\"},"
			 RSA("a") ",{\"kty\":\"RSA\",\"use\":\"enc\",\"kid\":\"enc\",\"n\":\"" N2048
			 "\",\"e\":\"AQAB\"},{\"kty\":\"RSA\",\"alg\":\"RS512\",\"kid\":\"rs512\",\"n\":\""
			 N2048 "\",\"e\":\"AQAB\"},{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\","
			 "\"kid\":\"b\",\"n\":\"" N2048 "\",\"e\":\"AQAB\",\"x5c\":[\"MIIB\"]}],\"x\":1}";
	assert_int_equal(parse(js, &s, &sk, &err), 0);
	assert_int_equal(sk, 0);   /* EC, use enc, alg RS512: ignored, not skipped */
	assert_int_equal(s->n, 2);
	EVP_PKEY *a = in_http_jwks_find(s, "a", 1);
	assert_non_null(a);
	assert_true(EVP_PKEY_is_a(a, "RSA"));
	assert_int_equal(EVP_PKEY_get_bits(a), 2048);
	assert_non_null(in_http_jwks_find(s, "b", 1));
	assert_null(in_http_jwks_find(s, "enc", 3));
	assert_null(in_http_jwks_find(s, "rs512", 5));
	assert_null(in_http_jwks_find(s, "ec", 2));
	assert_null(in_http_jwks_find(s, "ab", 2));   /* the whole kid, not a prefix */
	in_http_jwks_set_free(s);
}

static void test_skipped(void **state)
{
	(void)state;
	static const struct { const char *key, *why; } bad[] = {
		{ "{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":\"ab$c" N2048 "\",\"e\":\"AQAB\"}", "base64url" },
		{ "{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":\"" N2048 "\",\"e\":\"AQAB==\"}", "base64url" },
		{ "{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":\"" N2048 "\"}", "no n or no e" },
		{ "{\"kty\":\"RSA\",\"kid\":\"x\",\"e\":\"AQAB\"}", "no n or no e" },
		{ "{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":5,\"e\":\"AQAB\"}", "no n or no e" },
		{ "{\"kty\":\"RSA\",\"n\":\"" N2048 "\",\"e\":\"AQAB\"}", "no kid" },
		{ "{\"kty\":\"RSA\",\"kid\":\"\",\"n\":\"" N2048 "\",\"e\":\"AQAB\"}", "no kid" },
		{ "{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", "2048 bits" },
		{ "{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":\"" N2048 "\",\"e\":\"AA\"}", "RSA public key" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char js[4096];
		struct in_http_jwks_set *s;
		struct dp_err err;
		unsigned sk;
		/* alone: no usable key */
		snprintf(js, sizeof(js), "{\"keys\":[%s]}", bad[i].key);
		assert_int_equal(parse(js, &s, &sk, &err), -EINVAL);
		assert_null(s);
		assert_int_equal(sk, 1);
		assert_non_null(strstr(err.msg, "no usable RSA key"));
		if (!strstr(err.msg, bad[i].why))
			fail_msg("case %zu: '%s' does not say '%s'", i, err.msg, bad[i].why);
		/* beside a good one: skipped, the good one kept */
		snprintf(js, sizeof(js), "{\"keys\":[%s," RSA("ok") "]}", bad[i].key);
		assert_int_equal(parse(js, &s, &sk, &err), 0);
		assert_int_equal(sk, 1);
		assert_int_equal(s->n, 1);
		assert_non_null(in_http_jwks_find(s, "ok", 2));
		assert_non_null(strstr(err.msg, bad[i].why));
		in_http_jwks_set_free(s);
	}
}

static void test_not_a_set(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "{", "[]", "{\"keys\":{}}", "{\"nokeys\":[]}", "{\"keys\":[]}",
		"{\"keys\":[1,\"x\",null,{\"kty\":\"EC\"}]}", "{\"keys\":[]}{}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct in_http_jwks_set *s = (void *)1;
		struct dp_err err;
		unsigned sk;
		assert_int_equal(parse(bad[i], &s, &sk, &err), -EINVAL);
		assert_null(s);
		assert_true(err.msg[0] != 0);
	}
}

static struct in_http_jwks_set *one(const char *kid)
{
	char js[1024];
	struct in_http_jwks_set *s;
	struct dp_err err;
	unsigned sk;
	snprintf(js, sizeof(js), "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"AQAB\"}]}",
		 kid, N2048);
	assert_int_equal(parse(js, &s, &sk, &err), 0);
	return s;
}

static atomic_bool published;

static void *publisher(void *arg)
{
	in_http_jwks_publish(arg, one("c"));
	atomic_store(&published, true);
	return NULL;
}

static void test_publish(void **state)
{
	(void)state;
	struct in_http_jwks *j;
	struct dp_err err = { 0 };
	unsigned sa, sb;
	assert_int_equal(in_http_jwks_create(&j, "ftp://x", 1, "t", &err), -EINVAL);
	assert_int_equal(in_http_jwks_create(&j, "http://127.0.0.1:9/k", 1, "t", &err), 0);
	assert_null(in_http_jwks_acquire(j, &sa));   /* nothing fetched yet */
	in_http_jwks_release(j, sa);
	in_http_jwks_publish(j, one("a"));
	const struct in_http_jwks_set *a = in_http_jwks_acquire(j, &sa);
	assert_non_null(in_http_jwks_find(a, "a", 1));
	in_http_jwks_publish(j, one("b"));   /* into the other slot: no wait */
	const struct in_http_jwks_set *b = in_http_jwks_acquire(j, &sb);
	assert_non_null(in_http_jwks_find(b, "b", 1));
	assert_non_null(in_http_jwks_find(a, "a", 1));   /* a is still whole */
	in_http_jwks_release(j, sb);
	/* c replaces a, which we hold: the publisher waits for us */
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, publisher, j), 0);
	for (int i = 0; i < 50; i++) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		assert_false(atomic_load(&published));
	}
	assert_non_null(in_http_jwks_find(a, "a", 1));
	in_http_jwks_release(j, sa);
	pthread_join(th, NULL);
	assert_true(atomic_load(&published));
	const struct in_http_jwks_set *c = in_http_jwks_acquire(j, &sa);
	assert_non_null(in_http_jwks_find(c, "c", 1));
	assert_null(in_http_jwks_find(c, "b", 1));
	in_http_jwks_release(j, sa);
	in_http_jwks_destroy(j);   /* never started: nothing to join */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_skipped),
		cmocka_unit_test(test_not_a_set),
		cmocka_unit_test(test_publish),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
