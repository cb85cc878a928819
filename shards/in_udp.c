/*
 * in_udp.c — Fluent Bit's `udp` input: JSON objects (Format json) or raw
 * records (Format none, cut at Separator, stored under "log") in UDP
 * datagrams, received by the epoll path (recvmmsg on SO_REUSEPORT sockets,
 * shards/shard_net.c) or a kernel-bypass backend (Rx_Backend dpdk|af_xdp,
 * shards/shard_rx.h), the same keys as syslog's Mode udp.
 *
 * A datagram may hold several records: it is cut by the tcp input's
 * framer (dp_input.dgram_frames, shard_emit_dgram in shards/shard.c), so
 * Format json takes one object per line or objects spread over lines, and
 * Format none cuts at Separator (default LF). A bad record is counted as
 * malformed and the records around it, in the same datagram or not, are
 * delivered.
 *
 * Differences from Fluent Bit, said in the option descriptions too:
 * - Objects are found as the tcp input finds them (psr_frame.h): one per
 *   line, spread over lines, or back to back ("{..}{..}"), as Fluent Bit
 *   reads a datagram's concatenated JSON values.
 * - Format none: Fluent Bit keeps a datagram's last record only when a
 *   separator ends it; a datagram is whole, so here the unterminated last
 *   record is delivered too (trailing LF, CR and NUL are dropped first).
 * - Receive_Buffer_Size (SO_RCVBUF) is sluice's, as syslog's key.
 *
 * Threads: setup on the control thread; parse on each shard with the
 * instance's option struct as its (read-only) context.
 */
#include <string.h>
#include "in_net.h"

enum { FMT_JSON, FMT_NONE };

struct in_udp_cfg {
	char *listen;
	int64_t port;
	int64_t buffer_size;
	int64_t chunk_size;
	int format;
	char *separator;
	char *source_address_key;
	int64_t rcvbuf;
	struct shard_rx_cfg rx;
};

#define C(f) offsetof(struct in_udp_cfg, f)

static const struct dp_opt udp_opts[] = {
	{ "Listen", DP_OPT_STR, "0.0.0.0", C(listen), NULL, 0, 0, 0,
	  "Address to listen on. With Rx_Backend dpdk or af_xdp, a specific IPv4 address filters on the "
	  "destination." },
	{ "Port", DP_OPT_INT, "5170", C(port), NULL, 1, 65535, 0, "UDP port to listen on." },
	{ "Buffer_Size", DP_OPT_SIZE_KB, NULL, C(buffer_size), NULL, 0, 0, 0,
	  "Largest datagram in KiB; larger ones are counted as oversize and skipped (a datagram is at "
	  "most 64 KiB). Default: Chunk_Size." },
	{ "Chunk_Size", DP_OPT_SIZE_KB, "32", C(chunk_size), NULL, 0, 0, 0,
	  "The default of Buffer_Size, in KiB (Fluent Bit's allocation step; sluice receives into "
	  "fixed buffers)." },
	{ "Format", DP_OPT_ENUM, "json", C(format), "json|none", 0, 0, 0,
	  "json: JSON objects, one per line, spread over lines or back to back (\"{..}{..}\"), "
	  "several per datagram. none: each record (cut at Separator) "
	  "becomes {\"log\": record}; the last one in a datagram needs no separator." },
	{ "Separator", DP_OPT_STR, "\\n", C(separator), NULL, 0, 0, 0,
	  "Record separator within a datagram for Format none; C escapes \\n \\r \\t \\0 \\\\ are "
	  "understood." },
	{ "Source_Address_Key", DP_OPT_STR, NULL, C(source_address_key), NULL, 0, 0, 0,
	  "Add the sender's address under this key: udp://ip:port." },
	{ "Receive_Buffer_Size", DP_OPT_SIZE, "0", C(rcvbuf), NULL, 0, 0, 0,
	  "SO_RCVBUF of the sockets (epoll path); 0 keeps the kernel's default. A sluice key, as "
	  "syslog's: Fluent Bit's udp input has none." },
	IN_NET_RX_OPTS(struct in_udp_cfg, rx),
	{ NULL },
};

static int setup(struct dp_input *in, struct dp_err *err)
{
	struct in_udp_cfg *cfg = in->cfg;
	int rc = in_net_setup(in, DP_NET_UDP, cfg->listen, cfg->port, cfg->chunk_size, cfg->buffer_size, err);
	if (rc)
		return rc;
	if ((rc = in_net_setup_rx(in, &cfg->rx, err)) != 0)
		return rc;
	if ((rc = in_net_setup_format(in, cfg->format == FMT_JSON, cfg->separator, err)) != 0)
		return rc;
	in->dgram_frames = true;
	in->rcvbuf = (int)cfg->rcvbuf;
	in->src_key = cfg->source_address_key;
	in->src_key_len = in->src_key ? strlen(in->src_key) : 0;
	return 0;
}

const struct dp_input_ops in_udp_ops = {
	.name = "udp",
	.desc = "JSON or raw records in UDP datagrams (epoll, DPDK or AF_XDP receive)",
	.opts = udp_opts,
	.cfg_size = sizeof(struct in_udp_cfg),
	.setup = setup,
	.shard_ctx_create = in_net_lines_ctx,
	.parse = in_net_lines_parse,
};
