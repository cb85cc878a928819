/*
 * shard_tls.h — TLS sessions of a shard's connections (shard_tls.c): the
 * non-blocking server handshake and reads, driven by the shard's epoll
 * loop like plain connections. Internal to shards/.
 *
 * Threads: the owning shard's only.
 */
#ifndef SHARD_TLS_H
#define SHARD_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct shard;
struct shard_conn;

/* A handshake not finished this long after accept is given up: the
 * connection is closed and counted as a failed handshake. Long enough for
 * a client far away on a slow link (a few round trips), short enough that
 * a client that stalls half way (or a scan that opens sockets and sends
 * nothing) holds a descriptor and a session for seconds, not for ever. */
#define SHARD_TLS_HANDSHAKE_NS (10ull * 1000000000ull)

/* Accept: give c (fd and si set, not yet in epoll) a server session of
 * its input's context. 0, or -ENOMEM. */
int shard_tls_conn_init(struct shard *sh, struct shard_conn *c);
/* Close: free c's session. */
void shard_tls_conn_fini(struct shard *sh, struct shard_conn *c);

/* read(2) for a TLS connection: the handshake first (while it lasts: -1,
 * errno EAGAIN), then plaintext into buf, as much as is there, up to cap.
 * >0 bytes, 0 at the end of the stream, -1 with errno EAGAIN (nothing
 * more until the socket is readable again) or another errno (a failed
 * handshake, counted and logged here, or a broken stream). */
ssize_t shard_tls_read(struct shard *sh, struct shard_conn *c, char *buf, size_t cap);

/* write(2) for a TLS connection whose handshake is done: all of buf or
 * -1 (errno EAGAIN: the send buffer is full; or the error). */
ssize_t shard_tls_write(struct shard_conn *c, const void *buf, size_t len);

/* About once a second while handshakes are under way (shard loop): put
 * those past their deadline on the ready list, where their next read
 * fails them. Returns the most ms the loop may wait before calling again,
 * or -1 when no handshake is under way. */
int shard_tls_tick(struct shard *sh);

#endif
