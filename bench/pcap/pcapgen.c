/*
 * pcapgen.c — write pcap files of syslog (RFC 5424 / RFC 3164) or JSON
 * datagrams for replay through DPDK's net_pcap (tests/e2e, bench/pcap).
 *
 *   pcapgen --out F --count N [--files Q] [--format rfc5424|rfc3164|json]
 *           [--port 514] [--flows 256] [--noise PCT] [--ipv6 PCT]
 *           [--vlan PCT] [--seed S] [--variety V]
 *
 * Content comes from bench/loadgen's corpus (the same realistic events),
 * every datagram carrying " seq=%010u" (0 .. N-1) so a test can check
 * that each arrived exactly once. Flows: datagram k comes from flow
 * k % flows (its own source address and port); with --files Q > 1, flow f
 * goes to file F.(f % Q), as RSS would spread flows over Q queues. --noise
 * PCT adds that many noise frames per 100 datagrams, round robin over:
 * ARP, UDP to another port, TCP, a truncated syslog frame, an IPv4
 * fragment to the syslog port, a bad IPv4 header checksum. --ipv6 and
 * --vlan make that share of the datagrams IPv6 or VLAN-tagged (QinQ for
 * one in four of those). Prints a JSON summary: what was written, by kind.
 *
 * Threads: one.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../loadgen/loadgen.h"
#include "pg_frame.h"

enum { N_ARP, N_OTHER_PORT, N_TCP, N_TRUNC, N_FRAG, N_CSUM, N_KINDS };
static const char *const noise_names[N_KINDS] = {
	"not_ip", "other_port", "not_udp", "truncated", "fragment", "ip4_checksum",
};

struct out {
	FILE *f;
	uint64_t frames;
};

static void wr_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);  /* pcap is written in host order, its magic says which */
}

static int pcap_open(struct out *o, const char *path)
{
	uint8_t h[24] = { 0 };
	o->f = fopen(path, "wb");
	if (!o->f) {
		fprintf(stderr, "pcapgen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	wr_u32(h, 0xa1b2c3d4);
	uint16_t major = 2, minor = 4;
	memcpy(h + 4, &major, 2);
	memcpy(h + 6, &minor, 2);
	wr_u32(h + 16, 65535);  /* snaplen */
	wr_u32(h + 20, 1);      /* Ethernet */
	fwrite(h, 1, sizeof(h), o->f);
	o->frames = 0;
	return 0;
}

static void pcap_write(struct out *o, const uint8_t *frame, size_t len, uint64_t k)
{
	uint8_t h[16];
	wr_u32(h, (uint32_t)(1700000000u + k / 1000000u));
	wr_u32(h + 4, (uint32_t)(k % 1000000u));
	wr_u32(h + 8, (uint32_t)len);
	wr_u32(h + 12, (uint32_t)len);
	fwrite(h, 1, sizeof(h), o->f);
	fwrite(frame, 1, len, o->f);
	o->frames++;
}

static void flow_addr(struct pg_udp *u, unsigned flow, int family)
{
	memset(u->src, 0, sizeof(u->src));
	memset(u->dst, 0, sizeof(u->dst));
	if (family == 4) {
		u->src[0] = 10;
		u->src[1] = (uint8_t)(flow >> 16);
		u->src[2] = (uint8_t)(flow >> 8);
		u->src[3] = (uint8_t)flow;
		u->dst[0] = 10; u->dst[1] = 255; u->dst[2] = 0; u->dst[3] = 1;
	} else {
		u->src[0] = 0x20; u->src[1] = 0x01; u->src[2] = 0x0d; u->src[3] = 0xb8;
		u->src[13] = (uint8_t)(flow >> 16);
		u->src[14] = (uint8_t)(flow >> 8);
		u->src[15] = (uint8_t)flow;
		u->dst[0] = 0x20; u->dst[1] = 0x01; u->dst[2] = 0x0d; u->dst[3] = 0xb8; u->dst[15] = 1;
	}
	u->family = family;
	u->sport = (uint16_t)(10000 + flow % 50000);
}

static void usage(void)
{
	fprintf(stderr, "usage: pcapgen --out FILE --count N [--files Q] [--format rfc5424|rfc3164|json]\n"
			"               [--port P] [--flows F] [--noise PCT] [--ipv6 PCT] [--vlan PCT]\n"
			"               [--seed S] [--variety V]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	unsigned long long count = 0;
	unsigned files = 1, port = 514, flows = 256, noise = 0, ipv6 = 0, vlan = 0;
	struct lg_opts o = { .proto = LG_UDP, .format = LG_RFC5424, .conns = 1, .seed = 1,
			     .variety = 1024, .sd = 1, .mark = 1 };
	static const struct option lo[] = {
		{ "out", 1, 0, 'o' }, { "count", 1, 0, 'n' }, { "files", 1, 0, 'q' },
		{ "format", 1, 0, 'f' }, { "port", 1, 0, 'p' }, { "flows", 1, 0, 'F' },
		{ "noise", 1, 0, 'N' }, { "ipv6", 1, 0, '6' }, { "vlan", 1, 0, 'v' },
		{ "seed", 1, 0, 's' }, { "variety", 1, 0, 'V' }, { 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 'q': files = (unsigned)atoi(optarg); break;
		case 'f':
			o.format = !strcmp(optarg, "rfc3164") ? LG_RFC3164 :
				   !strcmp(optarg, "json") ? LG_JSON :
				   !strcmp(optarg, "rfc5424") ? LG_RFC5424 : (usage(), LG_RFC5424);
			break;
		case 'p': port = (unsigned)atoi(optarg); break;
		case 'F': flows = (unsigned)atoi(optarg); break;
		case 'N': noise = (unsigned)atoi(optarg); break;
		case '6': ipv6 = (unsigned)atoi(optarg); break;
		case 'v': vlan = (unsigned)atoi(optarg); break;
		case 's': o.seed = strtoull(optarg, NULL, 10); break;
		case 'V': o.variety = (unsigned)atoi(optarg); break;
		default: usage();
		}
	}
	if (!out || !count || files < 1 || files > 64 || !flows || port < 1 || port > 65535 ||
	    count > 9999999999ull)
		usage();
	struct lg_corpus corpus;
	if (lg_corpus_build(&corpus, &o, 0)) {
		fprintf(stderr, "pcapgen: out of memory\n");
		return 1;
	}
	struct out outs[64];
	for (unsigned i = 0; i < files; i++) {
		char path[4096];
		if (files == 1)
			snprintf(path, sizeof(path), "%s", out);
		else
			snprintf(path, sizeof(path), "%s.%u", out, i);
		if (pcap_open(&outs[i], path))
			return 1;
	}
	static uint8_t frame[70000];
	uint64_t kinds[N_KINDS] = { 0 }, v6 = 0, tagged = 0, nnoise = 0;
	unsigned noise_acc = 0;
	for (uint64_t k = 0; k < count; k++) {
		uint32_t pos = (uint32_t)(k % corpus.n);
		lg_corpus_mark(&corpus, pos, 1, k);
		const char *msg = corpus.buf + corpus.off[pos];
		size_t mlen = corpus.off[pos + 1] - corpus.off[pos];
		unsigned flow = (unsigned)(k % flows);
		struct out *w = &outs[flow % files];
		struct pg_udp u = { .dport = (uint16_t)port };
		int fam = (k % 100) < ipv6 ? 6 : 4;
		flow_addr(&u, flow, fam);
		v6 += fam == 6;
		if (vlan && (k / 7) % 100 < vlan) {
			u.ntags = (k % 4 == 0) ? 2 : 1;
			u.vlan[0] = (uint16_t)(100 + flow % 7);
			u.vlan[1] = (uint16_t)(200 + flow % 5);
			tagged++;
		}
		size_t n = pg_frame_udp(frame, sizeof(frame), &u, msg, mlen);
		pcap_write(w, frame, n, k);
		/* Noise after this datagram, PCT per 100. */
		for (noise_acc += noise; noise_acc >= 100; noise_acc -= 100) {
			int kind = (int)(nnoise++ % N_KINDS);
			struct pg_udp z = { .dport = (uint16_t)port };
			flow_addr(&z, flow, 4);
			switch (kind) {
			case N_ARP:
				n = pg_frame_arp(frame, sizeof(frame), z.src);
				break;
			case N_OTHER_PORT:
				z.dport = (uint16_t)(port == 53 ? 54 : 53);
				n = pg_frame_udp(frame, sizeof(frame), &z, msg, mlen);
				break;
			case N_TCP:
				n = pg_frame_udp(frame, sizeof(frame), &z, msg, mlen);
				frame[14 + 9] = 6;
				frame[14 + 10] = frame[14 + 11] = 0;
				{
					uint32_t s = 0;
					for (int i = 0; i < 20; i += 2)
						s += (uint32_t)(frame[14 + i] << 8 | frame[14 + i + 1]);
					while (s >> 16)
						s = (s & 0xffff) + (s >> 16);
					frame[14 + 10] = (uint8_t)(~s >> 8);
					frame[14 + 11] = (uint8_t)~s;
				}
				break;
			case N_TRUNC:
				n = pg_frame_udp(frame, sizeof(frame), &z, msg, mlen);
				n = 14 + 20 + 4;  /* cut inside the UDP header */
				break;
			case N_FRAG:
				z.frag = true;
				n = pg_frame_udp(frame, sizeof(frame), &z, msg, mlen);
				break;
			default:
				n = pg_frame_udp(frame, sizeof(frame), &z, msg, mlen);
				frame[14 + 10] ^= 0x5a;
				break;
			}
			kinds[kind]++;
			pcap_write(w, frame, n, k);
		}
	}
	uint64_t frames = 0;
	printf("{\"syslog\":%llu,\"ipv6\":%llu,\"vlan\":%llu,\"noise\":{", count, (unsigned long long)v6,
	       (unsigned long long)tagged);
	for (int i = 0; i < N_KINDS; i++)
		printf("%s\"%s\":%llu", i ? "," : "", noise_names[i], (unsigned long long)kinds[i]);
	printf("},\"files\":[");
	for (unsigned i = 0; i < files; i++) {
		printf("%s%llu", i ? "," : "", (unsigned long long)outs[i].frames);
		frames += outs[i].frames;
		if (fclose(outs[i].f)) {
			fprintf(stderr, "pcapgen: write failed: %s\n", strerror(errno));
			return 1;
		}
	}
	printf("],\"frames\":%llu}\n", (unsigned long long)frames);
	lg_corpus_fini(&corpus);
	return 0;
}
