/*
 * dp_tls.h — the one TLS mechanism of sluice's network plugins (issue 14):
 * the `tls.*` keys as rows every plugin's option table includes (so help
 * and docs/CONFIG.md say the same everywhere), and an OpenSSL context made
 * from them, for a server (the syslog and tcp inputs; forward later) or a
 * client (the forward output, outputs/out_forward_conn.c).
 *
 * What each key means follows Fluent Bit (src/tls/flb_tls.c's config map,
 * src/tls/openssl.c's tls_context_create), with one difference written in
 * the rows: a bad certificate, key or password refuses the start here,
 * where Fluent Bit logs some of them and goes on.
 *
 * Threads: contexts are made and destroyed on the control thread, before
 * the shards start and after they stop. A context is then shared read-only
 * by the shards, each making its own SSL objects from it (OpenSSL 3 allows
 * SSL_new on one SSL_CTX from several threads).
 */
#ifndef DP_TLS_H
#define DP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dp_common.h"
#include "dp_opt.h"

/* The keys, as a plugin's option struct holds them. */
struct dp_tls_cfg {
	bool on;                  /* tls */
	bool verify;              /* tls.verify */
	bool verify_client_cert;  /* tls.verify_client_cert (servers) */
	int64_t debug;            /* tls.debug 0..4 */
	char *ca_file, *ca_path, *crt_file, *key_file, *key_passwd, *vhost;
	char *min_version, *max_version, *ciphers;
};

enum dp_tls_role { DP_TLS_SERVER, DP_TLS_CLIENT };

/* An OpenSSL context and what sessions made from it need to know. */
struct ssl_ctx_st;
struct dp_tls {
	struct ssl_ctx_st *ctx;   /* SSL_CTX */
	enum dp_tls_role role;
	int debug;                /* tls.debug */
	char *vhost;              /* client: SNI */
};

/* The rows of the tls.* keys for a server; T is the plugin's option
 * struct, F its struct dp_tls_cfg member. */
#define DP_TLS_SERVER_OPTS(T, F) \
	{ "tls", DP_OPT_BOOL, "off", offsetof(T, F.on), NULL, 0, 0, 0, \
	  "Accept TLS connections only (with tls.crt_file and tls.key_file); for syslog, RFC 5425 " \
	  "(usually on port 6514). See 'TLS' in docs/OPERATIONS.md." }, \
	{ "tls.verify", DP_OPT_BOOL, "on", offsetof(T, F.verify), NULL, 0, 0, 0, \
	  "Ask each client for a certificate and refuse the connection when the one it sends does " \
	  "not verify (chain to tls.ca_file / tls.ca_path, else the system's CAs; dates). A client " \
	  "that sends none is let in, as in Fluent Bit; see tls.verify_client_cert." }, \
	{ "tls.verify_client_cert", DP_OPT_BOOL, "off", offsetof(T, F.verify_client_cert), NULL, 0, 0, 0, \
	  "With tls.verify on: also refuse a client that sends no certificate (mutual TLS)." }, \
	{ "tls.debug", DP_OPT_INT, "1", offsetof(T, F.debug), NULL, 0, 4, 0, \
	  "0: failed handshakes are only counted; 1: also logged, at most one line per 10 s per input " \
	  "and shard; 2-4: every failed and every completed handshake logged with the client's address." }, \
	{ "tls.ca_file", DP_OPT_STR, NULL, offsetof(T, F.ca_file), NULL, 0, 0, 0, \
	  "PEM file of the CA certificates client certificates must chain to." }, \
	{ "tls.ca_path", DP_OPT_STR, NULL, offsetof(T, F.ca_path), NULL, 0, 0, 0, \
	  "Directory of CA certificates (c_rehash layout); used instead of tls.ca_file when both are set, " \
	  "as in Fluent Bit." }, \
	{ "tls.crt_file", DP_OPT_STR, NULL, offsetof(T, F.crt_file), NULL, 0, 0, 0, \
	  "The server's certificate (PEM; intermediates may follow it). Required with tls on." }, \
	{ "tls.key_file", DP_OPT_STR, NULL, offsetof(T, F.key_file), NULL, 0, 0, 0, \
	  "The server's private key (PEM). Required with tls on; it must match tls.crt_file." }, \
	{ "tls.key_passwd", DP_OPT_STR, NULL, offsetof(T, F.key_passwd), NULL, 0, 0, 0, \
	  "Password of an encrypted tls.key_file." }, \
	{ "tls.vhost", DP_OPT_STR, NULL, offsetof(T, F.vhost), NULL, 0, 0, 0, \
	  "Server name for TLS SNI. A server does not use it (accepted for Fluent Bit configurations)." }, \
	{ "tls.min_version", DP_OPT_STR, NULL, offsetof(T, F.min_version), NULL, 0, 0, 0, \
	  "Lowest protocol accepted: TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3. Unset: OpenSSL's default " \
	  "(TLSv1.2 on Debian 12)." }, \
	{ "tls.max_version", DP_OPT_STR, NULL, offsetof(T, F.max_version), NULL, 0, 0, 0, \
	  "Highest protocol accepted, as tls.min_version. Unset: TLSv1.3." }, \
	{ "tls.ciphers", DP_OPT_STR, NULL, offsetof(T, F.ciphers), NULL, 0, 0, 0, \
	  "OpenSSL cipher list for TLS 1.2 and below (TLS 1.3 suites are OpenSSL's)." }

/* The rows of the tls.* keys for a client (the forward output), as
 * DP_TLS_SERVER_OPTS. tls.verify_hostname is the plugin's own row: it is
 * checked per connection, against the name it connects to. */
#define DP_TLS_CLIENT_OPTS(T, F) \
	{ "tls", DP_OPT_BOOL, "off", offsetof(T, F.on), NULL, 0, 0, 0, "Connect with TLS." }, \
	{ "tls.verify", DP_OPT_BOOL, "on", offsetof(T, F.verify), NULL, 0, 0, 0, \
	  "Verify the server's certificate chain (to tls.ca_file / tls.ca_path, else the system's CAs)." }, \
	{ "tls.debug", DP_OPT_INT, "1", offsetof(T, F.debug), NULL, 0, 4, 0, \
	  "0: failed handshakes are not logged; 1 and up: logged (rate-limited)." }, \
	{ "tls.ca_file", DP_OPT_STR, NULL, offsetof(T, F.ca_file), NULL, 0, 0, 0, \
	  "PEM file of the CA certificates the server's certificate must chain to." }, \
	{ "tls.ca_path", DP_OPT_STR, NULL, offsetof(T, F.ca_path), NULL, 0, 0, 0, \
	  "Directory of CA certificates (c_rehash layout); used instead of tls.ca_file when both are set." }, \
	{ "tls.crt_file", DP_OPT_STR, NULL, offsetof(T, F.crt_file), NULL, 0, 0, 0, \
	  "Client certificate (PEM), for servers that ask for one." }, \
	{ "tls.key_file", DP_OPT_STR, NULL, offsetof(T, F.key_file), NULL, 0, 0, 0, \
	  "Client private key (PEM); it must match tls.crt_file." }, \
	{ "tls.key_passwd", DP_OPT_STR, NULL, offsetof(T, F.key_passwd), NULL, 0, 0, 0, \
	  "Password of an encrypted tls.key_file." }, \
	{ "tls.vhost", DP_OPT_STR, NULL, offsetof(T, F.vhost), NULL, 0, 0, 0, \
	  "Server name sent in TLS SNI (and checked with tls.verify_hostname) instead of Host." }, \
	{ "tls.min_version", DP_OPT_STR, NULL, offsetof(T, F.min_version), NULL, 0, 0, 0, \
	  "Lowest protocol offered: TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3. Unset: OpenSSL's default." }, \
	{ "tls.max_version", DP_OPT_STR, NULL, offsetof(T, F.max_version), NULL, 0, 0, 0, \
	  "Highest protocol offered, as tls.min_version. Unset: TLSv1.3." }, \
	{ "tls.ciphers", DP_OPT_STR, NULL, offsetof(T, F.ciphers), NULL, 0, 0, 0, \
	  "OpenSSL cipher list for TLS 1.2 and below (TLS 1.3 suites are OpenSSL's)." }

/* Make the context of cfg (cfg->on must be set). Errors name the key and
 * the file: "tls.key_file: /x.key: no such file", and refuse what would
 * fail every handshake later: a missing or unreadable file, a key that
 * does not match the certificate, a wrong or missing password. Returns
 * NULL with err filled (err->key set to the key at fault). */
struct dp_tls *dp_tls_create(const struct dp_tls_cfg *cfg, enum dp_tls_role role, struct dp_err *err);
void dp_tls_destroy(struct dp_tls *t);

/* The protocol version a tls.min_version/max_version value names
 * (TLS1_2_VERSION ...), 0 for NULL, -1 when unknown. */
int dp_tls_parse_version(const char *s);

/* The last OpenSSL error of this thread as text ("wrong version number"),
 * into buf; the thread's error queue is emptied. Returns buf. */
const char *dp_tls_last_error(char *buf, size_t cap);

#endif
