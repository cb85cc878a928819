/*
 * shard_rx_xdp.c — the AF_XDP receive backend (libxdp): one XSK socket per
 * shard, bound to queue <shard id> of Xdp_Interface, with its own UMEM
 * (frames allocated on the NUMA node of the shard's CPU). libxdp loads its
 * default program, which redirects every frame of a bound queue to the
 * socket. Same contract as the DPDK backend (shard_rx.h): parse in place in
 * the UMEM frame, copy the payload into the chunk, give the frame back to
 * the fill ring.
 *
 * Binding: zero-copy in driver mode first; when the driver refuses it,
 * copy mode in driver mode, then copy mode in generic (SKB) mode, saying
 * so in the log. veth gives copy mode only.
 *
 * Threads: open/close on the control thread, poll on the shard's thread.
 */
#include <errno.h>
#include <string.h>
#include "dp_log.h"
#include "shard_rx.h"

#ifdef SLUICE_XDP
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <numa.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

#define XDP_FRAMES 4096
#define XDP_FRAME_SIZE XSK_UMEM__DEFAULT_FRAME_SIZE
#define XDP_RING 2048
#define XDP_BURST 64
#define XDP_STATS_NS 1000000000ull

struct rx_xdp {
	struct shard_rx_q q;
	void *area;
	size_t area_len;
	bool numa_area;
	struct xsk_umem *umem;
	struct xsk_ring_prod fq;
	struct xsk_ring_cons cq;
	struct xsk_ring_cons rx;
	struct xsk_socket *xsk;
	struct shard_pkt_cfg pc;
	uint64_t stats_due;
};

static void xdp_stats(struct rx_xdp *x, struct shard_in *si)
{
	struct xdp_statistics st;
	socklen_t len = sizeof(st);
	if (getsockopt(xsk_socket__fd(x->xsk), SOL_XDP, XDP_STATISTICS, &st, &len) == 0) {
		/* This socket's own counts: each shard writes its own. */
		__atomic_store_n(&si->cnt.rx_imissed, st.rx_dropped + st.rx_ring_full, __ATOMIC_RELAXED);
		__atomic_store_n(&si->cnt.rx_nombuf, st.rx_fill_ring_empty_descs, __ATOMIC_RELAXED);
	}
}

static unsigned xdp_poll(struct shard *sh, struct shard_in *si)
{
	struct rx_xdp *x = (struct rx_xdp *)si->rx;
	uint32_t idx_rx, idx_fq;
	unsigned n = xsk_ring_cons__peek(&x->rx, XDP_BURST, &idx_rx);
	if (sh->now_ns >= x->stats_due) {
		xdp_stats(x, si);
		x->stats_due = sh->now_ns + XDP_STATS_NS;
	}
	if (n == 0) {
		/* The kernel waits for a kick when the fill ring ran dry. */
		if (xsk_ring_prod__needs_wakeup(&x->fq))
			recvfrom(xsk_socket__fd(x->xsk), NULL, 0, MSG_DONTWAIT, NULL, NULL);
		return 0;
	}
	uint64_t bytes = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx_rx + i);
		bytes += d->len;
		shard_rx_frame(sh, si, &x->pc, xsk_umem__get_data(x->area, d->addr), d->len);
	}
	/* Every frame taken goes straight back: the fill ring has room for
	 * them, since it held them a moment ago. */
	while (xsk_ring_prod__reserve(&x->fq, n, &idx_fq) != n)
		;
	for (unsigned i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx_rx + i);
		*xsk_ring_prod__fill_addr(&x->fq, idx_fq + i) = xsk_umem__extract_addr(d->addr);
	}
	xsk_ring_prod__submit(&x->fq, n);
	xsk_ring_cons__release(&x->rx, n);
	DP_CNT_ADD(si->cnt.rx_packets, n);
	DP_CNT_ADD(si->cnt.rx_bytes, bytes);
	return n;
}

static void xdp_free(struct rx_xdp *x)
{
	if (x->xsk)
		xsk_socket__delete(x->xsk);
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->area && x->numa_area)
		numa_free(x->area, x->area_len);
	else
		free(x->area);
	free(x);
}

static void xdp_close(struct shard *sh, struct shard_in *si)
{
	(void)sh;
	xdp_free((struct rx_xdp *)si->rx);
}

int shard_rx_xdp_open(struct shard *sh, struct shard_in *si, struct dp_err *err)
{
	const char *ifname = si->in->rx->xdp_interface;
	struct rx_xdp *x = calloc(1, sizeof(*x));
	if (!x)
		return dp_err_set(err, -ENOMEM, "out of memory");
	x->area_len = (size_t)XDP_FRAMES * XDP_FRAME_SIZE;
	if (sh->cpu >= 0 && numa_available() >= 0 && numa_node_of_cpu(sh->cpu) >= 0) {
		x->area = numa_alloc_onnode(x->area_len, numa_node_of_cpu(sh->cpu));
		x->numa_area = x->area != NULL;
	}
	if (!x->area && posix_memalign(&x->area, (size_t)getpagesize(), x->area_len))
		x->area = NULL;
	if (!x->area) {
		free(x);
		return dp_err_set(err, -ENOMEM, "af_xdp: cannot allocate the UMEM");
	}
	struct xsk_umem_config ucfg = {
		.fill_size = XDP_FRAMES / 2,
		.comp_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.frame_size = XDP_FRAME_SIZE,
	};
	int rc = xsk_umem__create(&x->umem, x->area, x->area_len, &x->fq, &x->cq, &ucfg);
	if (rc) {
		x->umem = NULL;
		xdp_free(x);
		return dp_err_set(err, rc, "af_xdp: UMEM: %s", strerror(-rc));
	}
	static const struct { uint32_t xdp; uint16_t bind; const char *what; } modes[] = {
		{ XDP_FLAGS_DRV_MODE, XDP_ZEROCOPY | XDP_USE_NEED_WAKEUP, "zero-copy" },
		{ XDP_FLAGS_DRV_MODE, XDP_COPY | XDP_USE_NEED_WAKEUP, "copy mode (driver XDP)" },
		{ XDP_FLAGS_SKB_MODE, XDP_COPY | XDP_USE_NEED_WAKEUP, "copy mode (generic XDP)" },
	};
	unsigned m;
	for (m = 0; m < 3; m++) {
		struct xsk_socket_config scfg = {
			.rx_size = XDP_RING,
			.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
			.xdp_flags = modes[m].xdp,
			.bind_flags = modes[m].bind,
		};
		rc = xsk_socket__create(&x->xsk, ifname, sh->id, x->umem, &x->rx, NULL, &scfg);
		if (rc == 0)
			break;
		x->xsk = NULL;
		if (m < 2)
			dp_info("af_xdp %s queue %u: %s refused (%s), trying %s", ifname, sh->id, modes[m].what,
				strerror(-rc), modes[m + 1].what);
	}
	if (rc) {
		xdp_free(x);
		return dp_err_set(err, rc, "af_xdp: %s queue %u: %s", ifname, sh->id, strerror(-rc));
	}
	dp_info("af_xdp %s queue %u: bound in %s", ifname, sh->id, modes[m].what);
	uint32_t idx;
	unsigned nfill = XDP_FRAMES / 2;
	if (xsk_ring_prod__reserve(&x->fq, nfill, &idx) != nfill) {
		xdp_free(x);
		return dp_err_set(err, -EIO, "af_xdp: %s: cannot fill the fill ring", ifname);
	}
	for (unsigned i = 0; i < nfill; i++)
		*xsk_ring_prod__fill_addr(&x->fq, idx + i) = (uint64_t)i * XDP_FRAME_SIZE;
	xsk_ring_prod__submit(&x->fq, nfill);
	x->q.backend = SHARD_RX_AF_XDP;
	x->q.poll = xdp_poll;
	x->q.close = xdp_close;
	shard_rx_pkt_cfg(si->in, XDP_FRAME_SIZE - XDP_PACKET_HEADROOM, &x->pc);
	si->rx = &x->q;
	return 0;
}

#else /* !SLUICE_XDP */

int shard_rx_xdp_open(struct shard *sh, struct shard_in *si, struct dp_err *err)
{
	(void)sh;
	(void)si;
	return dp_err_set(err, -ENOTSUP, "Rx_Backend af_xdp: this sluice was built without libxdp");
}

#endif
