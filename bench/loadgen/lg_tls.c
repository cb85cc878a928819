/*
 * lg_tls.c — loadgen --tls: each TCP connection as a TLS client, so that
 * sluice's TLS inputs (syslog RFC 5425, tcp with tls on) can be loaded by
 * a sender that is not the bottleneck: the same pre-built corpus and
 * 256 KiB writes as plain TCP, one SSL_write each (16 records), AES-GCM in
 * OpenSSL. The server's certificate is not checked: the benchmark talks to
 * a sluice it started itself, and what is measured is sluice's side.
 *
 * Threads: the handshake on main before the clock starts, then each
 * session belongs to its sender thread.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "loadgen.h"

static SSL_CTX *lg_tls_ctx;

void *lg_tls_connect(int fd, const char *host)
{
	char why[256];
	if (!lg_tls_ctx) {
		lg_tls_ctx = SSL_CTX_new(TLS_client_method());
		if (!lg_tls_ctx)
			return NULL;
		SSL_CTX_set_verify(lg_tls_ctx, SSL_VERIFY_NONE, NULL);
	}
	SSL *ssl = SSL_new(lg_tls_ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_tlsext_host_name(ssl, host);
	if (SSL_connect(ssl) != 1) {
		ERR_error_string_n(ERR_get_error(), why, sizeof(why));
		fprintf(stderr, "loadgen: TLS handshake failed: %s\n", why);
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

int lg_tls_write_all(void *tls, const char *p, size_t len, size_t *done, atomic_int *stop)
{
	SSL *ssl = tls;
	*done = 0;
	while (*done < len) {
		size_t n = 0;
		if (SSL_write_ex(ssl, p + *done, len - *done, &n) == 1) {
			*done += n;
			continue;
		}
		int e = SSL_get_error(ssl, 0);
		if (e == SSL_ERROR_SYSCALL && errno == EINTR) {
			if (atomic_load_explicit(stop, memory_order_relaxed))
				return -EINTR;
			continue;      /* the same buffer again, as OpenSSL wants */
		}
		ERR_clear_error();
		return e == SSL_ERROR_SYSCALL && errno ? -errno : -EIO;
	}
	return 0;
}

void lg_tls_shutdown(void *tls)
{
	/* close_notify; the peer's reply is not waited for */
	SSL_shutdown(tls);
}

void lg_tls_free(void *tls)
{
	SSL_free(tls);
}
