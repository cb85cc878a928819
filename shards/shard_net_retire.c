/*
 * shard_net_retire.c — a reload's inputs that go (shard_park.c, shard
 * SHARD_PARK_RETIRE): their listeners stop accepting (the backlog is
 * accepted and read first), their connections and sockets are read to the
 * end of what has arrived, within the reload's Grace, and then closed.
 *
 * Threads: the owning shard's only (parked for the reload).
 */
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "dp_time.h"
#include "shard.h"
#include "shard_conn.h"

static bool conn_of(const struct shard *sh, const struct shard_conn *c, uint64_t mask)
{
	return mask >> (unsigned)(c->si - sh->ins) & 1;
}

/* Off the ready list: what retires is served here, then closed. */
static void ready_drop(struct shard *sh, uint64_t mask)
{
	struct shard_conn **pp = &sh->ready;
	while (*pp) {
		struct shard_conn *c = *pp;
		if (conn_of(sh, c, mask)) {
			c->in_ready = false;
			*pp = c->next_ready;
		} else {
			pp = &c->next_ready;
		}
	}
}

static void socket_close(struct shard *sh, struct shard_in *si)
{
	if (si->fd < 0 || si->in->net == DP_NET_TIMER || si->rx)
		return;
	epoll_ctl(sh->epfd, EPOLL_CTL_DEL, si->fd, NULL);
	close(si->fd);
	si->fd = -1;
	if (dp_net_is_unix(si->in->net))
		unlink(si->in->path);
}

void shard_net_retire(struct shard *sh, uint64_t mask, uint64_t deadline_ns)
{
	for (unsigned i = 0; i < sh->nin; i++) {
		struct shard_in *si = &sh->ins[i];
		if ((mask >> i & 1) && dp_net_is_stream(si->in->net) && si->fd >= 0) {
			shard_net_accept_all(sh, si);   /* the backlog's data is read too */
			socket_close(sh, si);
		}
	}
	ready_drop(sh, mask);
	for (;;) {
		bool busy = false;
		for (struct shard_conn *c = sh->conns, *next; c; c = next) {
			next = c->next;
			if (!conn_of(sh, c, mask))
				continue;
			if (c->si->starved) {
				busy = true;
				continue;
			}
			/* in_ready keeps a reply written meanwhile from queuing it */
			c->in_ready = true;
			int st = shard_net_conn_service(sh, c, 1 << 20);
			if (st != CONN_CLOSED)
				c->in_ready = false;
			busy |= st == CONN_BUSY || st == CONN_PAUSED;
		}
		for (unsigned i = 0; i < sh->nin; i++)
			if ((mask >> i & 1) && dp_net_is_dgram(sh->ins[i].in->net) && sh->ins[i].fd >= 0)
				busy |= shard_net_udp_service(sh, &sh->ins[i], 1 << 20) == CONN_BUSY;
		busy |= shard_inputs_drain(sh, mask);   /* a Go input's buffers */
		if (!busy || dp_time_mono_ns() > deadline_ns)
			break;
		/* a pool ran dry: its chunks come back from the workers */
		shard_clocks(sh);
		shard_flush_due(sh, false);
		if (!shard_reclaim(sh))
			usleep(500);
		shard_memrb_pump(sh, true);
	}
}

void shard_net_close_input(struct shard *sh, struct shard_in *si)
{
	uint64_t bit = 1ull << (unsigned)(si - sh->ins);
	ready_drop(sh, bit);
	for (struct shard_conn *c = sh->conns, *next; c; c = next) {
		next = c->next;
		if (c->si == si)
			shard_net_conn_close(sh, c);
	}
	socket_close(sh, si);
	if (si->in->net != DP_NET_TIMER && !si->rx) {
		free(si->ev);
		si->ev = NULL;
	}
}
