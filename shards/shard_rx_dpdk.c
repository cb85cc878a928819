/*
 * shard_rx_dpdk.c — the DPDK receive backend: EAL initialised once per
 * process from Dpdk_Eal_Args, the port (a PCI address or a vdev string
 * such as "net_pcap0,rx_pcap=a.pcap,rx_pcap=b.pcap") configured with one RX
 * queue per shard and RSS over IPv4/IPv6 + UDP where the PMD offers it,
 * one mbuf pool per shard on the NUMA node of the shard's CPU. Each shard
 * polls its own queue with rte_eth_rx_burst, checks and frames a burst
 * with counters summed per poll, and frees the mbufs in bulk; it never
 * touches another shard's queue or pool.
 *
 * Exception path (Dpdk_Exception_Port, optional): frames not for us (ARP,
 * ICMP, other ports) go to TX queue q of a second port, typically net_tap
 * (a kernel tap interface), batched per poll; what the kernel sends on it
 * (ARP replies ...) is read from its RX queue q and sent out of TX queue q
 * of the receive port. A full TX ring drops the rest, counted. Without
 * it, those frames are counted (rx_not_for_us) and dropped. Fragments are
 * dropped (shard_pkt.h). Scatter
 * is not enabled: a frame larger than one mbuf is counted as jumbo.
 * net_pcap has no RSS: each queue receives exactly its own rx_pcap file.
 *
 * Threads: open and close on the control thread (EAL and port set-up,
 * guarded by the control thread being single), poll on the shard's thread.
 * EAL is never cleaned up (it cannot be initialised twice in a process).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include "dp_log.h"
#include "shard_rx.h"

#ifdef SLUICE_DPDK
#include <numa.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_version.h>

#define RX_BURST 64
#define RX_BURSTS_PER_POLL 4     /* bursts per loop iteration at most */
#define RX_PREFETCH 4            /* frames ahead whose data is prefetched */
#define RX_DESC 1024
#define RX_MAX_PORTS 8
#define RX_MAX_ARGS 64
#define STATS_NS 1000000000ull   /* port stats (imissed, nombuf) read interval */

/* One DPDK device: the receive port or its exception port. */
struct rx_dev {
	uint16_t id;
	bool started;
	bool attached;           /* id is valid */
	bool hotplugged;         /* added by us: removed at the last close */
	char devname[64];
};

struct rx_port {
	char spec[256];          /* Dpdk_Port as written */
	unsigned nq;
	unsigned refs;
	struct rx_dev dev;
	struct rx_dev exc;       /* Dpdk_Exception_Port, when set (exc.attached) */
	struct rte_mempool *pool[DP_MAX_SHARDS];
};

struct rx_dpdk {
	struct shard_rx_q q;
	struct rx_port *port;
	uint16_t port_id, qid;
	uint16_t exc_id;         /* exception port, when has_exc */
	bool has_exc;
	bool registered;         /* rte_thread_register done on this thread */
	struct shard_pkt_cfg pc;
	uint64_t stats_due;
};

static int eal_state;            /* 0 not tried, 1 up, -1 failed */
static char eal_msg[256];
static struct rx_port ports[RX_MAX_PORTS];

/* rte_eal_init pins the calling thread to the main lcore; sluice's control
 * thread (and the workers it starts later) must keep their affinity. */
static int eal_init(const char *args, struct dp_err *err)
{
	if (eal_state > 0)
		return 0;
	if (eal_state < 0)
		return dp_err_set(err, -EIO, "%s", eal_msg);
	char *copy = strdup(args ? args : "");
	char *argv[RX_MAX_ARGS + 2];
	int argc = 0;
	argv[argc++] = "sluice";
	for (char *save, *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (argc == RX_MAX_ARGS) {
			free(copy);
			return dp_err_set(err, -E2BIG, "Dpdk_Eal_Args: more than %d arguments", RX_MAX_ARGS);
		}
		argv[argc++] = t;
	}
	argv[argc] = NULL;
	cpu_set_t saved;
	sched_getaffinity(0, sizeof(saved), &saved);
	int rc = rte_eal_init(argc, argv);
	int e = rte_errno;
	sched_setaffinity(0, sizeof(saved), &saved);
	free(copy);
	if (rc < 0) {
		eal_state = -1;
		snprintf(eal_msg, sizeof(eal_msg), "DPDK EAL init failed: %s (Dpdk_Eal_Args '%s')",
			 rte_strerror(e), args ? args : "");
		return dp_err_set(err, -EIO, "%s", eal_msg);
	}
	eal_state = 1;
	dp_info("%s: EAL up (%s)", rte_version(), args ? args : "");
	return 0;
}

/* NUMA node of a CPU, or SOCKET_ID_ANY when unknown. */
static int cpu_socket(int cpu)
{
	if (cpu < 0 || numa_available() < 0)
		return SOCKET_ID_ANY;
	int node = numa_node_of_cpu(cpu);
	return node < 0 ? SOCKET_ID_ANY : node;
}

/* Find the device: attached already (by --vdev or the PCI bus), else
 * hot-plug the vdev string. key names the option in errors. */
static int dev_find(struct rx_dev *p, const char *key, const char *spec, struct dp_err *err)
{
	const char *comma = strchr(spec, ',');
	size_t nlen = comma ? (size_t)(comma - spec) : strlen(spec);
	if (nlen == 0 || nlen >= sizeof(p->devname))
		return dp_err_set(err, -EINVAL, "%s '%s': no device name", key, spec);
	memcpy(p->devname, spec, nlen);
	p->devname[nlen] = '\0';
	if (rte_eth_dev_get_port_by_name(p->devname, &p->id) == 0)
		return p->attached = true, 0;
	if (!strncmp(p->devname, "net_", 4)) {
		if (rte_eal_hotplug_add("vdev", p->devname, comma ? comma + 1 : "") < 0)
			return dp_err_set(err, -ENODEV, "%s '%s': cannot create the device: %s", key,
					  spec, rte_strerror(rte_errno));
		p->hotplugged = true;
		if (rte_eth_dev_get_port_by_name(p->devname, &p->id) == 0)
			return p->attached = true, 0;
	}
	/* A PCI device must be bound to vfio-pci and not blocked by the EAL
	 * arguments (docs/DEPLOYMENT.md). */
	return dp_err_set(err, -ENODEV, "%s '%s': no such port (%u known): %s", key, spec,
			  rte_eth_dev_count_avail(), rte_strerror(rte_errno ? rte_errno : ENODEV));
}

/* The exception port: one RX and one TX queue per shard, on the shards'
 * pools (shard q sends not-for-us frames to its TX queue q and takes what
 * the kernel sends from its RX queue q). Called before the port starts. */
static int exc_setup(struct rx_port *p, const char *spec, uint16_t ndesc, const int *sock,
		     struct dp_err *err)
{
	const char *key = "Dpdk_Exception_Port";
	int rc = dev_find(&p->exc, key, spec, err);
	if (rc)
		return rc;
	if (p->exc.id == p->dev.id)
		return dp_err_set(err, -EINVAL, "%s '%s' is the receive port itself", key, spec);
	struct rte_eth_dev_info info;
	if ((rc = rte_eth_dev_info_get(p->exc.id, &info)) != 0)
		return dp_err_set(err, -EIO, "%s '%s': %s", key, spec, rte_strerror(-rc));
	if (info.max_rx_queues < p->nq || info.max_tx_queues < p->nq)
		return dp_err_set(err, -EINVAL, "%s '%s': %u RX / %u TX queues for %u shards (one each)",
				  key, spec, info.max_rx_queues, info.max_tx_queues, p->nq);
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	if ((rc = rte_eth_dev_configure(p->exc.id, (uint16_t)p->nq, (uint16_t)p->nq, &conf)) != 0)
		return dp_err_set(err, -EIO, "%s '%s': configure: %s", key, spec, rte_strerror(-rc));
	uint16_t nrx = ndesc, ntx = ndesc;
	rte_eth_dev_adjust_nb_rx_tx_desc(p->exc.id, &nrx, &ntx);
	for (unsigned q = 0; q < p->nq; q++) {
		unsigned s = sock[q] == SOCKET_ID_ANY ? (unsigned)rte_eth_dev_socket_id(p->exc.id) :
							(unsigned)sock[q];
		if ((rc = rte_eth_rx_queue_setup(p->exc.id, (uint16_t)q, nrx, s, NULL, p->pool[q])) ||
		    (rc = rte_eth_tx_queue_setup(p->exc.id, (uint16_t)q, ntx, s, NULL)))
			return dp_err_set(err, -EIO, "%s '%s': queue %u: %s", key, spec, q, rte_strerror(-rc));
	}
	if ((rc = rte_eth_dev_start(p->exc.id)) != 0)
		return dp_err_set(err, -EIO, "%s '%s': start: %s", key, spec, rte_strerror(-rc));
	p->exc.started = true;
	dp_info("%s '%s': port %u (%s) started: frames not for sluice go to it, what it sends "
		"goes out of Dpdk_Port", key, spec, p->exc.id, info.driver_name);
	return 0;
}

/* First open of a port: configure it for every shard, one queue each. */
static int port_setup(struct rx_port *p, struct shard *sh, const struct shard_rx_cfg *cfg,
		      struct dp_err *err)
{
	struct dp_pipeline *pl = sh->pl;
	const char *spec = cfg->dpdk_port;
	bool exc = cfg->dpdk_exception_port && *cfg->dpdk_exception_port;
	int rc = dev_find(&p->dev, "Dpdk_Port", spec, err);
	if (rc)
		return rc;
	struct rte_eth_dev_info info;
	if ((rc = rte_eth_dev_info_get(p->dev.id, &info)) != 0)
		return dp_err_set(err, -EIO, "Dpdk_Port '%s': %s", spec, rte_strerror(-rc));
	p->nq = pl->nshards;
	if (info.max_rx_queues < p->nq)
		/* net_pcap: one rx_pcap= per queue. */
		return dp_err_set(err, -EINVAL, "Dpdk_Port '%s': %u RX queues for %u shards (one each)",
				  spec, info.max_rx_queues, p->nq);
	/* TX queues only for the exception path's way back to the wire. */
	uint16_t ntxq = exc ? (uint16_t)p->nq : 0;
	if (info.max_tx_queues < ntxq)
		return dp_err_set(err, -EINVAL, "Dpdk_Port '%s': %u TX queues for %u shards "
				  "(Dpdk_Exception_Port needs one each)", spec, info.max_tx_queues, p->nq);
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	uint64_t want = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_IPV6 |
			RTE_ETH_RSS_NONFRAG_IPV6_UDP;
	uint64_t hf = want & info.flow_type_rss_offloads;
	if (p->nq > 1 && hf) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = hf;
		dp_info("Dpdk_Port '%s' (%s): RSS over %s%s%s%s", spec, info.driver_name,
			hf & RTE_ETH_RSS_IPV4 ? "ipv4 " : "", hf & RTE_ETH_RSS_NONFRAG_IPV4_UDP ? "ipv4-udp " : "",
			hf & RTE_ETH_RSS_IPV6 ? "ipv6 " : "", hf & RTE_ETH_RSS_NONFRAG_IPV6_UDP ? "ipv6-udp" : "");
	} else if (p->nq > 1) {
		dp_info("Dpdk_Port '%s' (%s) does no RSS: each of its %u queues gets what the device "
			"puts on it", spec, info.driver_name, p->nq);
	}
	if ((rc = rte_eth_dev_configure(p->dev.id, (uint16_t)p->nq, ntxq, &conf)) != 0)
		return dp_err_set(err, -EIO, "Dpdk_Port '%s': configure: %s", spec, rte_strerror(-rc));
	uint16_t ndesc = RX_DESC, ntx = RX_DESC;
	rte_eth_dev_adjust_nb_rx_tx_desc(p->dev.id, &ndesc, &ntx);
	/* The RX ring full, a poll's bursts in hand; with an exception port
	 * also its RX ring and both TX rings (a NIC frees sent mbufs late). */
	unsigned nmbufs = (unsigned)cfg->dpdk_mbufs;
	unsigned least = 2u * ndesc + RX_BURST * RX_BURSTS_PER_POLL + (exc ? 3u * ndesc : 0);
	if (nmbufs < least)
		nmbufs = least;
	int sock[DP_MAX_SHARDS];
	for (unsigned q = 0; q < p->nq; q++) {
		sock[q] = cpu_socket(pl->cpu[q]);
		char name[RTE_MEMPOOL_NAMESIZE];
		snprintf(name, sizeof(name), "sl_p%u_q%u", p->dev.id, q);
		p->pool[q] = rte_pktmbuf_pool_create(name, nmbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
						     sock[q]);
		if (!p->pool[q] && sock[q] != SOCKET_ID_ANY) {
			/* --no-huge and small hosts have memory on socket 0 only. */
			dp_warn("Dpdk_Port '%s': no DPDK memory on NUMA node %d for shard %u, taking any",
				spec, sock[q], q);
			sock[q] = SOCKET_ID_ANY;
			p->pool[q] = rte_pktmbuf_pool_create(name, nmbufs, 256, 0,
							    RTE_MBUF_DEFAULT_BUF_SIZE, sock[q]);
		}
		if (!p->pool[q])
			return dp_err_set(err, -ENOMEM, "Dpdk_Port '%s': %u mbufs for shard %u: %s (EAL -m?)",
					  spec, nmbufs, q, rte_strerror(rte_errno));
		unsigned s = sock[q] == SOCKET_ID_ANY ? (unsigned)rte_eth_dev_socket_id(p->dev.id) :
							(unsigned)sock[q];
		rc = rte_eth_rx_queue_setup(p->dev.id, (uint16_t)q, ndesc, s, NULL, p->pool[q]);
		if (!rc && ntxq)
			rc = rte_eth_tx_queue_setup(p->dev.id, (uint16_t)q, ntx, s, NULL);
		if (rc)
			return dp_err_set(err, -EIO, "Dpdk_Port '%s': queue %u: %s", spec, q,
					  rte_strerror(-rc));
	}
	if (exc && (rc = exc_setup(p, cfg->dpdk_exception_port, ndesc, sock, err)) != 0)
		return rc;
	if ((rc = rte_eth_dev_start(p->dev.id)) != 0)
		return dp_err_set(err, -EIO, "Dpdk_Port '%s': start: %s", spec, rte_strerror(-rc));
	p->dev.started = true;
	rte_eth_stats_reset(p->dev.id);
	dp_info("Dpdk_Port '%s': port %u (%s) started, %u RX queues of %u descriptors, %u mbufs each",
		spec, p->dev.id, info.driver_name, p->nq, ndesc, nmbufs);
	return 0;
}

static void dev_release(struct rx_dev *d)
{
	if (d->started)
		rte_eth_dev_stop(d->id);
	if (d->attached)
		rte_eth_dev_close(d->id);
	if (d->hotplugged)
		rte_eal_hotplug_remove("vdev", d->devname);
}

static void port_release(struct rx_port *p)
{
	if (--p->refs)
		return;
	dev_release(&p->dev);
	dev_release(&p->exc);
	for (unsigned q = 0; q < p->nq; q++)
		rte_mempool_free(p->pool[q]);
	memset(p, 0, sizeof(*p));
}

/* Send n frames out of port's queue; what a full TX ring refuses is freed
 * and counted in *dropped, what went in *sent. */
static void tx_or_drop(uint16_t port, uint16_t qid, struct rte_mbuf **m, uint16_t n, uint64_t *sent_cnt,
		       uint64_t *dropped_cnt)
{
	uint16_t sent = rte_eth_tx_burst(port, qid, m, n);
	if (sent < n) {
		rte_pktmbuf_free_bulk(m + sent, n - sent);
		DP_CNT_ADD(*dropped_cnt, n - sent);
	}
	DP_CNT_ADD(*sent_cnt, sent);
}

/* Frames not for sluice to the kernel (the exception port's TX queue),
 * and what the kernel sent back out of the receive port. A full TX ring
 * drops the rest, counted. */
static void exc_pass(struct rx_dpdk *d, struct shard_in *si, struct rte_mbuf **fwd, uint16_t nfwd)
{
	if (nfwd)
		tx_or_drop(d->exc_id, d->qid, fwd, nfwd, &si->cnt.rx_to_kernel, &si->cnt.rx_to_kernel_dropped);
	struct rte_mbuf *m[RX_BURST];
	uint16_t n = rte_eth_rx_burst(d->exc_id, d->qid, m, RX_BURST);
	if (n)
		tx_or_drop(d->port_id, d->qid, m, n, &si->cnt.rx_from_kernel, &si->cnt.rx_from_kernel_dropped);
}

static unsigned dpdk_poll(struct shard *sh, struct shard_in *si)
{
	struct rx_dpdk *d = (struct rx_dpdk *)si->rx;
	if (!d->registered) {
		/* An lcore id gives this thread its mempool cache. */
		if (rte_thread_register() < 0)
			dp_warn("%s: shard %u: rte_thread_register: %s (no mempool cache)", si->in->name,
				sh->id, rte_strerror(rte_errno));
		d->registered = true;
	}
	struct rte_mbuf *m[RX_BURST], *fwd[RX_BURST * RX_BURSTS_PER_POLL];
	uint16_t nfwd = 0;
	struct shard_rx_acc acc;
	memset(&acc, 0, sizeof(acc));
	unsigned total = 0;
	uint64_t bytes = 0;
	for (int b = 0; b < RX_BURSTS_PER_POLL; b++) {
		uint16_t n = rte_eth_rx_burst(d->port_id, d->qid, m, RX_BURST), nfree = 0;
		/* Headers and the start of the payload of the next RX_PREFETCH
		 * frames: on a NIC they were just written by DMA (LLC or DRAM). */
		for (uint16_t i = 0; i < n && i < RX_PREFETCH; i++)
			rte_prefetch0(rte_pktmbuf_mtod(m[i], void *));
		for (uint16_t i = 0; i < n; i++) {
			struct rte_mbuf *mb = m[i];
			if (i + RX_PREFETCH < n)
				rte_prefetch0(rte_pktmbuf_mtod(m[i + RX_PREFETCH], void *));
			bytes += rte_pktmbuf_pkt_len(mb);
			enum shard_pkt_verdict v = SHARD_PKT_JUMBO;
			if (likely(mb->nb_segs == 1))
				v = shard_rx_frame_acc(sh, si, &d->pc, rte_pktmbuf_mtod(mb, const uint8_t *),
						       rte_pktmbuf_data_len(mb), &acc);
			else
				acc.drop[v]++, acc.bad++;
			/* Kept in place (nfree <= i) to be freed in bulk, or
			 * handed to the exception port. */
			if (unlikely(d->has_exc && shard_pkt_not_for_us(v)))
				fwd[nfwd++] = mb;
			else
				m[nfree++] = mb;
		}
		rte_pktmbuf_free_bulk(m, nfree);
		total += n;
		/* Out of chunks: stop taking frames (the rest of a burst already
		 * taken was counted as dropped). */
		if (n < RX_BURST || si->starved)
			break;
	}
	if (total) {
		DP_CNT_ADD(si->cnt.rx_packets, total);
		DP_CNT_ADD(si->cnt.rx_bytes, bytes);
		shard_rx_acc_flush(si, &acc);
	}
	if (d->has_exc)
		exc_pass(d, si, fwd, nfwd);
	if (d->qid == 0 && sh->now_ns >= d->stats_due) {
		/* Port-wide counters: one shard reads them, about once a second. */
		struct rte_eth_stats st;
		if (rte_eth_stats_get(d->port_id, &st) == 0) {
			__atomic_store_n(&si->cnt.rx_imissed, st.imissed, __ATOMIC_RELAXED);
			__atomic_store_n(&si->cnt.rx_nombuf, st.rx_nombuf, __ATOMIC_RELAXED);
		}
		d->stats_due = sh->now_ns + STATS_NS;
	}
	return total;
}

static void dpdk_close(struct shard *sh, struct shard_in *si)
{
	(void)sh;
	struct rx_dpdk *d = (struct rx_dpdk *)si->rx;
	port_release(d->port);
	free(d);
}

int shard_rx_dpdk_open(struct shard *sh, struct shard_in *si, struct dp_err *err)
{
	const struct shard_rx_cfg *cfg = si->in->rx;
	int rc = eal_init(cfg->dpdk_eal_args, err);
	if (rc)
		return rc;
	struct rx_port *p = NULL, *slot = NULL;
	for (unsigned i = 0; i < RX_MAX_PORTS; i++) {
		if (ports[i].refs && !strcmp(ports[i].spec, cfg->dpdk_port))
			p = &ports[i];
		else if (!ports[i].refs && !slot)
			slot = &ports[i];
	}
	if (!p) {
		if (sh->id != 0)
			return dp_err_set(err, -EINVAL, "Dpdk_Port '%s': not set up", cfg->dpdk_port);
		if (!slot)
			return dp_err_set(err, -ENOSPC, "more than %d DPDK ports", RX_MAX_PORTS);
		p = slot;
		snprintf(p->spec, sizeof(p->spec), "%s", cfg->dpdk_port);
		p->refs = 1;
		if ((rc = port_setup(p, sh, cfg, err)) != 0) {
			p->refs = 1;
			port_release(p);
			return rc;
		}
	} else if (sh->id == 0) {
		return dp_err_set(err, -EBUSY, "Dpdk_Port '%s' is used by another input", cfg->dpdk_port);
	} else {
		p->refs++;
	}
	struct rx_dpdk *d = calloc(1, sizeof(*d));
	if (!d) {
		port_release(p);
		return dp_err_set(err, -ENOMEM, "out of memory");
	}
	d->q.backend = SHARD_RX_DPDK;
	d->q.poll = dpdk_poll;
	d->q.close = dpdk_close;
	d->port = p;
	d->port_id = p->dev.id;
	d->has_exc = p->exc.started;
	d->exc_id = p->exc.id;
	d->qid = (uint16_t)sh->id;
	shard_rx_pkt_cfg(si->in, RTE_MBUF_DEFAULT_DATAROOM, &d->pc);
	si->rx = &d->q;
	return 0;
}

#else /* !SLUICE_DPDK */

int shard_rx_dpdk_open(struct shard *sh, struct shard_in *si, struct dp_err *err)
{
	(void)sh;
	(void)si;
	return dp_err_set(err, -ENOTSUP, "Rx_Backend dpdk: this sluice was built without DPDK "
			  "(libdpdk not found at build time)");
}

#endif
