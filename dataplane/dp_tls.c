/*
 * dp_tls.c — OpenSSL contexts from the tls.* keys (see dp_tls.h).
 *
 * Every check that can be made before a client comes is made here, at
 * start-up, so that a typo in a path or a stale password stops sluice with
 * the key named instead of failing every handshake later.
 *
 * Threads: control thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "dp_tls.h"

const char *dp_tls_last_error(char *buf, size_t cap)
{
	/* OpenSSL queues the innermost error first ("no start line" before
	 * "PEM lib"): it says the most. The rest is dropped. */
	unsigned long first = ERR_get_error();
	ERR_clear_error();
	if (!first) {
		snprintf(buf, cap, "unknown error");
		return buf;
	}
	const char *r = ERR_reason_error_string(first);
	if (r)
		snprintf(buf, cap, "%s", r);
	else
		ERR_error_string_n(first, buf, cap);
	return buf;
}

int dp_tls_parse_version(const char *s)
{
	static const struct { const char *name; int ver; } v[] = {
		{ "TLSv1", TLS1_VERSION }, { "TLSv1.0", TLS1_VERSION }, { "TLSv1.1", TLS1_1_VERSION },
		{ "TLSv1.2", TLS1_2_VERSION }, { "TLSv1.3", TLS1_3_VERSION },
	};
	if (!s)
		return 0;
	for (size_t i = 0; i < DP_ARRAY_SIZE(v); i++)
		if (!strcasecmp(s, v[i].name))
			return v[i].ver;
	return -1;
}

/* A file the key names must be there and readable: said plainly here,
 * since OpenSSL's own message for it ("system lib") names neither. */
static int file_ok(const char *key, const char *path, bool dir, struct dp_err *err)
{
	struct stat st;
	err->key = key;
	if (!*path)
		return dp_err_set(err, -EINVAL, "%s: empty path", key);
	if (stat(path, &st) < 0 || access(path, R_OK) < 0)
		return dp_err_set(err, -errno, "%s: %s: %s", key, path, strerror(errno));
	if (dir && !S_ISDIR(st.st_mode))
		return dp_err_set(err, -ENOTDIR, "%s: %s: not a directory", key, path);
	if (!dir && S_ISDIR(st.st_mode))
		return dp_err_set(err, -EISDIR, "%s: %s: is a directory, not a file", key, path);
	return 0;
}

/* The key password callback. OpenSSL's default one would prompt on the
 * terminal for an encrypted key, which under a service manager blocks
 * start-up forever: this one gives tls.key_passwd or nothing, and notes
 * that it was asked, so a failure can say "encrypted" or "wrong password"
 * rather than OpenSSL's "bad decrypt". */
struct passwd_ask {
	const char *passwd;
	bool asked;
};

static int passwd_cb(char *buf, int size, int rwflag, void *u)
{
	struct passwd_ask *a = u;
	(void)rwflag;
	a->asked = true;
	if (!a->passwd)
		return -1;
	size_t n = strlen(a->passwd);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, a->passwd, n);
	return (int)n;
}

static int load_key(SSL_CTX *ctx, const struct dp_tls_cfg *cfg, struct dp_err *err)
{
	char why[256];
	struct passwd_ask ask = { .passwd = cfg->key_passwd };
	SSL_CTX_set_default_passwd_cb(ctx, passwd_cb);
	SSL_CTX_set_default_passwd_cb_userdata(ctx, &ask);
	ERR_clear_error();
	int ok = SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM);
	/* The callback's state lives on this stack: nothing may call it later. */
	SSL_CTX_set_default_passwd_cb(ctx, NULL);
	SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
	if (ok == 1)
		return 0;
	dp_tls_last_error(why, sizeof(why));
	if (ask.asked && !cfg->key_passwd) {
		err->key = "tls.key_file";
		return dp_err_set(err, -EACCES, "tls.key_file: %s is encrypted: set tls.key_passwd",
				  cfg->key_file);
	}
	if (!strcmp(why, "key values mismatch")) {
		/* OpenSSL checks the key against the certificate as it loads it */
		err->key = "tls.key_file";
		return dp_err_set(err, -EINVAL, "tls.key_file: %s does not match the certificate in "
				  "tls.crt_file (%s)", cfg->key_file, cfg->crt_file);
	}
	if (ask.asked) {
		err->key = "tls.key_passwd";
		return dp_err_set(err, -EACCES, "tls.key_passwd: wrong password for %s (%s)", cfg->key_file,
				  why);
	}
	err->key = "tls.key_file";
	return dp_err_set(err, -EINVAL, "tls.key_file: %s: not a PEM private key (%s)", cfg->key_file, why);
}

static int versions(SSL_CTX *ctx, const struct dp_tls_cfg *cfg, struct dp_err *err)
{
	int lo = dp_tls_parse_version(cfg->min_version);
	int hi = dp_tls_parse_version(cfg->max_version);
	if (lo < 0) {
		err->key = "tls.min_version";
		return dp_err_set(err, -EINVAL, "invalid value '%s' for 'tls.min_version': expected TLSv1, "
				  "TLSv1.1, TLSv1.2 or TLSv1.3", cfg->min_version);
	}
	if (hi < 0) {
		err->key = "tls.max_version";
		return dp_err_set(err, -EINVAL, "invalid value '%s' for 'tls.max_version': expected TLSv1, "
				  "TLSv1.1, TLSv1.2 or TLSv1.3", cfg->max_version);
	}
	if (lo && hi && lo > hi) {
		err->key = "tls.min_version";
		return dp_err_set(err, -EINVAL, "tls.min_version %s is above tls.max_version %s",
				  cfg->min_version, cfg->max_version);
	}
	/* 0 leaves OpenSSL's bound (its configuration file's MinProtocol). */
	if ((lo && !SSL_CTX_set_min_proto_version(ctx, lo)) ||
	    (hi && !SSL_CTX_set_max_proto_version(ctx, hi))) {
		err->key = lo ? "tls.min_version" : "tls.max_version";
		return dp_err_set(err, -EINVAL, "%s: not supported by this OpenSSL", err->key);
	}
	return 0;
}

static int trust(SSL_CTX *ctx, const struct dp_tls_cfg *cfg, struct dp_err *err)
{
	char why[256];
	int rc;
	ERR_clear_error();
	/* Fluent Bit takes tls.ca_path over tls.ca_file, and the system's
	 * CAs when neither is set (openssl.c, load_system_certificates). */
	if (cfg->ca_path) {
		if ((rc = file_ok("tls.ca_path", cfg->ca_path, true, err)))
			return rc;
		if (SSL_CTX_load_verify_locations(ctx, NULL, cfg->ca_path) != 1)
			return dp_err_set(err, -EINVAL, "tls.ca_path: %s: %s", cfg->ca_path,
					  dp_tls_last_error(why, sizeof(why)));
	} else if (cfg->ca_file) {
		if ((rc = file_ok("tls.ca_file", cfg->ca_file, false, err)))
			return rc;
		if (SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1)
			return dp_err_set(err, -EINVAL, "tls.ca_file: %s: no PEM certificate in it (%s)",
					  cfg->ca_file, dp_tls_last_error(why, sizeof(why)));
	} else if (cfg->verify) {
		SSL_CTX_set_default_verify_paths(ctx);
		ERR_clear_error();
	}
	return 0;
}

static int identity(SSL_CTX *ctx, const struct dp_tls_cfg *cfg, enum dp_tls_role role, struct dp_err *err)
{
	char why[256];
	int rc;
	if (role == DP_TLS_SERVER && !cfg->crt_file) {
		err->key = "tls.crt_file";
		return dp_err_set(err, -EINVAL, "tls on needs tls.crt_file, the server's certificate");
	}
	if (role == DP_TLS_SERVER && !cfg->key_file) {
		err->key = "tls.key_file";
		return dp_err_set(err, -EINVAL, "tls on needs tls.key_file, the server's private key");
	}
	if (!cfg->crt_file && !cfg->key_file)
		return 0;     /* a client without a certificate */
	if (!cfg->crt_file || !cfg->key_file) {
		err->key = cfg->crt_file ? "tls.key_file" : "tls.crt_file";
		return dp_err_set(err, -EINVAL, "tls.crt_file and tls.key_file go together: set %s too",
				  err->key);
	}
	if ((rc = file_ok("tls.crt_file", cfg->crt_file, false, err)) ||
	    (rc = file_ok("tls.key_file", cfg->key_file, false, err)))
		return rc;
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->crt_file) != 1) {
		err->key = "tls.crt_file";
		return dp_err_set(err, -EINVAL, "tls.crt_file: %s: not a PEM certificate (%s)", cfg->crt_file,
				  dp_tls_last_error(why, sizeof(why)));
	}
	if ((rc = load_key(ctx, cfg, err)))
		return rc;
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		err->key = "tls.key_file";
		return dp_err_set(err, -EINVAL, "tls.key_file: %s does not match the certificate in "
				  "tls.crt_file (%s)", cfg->key_file, cfg->crt_file);
	}
	return 0;
}

struct dp_tls *dp_tls_create(const struct dp_tls_cfg *cfg, enum dp_tls_role role, struct dp_err *err)
{
	char why[256];
	struct dp_tls *t = calloc(1, sizeof(*t));
	SSL_CTX *ctx = SSL_CTX_new(role == DP_TLS_SERVER ? TLS_server_method() : TLS_client_method());
	if (!t || !ctx) {
		free(t);
		SSL_CTX_free(ctx);
		err->key = "tls";
		dp_err_set(err, -ENOMEM, "tls: cannot create an OpenSSL context: %s",
			   dp_tls_last_error(why, sizeof(why)));
		return NULL;
	}
	t->ctx = ctx;
	t->role = role;
	t->debug = (int)cfg->debug;
	int rc = 0;
	if (cfg->verify_client_cert && !cfg->verify) {
		/* OpenSSL ignores "fail without a certificate" when it does not
		 * verify at all: refuse a setting that would silently admit
		 * everyone. */
		err->key = "tls.verify_client_cert";
		rc = dp_err_set(err, -EINVAL, "tls.verify_client_cert on needs tls.verify on");
		goto fail;
	}
	/* tls.verify: Fluent Bit's tls_context_create sets SSL_VERIFY_PEER,
	 * which on a server asks for a client certificate and fails the
	 * handshake on one that does not verify, but lets a client without
	 * one in; tls.verify_client_cert adds SSL_VERIFY_FAIL_IF_NO_PEER_CERT
	 * as its tls_context_set_verify_client does. */
	int mode = cfg->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE;
	if (cfg->verify && cfg->verify_client_cert && role == DP_TLS_SERVER)
		mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	SSL_CTX_set_verify(ctx, mode, NULL);
	/* A sender that closes without close_notify (most log shippers do)
	 * ends its stream like any TCP close: what came is kept. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION |
			    SSL_OP_NO_RENEGOTIATION);
	/* Read whole records in one recv (fewer system calls per byte), and
	 * give an idle connection's buffers back: the shard reads every
	 * connection until it would block, so nothing is left pending. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (role == DP_TLS_SERVER) {
		/* Session resumption of TLS 1.2 clients, per context. */
		static const unsigned char sid_ctx[] = "sluice";
		SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
		/* No TLS 1.3 session tickets: a server sends them after the
		 * handshake, and a log sender that only writes never reads
		 * them; when it closes, the unread ticket makes its kernel
		 * send a reset instead of a FIN, and a reset makes ours drop
		 * what the sender wrote last and sluice had not read yet.
		 * Senders keep their connections open: resumption saves them
		 * little. (TLS 1.2 resumption by session id stays.) */
		SSL_CTX_set_num_tickets(ctx, 0);
	}
	if ((rc = versions(ctx, cfg, err)))
		goto fail;
	if (cfg->ciphers && SSL_CTX_set_cipher_list(ctx, cfg->ciphers) != 1) {
		err->key = "tls.ciphers";
		rc = dp_err_set(err, -EINVAL, "tls.ciphers: no usable cipher in '%s' (%s)", cfg->ciphers,
				dp_tls_last_error(why, sizeof(why)));
		goto fail;
	}
	if ((rc = trust(ctx, cfg, err)) || (rc = identity(ctx, cfg, role, err)))
		goto fail;
	if (cfg->vhost && role == DP_TLS_CLIENT && !(t->vhost = strdup(cfg->vhost))) {
		rc = dp_err_set(err, -ENOMEM, "tls.vhost: out of memory");
		goto fail;
	}
	ERR_clear_error();
	return t;
fail:
	(void)rc;
	ERR_clear_error();
	dp_tls_destroy(t);
	return NULL;
}

void dp_tls_destroy(struct dp_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t->vhost);
	free(t);
}
