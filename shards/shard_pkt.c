/*
 * shard_pkt.c — Ethernet / IP / UDP header parsing in place (see
 * shard_pkt.h): the general path, for every frame the inline fast path
 * in shard_pkt.h does not take. Every read is preceded by a check that the
 * bytes are there, against the frame length.
 *
 * Threads: any; no state.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "shard_pkt.h"

#define ETH_HLEN 14
#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_P_QINQ_OLD 0x9100
#define IPPROTO_UDP_ 17
#define IP6_EXT_MAX 8   /* extension headers followed before giving up */

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Ones' complement sum of an IPv4 header: 0xffff when its checksum is right. */
static int ip4_csum_ok(const uint8_t *h, unsigned hlen)
{
	uint32_t sum = 0;
	for (unsigned i = 0; i < hlen; i += 2)
		sum += rd16(h + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* The UDP header at l4 (l4len bytes of IP payload, all present). */
static enum shard_pkt_verdict udp(const struct shard_pkt_cfg *cfg, const uint8_t *l4, uint32_t l4len,
				  struct shard_pkt *out)
{
	if (l4len < 8)
		return SHARD_PKT_UDP_LEN;
	uint16_t ulen = rd16(l4 + 4);
	out->sport = rd16(l4);
	out->dport = rd16(l4 + 2);
	if (cfg->port && out->dport != cfg->port)
		return SHARD_PKT_OTHER_PORT;
	/* Shorter than the IP payload: the rest is padding (Linux trims it
	 * too). Longer, or shorter than its own header: broken. */
	if (ulen < 8 || ulen > l4len)
		return SHARD_PKT_UDP_LEN;
	out->payload = l4 + 8;
	out->len = ulen - 8u;
	return SHARD_PKT_OK;
}

static enum shard_pkt_verdict ip4(const struct shard_pkt_cfg *cfg, const uint8_t *h, uint32_t avail,
				  struct shard_pkt *out)
{
	if (avail < 20)
		return SHARD_PKT_TRUNC;
	if (h[0] >> 4 != 4)
		return SHARD_PKT_IP4_HDR;
	unsigned hlen = (h[0] & 0x0f) * 4u;
	if (hlen < 20)
		return SHARD_PKT_IP4_HDR;
	if (hlen > avail)
		return SHARD_PKT_TRUNC;
	uint16_t tot = rd16(h + 2);
	if (tot < hlen)
		return SHARD_PKT_IP4_HDR;
	/* Bytes after tot are Ethernet padding; fewer than tot: cut short. */
	if (tot > avail)
		return SHARD_PKT_TRUNC;
	if (!ip4_csum_ok(h, hlen))
		return SHARD_PKT_IP4_CSUM;
	out->family = 4;
	memcpy(out->src, h + 12, 4);
	if (h[9] != IPPROTO_UDP_)
		return SHARD_PKT_NOT_UDP;
	uint32_t dst;
	memcpy(&dst, h + 16, 4);
	if (cfg->dst4 && dst != cfg->dst4)
		return SHARD_PKT_OTHER_PORT;
	/* More fragments, or an offset: part of a datagram. */
	if (rd16(h + 6) & 0x3fff)
		return SHARD_PKT_FRAG;
	return udp(cfg, h + hlen, tot - hlen, out);
}

static enum shard_pkt_verdict ip6(const struct shard_pkt_cfg *cfg, const uint8_t *h, uint32_t avail,
				  struct shard_pkt *out)
{
	if (avail < 40)
		return SHARD_PKT_TRUNC;
	if (h[0] >> 4 != 6)
		return SHARD_PKT_IP6_HDR;
	uint32_t plen = rd16(h + 4);
	/* 0 is a jumbogram (hop-by-hop option): not for a syslog port. */
	if (plen == 0)
		return SHARD_PKT_IP6_HDR;
	if (40 + plen > avail)
		return SHARD_PKT_TRUNC;
	out->family = 6;
	memcpy(out->src, h + 8, 16);
	uint8_t nh = h[6];
	uint32_t off = 40, end = 40 + plen;
	for (int i = 0; i <= IP6_EXT_MAX; i++) {
		switch (nh) {
		case IPPROTO_UDP_:
			return udp(cfg, h + off, end - off, out);
		case 0:   /* hop-by-hop options */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 51:  /* AH: length in 4-byte units, minus 2 */
			if (off + 2 > end)
				return SHARD_PKT_TRUNC;
			{
				uint32_t elen = nh == 51 ? (h[off + 1] + 2u) * 4u : (h[off + 1] + 1u) * 8u;
				if (off + elen > end)
					return SHARD_PKT_TRUNC;
				nh = h[off];
				off += elen;
			}
			break;
		case 44:  /* fragment */
			if (off + 8 > end)
				return SHARD_PKT_TRUNC;
			return SHARD_PKT_FRAG;
		default:  /* TCP, ICMPv6, ESP, no next header ... */
			return SHARD_PKT_NOT_UDP;
		}
	}
	return SHARD_PKT_IP6_HDR;
}

enum shard_pkt_verdict shard_pkt_parse_slow(const struct shard_pkt_cfg *cfg, const uint8_t *frame,
					    uint32_t len, struct shard_pkt *out)
{
	out->ntags = 0;
	out->vlan = 0;
	out->family = 0;
	if (cfg->max_frame && len > cfg->max_frame)
		return SHARD_PKT_JUMBO;
	if (len < ETH_HLEN)
		return SHARD_PKT_TRUNC;
	uint32_t off = 12;
	uint16_t type = rd16(frame + off);
	while (type == ETH_P_8021Q || type == ETH_P_8021AD || type == ETH_P_QINQ_OLD) {
		if (out->ntags == 2)
			return SHARD_PKT_VLAN;
		if (off + 6 > len)
			return SHARD_PKT_TRUNC;
		out->vlan = rd16(frame + off + 2) & 0x0fff;
		out->ntags++;
		off += 4;
		type = rd16(frame + off);
	}
	off += 2;
	if (type == ETH_P_IPV4)
		return ip4(cfg, frame + off, len - off, out);
	if (type == ETH_P_IPV6)
		return ip6(cfg, frame + off, len - off, out);
	return SHARD_PKT_NOT_IP;
}

const char *shard_pkt_verdict_name(enum shard_pkt_verdict v)
{
	static const char *const names[SHARD_PKT_NVERDICTS] = {
		[SHARD_PKT_OK] = "ok",
		[SHARD_PKT_NOT_IP] = "not_ip",
		[SHARD_PKT_NOT_UDP] = "not_udp",
		[SHARD_PKT_OTHER_PORT] = "other_port",
		[SHARD_PKT_TRUNC] = "truncated",
		[SHARD_PKT_JUMBO] = "jumbo",
		[SHARD_PKT_VLAN] = "vlan_depth",
		[SHARD_PKT_IP4_HDR] = "ip4_header",
		[SHARD_PKT_IP4_CSUM] = "ip4_checksum",
		[SHARD_PKT_IP6_HDR] = "ip6_header",
		[SHARD_PKT_FRAG] = "fragment",
		[SHARD_PKT_UDP_LEN] = "udp_length",
	};
	return (unsigned)v < SHARD_PKT_NVERDICTS ? names[v] : "?";
}

unsigned shard_pkt_src_name(const struct shard_pkt *pk, char *out, unsigned cap)
{
	char host[INET6_ADDRSTRLEN];
	if (!inet_ntop(pk->family == 6 ? AF_INET6 : AF_INET, pk->src, host, sizeof(host)))
		return 0;
	int n = snprintf(out, cap, "udp://%s:%u", host, pk->sport);
	return n > 0 && (unsigned)n < cap ? (unsigned)n : 0;
}
