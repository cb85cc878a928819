/*
 * in_net.h — what the network inputs (syslog, tcp, udp) share: filling the
 * transport fields of an instance from their keys (addresses and sizes,
 * Format json|none with Separator, the receive backend keys). Control
 * thread only.
 */
#ifndef IN_NET_H
#define IN_NET_H

#include <stdbool.h>
#include <stddef.h>
#include "dp_plugin.h"
#include "shard_rx.h"

/* Copy listen/port/sizes into the instance, checking them. */
int in_net_setup(struct dp_input *in, enum dp_transport net, const char *listen, int64_t port,
		 int64_t chunk_size, int64_t max_size, struct dp_err *err);

/* The same for a Unix socket at path with mode bits perm ("0644"). */
int in_net_setup_unix(struct dp_input *in, enum dp_transport net, const char *path, const char *perm,
		      int64_t chunk_size, int64_t max_size, struct dp_err *err);

/* The receive backend keys of a UDP input, as rows of its option table;
 * T is its option struct, F the struct shard_rx_cfg member in it. */
#define IN_NET_RX_OPTS(T, F) \
	{ "Rx_Backend", DP_OPT_ENUM, "epoll", offsetof(T, F.backend), "epoll|dpdk|af_xdp", 0, 0, 0, \
	  "Receive path of UDP (syslog Mode udp, the udp input): epoll (sockets, the default), dpdk " \
	  "(a DPDK port, one RX queue per shard) or af_xdp (an AF_XDP socket per shard). See " \
	  "docs/DEPLOYMENT.md." }, \
	{ "Dpdk_Port", DP_OPT_STR, NULL, offsetof(T, F.dpdk_port), NULL, 0, 0, 0, \
	  "Rx_Backend dpdk: the port, a PCI address (0000:3b:00.0) or a vdev string " \
	  "(net_pcap0,rx_pcap=a.pcap,rx_pcap=b.pcap). It needs one RX queue per shard." }, \
	{ "Dpdk_Eal_Args", DP_OPT_STR, NULL, offsetof(T, F.dpdk_eal_args), NULL, 0, 0, 0, \
	  "Rx_Backend dpdk: DPDK EAL arguments, split on blanks (e.g. --in-memory -l 0 -a 0000:3b:00.0). " \
	  "EAL is initialised once, by the first input that needs it." }, \
	{ "Dpdk_Mbufs", DP_OPT_INT, "8191", offsetof(T, F.dpdk_mbufs), NULL, 1023, 16777215, 0, \
	  "Rx_Backend dpdk: packet buffers per shard (its queue's pool). net_pcap with infinite_rx=1 " \
	  "holds its whole file in them." }, \
	{ "Dpdk_Exception_Port", DP_OPT_STR, NULL, offsetof(T, F.dpdk_exception_port), NULL, 0, 0, 0, \
	  "Rx_Backend dpdk: a second DPDK port (e.g. net_tap0,iface=sl0) that gets the frames not " \
	  "for this input (ARP, ICMP, other ports), so the kernel sees them, and whose frames are " \
	  "sent out of Dpdk_Port. Unset: they are counted and dropped." }, \
	{ "Xdp_Interface", DP_OPT_STR, NULL, offsetof(T, F.xdp_interface), NULL, 0, 0, 0, \
	  "Rx_Backend af_xdp: the network interface; shard N binds its queue N." }, \
	{ "Rx_Idle_Sleep", DP_OPT_INT, "100", offsetof(T, F.idle_sleep_us), NULL, 0, 1000000, 0, \
	  "Polling backends: longest sleep in microseconds when no packet arrives (the sleep grows " \
	  "from 1 us after 256 empty polls); 0 spins without sleeping." }

/* Format json|none and Separator of the tcp and udp inputs (Fluent Bit's
 * keys): json frames JSON objects (PSR_FRAME_JSON), none cuts at the
 * separator, given with C escapes \n \r \t \0 \\. Sets in->framing and,
 * for a separator other than LF, in->sep. */
/* tcp and udp inputs: each frame a JSON object (Format json, framing
 * PSR_FRAME_JSON) or {"log": frame}. The shard context is the input. */
void *in_net_lines_ctx(struct dp_input *in, unsigned shard);
int in_net_lines_parse(struct dp_chunk *c, const char *p, size_t len, void *ctx);

int in_net_setup_format(struct dp_input *in, bool json, const char *separator, struct dp_err *err);

/* An input's `Parser` (a [PARSER], on its shard's state st): the fields
 * it makes, or, as Fluent Bit keeps what a parser cannot match, the frame
 * under `raw_key` (syslog "message", tcp "log") and DP_PARSE_UNPARSED. */
struct psr_parser;
struct psr_parser_state;
int in_net_parse_with(const struct psr_parser *p, struct psr_parser_state *st, struct dp_chunk *c,
		      const char *line, size_t len, const char *raw_key, size_t raw_klen);

/* tls on (dp_tls.h): make the input's server context, in->tls. Only a
 * TCP listener speaks TLS; on any other transport tls on is an error
 * naming the key. Call after the transport is set up. */
struct dp_tls_cfg;
int in_net_setup_tls(struct dp_input *in, const struct dp_tls_cfg *cfg, struct dp_err *err);
/* What in_net_setup_tls made; the teardown of the inputs that call it. */
void in_net_teardown(struct dp_input *in);

/* Check the receive backend keys against the transport setup chose, and
 * point in->rx at them. */
int in_net_setup_rx(struct dp_input *in, const struct shard_rx_cfg *rx, struct dp_err *err);

#endif
