/*
 * pg_frame.c — frame builders (see pg_frame.h).
 *
 * Threads: any; no state.
 */
#include <string.h>
#include "pg_frame.h"

static const uint8_t dst_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t src_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t pg_frame_udp(uint8_t *buf, size_t cap, const struct pg_udp *u, const void *payload, size_t plen)
{
	size_t l3 = 14 + 4 * u->ntags;
	size_t exts = 0;
	for (unsigned i = 0; u->family == 6 && i < u->nexts; i++)
		exts += 8;  /* every extension header here is 8 bytes (AH too: len 0) */
	size_t iphl = u->family == 4 ? 20 + u->ip4_opt_len : 40 + exts;
	size_t total = l3 + iphl + 8 + plen;
	if (total > cap || plen > 65000)
		return 0;
	memset(buf, 0, l3 + iphl + 8);
	memcpy(buf, dst_mac, 6);
	memcpy(buf + 6, src_mac, 6);
	size_t off = 12;
	for (unsigned i = 0; i < u->ntags; i++) {
		wr16(buf + off, i == 0 && u->ntags > 1 ? 0x88a8 : 0x8100);
		wr16(buf + off + 2, u->vlan[i]);
		off += 4;
	}
	wr16(buf + off, u->family == 4 ? 0x0800 : 0x86dd);
	uint8_t *ip = buf + l3;
	uint8_t *l4 = ip + iphl;
	uint16_t ulen = (uint16_t)(8 + plen);
	uint32_t psum;
	if (u->family == 4) {
		ip[0] = (uint8_t)(0x40 | (iphl / 4));
		wr16(ip + 2, (uint16_t)(iphl + ulen));
		wr16(ip + 6, u->frag ? 0x2000 : 0x4000);  /* MF, or DF */
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, u->src, 4);
		memcpy(ip + 16, u->dst, 4);
		for (size_t i = 20; i < iphl; i++)
			ip[i] = 1;  /* NOP options */
		wr16(ip + 10, fold(sum16(ip, iphl, 0)));
		psum = sum16(ip + 12, 8, 17 + ulen);
	} else {
		ip[0] = 0x60;
		wr16(ip + 4, (uint16_t)(exts + ulen));
		uint8_t *nh = ip + 6;
		ip[7] = 64;
		memcpy(ip + 8, u->src, 16);
		memcpy(ip + 24, u->dst, 16);
		uint8_t *e = ip + 40;
		for (unsigned i = 0; i < u->nexts; i++, e += 8) {
			*nh = u->ext[i];
			nh = e;
			if (u->ext[i] == 51)
				e[1] = 0;  /* AH: (0 + 2) * 4 = 8 bytes */
			else if (u->ext[i] == 44)
				wr16(e + 2, 1);  /* fragment: offset 0, M set */
			else
				e[1] = 0;  /* (0 + 1) * 8 = 8 bytes */
		}
		*nh = 17;
		psum = sum16(ip + 8, 32, 17 + ulen);
	}
	wr16(l4, u->sport);
	wr16(l4 + 2, u->dport);
	wr16(l4 + 4, ulen);
	memcpy(l4 + 8, payload, plen);
	uint16_t c = fold(sum16(l4, ulen, psum));
	wr16(l4 + 6, c ? c : 0xffff);
	return total;
}

size_t pg_frame_arp(uint8_t *buf, size_t cap, const uint8_t *ip)
{
	if (cap < 42)
		return 0;
	memset(buf, 0, 42);
	memset(buf, 0xff, 6);
	memcpy(buf + 6, src_mac, 6);
	wr16(buf + 12, 0x0806);
	wr16(buf + 14, 1);       /* Ethernet */
	wr16(buf + 16, 0x0800);  /* IPv4 */
	buf[18] = 6;
	buf[19] = 4;
	wr16(buf + 20, 1);       /* request */
	memcpy(buf + 22, src_mac, 6);
	memcpy(buf + 28, ip, 4);
	return 42;
}
