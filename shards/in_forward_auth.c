/*
 * in_forward_auth.c — the forward input's secure forward handshake
 * (Forward Protocol Specification v1, "Handshake Messages"), as Fluent
 * Bit's in_forward and Fluentd's in_forward answer it:
 *
 *   server: ["HELO", {"nonce": 16 random bytes, "auth": 16 random bytes of
 *            salt, or "" without Security.Users, "keepalive": true}]
 *   client: ["PING", client_hostname, shared_key_salt,
 *            hex(sha512(shared_key_salt + client_hostname + nonce + shared_key)),
 *            username, hex(sha512(auth_salt + username + password))]
 *   server: ["PONG", true, "", Self_Hostname,
 *            hex(sha512(shared_key_salt + Self_Hostname + nonce + shared_key))]
 *        or ["PONG", false, reason, "", ""] and the connection is closed.
 *
 * Until its PING passes, nothing a connection sends becomes a record.
 *
 * Threads: the shard that owns the connection.
 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include "dp_chunk.h"
#include "in_forward.h"
#include "shard_conn.h"

enum { PH_NEW, PH_HELO, PH_OK };

/* The handshake's state in the connection's in_state bytes. */
struct fwd_conn {
	uint8_t phase;
	uint8_t nonce[16];
	uint8_t salt[16];
};
_Static_assert(sizeof(struct fwd_conn) <= sizeof(((struct shard_conn *)0)->in_state),
	       "fwd_conn must fit in shard_conn.in_state");

static struct fwd_conn *state(struct shard_conn *c)
{
	return (struct fwd_conn *)(void *)c->in_state;
}

/* lowercase hex of sha512 over the parts */
static void digest(char out[128], const void *const *p, const size_t *len, unsigned n)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t md[64];
	unsigned mdlen = 0;
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	memset(md, 0, sizeof(md));
	if (x && EVP_DigestInit_ex(x, EVP_sha512(), NULL)) {
		for (unsigned i = 0; i < n; i++)
			EVP_DigestUpdate(x, p[i], len[i]);
		EVP_DigestFinal_ex(x, md, &mdlen);
	}
	EVP_MD_CTX_free(x);
	for (unsigned i = 0; i < 64; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
}

static size_t put_str(uint8_t *w, const void *s, size_t n)
{
	size_t h = dp_mp_str_hdr(w, n);
	memcpy(w + h, s, n);
	return h + n;
}

void in_fwd_auth_helo(const struct in_fwd_auth *a, struct shard *sh, struct shard_conn *c)
{
	struct fwd_conn *st = state(c);
	uint8_t msg[128];
	size_t n = 0;
	if (RAND_bytes(st->nonce, sizeof(st->nonce)) != 1 ||
	    RAND_bytes(st->salt, sizeof(st->salt)) != 1) {
		c->closing = true;
		return;
	}
	msg[n++] = 0x92;
	n += put_str(msg + n, "HELO", 4);
	msg[n++] = 0x83;
	n += put_str(msg + n, "nonce", 5);
	n += put_str(msg + n, st->nonce, sizeof(st->nonce));
	n += put_str(msg + n, "auth", 4);
	n += put_str(msg + n, st->salt, a->nusers ? sizeof(st->salt) : 0);
	n += put_str(msg + n, "keepalive", 9);
	msg[n++] = 0xc3;
	st->phase = PH_HELO;
	shard_conn_reply(sh, c, msg, n);
}

bool in_fwd_auth_done(struct shard_conn *c)
{
	return state(c)->phase == PH_OK;
}

/* The strings of a PING, in order; false when it is not one. */
static bool ping_fields(const uint8_t *p, size_t len, const char *f[6], size_t fl[6])
{
	const uint8_t *e = p + len;
	uint32_t n;
	size_t hdr;
	if (!dp_mp_container(p, len, false, &n, &hdr) || n != 6)
		return false;
	p += hdr;
	for (unsigned i = 0; i < 6; i++) {
		bool bin;
		size_t h, l;
		if (p >= e || !dp_mp_strbin(p, (size_t)(e - p), &bin, &h, &l))
			return false;
		f[i] = (const char *)p + h;
		fl[i] = l;
		p += h + l;
	}
	return fl[0] == 4 && memcmp(f[0], "PING", 4) == 0;
}

static bool user_ok(const struct in_fwd_auth *a, const struct fwd_conn *st, const char *user,
		    size_t ul, const char *pw_digest, size_t pl)
{
	for (unsigned i = 0; i < a->nusers; i++) {
		const struct in_fwd_user *u = &a->users[i];
		if (strlen(u->name) != ul || memcmp(u->name, user, ul) != 0 || pl != 128)
			continue;
		char want[128];
		const void *parts[] = { st->salt, u->name, u->password };
		size_t lens[] = { sizeof(st->salt), ul, strlen(u->password) };
		digest(want, parts, lens, 3);
		if (memcmp(want, pw_digest, 128) == 0)
			return true;
	}
	return false;
}

static void pong(const struct in_fwd_auth *a, struct shard *sh, struct shard_conn *c, bool ok,
		 const char *reason, const char *salt, size_t salt_len)
{
	struct fwd_conn *st = state(c);
	uint8_t msg[64 + 128 + 2 * DP_TAG_MAX];
	size_t n = 0, hl = strlen(a->hostname);
	msg[n++] = 0x95;
	n += put_str(msg + n, "PONG", 4);
	msg[n++] = ok ? 0xc3 : 0xc2;
	if (ok) {
		char d[128];
		const void *parts[] = { salt, a->hostname, st->nonce, a->shared_key };
		size_t lens[] = { salt_len, hl, sizeof(st->nonce), strlen(a->shared_key) };
		digest(d, parts, lens, 4);
		n += put_str(msg + n, "", 0);
		n += put_str(msg + n, a->hostname, hl);
		n += put_str(msg + n, d, 128);
	} else {
		n += put_str(msg + n, reason, strlen(reason));
		n += put_str(msg + n, "", 0);
		n += put_str(msg + n, "", 0);
	}
	shard_conn_reply(sh, c, msg, n);
}

bool in_fwd_auth_ping(const struct in_fwd_auth *a, struct shard *sh, struct shard_conn *c,
		      const void *p, size_t len)
{
	struct fwd_conn *st = state(c);
	const char *f[6];
	size_t fl[6];
	if (st->phase != PH_HELO || !ping_fields(p, len, f, fl)) {
		/* anything but a PING after HELO: refused without a PONG */
		c->closing = true;
		return false;
	}
	/* f: PING, hostname, shared_key_salt, digest, username, password digest */
	char want[128];
	const void *parts[] = { f[2], f[1], st->nonce, a->shared_key };
	size_t lens[] = { fl[2], fl[1], sizeof(st->nonce), strlen(a->shared_key) };
	digest(want, parts, lens, 4);
	const char *why = NULL;
	if (fl[3] != 128 || memcmp(want, f[3], 128) != 0)
		why = "shared_key mismatch";
	else if (a->nusers && !user_ok(a, st, f[4], fl[4], f[5], fl[5]))
		why = "username/password mismatch";
	if (fl[1] > DP_TAG_MAX || fl[2] > DP_TAG_MAX)
		why = "PING too long";
	pong(a, sh, c, why == NULL, why, f[2], fl[2]);
	if (why) {
		c->closing = true;
		return false;
	}
	st->phase = PH_OK;
	return true;
}
