/*
 * shard_tls.c — TLS on a shard's connections: one OpenSSL session per
 * accepted connection of a `tls on` input, made from the input's server
 * context (dp_tls.h), on the socket itself (no BIO pairs, no copies).
 *
 * Handshake. SSL_accept runs each time the connection is served, as long
 * as it says WANT_READ or WANT_WRITE: WANT_READ waits for the socket to be
 * readable (the connection's usual EPOLLIN), WANT_WRITE adds EPOLLOUT
 * until the handshake wants to read again. Nothing blocks: a handshake
 * costs the shard the CPU of its crypto, never a wait. One that has not
 * finished SHARD_TLS_HANDSHAKE_NS after accept is failed on the shard's
 * tick, so a client that stalls half way holds nothing for long.
 *
 * Reads. After the handshake, SSL_read fills the same buffer a plain
 * read(2) would (shard_net.c), record after record, until the buffer is
 * full or OpenSSL says WANT_READ. Plaintext OpenSSL still holds
 * (SSL_pending) is never stranded by the edge-triggered socket: the shard
 * stops reading a connection only on WANT_READ, which OpenSSL returns only
 * when it has nothing decrypted left and the socket said EAGAIN (so the
 * next byte raises a new edge); a connection stopped early (read budget,
 * memory) stays on the ready list and is read again without an event.
 *
 * Failures. A handshake that fails (certificate refused, not TLS at all,
 * closed, too slow) closes the connection and counts in the input's
 * tls_handshake_failures; with tls.debug 1 one line per 10 s per input
 * and shard says the last cause, with 2..4 every one is logged.
 *
 * Threads: the owning shard's only.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/epoll.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "dp_log.h"
#include "dp_tls.h"
#include "shard.h"
#include "shard_conn.h"
#include "shard_tls.h"

/* Failed handshakes: one log line per input and shard this often. */
#define TLS_LOG_EVERY_NS (10ull * 1000000000ull)
/* How often the loop looks for handshakes past their deadline. */
#define TLS_TICK_MS 1000

int shard_tls_conn_init(struct shard *sh, struct shard_conn *c)
{
	SSL *ssl = SSL_new(c->si->in->tls->ctx);
	if (!ssl || SSL_set_fd(ssl, c->fd) != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		return -ENOMEM;
	}
	SSL_set_accept_state(ssl);
	c->ssl = ssl;
	c->tls_hs = true;
	c->tls_deadline_ns = sh->now_ns + SHARD_TLS_HANDSHAKE_NS;
	sh->tls_hs++;
	return 0;
}

void shard_tls_conn_fini(struct shard *sh, struct shard_conn *c)
{
	/* No close_notify: the connection is going, and a peer that reset
	 * it would only make the write fail. */
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->tls_hs) {
		c->tls_hs = false;
		sh->tls_hs--;
	}
}

/* Epoll interest of a handshake: EPOLLOUT only while it wants to write. */
static void want_out(struct shard *sh, struct shard_conn *c, bool out)
{
	if (c->tls_out == out)
		return;
	c->tls_out = out;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET | (out ? EPOLLOUT : 0),
				  .data.ptr = c };
	epoll_ctl(sh->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void hs_end(struct shard *sh, struct shard_conn *c)
{
	c->tls_hs = false;
	sh->tls_hs--;
	want_out(sh, c, false);
}

static int hs_failed(struct shard *sh, struct shard_conn *c, const char *why)
{
	struct shard_in *si = c->si;
	hs_end(sh, c);
	DP_CNT_ADD(si->cnt.tls_handshake_failures, 1);
	int debug = si->in->tls->debug;
	if (debug >= 2 || (debug == 1 && dp_ratelimit_ok(&si->tls_rl, sh->now_ns, TLS_LOG_EVERY_NS)))
		dp_warn("%s: TLS handshake with %s failed: %s (%llu failed on shard %u so far%s)",
			si->in->name, c->src[0] ? c->src : "a client", why,
			(unsigned long long)si->cnt.tls_handshake_failures, sh->id,
			debug == 1 ? "; at most one such line per 10 s" : "");
	return -EPROTO;
}

/* Why SSL_accept failed, in words a person can act on. */
static const char *hs_cause(struct shard_conn *c, int e, char *buf, size_t cap)
{
	if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) {
		int err = errno;
		ERR_clear_error();
		if (e == SSL_ERROR_SYSCALL && err && err != EAGAIN)
			snprintf(buf, cap, "%s", strerror(err));
		else
			snprintf(buf, cap, "the client closed the connection");
		return buf;
	}
	long v = SSL_get_verify_result(c->ssl);
	char why[200];
	dp_tls_last_error(why, sizeof(why));
	if (v != X509_V_OK)
		snprintf(buf, cap, "client certificate refused: %s", X509_verify_cert_error_string(v));
	else if (!strcmp(why, "wrong version number") || !strcmp(why, "http request") ||
		 !strcmp(why, "unknown protocol") || !strcmp(why, "packet length too long") ||
		 !strcmp(why, "record layer failure"))
		snprintf(buf, cap, "%s (the client does not speak TLS?)", why);
	else
		snprintf(buf, cap, "%s", why);
	return buf;
}

static void hs_done_log(struct shard *sh, struct shard_conn *c)
{
	X509 *peer = SSL_get1_peer_certificate(c->ssl);
	char subject[256] = "none";
	if (peer) {
		X509_NAME_oneline(X509_get_subject_name(peer), subject, sizeof(subject));
		X509_free(peer);
	}
	dp_info("%s: TLS handshake with %s on shard %u: %s, %s, client certificate %s",
		c->si->in->name, c->src[0] ? c->src : "a client", sh->id, SSL_get_version(c->ssl),
		SSL_get_cipher_name(c->ssl), subject);
}

/* 0 when the handshake is over, -EAGAIN while it goes on, -EPROTO when it
 * failed (the connection is to be closed). */
static int handshake(struct shard *sh, struct shard_conn *c)
{
	char why[256];
	if (sh->now_ns >= c->tls_deadline_ns) {
		snprintf(why, sizeof(why), "not finished within %llu s",
			 (unsigned long long)(SHARD_TLS_HANDSHAKE_NS / 1000000000ull));
		return hs_failed(sh, c, why);
	}
	ERR_clear_error();
	errno = 0;
	int rc = SSL_accept(c->ssl);
	if (rc == 1) {
		hs_end(sh, c);
		if (c->si->in->tls->debug >= 2)
			hs_done_log(sh, c);
		return 0;
	}
	int e = SSL_get_error(c->ssl, rc);
	if (e == SSL_ERROR_WANT_READ) {
		want_out(sh, c, false);
		return -EAGAIN;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		want_out(sh, c, true);
		return -EAGAIN;
	}
	return hs_failed(sh, c, hs_cause(c, e, why, sizeof(why)));
}

ssize_t shard_tls_read(struct shard *sh, struct shard_conn *c, char *buf, size_t cap)
{
	if (unlikely(c->tls_hs)) {
		int rc = handshake(sh, c);
		if (rc) {
			errno = -rc;
			return -1;
		}
	}
	size_t got = 0;
	while (got < cap) {
		ERR_clear_error();
		int n = SSL_read(c->ssl, buf + got, (int)DP_MIN(cap - got, (size_t)INT_MAX));
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		int e = SSL_get_error(c->ssl, n);
		if (got)
			return (ssize_t)got;     /* the same answer comes again next call */
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			/* WANT_WRITE: a TLS 1.3 key update's reply found the send
			 * buffer full; EPOLLOUT brings us back. */
			want_out(sh, c, e == SSL_ERROR_WANT_WRITE);
			errno = EAGAIN;
			return -1;
		}
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;                /* close_notify, or a plain close */
		ERR_clear_error();
		errno = e == SSL_ERROR_SYSCALL && errno ? errno : EPROTO;
		return -1;                       /* a broken record or a reset: the end */
	}
	return (ssize_t)got;
}

ssize_t shard_tls_write(struct shard_conn *c, const void *buf, size_t len)
{
	if (c->tls_hs) {
		errno = EAGAIN;
		return -1;
	}
	ERR_clear_error();
	int n = SSL_write(c->ssl, buf, (int)DP_MIN(len, (size_t)INT_MAX));
	if (n > 0)
		return n;
	int e = SSL_get_error(c->ssl, n);
	ERR_clear_error();
	errno = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? EAGAIN : EPROTO;
	return -1;
}

int shard_tls_tick(struct shard *sh)
{
	if (!sh->tls_hs)
		return -1;
	if (sh->now_ns - sh->tls_tick_ns >= TLS_TICK_MS * 1000000ull) {
		sh->tls_tick_ns = sh->now_ns;
		/* Served, not closed here: the connection may be on the ready
		 * list already, which only its service may leave. */
		for (struct shard_conn *c = sh->conns; c; c = c->next)
			if (c->tls_hs && sh->now_ns >= c->tls_deadline_ns)
				shard_conn_ready(sh, c);
	}
	return TLS_TICK_MS;
}
