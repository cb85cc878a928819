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
#include <string.h>

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

/* Any frame: every case above, and the reason when it is dropped. */
enum shard_pkt_verdict shard_pkt_parse_slow(const struct shard_pkt_cfg *cfg, const uint8_t *frame,
					    uint32_t len, struct shard_pkt *out);

static inline uint32_t shard_pkt_ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* The frame's UDP payload, or why not. Inline, for the receive loops: the
 * common case (untagged IPv4 without options, UDP, not a fragment, header
 * checksum and lengths right, to our port) is checked in one pass of
 * straight-line code; anything else, including every bad frame, goes to
 * shard_pkt_parse_slow, which finds the same answer the long way and names
 * the reason (tests/unit/shards/test_pkt.c checks both agree). Measured
 * with callgrind on bench/pcap: 169 -> about 70 instructions per frame. */
static inline enum shard_pkt_verdict shard_pkt_parse(const struct shard_pkt_cfg *cfg,
						     const uint8_t *frame, uint32_t len,
						     struct shard_pkt *out)
{
	/* Ethernet 14 + IPv4 20 + UDP 8. */
	if (len >= 42 && (!cfg->max_frame || len <= cfg->max_frame) && frame[12] == 0x08 &&
	    frame[13] == 0x00 && frame[14] == 0x45 && frame[23] == 17) {
		const uint8_t *h = frame + 14;
		uint32_t tot = (uint32_t)h[2] << 8 | h[3];
		uint32_t ulen = (uint32_t)h[24] << 8 | h[25];
		uint16_t dport = (uint16_t)(h[22] << 8 | h[23]);
		/* RFC 1071: the ones' complement sum of the ten 16-bit words
		 * is 0xffff. Folding adds 2^16 = 1 (mod 0xffff), so that is: the
		 * plain sum of the five 32-bit words, in either byte order (a
		 * swap multiplies by 256, prime to 0xffff), is a non-zero
		 * multiple of 0xffff (non-zero: h[0] is 0x45). */
		uint64_t sum = (uint64_t)shard_pkt_ld32(h) + shard_pkt_ld32(h + 4) + shard_pkt_ld32(h + 8) +
			       shard_pkt_ld32(h + 12) + shard_pkt_ld32(h + 16);
		if (sum % 0xffff == 0 && tot >= 28 && tot <= len - 14 && !((h[6] & 0x3f) | h[7]) &&
		    (!cfg->port || dport == cfg->port) &&
		    (!cfg->dst4 || shard_pkt_ld32(h + 16) == cfg->dst4) && ulen >= 8 && ulen <= tot - 20) {
			out->ntags = 0;
			out->vlan = 0;
			out->family = 4;
			memcpy(out->src, h + 12, 4);
			out->sport = (uint16_t)(h[20] << 8 | h[21]);
			out->dport = dport;
			out->payload = h + 28;
			out->len = ulen - 8;
			return SHARD_PKT_OK;
		}
	}
	return shard_pkt_parse_slow(cfg, frame, len, out);
}

/* The verdict's counter name, e.g. "fragment" (stable: it is in Stats_File). */
const char *shard_pkt_verdict_name(enum shard_pkt_verdict v);

/* "udp://10.0.0.1:514" or "udp://2001:db8::1:514": the sender exactly as the
 * epoll path writes it for Source_Address_Key. Returns the length. */
unsigned shard_pkt_src_name(const struct shard_pkt *pk, char *out, unsigned cap);

#endif
