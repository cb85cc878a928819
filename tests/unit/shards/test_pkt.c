/*
 * test_pkt.c — shard_pkt: frames built by bench/pcap/pg_frame.c (valid,
 * with checksums), then damaged on purpose. Every truncation of every
 * valid frame must be refused without reading past the end (run under
 * ASan: the frame is copied to a heap block of exactly its length).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "../../../bench/pcap/pg_frame.h"
#include "shard_pkt.h"

static const char msg[] = "<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - 'su root' failed";

static struct shard_pkt_cfg cfg = { .port = 514, .max_frame = 1518 + 8 };

static struct pg_udp v4(void)
{
	struct pg_udp u = { .family = 4, .sport = 40000, .dport = 514,
			    .src = { 10, 0, 0, 7 }, .dst = { 10, 0, 0, 1 } };
	return u;
}

static struct pg_udp v6(void)
{
	struct pg_udp u = { .family = 6, .sport = 40001, .dport = 514 };
	u.src[0] = 0x20; u.src[1] = 0x01; u.src[2] = 0x0d; u.src[3] = 0xb8; u.src[15] = 7;
	u.dst[0] = 0x20; u.dst[1] = 0x01; u.dst[2] = 0x0d; u.dst[3] = 0xb8; u.dst[15] = 1;
	return u;
}

/* Parse a heap copy of exactly len bytes, so ASan sees any overread. */
static enum shard_pkt_verdict parse(const uint8_t *f, size_t len, struct shard_pkt *pk)
{
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, f, len);
	enum shard_pkt_verdict v = shard_pkt_parse(&cfg, copy, (uint32_t)len, pk);
	/* The payload points into the copy: compare before freeing. */
	if (v == SHARD_PKT_OK) {
		assert_true(pk->payload >= copy && pk->payload + pk->len <= copy + len);
		pk->payload = f + (pk->payload - copy);
	}
	free(copy);
	return v;
}

/* Recompute the checksum of a 20-byte IPv4 header after editing it. */
static void fix_ip4_csum(uint8_t *ip)
{
	ip[10] = ip[11] = 0;
	uint32_t s = 0;
	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	ip[10] = (uint8_t)(~s >> 8);
	ip[11] = (uint8_t)~s;
}

static void expect_payload(const uint8_t *f, size_t len)
{
	struct shard_pkt pk;
	assert_int_equal(parse(f, len, &pk), SHARD_PKT_OK);
	assert_int_equal(pk.len, strlen(msg));
	assert_memory_equal(pk.payload, msg, strlen(msg));
	/* Every shorter frame is refused, never read past. */
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(parse(f, n, &pk), SHARD_PKT_OK);
}

static void test_ipv4_plain(void **state)
{
	(void)state;
	uint8_t f[2048];
	struct pg_udp u = v4();
	size_t n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	expect_payload(f, n);
	struct shard_pkt pk;
	parse(f, n, &pk);
	assert_int_equal(pk.family, 4);
	assert_int_equal(pk.sport, 40000);
	assert_int_equal(pk.dport, 514);
	char src[64];
	assert_true(shard_pkt_src_name(&pk, src, sizeof(src)) > 0);
	assert_string_equal(src, "udp://10.0.0.7:40000");
	/* Ethernet padding after the IP datagram is ignored. */
	memset(f + n, 0, 30);
	assert_int_equal(parse(f, n + 30, &pk), SHARD_PKT_OK);
	assert_int_equal(pk.len, strlen(msg));
}

static void test_ipv4_options(void **state)
{
	(void)state;
	uint8_t f[2048];
	for (unsigned o = 4; o <= 40; o += 4) {
		struct pg_udp u = v4();
		u.ip4_opt_len = o;
		size_t n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
		expect_payload(f, n);
	}
}

static void test_vlan(void **state)
{
	(void)state;
	uint8_t f[2048];
	struct shard_pkt pk;
	struct pg_udp u = v4();
	u.ntags = 1;
	u.vlan[0] = 100;
	size_t n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	expect_payload(f, n);
	parse(f, n, &pk);
	assert_int_equal(pk.ntags, 1);
	assert_int_equal(pk.vlan, 100);
	/* QinQ: 802.1ad outer, 802.1Q inner; the inner id is kept. */
	u = v6();
	u.ntags = 2;
	u.vlan[0] = 10;
	u.vlan[1] = 20;
	n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	expect_payload(f, n);
	parse(f, n, &pk);
	assert_int_equal(pk.ntags, 2);
	assert_int_equal(pk.vlan, 20);
	/* A third tag is refused. */
	u.ntags = 3;
	n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_VLAN);
}

static void test_ipv6_ext_headers(void **state)
{
	(void)state;
	uint8_t f[2048];
	struct shard_pkt pk;
	struct pg_udp u = v6();
	size_t n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	expect_payload(f, n);
	static const uint8_t chains[][4] = { { 0 }, { 0, 43 }, { 0, 60, 43, 60 }, { 51 }, { 60, 51 } };
	static const unsigned lens[] = { 1, 2, 4, 1, 2 };
	for (unsigned i = 0; i < 5; i++) {
		u = v6();
		u.nexts = lens[i];
		memcpy(u.ext, chains[i], 4);
		n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
		expect_payload(f, n);
		parse(f, n, &pk);
		assert_int_equal(pk.family, 6);
		char src[64];
		shard_pkt_src_name(&pk, src, sizeof(src));
		assert_string_equal(src, "udp://2001:db8::7:40001");
	}
	/* A fragment header anywhere in the chain: dropped as a fragment. */
	u = v6();
	u.nexts = 2;
	u.ext[0] = 0;
	u.ext[1] = 44;
	n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_FRAG);
	/* An extension header claiming more than the payload: truncated. */
	u = v6();
	u.nexts = 1;
	u.ext[0] = 60;
	n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	f[14 + 40 + 1] = 200;
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_TRUNC);
	/* Payload length beyond the frame; version wrong; ICMPv6. */
	u = v6();
	n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	f[14 + 4] = 0x10;
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_TRUNC);
	n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	f[14] = 0x40;
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_IP6_HDR);
	n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	f[14 + 6] = 58;
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_NOT_UDP);
}

static void test_ipv4_fragments(void **state)
{
	(void)state;
	uint8_t f[2048];
	struct shard_pkt pk;
	struct pg_udp u = v4();
	u.frag = true;  /* first fragment: MF set */
	size_t n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_FRAG);
	/* A later fragment: offset set, MF clear; checksum fixed up. */
	u.frag = false;
	n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	f[14 + 6] = 0x00;
	f[14 + 7] = 0x10;
	fix_ip4_csum(f + 14);
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_FRAG);
}

static void test_ipv4_bad_headers(void **state)
{
	(void)state;
	uint8_t f[2048];
	struct shard_pkt pk;
	struct pg_udp u = v4();
	size_t n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	uint8_t *ip = f + 14;
	/* Checksum. */
	ip[10] ^= 0x55;
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_IP4_CSUM);
	/* IHL below 5, version 5, total length below the header. */
	n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	ip[0] = 0x44;
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_IP4_HDR);
	ip[0] = 0x55;
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_IP4_HDR);
	n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	ip[2] = 0;
	ip[3] = 10;
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_IP4_HDR);
	/* Total length beyond the frame (checksum not reached). */
	n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	ip[2] = 0x05;
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_TRUNC);
	/* IHL beyond the frame. */
	ip[0] = 0x4f;
	assert_int_equal(parse(f, 14 + 30, &pk), SHARD_PKT_TRUNC);
}

static void test_udp_length(void **state)
{
	(void)state;
	uint8_t f[2048];
	struct shard_pkt pk;
	struct pg_udp u = v4();
	size_t n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	uint8_t *l4 = f + 14 + 20;
	l4[4] = 0;
	l4[5] = 7;  /* below its own header */
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_UDP_LEN);
	l4[4] = 0x04;  /* beyond the IP payload */
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_UDP_LEN);
	/* Shorter than the IP payload: accepted, cut to the UDP length. */
	l4[4] = 0;
	l4[5] = 8 + 4;
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_OK);
	assert_int_equal(pk.len, 4);
	assert_memory_equal(pk.payload, "<34>", 4);
	/* Empty datagram. */
	n = pg_frame_udp(f, sizeof(f), &u, "", 0);
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_OK);
	assert_int_equal(pk.len, 0);
}

static void test_not_for_us(void **state)
{
	(void)state;
	uint8_t f[2048];
	struct shard_pkt pk;
	static const uint8_t ip[4] = { 10, 0, 0, 9 };
	size_t n = pg_frame_arp(f, sizeof(f), ip);
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_NOT_IP);
	assert_true(shard_pkt_not_for_us(SHARD_PKT_NOT_IP));
	struct pg_udp u = v4();
	u.dport = 53;
	n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_OTHER_PORT);
	assert_true(shard_pkt_not_for_us(SHARD_PKT_OTHER_PORT));
	/* TCP: protocol 6. */
	u = v4();
	n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	f[14 + 9] = 6;
	fix_ip4_csum(f + 14);
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_NOT_UDP);
	/* Port 0 in the configuration: any port. */
	struct shard_pkt_cfg any = { .port = 0 };
	u.dport = 53;
	n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	assert_int_equal(shard_pkt_parse(&any, f, (uint32_t)n, &pk), SHARD_PKT_OK);
	/* Destination address filter. */
	struct shard_pkt_cfg only = { .port = 53 };
	memcpy(&only.dst4, (uint8_t[]){ 10, 0, 0, 2 }, 4);
	assert_int_equal(shard_pkt_parse(&only, f, (uint32_t)n, &pk), SHARD_PKT_OTHER_PORT);
	memcpy(&only.dst4, (uint8_t[]){ 10, 0, 0, 1 }, 4);
	assert_int_equal(shard_pkt_parse(&only, f, (uint32_t)n, &pk), SHARD_PKT_OK);
}

static void test_jumbo(void **state)
{
	(void)state;
	static uint8_t f[10000];
	static char big[9000];
	struct shard_pkt pk;
	memset(big, 'x', sizeof(big));
	struct pg_udp u = v4();
	size_t n = pg_frame_udp(f, sizeof(f), &u, big, 1472);
	assert_int_equal(n, 1514);
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_OK);
	n = pg_frame_udp(f, sizeof(f), &u, big, sizeof(big));
	assert_int_equal(parse(f, n, &pk), SHARD_PKT_JUMBO);
	struct shard_pkt_cfg jumbo = { .port = 514, .max_frame = 9216 };
	assert_int_equal(shard_pkt_parse(&jumbo, f, (uint32_t)n, &pk), SHARD_PKT_OK);
	assert_int_equal(pk.len, sizeof(big));
}

/* The inline fast path of shard_pkt_parse and shard_pkt_parse_slow give
 * the same verdict, payload and sender for a valid IPv4 frame and for every
 * one-byte damage of its headers (each byte set to a few values), with and
 * without the port and address filters, and for each length. */
static void same(const struct shard_pkt_cfg *cfg, const uint8_t *f, uint32_t len)
{
	struct shard_pkt a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	enum shard_pkt_verdict va = shard_pkt_parse(cfg, f, len, &a);
	enum shard_pkt_verdict vb = shard_pkt_parse_slow(cfg, f, len, &b);
	assert_int_equal(va, vb);
	if (va != SHARD_PKT_OK)
		return;
	assert_ptr_equal(a.payload, b.payload);
	assert_int_equal(a.len, b.len);
	assert_int_equal(a.family, b.family);
	assert_int_equal(a.sport, b.sport);
	assert_int_equal(a.dport, b.dport);
	assert_int_equal(a.ntags, b.ntags);
	assert_memory_equal(a.src, b.src, 4);
}

static void test_fast_path_agrees(void **state)
{
	(void)state;
	uint8_t f[256], g[256];
	struct pg_udp u = v4();
	size_t n = pg_frame_udp(f, sizeof(f), &u, msg, strlen(msg));
	uint32_t dst;
	memcpy(&dst, f + 30, 4);
	const struct shard_pkt_cfg cfgs[] = {
		{ .port = 514 }, { .port = 0 }, { .port = 515 }, { .port = 514, .dst4 = dst },
		{ .port = 514, .dst4 = dst ^ 1 }, { .port = 514, .max_frame = 60 },
	};
	static const uint8_t vals[] = { 0x00, 0x01, 0x08, 0x11, 0x20, 0x3f, 0x40, 0x45, 0x46, 0x7f, 0xff };
	unsigned ok = 0;
	for (size_t c = 0; c < sizeof(cfgs) / sizeof(cfgs[0]); c++) {
		for (uint32_t len = 0; len <= n + 4; len++)
			same(&cfgs[c], f, len);
		for (size_t i = 0; i < 42; i++) {
			for (size_t k = 0; k < sizeof(vals); k++) {
				memcpy(g, f, n);
				g[i] = vals[k];
				same(&cfgs[c], g, (uint32_t)n);
				/* the same damage with the header checksum made
				 * right again, so the later checks are reached */
				if (i >= 14 && i < 34) {
					fix_ip4_csum(g + 14);
					same(&cfgs[c], g, (uint32_t)n);
				}
			}
		}
		struct shard_pkt pk;
		ok += shard_pkt_parse(&cfgs[c], f, (uint32_t)n, &pk) == SHARD_PKT_OK;
	}
	/* the test frame itself passes where it should: port 514, any port,
	 * its own address (not 515, another address, a 60-byte max frame) */
	assert_int_equal(ok, 3);
}

static void test_names(void **state)
{
	(void)state;
	for (int v = 0; v < SHARD_PKT_NVERDICTS; v++)
		assert_non_null(shard_pkt_verdict_name(v));
	assert_string_equal(shard_pkt_verdict_name(SHARD_PKT_FRAG), "fragment");
	assert_string_equal(shard_pkt_verdict_name(SHARD_PKT_NVERDICTS), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_plain),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_ipv6_ext_headers),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv4_bad_headers),
		cmocka_unit_test(test_udp_length),
		cmocka_unit_test(test_not_for_us),
		cmocka_unit_test(test_jumbo),
		cmocka_unit_test(test_fast_path_agrees),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
