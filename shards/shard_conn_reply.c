/*
 * shard_conn_reply.c — writing back to a connection's sender (the forward
 * input's HELO, PONG and acks): a reply now, or replies owed until the
 * chunks they wait for come back (shard_conn.h).
 *
 * Threads: the owning shard's only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "shard.h"
#include "shard_conn.h"
#include "shard_tls.h"

int shard_conn_reply(struct shard *sh, struct shard_conn *c, const void *msg, size_t len)
{
	if (c->closing)
		return -EIO;
	/* A reply is a few dozen bytes: it fits in the socket's send buffer
	 * unless the sender stopped reading, and then it is not waited for. */
	ssize_t n = c->ssl ? shard_tls_write(c, msg, len) : send(c->fd, msg, len, MSG_NOSIGNAL);
	if (n == (ssize_t)len)
		return 0;
	c->closing = true;
	shard_conn_ready(sh, c);
	return -EIO;
}

/* An owed reply in c->acks.buf: the chunk number it waits for, its
 * length, its bytes. */
struct ack_hdr {
	uint64_t after;
	uint32_t len;
};

int shard_conn_ack_add(struct shard *sh, struct shard_conn *c, uint64_t after, const void *msg,
		       size_t len)
{
	struct shard_conn_acks *a = &c->acks;
	size_t need = a->len + sizeof(struct ack_hdr) + len;
	if (need > a->cap) {
		/* grows by doubling: per connection, not per message */
		size_t cap = DP_MAX(need, DP_MAX((size_t)a->cap * 2, (size_t)256));
		uint8_t *b = cap <= UINT32_MAX ? realloc(a->buf, cap) : NULL;
		if (!b)
			return -ENOMEM;
		a->buf = b;
		a->cap = (uint32_t)cap;
	}
	struct ack_hdr h = { after, (uint32_t)len };
	memcpy(a->buf + a->len, &h, sizeof(h));
	memcpy(a->buf + a->len + sizeof(h), msg, len);
	a->len += (uint32_t)(sizeof(h) + len);
	a->n++;
	sh->acks_owed++;
	return 0;
}

void shard_conn_acks_due(struct shard *sh, struct shard_in *si, uint64_t head)
{
	for (struct shard_conn *c = sh->conns; c; c = c->next) {
		struct shard_conn_acks *a = &c->acks;
		if (c->si != si || a->n == 0)
			continue;
		uint32_t off = 0;
		while (off < a->len) {
			struct ack_hdr h;
			memcpy(&h, a->buf + off, sizeof(h));
			if (h.after >= head)
				break;
			shard_conn_reply(sh, c, a->buf + off + sizeof(h), h.len);
			off += (uint32_t)sizeof(h) + h.len;
			a->n--;
			sh->acks_owed--;
		}
		memmove(a->buf, a->buf + off, a->len - off);
		a->len -= off;
		/* a sender that closed its side waited for these: now it may go */
		if (a->n == 0 && c->eof_flushed)
			shard_conn_ready(sh, c);
	}
}

void shard_conn_answer(struct shard *sh, struct shard_conn *c, uint64_t head, uint64_t tail,
		       const void *msg, size_t len)
{
	if (tail == head) {
		shard_conn_reply(sh, c, msg, len);
		return;
	}
	if (shard_conn_ack_add(sh, c, tail - 1, msg, len)) {
		c->closing = true;
		shard_conn_ready(sh, c);
	}
}
