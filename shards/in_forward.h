/*
 * in_forward.h — what in_forward.c (the forward input) and
 * in_forward_auth.c (its secure forward handshake) share. Internal to
 * shards/.
 *
 * Threads: the configuration is made on the control thread and read only
 * after; the calls run on the shard that owns the connection.
 */
#ifndef IN_FORWARD_H
#define IN_FORWARD_H

#include <stdbool.h>
#include <stddef.h>

struct shard;
struct shard_conn;

struct in_fwd_user {
	char *name;
	char *password;
};

/* Shared_Key (or "" with Empty_Shared_Key), Self_Hostname, Security.Users. */
struct in_fwd_auth {
	const char *shared_key;
	const char *hostname;
	struct in_fwd_user *users;
	unsigned nusers;
};

/* Send HELO on a new connection (its nonce and salt kept in c). */
void in_fwd_auth_helo(const struct in_fwd_auth *a, struct shard *sh, struct shard_conn *c);
/* Has c passed its PING? */
bool in_fwd_auth_done(struct shard_conn *c);
/* The first message after HELO, p[0..len): a PING with the right digests
 * gets PONG true (true returned); anything else gets PONG false (or, not
 * being a PING at all, nothing) and c is closed. */
bool in_fwd_auth_ping(const struct in_fwd_auth *a, struct shard *sh, struct shard_conn *c,
		      const void *p, size_t len);

#endif
