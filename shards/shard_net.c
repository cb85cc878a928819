/*
 * shard_net.c — the epoll receive backend of a shard: SO_REUSEPORT TCP
 * listeners and their connections (edge-triggered), and UDP sockets read
 * with recvmmsg.
 *
 * Reads go into one buffer per shard (Buffer_Max_Size plus one read),
 * after the unfinished frame the connection kept from its previous read;
 * frames are cut in place (psr_frame_burst) and parsed straight into the
 * input's open chunk: the one copy of the data is the parser's, into the
 * chunk. Between services a connection keeps only what it has not handed
 * on yet (`keep`): usually a partial line of a few hundred bytes, so an
 * idle connection costs about a kilobyte, not a read buffer. When the
 * input's memory is exhausted the connection keeps its pending frames too
 * and stays on the ready list without reading: the kernel's receive window
 * fills and the sender blocks. Connection structs are allocated at accept
 * time and `keep` grows only when a tail outgrows it (not per event).
 *
 * A connection of a tls input reads through shard_tls.c (handshake, then
 * SSL_read into the same buffer); everything after the read is the same.
 * Replies to the sender (forward acks) are written by shard_conn_reply.c,
 * sockets bound by shard_net_bind.c, and a reload's inputs that go are
 * read out and closed by shard_net_retire.c.
 *
 * Threads: the owning shard's only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "dp_log.h"
#include "dp_time.h"
#include "psr_frame.h"
#include "shard.h"
#include "shard_conn.h"
#include "shard_tls.h"

/* Reads per connection per loop before giving the others a turn. */
#define CONN_READ_BUDGET 4
/* UDP datagrams per recvmmsg and the largest one accepted. */
#define UDP_BURST DP_BURST

struct listen_ev {
	uint8_t kind;
	const struct dp_input *in;   /* by object: a reload may move its index */
};

struct udp_bufs {
	struct mmsghdr msgs[UDP_BURST];
	struct iovec iov[UDP_BURST];
	/* SO_RXQ_OVFL: the socket's count of datagrams the kernel dropped */
	char ctl[UDP_BURST][CMSG_SPACE(sizeof(uint32_t))];
	struct sockaddr_storage peer[UDP_BURST];
	uint32_t size;
	char data[];
};

/* ---- sockets ---- */

int shard_net_open(struct shard *sh, struct shard_in *si, struct dp_err *err)
{
	struct dp_input *in = si->in;
	bool stream = dp_net_is_stream(in->net);
	int fd = shard_net_bind(sh, in, stream, err);
	if (fd < 0)
		return fd;
	int one = 1;
	if (in->rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &in->rcvbuf, sizeof(in->rcvbuf));
	if (!stream)
		setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	if (stream && listen(fd, 1024) < 0) {
		int rc = dp_err_set(err, -errno, "%s: listen: %s", in->name, strerror(errno));
		close(fd);
		return rc;
	}
	struct listen_ev *t = calloc(1, sizeof(*t));
	if (!t) {
		close(fd);
		return dp_err_set(err, -ENOMEM, "%s: out of memory", in->name);
	}
	t->kind = stream ? SHARD_EV_LISTEN : SHARD_EV_UDP;
	t->in = in;
	struct epoll_event ev = { .events = EPOLLIN | (stream ? 0 : EPOLLET), .data.ptr = t };
	epoll_ctl(sh->epfd, EPOLL_CTL_ADD, fd, &ev);
	si->fd = fd;
	si->ev = t;
	uint32_t need = in->max_frame + PSR_FRAME_HEADROOM + in->read_size;
	if (stream && need > sh->rbuf_cap) {
		char *b = realloc(sh->rbuf, need);
		if (!b)
			return dp_err_set(err, -ENOMEM, "%s: out of memory", in->name);
		sh->rbuf = b;
		sh->rbuf_cap = need;
	}
	if (!stream && !sh->udp) {
		uint32_t size = 65536;
		struct udp_bufs *u = malloc(sizeof(*u) + (size_t)size * UDP_BURST);
		if (!u)
			return dp_err_set(err, -ENOMEM, "%s: out of memory", in->name);
		u->size = size;
		sh->udp = u;
	}
	return 0;
}

/* ---- connections ---- */

/* The sender as Fluent Bit names it in Source_Address_Key: tcp://ip:port,
 * udp://ip:port, unix://path. Returns the length (0 when unknown). */
static size_t peer_name(char *out, size_t cap, const void *sa, socklen_t len, bool stream)
{
	const struct sockaddr *a = sa;
	char host[INET6_ADDRSTRLEN];
	int n = 0;
	if (len >= sizeof(struct sockaddr_in) && a->sa_family == AF_INET) {
		const struct sockaddr_in *in = sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		n = snprintf(out, cap, "%s://%s:%u", stream ? "tcp" : "udp", host, ntohs(in->sin_port));
	} else if (len >= sizeof(struct sockaddr_in6) && a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		n = snprintf(out, cap, "%s://%s:%u", stream ? "tcp" : "udp", host, ntohs(in6->sin6_port));
	} else if (a->sa_family == AF_UNIX || len <= sizeof(sa_family_t)) {
		const struct sockaddr_un *un = sa;
		size_t plen = len > offsetof(struct sockaddr_un, sun_path) ?
			      strnlen(un->sun_path, len - offsetof(struct sockaddr_un, sun_path)) : 0;
		n = snprintf(out, cap, "unix://%.*s", (int)plen, plen ? un->sun_path : "");
	}
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

void shard_net_conn_close(struct shard *sh, struct shard_conn *c)
{
	if (c->ssl)
		shard_tls_conn_fini(sh, c);
	epoll_ctl(sh->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	sh->nconns--;
	if (c->prev)
		c->prev->next = c->next;
	else
		sh->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->keep);
	sh->acks_owed -= c->acks.n;
	free(c->acks.buf);   /* replies still owed die with the connection */
	free(c);
}

/* Out of file descriptors (or memory), a pending connection would keep
 * the level-triggered listener readable and the shard spinning. Shed it:
 * give back the spare descriptor, accept, close, take the spare again. The
 * client sees its connection closed; the shed is counted and logged at
 * most once a minute. */
static void shed(struct shard *sh, struct shard_in *si, int fd, const char *why)
{
	if (fd < 0 && sh->spare_fd >= 0) {
		close(sh->spare_fd);
		fd = accept4(si->fd, NULL, NULL, SOCK_CLOEXEC);
		sh->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (fd >= 0)
		close(fd);
	DP_CNT_ADD(si->cnt.rejected, 1);
	if (dp_ratelimit_ok(&si->accept_rl, sh->now_ns, 60000000000ull))
		dp_warn("%s: connection refused: %s (%llu refused so far)", si->in->name, why,
			(unsigned long long)si->cnt.rejected);
}

void shard_net_accept_all(struct shard *sh, struct shard_in *si)
{
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t peerlen = sizeof(peer);
		int fd = accept4(si->fd, (struct sockaddr *)&peer, &peerlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				shed(sh, si, -1, "out of file descriptors (raise ulimit -n)");
				if (sh->spare_fd < 0)
					return;
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    dp_ratelimit_ok(&si->accept_rl, sh->now_ns, 60000000000ull))
				dp_warn("%s: accept: %s", si->in->name, strerror(errno));
			return;
		}
		if (sh->nconns >= sh->max_conns) {
			/* Past its share of descriptors the shard would starve
			 * the outputs' files and the Stats_File of theirs. */
			shed(sh, si, fd, "too many connections for the open files limit (raise ulimit -n)");
			continue;
		}
		struct shard_conn *c = calloc(1, sizeof(*c));
		char *keep = malloc(512);
		if (!c || !keep) {
			free(c);
			free(keep);
			shed(sh, si, fd, "out of memory");
			continue;
		}
		c->keep = c->data = keep;
		c->keep_cap = 512;
		c->kind = SHARD_EV_CONN;
		c->fd = fd;
		c->si = si;
		if (si->in->src_key)
			c->src_len = (uint8_t)peer_name(c->src, sizeof(c->src), &peer, peerlen, true);
		else if (si->in->tls)
			peer_name(c->src, sizeof(c->src), &peer, peerlen, true);   /* for its log lines */
		if (si->in->tls && shard_tls_conn_init(sh, c)) {
			free(c);
			free(keep);
			shed(sh, si, fd, "out of memory for a TLS session");
			continue;
		}
		c->cap = si->in->max_frame + PSR_FRAME_HEADROOM + si->in->read_size;
		psr_framer_init(&c->fr, si->in->framing, si->in->max_frame, si->in->sep, si->in->sep_len);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = c };
		epoll_ctl(sh->epfd, EPOLL_CTL_ADD, fd, &ev);
		c->next = sh->conns;
		if (sh->conns)
			sh->conns->prev = c;
		sh->conns = c;
		DP_CNT_ADD(si->cnt.connections, 1);
		sh->nconns++;
		/* Data may have arrived before the fd joined epoll. */
		shard_conn_ready(sh, c);
	}
}


/* Out of memory to keep a connection's unfinished bytes: close it rather
 * than lose its data silently; the sender sees the reset. */
static int conn_lost(struct shard *sh, struct shard_conn *c)
{
	DP_CNT_ADD(c->si->cnt.rejected, 1);
	dp_error("%s: out of memory for a connection's pending data: connection closed", c->si->in->name);
	shard_net_conn_close(sh, c);
	return CONN_CLOSED;
}

static void conn_frame(struct shard *sh, struct shard_conn *c)
{
	unsigned noversize = 0;
	size_t used = psr_frame_burst(&c->fr, c->data + c->start, c->fill - c->start, c->frames,
				      DP_BURST, &c->nframes, &noversize);
	if (unlikely(c->fr.continue_owed)) {
		static const char go_on[] = "HTTP/1.1 100 Continue\r\n\r\n";
		c->fr.continue_owed = false;
		shard_conn_reply(sh, c, go_on, sizeof(go_on) - 1);
	}
	c->start += (uint32_t)used;
	c->next_frame = 0;
	c->more = c->nframes == DP_BURST;
	if (noversize)
		DP_CNT_ADD(c->si->cnt.oversize, noversize);
	/* PSR_FRAME_MSGPACK past an object it cannot skip: the frames before
	 * it are delivered, then the connection closes (as at EOF). */
	if (unlikely(psr_framer_is_broken(&c->fr)) && !c->eof) {
		if (c->fr.malformed)
			DP_CNT_ADD(c->si->cnt.malformed, 1);
		c->eof = true;
	}
}

/* Before leaving a service: move what the connection has not handed on,
 * data from `from` (its first pending frame, or the unconsumed tail) to
 * the end, into its own `keep`, since the shard's read buffer is the next
 * connection's. Pending frames are re-pointed. -ENOMEM when keep cannot
 * grow. */
static int conn_keep(struct shard_conn *c, const char *from)
{
	uint32_t n = (uint32_t)(c->data + c->fill - from);
	uint32_t start = (uint32_t)(c->data + c->start - from);
	/* Grow when the bytes do not fit; give a large keep (needed once,
	 * during a pause) back when little is left in it. */
	uint32_t cap = n > c->keep_cap ? DP_MAX(DP_MAX(n, 2 * c->keep_cap), 512u) :
		       n <= 256 && c->keep_cap > 16384 ? 512 : 0;
	char *k = cap ? malloc(cap) : NULL;
	if (cap && !k && n > c->keep_cap)
		return -ENOMEM;
	if (!k)
		k = c->keep;
	for (unsigned i = c->next_frame; i < c->nframes; i++)
		c->frames[i].p = k + (c->frames[i].p - from);
	if (n)
		memmove(k, from, n);
	if (k != c->keep) {
		free(c->keep);
		c->keep = k;
		c->keep_cap = cap;
	}
	c->data = c->keep;
	c->start = start;
	c->fill = n;
	return 0;
}

/* One frame of this connection, with its sender for Source_Address_Key. */
static inline int conn_emit(struct shard *sh, struct shard_conn *c, struct psr_frame *f)
{
	const struct dp_input_ops *ops = c->si->in->ops;
	if (ops->frame) {
		/* a frame of several records (forward): how many are done is
		 * kept until the frame is finished */
		int rc = ops->frame(c->si->in, sh, c->si->ctx, c, f->p, f->len, &c->frame_done);
		if (rc != -EAGAIN)
			c->frame_done = 0;
		return rc;
	}
	size_t used = 0;
	int rc = shard_emit_frame(sh, c->si, f->p, f->len, c->src_len ? c->src : NULL, c->src_len,
				  &used);
	if (rc == -EAGAIN) {
		/* a frame of several JSON objects keeps only what is left */
		f->p += used;
		f->len -= (uint32_t)used;
	}
	return rc;
}

/* The input's greeting, once the connection can carry data. */
static inline void conn_opened(struct shard *sh, struct shard_conn *c)
{
	if (c->opened || c->tls_hs)
		return;
	c->opened = true;
	if (c->si->in->ops->conn_open)
		c->si->in->ops->conn_open(c->si->in, sh, c->si->ctx, c);
}

/* Serve one connection: pending frames first, then frames still in the
 * buffer, then up to `budget` reads. */
int shard_net_conn_service(struct shard *sh, struct shard_conn *c, int budget)
{
	struct shard_in *si = c->si;
	if (unlikely(c->closing)) {
		shard_net_conn_close(sh, c);
		return CONN_CLOSED;
	}
	for (;;) {
		while (c->next_frame < c->nframes) {
			struct psr_frame *f = &c->frames[c->next_frame];
			if (conn_emit(sh, c, f) == -EAGAIN)
				return conn_keep(c, f->p) ? conn_lost(sh, c) : CONN_PAUSED;
			c->next_frame++;
			if (unlikely(c->closing)) {
				shard_net_conn_close(sh, c);   /* refused by its input */
				return CONN_CLOSED;
			}
		}
		c->nframes = c->next_frame = 0;
		if (c->more) {
			conn_frame(sh, c);
			continue;
		}
		if (c->eof && c->eof_flushed) {
			if (c->acks.n)
				return CONN_IDLE;   /* its acks first (shard_conn_acks_due) */
			shard_net_conn_close(sh, c);
			return CONN_CLOSED;
		}
		if (c->eof) {
			/* The tail's frame becomes the pending frame (the
			 * framer forgets it), delivered by the loop above. */
			int rc = psr_frame_flush(&c->fr, c->data + c->start, c->fill - c->start,
						 &c->frames[0]);
			c->eof_flushed = true;
			if (rc < 0)
				DP_CNT_ADD(si->cnt.oversize, 1);
			if (rc == 1) {
				c->nframes = 1;
				c->next_frame = 0;
				continue;
			}
			if (c->acks.n)
				return CONN_IDLE;
			shard_net_conn_close(sh, c);
			return CONN_CLOSED;
		}
		if (budget-- <= 0)
			return conn_keep(c, c->data + c->start) ? conn_lost(sh, c) : CONN_BUSY;
		conn_opened(sh, c);
		if (unlikely(c->closing)) {
			shard_net_conn_close(sh, c);
			return CONN_CLOSED;
		}
		/* The unfinished frame first, then the read after it. */
		uint32_t tail = c->fill - c->start;
		if (tail)
			memmove(sh->rbuf, c->data + c->start, tail);
		c->data = sh->rbuf;
		c->start = 0;
		c->fill = tail;
		/* The one branch TLS costs a plain connection. */
		ssize_t n = c->ssl ? shard_tls_read(sh, c, c->data + c->fill, c->cap - c->fill)
				   : read(c->fd, c->data + c->fill, c->cap - c->fill);
		if (n > 0) {
			c->fill += (uint32_t)n;
			DP_CNT_ADD(si->cnt.bytes, (uint64_t)n);
			conn_frame(sh, c);
		} else if (n == 0) {
			c->eof = true;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (!c->opened && !c->tls_hs) {
				conn_opened(sh, c);   /* its TLS handshake just ended */
				continue;
			}
			return conn_keep(c, c->data + c->start) ? conn_lost(sh, c) : CONN_IDLE;
		} else if (errno != EINTR) {
			c->eof = true;   /* reset: deliver what we have, then close */
		}
	}
}

/* ---- UDP ---- */

/* The kernel reports, with each datagram, how many it has dropped on this
 * socket so far (a wrapping 32-bit count): what changed since the last
 * burst is what was lost before sluice could read it. */
static void udp_kernel_drops(struct shard_in *si, struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
			uint32_t total;
			memcpy(&total, CMSG_DATA(cm), sizeof(total));
			DP_CNT_ADD(si->cnt.kernel_dropped, (uint32_t)(total - si->kernel_drops_seen));
			si->kernel_drops_seen = total;
		}
	}
}

int shard_net_udp_service(struct shard *sh, struct shard_in *si, int budget)
{
	struct udp_bufs *u = sh->udp;
	while (budget-- > 0) {
		for (unsigned i = 0; i < UDP_BURST; i++) {
			u->iov[i].iov_base = u->data + (size_t)i * u->size;
			u->iov[i].iov_len = DP_MIN(u->size, si->in->max_frame);
			memset(&u->msgs[i].msg_hdr, 0, sizeof(u->msgs[i].msg_hdr));
			u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
			u->msgs[i].msg_hdr.msg_iovlen = 1;
			u->msgs[i].msg_hdr.msg_name = &u->peer[i];
			u->msgs[i].msg_hdr.msg_namelen = sizeof(u->peer[i]);
			u->msgs[i].msg_hdr.msg_control = u->ctl[i];
			u->msgs[i].msg_hdr.msg_controllen = sizeof(u->ctl[i]);
		}
		int n = recvmmsg(si->fd, u->msgs, UDP_BURST, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return CONN_IDLE;
		udp_kernel_drops(si, &u->msgs[n - 1].msg_hdr);
		for (int i = 0; i < n; i++) {
			const char *p = u->iov[i].iov_base;
			size_t len = u->msgs[i].msg_len;
			DP_CNT_ADD(si->cnt.bytes, len);
			if (u->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				DP_CNT_ADD(si->cnt.oversize, 1);
				continue;
			}
			char src[80];
			size_t srclen = 0;
			if (si->in->src_key)
				srclen = peer_name(src, sizeof(src), u->msgs[i].msg_hdr.msg_name,
						   u->msgs[i].msg_hdr.msg_namelen, false);
			shard_emit_dgram(sh, si, p, len, srclen ? src : NULL, srclen);
		}
		if (n < UDP_BURST)
			return CONN_IDLE;
	}
	return CONN_BUSY;
}

/* ---- events ---- */

void shard_net_event(struct shard *sh, void *tag, uint32_t events)
{
	uint8_t kind = *(uint8_t *)tag;
	if (kind == SHARD_EV_LISTEN) {
		struct listen_ev *l = tag;
		shard_net_accept_all(sh, &sh->ins[l->in->id]);
	} else if (kind == SHARD_EV_UDP) {
		struct listen_ev *l = tag;
		struct shard_in *si = &sh->ins[l->in->id];
		if (shard_net_udp_service(sh, si, 64) == CONN_BUSY) {
			/* Edge-triggered: come back without waiting. */
			struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.ptr = tag };
			epoll_ctl(sh->epfd, EPOLL_CTL_MOD, si->fd, &ev);
		}
	} else if (kind == SHARD_EV_CONN) {
		struct shard_conn *c = tag;
		(void)events;
		shard_conn_ready(sh, c);
	}
}

bool shard_net_service_ready(struct shard *sh, bool drain)
{
	struct shard_conn *list = sh->ready, *c, *next;
	struct shard_conn *keep = NULL;
	bool busy = false;
	sh->ready = NULL;
	for (c = list; c; c = next) {
		next = c->next_ready;
		if (c->si->starved) {
			c->next_ready = keep;
			keep = c;
			continue;
		}
		/* in_ready stays set while it is served: a reply written during
		 * its own service (shard_conn_reply) must not queue it twice */
		int st = shard_net_conn_service(sh, c, drain ? 1 << 20 : CONN_READ_BUDGET);
		if (st == CONN_CLOSED)
			continue;
		if (st == CONN_IDLE && !c->closing && !(c->eof_flushed && c->acks.n == 0)) {
			c->in_ready = false;
			continue;
		}
		c->next_ready = keep;
		keep = c;
		if (st == CONN_BUSY)
			busy = true;
	}
	/* Connections made ready while serving (by a reply to another, see
	 * shard_conn_acks_due) go first. */
	if (keep) {
		struct shard_conn *tail = keep;
		while (tail->next_ready)
			tail = tail->next_ready;
		tail->next_ready = sh->ready;
		sh->ready = keep;
	}
	if (drain) {
		/* Drain also reads UDP sockets dry once. */
		for (unsigned i = 0; i < sh->nin; i++)
			if (dp_net_is_dgram(sh->ins[i].in->net) && sh->ins[i].fd >= 0)
				shard_net_udp_service(sh, &sh->ins[i], 1 << 20);
		return sh->ready != NULL;
	}
	return busy;
}

/* A ready connection whose input has memory: serve it without waiting. */
bool shard_net_has_work(struct shard *sh)
{
	for (struct shard_conn *c = sh->ready; c; c = c->next_ready)
		if (!c->si->starved)
			return true;
	return false;
}

void shard_net_stop_accepting(struct shard *sh)
{
	for (unsigned i = 0; i < sh->nin; i++) {
		struct shard_in *si = &sh->ins[i];
		if (dp_net_is_stream(si->in->net) && si->fd >= 0) {
			/* Connections still queued in the backlog were never
			 * accepted; take them now so their data is not lost. */
			shard_net_accept_all(sh, si);
			epoll_ctl(sh->epfd, EPOLL_CTL_DEL, si->fd, NULL);
			close(si->fd);
			si->fd = -1;
			/* New local clients find no socket rather than one
			 * nobody reads. */
			if (dp_net_is_unix(si->in->net))
				unlink(si->in->path);
		}
	}
}

void shard_net_mark_all_ready(struct shard *sh)
{
	for (struct shard_conn *c = sh->conns; c; c = c->next)
		shard_conn_ready(sh, c);
}

void shard_net_close_all(struct shard *sh)
{
	while (sh->conns)
		shard_net_conn_close(sh, sh->conns);
	sh->ready = NULL;
	for (unsigned i = 0; i < sh->nin; i++) {
		struct shard_in *si = &sh->ins[i];
		if (dp_net_is_dgram(si->in->net) && si->fd >= 0) {
			close(si->fd);
			si->fd = -1;
			if (dp_net_is_unix(si->in->net))
				unlink(si->in->path);
		}
		if (si->in->net != DP_NET_TIMER) {
			free(si->ev);
			si->ev = NULL;
		}
	}
}
