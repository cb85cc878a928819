/*
 * out_forward_conn.c — one connection of the forward output to a node
 * (out_forward.h): TCP or a Unix socket, TLS through the client role of
 * dp_tls.c, every step bounded by a deadline (non-blocking socket + poll),
 * and the Shared_Key handshake of Forward protocol v1 as a client:
 *
 *   server: ["HELO", {"nonce": bin, "auth": bin (empty: no user auth),
 *            "keepalive": bool}]
 *   client: ["PING", self_hostname, shared_key_salt,
 *            hex(sha512(salt + self_hostname + nonce + shared_key)),
 *            username, hex(sha512(auth + username + password))]   (the last
 *            two empty strings when the server sent no auth)
 *   server: ["PONG", ok (bool), reason, server_hostname,
 *            hex(sha512(salt + server_hostname + nonce + shared_key))]
 *
 * (https://github.com/fluent/fluentd/wiki/Forward-Protocol-Specification-v1,
 * "Handshake Messages"; Fluent Bit plugins/out_forward/forward.c,
 * secure_forward_handshake.) The PONG's digest is checked, as Fluentd's
 * out_forward does and Fluent Bit does not: a server that does not know the
 * key cannot pass for one that does.
 *
 * Threads: the output worker that owns the connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "dp_chunk.h"
#include "dp_time.h"
#include "out_forward.h"

void out_fwd_conn_init(struct out_fwd_conn *c, const struct out_fwd_node *n)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->node = n;
}

void out_fwd_conn_close(struct out_fwd_conn *c)
{
	if (c->ssl) {
		/* No close_notify wait: the server may be gone. */
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rx_len = c->rx_last = 0;
}

static uint64_t deadline_of(int ms)
{
	return ms > 0 ? dp_time_mono_ns() + (uint64_t)ms * 1000000ull : 0;
}

/* Wait for events on fd until deadline: 0, or -ETIMEDOUT. */
static int wait_fd(int fd, short events, uint64_t deadline_ns)
{
	for (;;) {
		int ms = -1;
		if (deadline_ns) {
			uint64_t now = dp_time_mono_ns();
			if (now >= deadline_ns)
				return -ETIMEDOUT;
			ms = (int)((deadline_ns - now + 999999) / 1000000);
		}
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, ms);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int connect_fd(const struct sockaddr *sa, socklen_t len, uint64_t deadline, char *why, size_t cap)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, sa, len) < 0 && errno != EINPROGRESS) {
		int e = errno;
		snprintf(why, cap, "connect: %s", strerror(e));
		close(fd);
		return -e;
	}
	int rc = wait_fd(fd, POLLOUT, deadline);
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (!rc && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (rc || soerr) {
		rc = rc ? rc : -soerr;
		snprintf(why, cap, "connect: %s", rc == -ETIMEDOUT ? "timed out (net.connect_timeout)" : strerror(-rc));
		close(fd);
		return rc;
	}
	if (sa->sa_family != AF_UNIX) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return fd;
}

static int open_socket(const struct out_fwd_node *n, uint64_t deadline, char *why, size_t cap)
{
	if (n->unix_path) {
		struct sockaddr_un su = { .sun_family = AF_UNIX };
		if (strlen(n->unix_path) >= sizeof(su.sun_path)) {
			snprintf(why, cap, "Unix_Path too long");
			return -ENAMETOOLONG;
		}
		strcpy(su.sun_path, n->unix_path);
		return connect_fd((struct sockaddr *)&su, sizeof(su), deadline, why, cap);
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC }, *res = NULL;
	char port[16];
	snprintf(port, sizeof(port), "%d", n->port);
	int g = getaddrinfo(n->host, port, &hints, &res);
	if (g) {
		snprintf(why, cap, "cannot resolve: %s", gai_strerror(g));
		return -EHOSTUNREACH;
	}
	int fd = -EHOSTUNREACH;
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next)
		fd = connect_fd(a->ai_addr, a->ai_addrlen, deadline, why, cap);
	freeaddrinfo(res);
	return fd;
}

/* Drive an SSL call that may want to read or write until it completes. */
static int ssl_wait(struct out_fwd_conn *c, int r, uint64_t deadline)
{
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return wait_fd(c->fd, POLLIN, deadline);
	if (e == SSL_ERROR_WANT_WRITE)
		return wait_fd(c->fd, POLLOUT, deadline);
	if (e == SSL_ERROR_ZERO_RETURN)
		return -ECONNRESET;
	if (e == SSL_ERROR_SYSCALL)
		return errno ? -errno : -ECONNRESET;
	return -EPROTO;
}

static int tls_start(struct out_fwd_conn *c, uint64_t deadline, char *why, size_t cap)
{
	const struct out_fwd_node *n = c->node;
	SSL *ssl = SSL_new(n->tls->ctx);
	if (!ssl || SSL_set_fd(ssl, c->fd) != 1) {
		SSL_free(ssl);
		snprintf(why, cap, "TLS: cannot create a session");
		return -ENOMEM;
	}
	c->ssl = ssl;
	const char *name = n->tls_vhost ? n->tls_vhost : n->host;
	struct in6_addr a6;
	struct in_addr a4;
	bool ip = inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1;
	if (!ip)
		SSL_set_tlsext_host_name(ssl, name);   /* SNI is for names only */
	if (n->tls_verify_hostname)
		SSL_set1_host(ssl, name);           /* a name or an IP address */
	SSL_set_connect_state(ssl);
	ERR_clear_error();
	for (;;) {
		int r = SSL_connect(ssl);
		if (r == 1)
			return 0;
		int rc = ssl_wait(c, r, deadline);
		if (rc == -ETIMEDOUT) {
			snprintf(why, cap, "TLS handshake timed out (net.connect_timeout)");
			return rc;
		}
		if (rc) {
			char e[200];
			long v = SSL_get_verify_result(ssl);
			if (v != X509_V_OK)
				snprintf(why, cap, "TLS handshake: certificate verify failed: %s",
					 X509_verify_cert_error_string(v));
			else
				snprintf(why, cap, "TLS handshake: %s", dp_tls_last_error(e, sizeof(e)));
			return -EPROTO;
		}
	}
}

int out_fwd_conn_write(struct out_fwd_conn *c, const void *p, size_t len, uint64_t deadline_ns)
{
	const uint8_t *b = p;
	while (len) {
		ssize_t k;
		if (c->ssl) {
			ERR_clear_error();
			int r = SSL_write(c->ssl, b, len > INT32_MAX ? INT32_MAX : (int)len);
			if (r <= 0) {
				int rc = ssl_wait(c, r, deadline_ns);
				if (rc)
					return rc;
				continue;
			}
			k = r;
		} else {
			k = send(c->fd, b, len, MSG_NOSIGNAL);
			if (k < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN)
					return -errno;
				int rc = wait_fd(c->fd, POLLOUT, deadline_ns);
				if (rc)
					return rc;
				continue;
			}
		}
		b += k;
		len -= (size_t)k;
	}
	return 0;
}

int out_fwd_conn_read_obj(struct out_fwd_conn *c, uint64_t deadline_ns, const uint8_t **obj, size_t *len)
{
	if (c->rx_last) {
		memmove(c->rx, c->rx + c->rx_last, c->rx_len - c->rx_last);
		c->rx_len -= c->rx_last;
		c->rx_last = 0;
	}
	for (;;) {
		size_t sz = c->rx_len ? dp_mp_object_size(c->rx, c->rx_len) : 0;
		if (sz) {
			*obj = c->rx;
			*len = sz;
			c->rx_last = sz;
			return 0;
		}
		if (c->rx_len == sizeof(c->rx))
			return -EPROTO;   /* not msgpack, or larger than any answer */
		ssize_t k;
		if (c->ssl) {
			ERR_clear_error();
			int r = SSL_read(c->ssl, c->rx + c->rx_len, (int)(sizeof(c->rx) - c->rx_len));
			if (r <= 0) {
				int rc = ssl_wait(c, r, deadline_ns);
				if (rc)
					return rc;
				continue;
			}
			k = r;
		} else {
			k = recv(c->fd, c->rx + c->rx_len, sizeof(c->rx) - c->rx_len, 0);
			if (k == 0)
				return -ECONNRESET;
			if (k < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN)
					return -errno;
				int rc = wait_fd(c->fd, POLLIN, deadline_ns);
				if (rc)
					return rc;
				continue;
			}
		}
		c->rx_len += (size_t)k;
	}
}

/* ---- msgpack of the server's messages ---- */

bool out_fwd_mp_str(const uint8_t *p, size_t n, const char **s, size_t *len)
{
	bool bin;
	size_t hdr;
	if (!n || !dp_mp_strbin(p, n, &bin, &hdr, len))
		return false;
	*s = (const char *)p + hdr;
	return true;
}

bool out_fwd_mp_array_get(const uint8_t *p, size_t n, uint32_t i, const uint8_t **v, size_t *vn,
			  uint32_t *count)
{
	uint32_t cnt;
	size_t hdr;
	if (!dp_mp_container(p, n, false, &cnt, &hdr))
		return false;
	if (count)
		*count = cnt;
	if (i >= cnt)
		return false;
	size_t off = hdr;
	for (uint32_t k = 0; k < i; k++) {
		size_t sz = dp_mp_object_size(p + off, n - off);
		if (!sz)
			return false;
		off += sz;
	}
	*v = p + off;
	*vn = n - off;
	return off < n;
}

bool out_fwd_mp_map_get(const uint8_t *p, size_t n, const char *k, const uint8_t **v, size_t *vn)
{
	uint32_t cnt;
	size_t off, kl = strlen(k);
	if (!dp_mp_container(p, n, true, &cnt, &off))
		return false;
	for (uint32_t i = 0; i < cnt; i++) {
		const char *s;
		size_t sl;
		size_t ksz = dp_mp_object_size(p + off, n - off);
		if (!ksz)
			return false;
		bool match = out_fwd_mp_str(p + off, n - off, &s, &sl) && sl == kl && !memcmp(s, k, kl);
		off += ksz;
		if (off >= n)
			return false;
		if (match) {
			*v = p + off;
			*vn = n - off;
			return true;
		}
		size_t vsz = dp_mp_object_size(p + off, n - off);
		if (!vsz)
			return false;
		off += vsz;
	}
	return false;
}

void out_fwd_sha512_hex(const void *const *parts, const size_t *lens, unsigned n, char out[129])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[64];
	unsigned mdlen = 0;
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	if (!x || EVP_DigestInit_ex(x, EVP_sha512(), NULL) != 1) {
		EVP_MD_CTX_free(x);
		memset(out, '0', 128);
		out[128] = 0;
		return;
	}
	for (unsigned i = 0; i < n; i++)
		EVP_DigestUpdate(x, parts[i], lens[i]);
	EVP_DigestFinal_ex(x, md, &mdlen);
	EVP_MD_CTX_free(x);
	for (unsigned i = 0; i < 64; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[128] = 0;
}

/* ---- the Shared_Key handshake ---- */

static size_t put_str(uint8_t *w, const char *s, size_t n)
{
	size_t h = dp_mp_str_hdr(w, n);
	memcpy(w + h, s, n);
	return h + n;
}

static int handshake(struct out_fwd_conn *c, uint64_t deadline, char *why, size_t cap)
{
	const struct out_fwd_node *n = c->node;
	const uint8_t *m, *v, *opts;
	size_t mn, vn, on;
	int rc = out_fwd_conn_read_obj(c, deadline, &m, &mn);
	if (rc) {
		snprintf(why, cap, "no HELO from the server: %s", strerror(-rc));
		return rc;
	}
	const char *s;
	size_t sl;
	if (!out_fwd_mp_array_get(m, mn, 0, &v, &vn, NULL) || !out_fwd_mp_str(v, vn, &s, &sl) || sl != 4 ||
	    memcmp(s, "HELO", 4) || !out_fwd_mp_array_get(m, mn, 1, &opts, &on, NULL)) {
		snprintf(why, cap, "the server's first message is not a HELO");
		return -EPROTO;
	}
	const char *nonce = NULL, *auth = "";
	size_t nonce_len = 0, auth_len = 0;
	if (!out_fwd_mp_map_get(opts, on, "nonce", &v, &vn) || !out_fwd_mp_str(v, vn, &nonce, &nonce_len)) {
		snprintf(why, cap, "HELO without a nonce");
		return -EPROTO;
	}
	if (out_fwd_mp_map_get(opts, on, "auth", &v, &vn))
		out_fwd_mp_str(v, vn, &auth, &auth_len);
	/* Keep what the digests need: the next read reuses c->rx. */
	char nonce_b[256], auth_b[256];
	if (nonce_len > sizeof(nonce_b) || auth_len > sizeof(auth_b)) {
		snprintf(why, cap, "HELO nonce or auth too long");
		return -EPROTO;
	}
	memcpy(nonce_b, nonce, nonce_len);
	memcpy(auth_b, auth, auth_len);
	const char *host = n->self_hostname, *key = n->shared_key;
	char key_hex[129], pw_hex[129] = "";
	const void *kp[4] = { n->salt, host, nonce_b, key };
	size_t kl[4] = { 16, strlen(host), nonce_len, strlen(key) };
	out_fwd_sha512_hex(kp, kl, 4, key_hex);
	const char *user = "";
	if (auth_len) {
		user = n->username ? n->username : "";
		const char *pw = n->password ? n->password : "";
		const void *pp[3] = { auth_b, user, pw };
		size_t pl[3] = { auth_len, strlen(user), strlen(pw) };
		out_fwd_sha512_hex(pp, pl, 3, pw_hex);
	}
	uint8_t ping[1024];
	size_t hl = strlen(host), ul = strlen(user);
	if (hl > 300 || ul > 300) {
		snprintf(why, cap, "Self_Hostname or Username too long");
		return -EINVAL;
	}
	size_t o = 0;
	ping[o++] = 0x96;
	o += put_str(ping + o, "PING", 4);
	o += put_str(ping + o, host, hl);
	o += put_str(ping + o, n->salt, 16);
	o += put_str(ping + o, key_hex, 128);
	o += put_str(ping + o, user, ul);
	o += put_str(ping + o, pw_hex, auth_len ? 128 : 0);
	if ((rc = out_fwd_conn_write(c, ping, o, deadline))) {
		snprintf(why, cap, "cannot send PING: %s", strerror(-rc));
		return rc;
	}
	if ((rc = out_fwd_conn_read_obj(c, deadline, &m, &mn))) {
		snprintf(why, cap, "no PONG from the server: %s", strerror(-rc));
		return rc;
	}
	if (!out_fwd_mp_array_get(m, mn, 0, &v, &vn, NULL) || !out_fwd_mp_str(v, vn, &s, &sl) || sl != 4 ||
	    memcmp(s, "PONG", 4) || !out_fwd_mp_array_get(m, mn, 1, &v, &vn, NULL) ||
	    (v[0] != 0xc2 && v[0] != 0xc3)) {
		snprintf(why, cap, "the server's answer to PING is not a PONG");
		return -EPROTO;
	}
	if (v[0] == 0xc2) {
		const char *r = "";
		size_t rl = 0;
		if (out_fwd_mp_array_get(m, mn, 2, &v, &vn, NULL))
			out_fwd_mp_str(v, vn, &r, &rl);
		snprintf(why, cap, "the server refused the handshake: %.*s", (int)(rl > 200 ? 200 : rl), r);
		return -EACCES;
	}
	const char *sh = "", *dg = "";
	size_t shl = 0, dgl = 0;
	if (out_fwd_mp_array_get(m, mn, 3, &v, &vn, NULL))
		out_fwd_mp_str(v, vn, &sh, &shl);
	if (out_fwd_mp_array_get(m, mn, 4, &v, &vn, NULL))
		out_fwd_mp_str(v, vn, &dg, &dgl);
	char want[129];
	const void *wp[4] = { n->salt, sh, nonce_b, key };
	size_t wl[4] = { 16, shl, nonce_len, strlen(key) };
	out_fwd_sha512_hex(wp, wl, 4, want);
	if (dgl != 128 || memcmp(dg, want, 128)) {
		snprintf(why, cap, "the PONG's shared key digest is wrong: the server does not have our Shared_Key");
		return -EACCES;
	}
	return 0;
}

int out_fwd_conn_open(struct out_fwd_conn *c, const struct out_fwd_timeouts *t, char *why, size_t cap)
{
	out_fwd_conn_close(c);
	why[0] = 0;
	uint64_t deadline = deadline_of(t->connect_ms);
	int fd = open_socket(c->node, deadline, why, cap);
	if (fd < 0)
		return fd;
	c->fd = fd;
	int rc = 0;
	if (c->node->tls)
		rc = tls_start(c, deadline, why, cap);
	if (!rc && c->node->shared_key)
		rc = handshake(c, deadline_of(t->io_ms), why, cap);
	if (rc)
		out_fwd_conn_close(c);
	return rc;
}
