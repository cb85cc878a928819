/*
 * shard_net_bind.c — the sockets of the epoll backend's inputs: a TCP or
 * UDP port bound by every shard with SO_REUSEPORT (shard 0 first checks
 * that nobody else holds it), or a Unix socket path (a stale socket file
 * replaced, a live one refused), and the same check for a reload before
 * it changes anything (shard_net_check_bind).
 *
 * Threads: shard_net_bind on the shard opening the input (or the control
 * thread while shards are parked); shard_net_check_bind on the control
 * thread.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "dp_log.h"
#include "shard.h"
#include "shard_conn.h"

static int resolve(const char *host, int port, int socktype, struct sockaddr_storage *ss,
		   socklen_t *len, struct dp_err *err, const char *name)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = socktype,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	char pbuf[16];
	snprintf(pbuf, sizeof(pbuf), "%d", port);
	int rc = getaddrinfo(host, pbuf, &hints, &res);
	if (rc)
		return dp_err_set(err, -EINVAL, "%s: cannot resolve Listen '%s': %s", name, host,
				  gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* SO_REUSEPORT would let a second sluice (or anything of the same user)
 * share the port silently and take half the traffic. Shard 0 first binds
 * without it, which fails when anyone holds the port, then lets go. */
static int port_is_free(const struct sockaddr_storage *ss, socklen_t sl, int type)
{
	int fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	int rc = bind(fd, (const struct sockaddr *)ss, sl) ? -errno : 0;
	close(fd);
	return rc;
}

/* A bound (and, for streams, listening) TCP or UDP socket. */
static int open_inet(struct shard *sh, const struct dp_input *in, bool stream, struct dp_err *err)
{
	int type = stream ? SOCK_STREAM : SOCK_DGRAM;
	const char *proto = stream ? "tcp" : "udp";
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	int rc = resolve(in->listen, in->port, type, &ss, &sl, err, in->name);
	if (rc)
		return rc;
	/* At start-up; a reload checked before it changed anything (and the
	 * shards, opening at once, would see each other's sockets). */
	if (sh->id == 0 && !sh->rebind && (rc = port_is_free(&ss, sl, type)))
		return dp_err_set(err, rc, "%s: cannot bind %s:%d (%s): %s", in->name, in->listen, in->port,
				  proto, strerror(-rc));
	int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return dp_err_set(err, -errno, "%s: socket: %s", in->name, strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Every shard binds the same port; the kernel spreads connections
	 * (TCP) and flows (UDP) across them. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		rc = dp_err_set(err, -errno, "%s: cannot bind %s:%d (%s): %s", in->name, in->listen,
				in->port, proto, strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

int shard_net_check_bind(const struct dp_input *in, struct dp_err *err)
{
	if (dp_net_is_unix(in->net)) {
		/* in use by a live process (a socket file nobody serves is
		 * replaced when the input opens, as at start-up) */
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", in->path);
		int probe = socket(AF_UNIX, (dp_net_is_stream(in->net) ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
		bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (probe >= 0)
			close(probe);
		return live ? dp_err_set(err, -EADDRINUSE, "%s: Path '%s' is in use by another process",
					 in->name, in->path) : 0;
	}
	if (in->net != DP_NET_TCP && in->net != DP_NET_UDP)
		return 0;
	int type = in->net == DP_NET_TCP ? SOCK_STREAM : SOCK_DGRAM;
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	int rc = resolve(in->listen, in->port, type, &ss, &sl, err, in->name);
	if (!rc && (rc = port_is_free(&ss, sl, type)))
		dp_err_set(err, rc, "%s: cannot bind %s:%d (%s): %s", in->name, in->listen, in->port,
			   type == SOCK_STREAM ? "tcp" : "udp", strerror(-rc));
	return rc;
}

/* A bound Unix socket at in->path. A socket file nobody serves (left by a
 * crash) is replaced; one a live process serves, or a file that is not a
 * socket, is an error: sluice never takes over another's socket. */
static int open_unix(const struct dp_input *in, bool stream, struct dp_err *err)
{
	int type = stream ? SOCK_STREAM : SOCK_DGRAM;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", in->path);
	struct stat st;
	if (lstat(in->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return dp_err_set(err, -EEXIST, "%s: Path '%s' exists and is not a socket", in->name,
					  in->path);
		int probe = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (probe >= 0)
			close(probe);
		if (live)
			return dp_err_set(err, -EADDRINUSE, "%s: Path '%s' is in use by another process",
					  in->name, in->path);
		unlink(in->path);
	}
	int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return dp_err_set(err, -errno, "%s: socket: %s", in->name, strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(in->path, in->unix_perm) < 0) {
		int rc = dp_err_set(err, -errno, "%s: cannot bind Path '%s': %s", in->name, in->path,
				    strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

int shard_net_bind(struct shard *sh, const struct dp_input *in, bool stream, struct dp_err *err)
{
	return dp_net_is_unix(in->net) ? open_unix(in, stream, err) : open_inet(sh, in, stream, err);
}
