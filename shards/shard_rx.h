/*
 * shard_rx.h — kernel-bypass receive backends for UDP inputs: a DPDK RX
 * queue (shard_rx_dpdk.c) or an AF_XDP socket (shard_rx_xdp.c) per shard,
 * chosen by Rx_Backend. The epoll path (shard_net.c) stays the default and
 * the fallback; these backends are polled from the shard loop (shard.c
 * calls shard_rx_poll once per iteration) and sleep adaptively when idle.
 *
 * Contract of a backend: each shard owns one queue of the port and the
 * memory its frames live in (allocated on the shard's NUMA node); it parses
 * Ethernet/IP/UDP in place (shard_pkt.h), filters on the input's Port (and
 * Listen address when it is a specific IPv4 address), and hands the payload
 * to shard_emit_frame: the copy into the chunk is the only one.
 *
 * Threads: shard_rx_open/close on the control thread (shard_start,
 * shard_destroy), shard_rx_poll on the shard's own thread.
 */
#ifndef SHARD_RX_H
#define SHARD_RX_H

#include <stdbool.h>
#include <stdint.h>
#include "shard.h"

enum shard_rx_backend { SHARD_RX_EPOLL, SHARD_RX_DPDK, SHARD_RX_AF_XDP };

/* The keys, embedded in the option struct of a UDP-capable input (see
 * IN_NET_RX_OPTS in in_net.h); dp_input.rx points at it. */
struct shard_rx_cfg {
	int backend;             /* enum shard_rx_backend */
	char *dpdk_port;         /* PCI address or vdev string */
	char *dpdk_eal_args;     /* EAL arguments, split on blanks */
	int64_t dpdk_mbufs;      /* mbufs per shard (its queue's pool) */
	char *dpdk_exception_port; /* vdev/PCI port for frames not for us, or NULL */
	char *xdp_interface;     /* AF_XDP: the interface */
	int64_t idle_sleep_us;   /* longest sleep when idle */
};

/* One shard's queue of one input: the backend's struct starts with this. */
struct shard_rx_q {
	int backend;
	/* Receive what is there (a few bursts at most); returns frames seen. */
	unsigned (*poll)(struct shard *sh, struct shard_in *si);
	void (*close)(struct shard *sh, struct shard_in *si);
};

/* Does this input use a polling backend? */
static inline bool shard_rx_wants(const struct shard_in *si)
{
	return si->in->rx && si->in->rx->backend != SHARD_RX_EPOLL;
}

/* Control thread (shard_start): open this shard's queue of input si. */
int shard_rx_open(struct shard *sh, struct shard_in *si, struct dp_err *err);
/* Shard thread: poll every queue of this shard. Returns false when the
 * shard has none (the loop may block in epoll as before), true otherwise:
 * the loop must then not block, and this call has already slept when the
 * queues have been idle for a while (Rx_Idle_Sleep). */
bool shard_rx_poll(struct shard *sh);
/* Control thread (shard_destroy): close this shard's queues. */
void shard_rx_close(struct shard *sh);

/* Counter sums of a poll, added to the input's counters once at its end
 * (shard_rx_acc_flush) instead of one store per frame and counter. */
struct shard_rx_acc {
	uint64_t bytes;          /* payload bytes of the datagrams taken */
	uint32_t bad;            /* frames not delivered, all reasons */
	uint32_t oversize, dropped;
	uint32_t drop[SHARD_PKT_NVERDICTS];
};

/* For the backends: check a frame and hand its payload on, counting into
 * acc (zeroed by the caller before the poll). Returns the verdict, so a
 * backend can pass "not for us" frames on (shard_pkt_not_for_us). */
enum shard_pkt_verdict shard_rx_frame_acc(struct shard *sh, struct shard_in *si,
					  const struct shard_pkt_cfg *pc, const uint8_t *frame,
					  uint32_t len, struct shard_rx_acc *acc);
/* Add acc to si's counters and zero it. */
void shard_rx_acc_flush(struct shard_in *si, struct shard_rx_acc *acc);
/* One frame, counted at once (a backend that does not batch). rx_packets
 * and rx_bytes are the caller's, per burst. */
void shard_rx_frame(struct shard *sh, struct shard_in *si, const struct shard_pkt_cfg *pc,
		    const uint8_t *frame, uint32_t len);
/* The filter an input asks for: its Port, its Listen address. */
void shard_rx_pkt_cfg(const struct dp_input *in, uint32_t max_frame, struct shard_pkt_cfg *pc);

int shard_rx_dpdk_open(struct shard *sh, struct shard_in *si, struct dp_err *err);
int shard_rx_xdp_open(struct shard *sh, struct shard_in *si, struct dp_err *err);

#endif
