/*
 * shard_pkt.h — Ethernet / IPv4 / IPv6 / UDP header parsing for the
 * kernel-bypass receive backends (shard_rx_dpdk.c, shard_rx_xdp.c): find
 * the UDP payload of a frame in place, or say why the frame is dropped.
 *
 * Pure C, no DPDK: it works on a byte buffer and its length and never reads
 * past it, so it is unit-tested and fuzzed on crafted frames.
 *
 * What is understood: up to two VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8,
 * the old QinQ 0x9100); IPv4 with options (version, IHL, total length and
 * header checksum checked); IPv6 with hop-by-hop, routing, destination
 * options and AH extension headers skipped; UDP (length checked against
 * the IP payload: a shorter UDP length is accepted and the rest ignored, as
 * Linux does). Not done: IPv4 and IPv6 fragments are counted and dropped,
 * never reassembled (SHARD_PKT_FRAG); the UDP checksum is not verified
 * (NICs and the kernel's veth do not always fill it, and the receive
 * backends' job is syslog, where a damaged datagram is a malformed record).
 *
 * Threads: none of its own; any thread, no shared state.
 */
#ifndef SHARD_PKT_H
#define SHARD_PKT_H

#include <stdint.h>

/* Why a frame was not delivered; SHARD_PKT_OK when it was. The first three
 * after OK are "not for us" (other traffic on the port); the rest are bad
 * or unsupported frames. */
enum shard_pkt_verdict {
	SHARD_PKT_OK = 0,
	SHARD_PKT_NOT_IP,       /* ARP, LLDP, 802.3/LLC ...: not IPv4/IPv6 */
	SHARD_PKT_NOT_UDP,      /* IP, another protocol (TCP, ICMP, ESP ...) */
	SHARD_PKT_OTHER_PORT,   /* UDP to another port or address */
	SHARD_PKT_TRUNC,        /* shorter than its headers say */
	SHARD_PKT_JUMBO,        /* longer than the configured largest frame */
	SHARD_PKT_VLAN,         /* more than two VLAN tags */
	SHARD_PKT_IP4_HDR,      /* bad version, IHL or total length */
	SHARD_PKT_IP4_CSUM,     /* bad IPv4 header checksum */
	SHARD_PKT_IP6_HDR,      /* bad version or extension header chain */
	SHARD_PKT_FRAG,         /* an IPv4 or IPv6 fragment: not reassembled */
	SHARD_PKT_UDP_LEN,      /* UDP length below 8 or beyond the IP payload */
	SHARD_PKT_NVERDICTS
};

/* The reasons that mean "not for us" rather than "bad frame". */
static inline int shard_pkt_not_for_us(enum shard_pkt_verdict v)
{
	return v == SHARD_PKT_NOT_IP || v == SHARD_PKT_NOT_UDP || v == SHARD_PKT_OTHER_PORT;
}

struct shard_pkt_cfg {
	uint16_t port;          /* UDP destination port, host order; 0: any */
	uint32_t dst4;          /* IPv4 destination, network order; 0: any */
	uint32_t max_frame;     /* largest frame accepted, bytes from the
	                           Ethernet header on (no FCS) */
};

struct shard_pkt {
	const uint8_t *payload; /* into the frame */
	uint32_t len;
	uint8_t family;         /* 4 or 6 */
	uint8_t ntags;          /* VLAN tags seen */
	uint16_t vlan;          /* innermost VLAN id, 0 when untagged */
	uint16_t sport, dport;  /* host order */
	uint8_t src[16];        /* source address: 4 or 16 bytes */
};

enum shard_pkt_verdict shard_pkt_parse(const struct shard_pkt_cfg *cfg, const uint8_t *frame,
				       uint32_t len, struct shard_pkt *out);

/* The verdict's counter name, e.g. "fragment" (stable: it is in Stats_File). */
const char *shard_pkt_verdict_name(enum shard_pkt_verdict v);

/* "udp://10.0.0.1:514" or "udp://2001:db8::1:514": the sender exactly as the
 * epoll path writes it for Source_Address_Key. Returns the length. */
unsigned shard_pkt_src_name(const struct shard_pkt *pk, char *out, unsigned cap);

#endif
