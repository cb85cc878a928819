/*
 * shard_rx.c — dispatch to the polling receive backends, their common
 * frame path (check, filter, hand the payload to the chunk) and the
 * adaptive idle sleep (see shard_rx.h).
 *
 * Idle sleep: after RX_SPIN empty polls in a row the shard sleeps 1 us,
 * then twice as long each time it finds nothing, up to Rx_Idle_Sleep; the
 * first frame resets it. So a loaded shard never sleeps, an idle one
 * wakes at most 1 / Rx_Idle_Sleep times a second, and the worst added
 * latency is one Rx_Idle_Sleep (packets wait in the NIC ring meanwhile,
 * which holds Dpdk ring-size frames: at 10 Mpps, 1024 descriptors last
 * 100 us, hence the default).
 *
 * Threads: open/close on the control thread, poll on the shard's thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "dp_log.h"
#include "shard_rx.h"

#define RX_SPIN 256   /* empty polls before the first sleep */

/* Per shard thread: one shard runs on one thread. */
static __thread unsigned rx_idle;
static __thread uint64_t rx_sleep_ns;

int shard_rx_open(struct shard *sh, struct shard_in *si, struct dp_err *err)
{
	int rc = 0;
	switch (si->in->rx->backend) {
	case SHARD_RX_DPDK:
		rc = shard_rx_dpdk_open(sh, si, err);
		break;
	case SHARD_RX_AF_XDP:
		rc = shard_rx_xdp_open(sh, si, err);
		break;
	}
	if (rc) {
		/* Name the input: start-up errors reach the user as they are. */
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		dp_err_set(err, rc, "[%s] %s", si->in->name, msg);
	}
	return rc;
}

bool shard_rx_poll(struct shard *sh)
{
	bool any = false;
	unsigned got = 0;
	uint64_t max_ns = 0;
	for (unsigned i = 0; i < sh->nin; i++) {
		struct shard_in *si = &sh->ins[i];
		if (!si->rx)
			continue;
		any = true;
		DP_CNT_ADD(si->cnt.rx_polls, 1);
		/* Out of chunks: leave the frames in the NIC ring (it fills and
		 * the port counts imissed) rather than take and drop them. */
		if (!si->starved)
			got += si->rx->poll(sh, si);
		uint64_t ns = (uint64_t)si->in->rx->idle_sleep_us * 1000u;
		if (ns > max_ns)
			max_ns = ns;
	}
	if (!any)
		return false;
	if (got) {
		rx_idle = 0;
		rx_sleep_ns = 0;
		return true;
	}
	if (++rx_idle < RX_SPIN || max_ns == 0)
		return true;
	rx_sleep_ns = rx_sleep_ns ? rx_sleep_ns * 2 : 1000;
	if (rx_sleep_ns > max_ns)
		rx_sleep_ns = max_ns;
	struct timespec ts = { (time_t)(rx_sleep_ns / 1000000000u), (long)(rx_sleep_ns % 1000000000u) };
	shard_wake_flush(sh);
	nanosleep(&ts, NULL);
	for (unsigned i = 0; i < sh->nin; i++)
		if (sh->ins[i].rx)
			DP_CNT_ADD(sh->ins[i].cnt.rx_idle_sleeps, 1);
	return true;
}

void shard_rx_close(struct shard *sh)
{
	for (unsigned i = 0; i < sh->nin; i++) {
		struct shard_in *si = &sh->ins[i];
		if (si->rx) {
			si->rx->close(sh, si);
			si->rx = NULL;
		}
	}
}

void shard_rx_pkt_cfg(const struct dp_input *in, uint32_t max_frame, struct shard_pkt_cfg *pc)
{
	memset(pc, 0, sizeof(*pc));
	pc->port = (uint16_t)in->port;
	pc->max_frame = max_frame;
	struct in_addr a;
	/* A specific IPv4 Listen address filters on the destination; an IPv6
	 * one is not filtered on (documented). */
	if (in->listen && inet_pton(AF_INET, in->listen, &a) == 1 && a.s_addr != INADDR_ANY)
		pc->dst4 = a.s_addr;
}

enum shard_pkt_verdict shard_rx_frame_acc(struct shard *sh, struct shard_in *si,
					  const struct shard_pkt_cfg *pc, const uint8_t *frame,
					  uint32_t len, struct shard_rx_acc *acc)
{
	struct shard_pkt pk;
	enum shard_pkt_verdict v = shard_pkt_parse(pc, frame, len, &pk);
	if (unlikely(v != SHARD_PKT_OK)) {
		acc->drop[v]++;
		acc->bad++;
		return v;
	}
	acc->bytes += pk.len;
	if (unlikely(pk.len > si->in->max_frame)) {
		acc->oversize++;
		return v;
	}
	char src[80];
	unsigned srclen = unlikely(si->in->src_key) ? shard_pkt_src_name(&pk, src, sizeof(src)) : 0;
	/* As the epoll path from here: the datagram, whoever received it
	 * (shard_emit_dgram counts what it cannot keep). */
	shard_emit_dgram(sh, si, (const char *)pk.payload, pk.len, srclen ? src : NULL, srclen);
	return v;
}

void shard_rx_acc_flush(struct shard_in *si, struct shard_rx_acc *acc)
{
	if (acc->bytes)
		DP_CNT_ADD(si->cnt.bytes, acc->bytes);
	if (unlikely(acc->oversize))
		DP_CNT_ADD(si->cnt.oversize, acc->oversize);
	if (unlikely(acc->dropped))
		DP_CNT_ADD(si->cnt.dropped, acc->dropped);
	if (unlikely(acc->bad)) {
		unsigned nfu = 0;
		for (int v = 1; v < SHARD_PKT_NVERDICTS; v++) {
			if (!acc->drop[v])
				continue;
			DP_CNT_ADD(si->cnt.rx_drop[v], acc->drop[v]);
			if (shard_pkt_not_for_us((enum shard_pkt_verdict)v))
				nfu += acc->drop[v];
		}
		if (nfu)
			DP_CNT_ADD(si->cnt.rx_not_for_us, nfu);
	}
	memset(acc, 0, sizeof(*acc));
}

void shard_rx_frame(struct shard *sh, struct shard_in *si, const struct shard_pkt_cfg *pc,
		    const uint8_t *frame, uint32_t len)
{
	struct shard_rx_acc acc;
	memset(&acc, 0, sizeof(acc));
	shard_rx_frame_acc(sh, si, pc, frame, len, &acc);
	shard_rx_acc_flush(si, &acc);
}
