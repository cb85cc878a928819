/*
 * shard_conn.h — a TCP connection of a shard's epoll backend, shared by
 * shard_net.c (accept, plain reads, framing) and shard_tls.c (its TLS
 * session). Internal to shards/.
 *
 * Threads: the owning shard's only.
 */
#ifndef SHARD_CONN_H
#define SHARD_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include "psr_frame.h"
#include "shard.h"

struct shard_conn {
	uint8_t kind;
	bool in_ready;
	bool eof;
	bool more;                  /* the last burst stopped at max frames */
	bool eof_flushed;           /* the unterminated tail was taken */
	int fd;
	struct shard_in *si;
	struct shard_conn *next_ready;
	struct shard_conn *prev, *next;  /* all connections */
	struct psr_framer fr;
	/* Bytes being framed: the shard's read buffer during a service,
	 * `keep` in between. data[start..fill) is not consumed yet. */
	char *data;
	uint32_t start, fill;
	uint32_t cap;               /* how much of the shard buffer it may use */
	char *keep;
	uint32_t keep_cap;
	uint8_t src_len;
	char src[80];               /* "tcp://ip:port" when Source_Address_Key is set (src_len),
	                               or for TLS (named in its log lines) */
	/* TLS (shard_tls.c); ssl NULL for a plain connection */
	struct ssl_st *ssl;
	bool tls_hs;                /* handshake not finished */
	bool tls_out;               /* EPOLLOUT asked for (the handshake wants to write) */
	uint64_t tls_deadline_ns;   /* the handshake's end, CLOCK_MONOTONIC */
	/* Replies owed to the sender (forward acks), each written once every
	 * chunk of the input numbered below its `after` has been released
	 * (shard_conn_acks_due). Bytes: len, then the reply, back to back. */
	struct shard_conn_acks {
		uint8_t *buf;
		uint32_t len, cap;
		uint32_t n;
	} acks;
	bool closing;               /* close at the next chance: a reply could not be
	                               written, or the input refused the sender */
	bool opened;                /* dp_input_ops.conn_open ran */
	/* the input's own state of this connection (forward: its handshake) */
	uint8_t in_state[40];
	uint32_t frame_done;        /* dp_input_ops.frame: records of the first pending frame
	                               already emitted */
	unsigned nframes, next_frame;
	struct psr_frame frames[DP_BURST];
};

/* The epoll backend's calls shared by its files: shard_net.c (accept,
 * reads, framing), shard_net_bind.c (sockets), shard_net_retire.c (a
 * reload's inputs that go). */
enum { CONN_IDLE, CONN_BUSY, CONN_PAUSED, CONN_CLOSED };
/* A bound socket for in (not listening yet): its fd, or -errno with err. */
int shard_net_bind(struct shard *sh, const struct dp_input *in, bool stream, struct dp_err *err);
/* Accept every connection waiting on si's listener. */
void shard_net_accept_all(struct shard *sh, struct shard_in *si);
/* Read, frame and parse what c has, up to budget reads: CONN_*. */
int shard_net_conn_service(struct shard *sh, struct shard_conn *c, int budget);
/* Read si's UDP socket, up to budget bursts: CONN_IDLE or CONN_BUSY. */
int shard_net_udp_service(struct shard *sh, struct shard_in *si, int budget);
void shard_net_conn_close(struct shard *sh, struct shard_conn *c);

/* Put c on the shard's list of connections to serve. */
static inline void shard_conn_ready(struct shard *sh, struct shard_conn *c)
{
	if (c->in_ready)
		return;
	c->in_ready = true;
	c->next_ready = sh->ready;
	sh->ready = c;
}

/* Write msg[0..len) to c's sender now, whole. A sender that does not
 * read its replies (send buffer full) or a broken connection: -EIO, and
 * the connection is closed at its next service (never under the caller,
 * which may be serving it). */
int shard_conn_reply(struct shard *sh, struct shard_conn *c, const void *msg, size_t len);
/* Queue msg for c, to be written by shard_conn_acks_due once chunk
 * number `after` and all before it are released. 0 or -ENOMEM. */
int shard_conn_ack_add(struct shard *sh, struct shard_conn *c, uint64_t after, const void *msg,
		       size_t len);
/* msg for c in its turn, after the chunks an input numbered so far
 * ([head, tail) of its shard_seq are out): at once when none is out, else
 * queued (shard_conn_ack_add) for when chunk tail - 1 is released. Out of
 * memory to queue it: the connection is closed (its sender would wait for
 * ever). */
void shard_conn_answer(struct shard *sh, struct shard_conn *c, uint64_t head, uint64_t tail,
		       const void *msg, size_t len);
/* Input si's chunks below `head` are released: write every queued reply
 * of its connections that waited for them, in order. */
void shard_conn_acks_due(struct shard *sh, struct shard_in *si, uint64_t head);

#endif
