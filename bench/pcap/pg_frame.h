/*
 * pg_frame.h — building Ethernet frames for tests and for pcapgen: UDP
 * over IPv4 (with options) or IPv6 (with extension headers), VLAN tags,
 * fragments, ARP. Checksums are filled in (IPv4 header, UDP), so a frame
 * is valid until a test damages it on purpose.
 *
 * Threads: any; no state.
 */
#ifndef PG_FRAME_H
#define PG_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pg_udp {
	int family;               /* 4 or 6 */
	unsigned ntags;           /* VLAN tags, 0..3 (3 only to test refusal) */
	uint16_t vlan[3];
	uint8_t src[16], dst[16]; /* 4 or 16 bytes used */
	uint16_t sport, dport;
	unsigned ip4_opt_len;     /* IPv4 options, a multiple of 4, <= 40 */
	unsigned nexts;           /* IPv6 extension headers before UDP */
	uint8_t ext[4];           /* their types: 0, 43, 60, 51 or 44 (fragment) */
	bool frag;                /* IPv4: set MF (a first fragment) */
};

/* Write the frame into buf; returns its length, 0 when cap is too small. */
size_t pg_frame_udp(uint8_t *buf, size_t cap, const struct pg_udp *u, const void *payload, size_t plen);

/* An ARP request (42 bytes) from ip (4 bytes). */
size_t pg_frame_arp(uint8_t *buf, size_t cap, const uint8_t *ip);

#endif
