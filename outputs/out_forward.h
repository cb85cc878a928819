/*
 * out_forward.h — the parts of the `forward` output (Fluent Bit's
 * out_forward, Fluentd's Forward protocol v1) that its files share: the
 * nodes it sends to (Host/Port, Unix_Path, or an Upstream file), and one
 * connection to a node with its Shared_Key handshake.
 *
 *   out_forward.c          options, setup, the messages, flush and acks
 *   out_forward_conn.c     connect (TCP, Unix, TLS), timed reads/writes,
 *                          HELO / PING / PONG
 *   out_forward_upstream.c the Upstream file ([UPSTREAM], [NODE])
 *
 * Threads: nodes are made on the control thread (setup) and then only read;
 * a connection belongs to the output worker that opened it.
 */
#ifndef OUT_FORWARD_H
#define OUT_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dp_common.h"
#include "dp_tls.h"

/* One server. Without an Upstream file there is one, from the output's
 * own keys; an Upstream [NODE] can set its own shared_key, tls.*, ... */
struct out_fwd_node {
	char *name;               /* for logs: the [NODE] name, or host:port */
	char *host;
	int port;
	char *unix_path;          /* set: a Unix socket instead of host:port */
	/* secure forward: shared_key NULL = no handshake */
	char *shared_key;
	char *self_hostname;
	char *username, *password;
	char salt[17];            /* shared_key_salt, 16 characters */
	struct dp_tls *tls;       /* NULL: plain TCP */
	bool tls_verify_hostname;
	char *tls_vhost;          /* SNI / name checked; NULL: host */
};

/* The connection to one node, on one worker. */
struct out_fwd_conn {
	int fd;                   /* -1: closed */
	void *ssl;                /* SSL *, or NULL */
	const struct out_fwd_node *node;
	/* what the server wrote that was not consumed yet */
	uint8_t rx[4096];
	size_t rx_len;
	size_t rx_last;           /* size of the object the last read returned */
};

/* Timeouts of a connection, milliseconds (0: none). */
struct out_fwd_timeouts {
	int connect_ms;
	int io_ms;
};

void out_fwd_conn_init(struct out_fwd_conn *c, const struct out_fwd_node *n);
/* Connect (and TLS handshake, and the Shared_Key handshake when the node
 * has a key). 0, or -errno with why[] filled for the log. */
int out_fwd_conn_open(struct out_fwd_conn *c, const struct out_fwd_timeouts *t, char *why, size_t cap);
void out_fwd_conn_close(struct out_fwd_conn *c);
static inline bool out_fwd_conn_is_open(const struct out_fwd_conn *c)
{
	return c->fd >= 0;
}
/* Write all of p[0..len) before deadline_ns (monotonic; 0: none). */
int out_fwd_conn_write(struct out_fwd_conn *c, const void *p, size_t len, uint64_t deadline_ns);
/* Read one whole msgpack object the server sent: *obj / *len point into
 * c->rx and stay valid until the next read. -ETIMEDOUT at the deadline,
 * -ECONNRESET when the server closed, -EPROTO when it is not msgpack or
 * larger than c->rx. */
int out_fwd_conn_read_obj(struct out_fwd_conn *c, uint64_t deadline_ns, const uint8_t **obj, size_t *len);

/* msgpack reading of the server's small messages (HELO, PONG, ack). */
/* The string at p (n bytes): its bytes and length; false if not a str/bin. */
bool out_fwd_mp_str(const uint8_t *p, size_t n, const char **s, size_t *len);
/* In the map at p (n bytes), the value of key k: pointer and bytes left. */
bool out_fwd_mp_map_get(const uint8_t *p, size_t n, const char *k, const uint8_t **v, size_t *vn);
/* Element i of the array at p: pointer and bytes left; false if absent. */
bool out_fwd_mp_array_get(const uint8_t *p, size_t n, uint32_t i, const uint8_t **v, size_t *vn,
			  uint32_t *count);

/* sha512 of the concatenation of parts, as 128 lower-case hex characters
 * (and a NUL). */
void out_fwd_sha512_hex(const void *const *parts, const size_t *lens, unsigned n, char out[129]);

/* Read the Upstream file at path into nodes (out_forward_upstream.c).
 * defaults: the output's own node, whose keys a [NODE] inherits unless it
 * sets them. 0, or -errno with err naming the file and line. */
int out_fwd_upstream_load(const char *path, const struct out_fwd_node *defaults, struct out_fwd_node **nodes,
			  unsigned *n, struct dp_err *err);
void out_fwd_node_fini(struct out_fwd_node *n);

#endif
