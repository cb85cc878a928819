/*
 * test_tls.c — dp_tls.h: the tls.* rows' defaults (Fluent Bit's), what
 * tls.verify and tls.verify_client_cert make of a server context, and
 * every start-up refusal naming its key and file. Keys and certificates
 * are made here with OpenSSL into a temp dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "dp_tls.h"

struct opts {
	struct dp_tls_cfg tls;
};

static const struct dp_opt tab[] = {
	DP_TLS_SERVER_OPTS(struct opts, tls),
	{ NULL },
};

static char dir[64];
static char crt[128], key[128], key2[128], enc[128], notpem[128];

static EVP_PKEY *write_pair(const char *crt_path, const char *key_path, const char *pass)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_sign(x, k, EVP_sha256());
	if (crt_path) {
		FILE *f = fopen(crt_path, "w");
		PEM_write_X509(f, x);
		fclose(f);
	}
	FILE *f = fopen(key_path, "w");
	PEM_write_PrivateKey(f, k, pass ? EVP_aes_256_cbc() : NULL, NULL, 0, NULL, (void *)pass);
	fclose(f);
	X509_free(x);
	return k;
}

static int setup_files(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sluice-test-tls-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(crt, sizeof(crt), "%s/server.crt", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(key2, sizeof(key2), "%s/other.key", dir);
	snprintf(enc, sizeof(enc), "%s/server_enc.key", dir);
	snprintf(notpem, sizeof(notpem), "%s/notpem.txt", dir);
	EVP_PKEY *k = write_pair(crt, key, NULL);
	FILE *f = fopen(enc, "w");
	PEM_write_PrivateKey(f, k, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)"s3cret");
	fclose(f);
	EVP_PKEY_free(k);
	EVP_PKEY_free(write_pair(NULL, key2, NULL));
	f = fopen(notpem, "w");
	fputs("hello\n", f);
	fclose(f);
	return 0;
}

static int teardown_files(void **state)
{
	(void)state;
	const char *files[] = { crt, key, key2, enc, notpem };
	for (size_t i = 0; i < DP_ARRAY_SIZE(files); i++)
		unlink(files[i]);
	rmdir(dir);
	return 0;
}

/* A server configuration with our pair, defaults for the rest. */
static void cfg_init(struct opts *o)
{
	struct dp_err err = { 0 };
	assert_int_equal(dp_opt_defaults(tab, o, &err), 0);
	o->tls.on = true;
	o->tls.crt_file = strdup(crt);
	o->tls.key_file = strdup(key);
}

static void set(struct opts *o, const char *k, const char *v)
{
	struct dp_err err = { 0 };
	assert_int_equal(dp_opt_set(tab, o, k, v, &err), 0);
}

/* dp_tls_create fails with err->key == want_key and a message holding
 * every one of the words. */
static void refused(struct opts *o, const char *want_key, const char *w1, const char *w2)
{
	struct dp_err err = { 0 };
	struct dp_tls *t = dp_tls_create(&o->tls, DP_TLS_SERVER, &err);
	if (t)
		fail_msg("created, expected a refusal naming %s", want_key);
	assert_true(err.code < 0);
	assert_non_null(err.key);
	assert_string_equal(err.key, want_key);
	if (!strstr(err.msg, w1) || (w2 && !strstr(err.msg, w2)))
		fail_msg("message '%s' lacks '%s' / '%s'", err.msg, w1, w2 ? w2 : "");
	dp_opt_free(tab, o);
}

static void test_defaults(void **state)
{
	(void)state;
	struct opts o;
	struct dp_err err = { 0 };
	assert_int_equal(dp_opt_defaults(tab, &o, &err), 0);
	/* src/tls/flb_tls.c's config map: tls off, tls.verify on, tls.debug 1 */
	assert_false(o.tls.on);
	assert_true(o.tls.verify);
	assert_false(o.tls.verify_client_cert);
	assert_int_equal(o.tls.debug, 1);
	assert_null(o.tls.ca_file);
	assert_null(o.tls.min_version);
	dp_opt_free(tab, &o);
}

/* Fluent Bit (src/tls/openssl.c): tls.verify sets SSL_VERIFY_PEER only, a
 * server then admits a client without a certificate; verify_client adds
 * SSL_VERIFY_FAIL_IF_NO_PEER_CERT. */
static void test_verify_modes(void **state)
{
	(void)state;
	static const struct { const char *verify, *vcc; int mode; } cases[] = {
		{ "on", "off", SSL_VERIFY_PEER },
		{ "on", "on", SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT },
		{ "off", "off", SSL_VERIFY_NONE },
	};
	for (size_t i = 0; i < DP_ARRAY_SIZE(cases); i++) {
		struct opts o;
		struct dp_err err = { 0 };
		cfg_init(&o);
		set(&o, "tls.verify", cases[i].verify);
		set(&o, "tls.verify_client_cert", cases[i].vcc);
		struct dp_tls *t = dp_tls_create(&o.tls, DP_TLS_SERVER, &err);
		if (!t)
			fail_msg("%s", err.msg);
		assert_int_equal(SSL_CTX_get_verify_mode(t->ctx), cases[i].mode);
		dp_tls_destroy(t);
		dp_opt_free(tab, &o);
	}
}

static void test_files(void **state)
{
	(void)state;
	struct opts o;
	cfg_init(&o);
	set(&o, "tls.key_file", "/nonexistent/x.key");
	refused(&o, "tls.key_file", "tls.key_file: /nonexistent/x.key: ", "No such file");
	cfg_init(&o);
	set(&o, "tls.crt_file", "/nonexistent/x.crt");
	refused(&o, "tls.crt_file", "/nonexistent/x.crt", "No such file");
	cfg_init(&o);
	set(&o, "tls.ca_file", "/nonexistent/ca.pem");
	refused(&o, "tls.ca_file", "/nonexistent/ca.pem", NULL);
	cfg_init(&o);
	set(&o, "tls.ca_path", crt);                      /* a file, not a directory */
	refused(&o, "tls.ca_path", "not a directory", NULL);
	cfg_init(&o);
	set(&o, "tls.crt_file", notpem);
	refused(&o, "tls.crt_file", "not a PEM certificate", NULL);
	cfg_init(&o);
	set(&o, "tls.key_file", notpem);
	refused(&o, "tls.key_file", "not a PEM private key", NULL);
	cfg_init(&o);
	free(o.tls.key_file);
	o.tls.key_file = NULL;
	refused(&o, "tls.key_file", "needs tls.key_file", NULL);
	cfg_init(&o);
	free(o.tls.crt_file);
	o.tls.crt_file = NULL;
	refused(&o, "tls.crt_file", "needs tls.crt_file", NULL);
}

static void test_key_and_password(void **state)
{
	(void)state;
	struct opts o;
	struct dp_err err = { 0 };
	cfg_init(&o);
	set(&o, "tls.key_file", key2);
	refused(&o, "tls.key_file", "does not match the certificate", crt);
	cfg_init(&o);
	set(&o, "tls.key_file", enc);
	refused(&o, "tls.key_file", "is encrypted: set tls.key_passwd", NULL);
	cfg_init(&o);
	set(&o, "tls.key_file", enc);
	set(&o, "tls.key_passwd", "wrong");
	refused(&o, "tls.key_passwd", "wrong password for", enc);
	cfg_init(&o);
	set(&o, "tls.key_file", enc);
	set(&o, "tls.key_passwd", "s3cret");
	struct dp_tls *t = dp_tls_create(&o.tls, DP_TLS_SERVER, &err);
	if (!t)
		fail_msg("%s", err.msg);
	dp_tls_destroy(t);
	dp_opt_free(tab, &o);
}

static void test_versions_ciphers(void **state)
{
	(void)state;
	struct opts o;
	struct dp_err err = { 0 };
	assert_int_equal(dp_tls_parse_version(NULL), 0);
	assert_int_equal(dp_tls_parse_version("tlsv1.3"), TLS1_3_VERSION);
	assert_int_equal(dp_tls_parse_version("TLSv1.2"), TLS1_2_VERSION);
	assert_int_equal(dp_tls_parse_version("SSLv3"), -1);
	cfg_init(&o);
	set(&o, "tls.min_version", "TLSv1.5");
	refused(&o, "tls.min_version", "invalid value 'TLSv1.5'", NULL);
	cfg_init(&o);
	set(&o, "tls.max_version", "x");
	refused(&o, "tls.max_version", "invalid value 'x'", NULL);
	cfg_init(&o);
	set(&o, "tls.min_version", "TLSv1.3");
	set(&o, "tls.max_version", "TLSv1.2");
	refused(&o, "tls.min_version", "above tls.max_version", NULL);
	cfg_init(&o);
	set(&o, "tls.ciphers", "NOT-A-CIPHER");
	refused(&o, "tls.ciphers", "no usable cipher", NULL);
	cfg_init(&o);
	set(&o, "tls.verify", "off");
	set(&o, "tls.verify_client_cert", "on");
	refused(&o, "tls.verify_client_cert", "needs tls.verify on", NULL);
	cfg_init(&o);
	set(&o, "tls.min_version", "TLSv1.3");
	struct dp_tls *t = dp_tls_create(&o.tls, DP_TLS_SERVER, &err);
	if (!t)
		fail_msg("%s", err.msg);
	assert_int_equal(SSL_CTX_get_min_proto_version(t->ctx), TLS1_3_VERSION);
	dp_tls_destroy(t);
	dp_opt_free(tab, &o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_verify_modes),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_key_and_password),
		cmocka_unit_test(test_versions_ciphers),
	};
	return cmocka_run_group_tests(tests, setup_files, teardown_files);
}
