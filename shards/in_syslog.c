/*
 * in_syslog.c — Fluent Bit's `syslog` input: RFC 5424 / RFC 3164 over TCP
 * (LF, NUL or RFC 6587 octet-counted frames, detected per frame) or UDP
 * (one message per datagram), parsed by the native parsers in parsers/.
 * Keys and defaults follow Fluent Bit's in_syslog.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "in_net.h"
#include "psr_frame.h"
#include "psr_syslog.h"

enum { MODE_UNIX_UDP, MODE_UNIX_TCP, MODE_TCP, MODE_UDP };
enum { FMT_AUTO, FMT_NEWLINE, FMT_OCTET };

struct in_syslog_cfg {
	int mode;
	char *listen;
	int64_t port;
	char *path;
	char *unix_perm;
	char *parser;
	int64_t chunk_size;
	int64_t max_size;
	int64_t rcvbuf;
	char *source_address_key;
	int format;
};

#define C(f) offsetof(struct in_syslog_cfg, f)

static const struct dp_opt syslog_opts[] = {
	{ "Mode", DP_OPT_ENUM, "unix_udp", C(mode), "unix_udp|unix_tcp|tcp|udp", 0, 0, 0,
	  "Transport: tcp or udp. unix_udp and unix_tcp (Fluent Bit's default) are not supported yet." },
	{ "Listen", DP_OPT_STR, "0.0.0.0", C(listen), NULL, 0, 0, 0, "Address to listen on (tcp, udp)." },
	{ "Port", DP_OPT_INT, "5140", C(port), NULL, 1, 65535, 0, "Port to listen on (tcp, udp)." },
	{ "Path", DP_OPT_STR, NULL, C(path), NULL, 0, 0, DP_OPT_NOT_YET, "Unix socket path (unix modes)." },
	{ "Unix_Perm", DP_OPT_STR, "0644", C(unix_perm), NULL, 0, 0, 0,
	  "Permissions of the Unix socket (inert until unix modes are supported)." },
	{ "Parser", DP_OPT_STR, NULL, C(parser), NULL, 0, 0, 0,
	  "syslog-rfc5424 (default for tcp and udp) or syslog-rfc3164." },
	{ "Buffer_Chunk_Size", DP_OPT_SIZE, "32000", C(chunk_size), NULL, 0, 0, 0,
	  "Read size; sluice reads at least 64 KiB at a time. For udp, see Buffer_Max_Size." },
	{ "Buffer_Max_Size", DP_OPT_SIZE, NULL, C(max_size), NULL, 0, 0, 0,
	  "Largest message (TCP frame or UDP datagram); larger ones are counted as oversize and skipped. "
	  "Default: Buffer_Chunk_Size." },
	{ "Receive_Buffer_Size", DP_OPT_SIZE, "0", C(rcvbuf), NULL, 0, 0, 0,
	  "SO_RCVBUF of the sockets; 0 keeps the kernel's default." },
	{ "Source_Address_Key", DP_OPT_STR, NULL, C(source_address_key), NULL, 0, 0, DP_OPT_NOT_YET,
	  "Key to add the sender's address under. Not supported yet." },
	{ "Format", DP_OPT_ENUM, "auto", C(format), "auto|newline|octet_counting", 0, 0, 0,
	  "TCP framing. auto (sluice's default) detects RFC 6587 octet counting or LF/NUL per frame." },
	{ NULL },
};

static int setup(struct dp_input *in, struct dp_err *err)
{
	struct in_syslog_cfg *cfg = in->cfg;
	err->key = "Mode";
	if (cfg->mode == MODE_UNIX_UDP || cfg->mode == MODE_UNIX_TCP)
		return dp_err_set(err, -ENOTSUP, "Mode %s is not supported yet (use tcp or udp)",
				  cfg->mode == MODE_UNIX_UDP ? "unix_udp" : "unix_tcp");
	const char *parser = cfg->parser ? cfg->parser : "syslog-rfc5424";
	err->key = "Parser";
	if (strcasecmp(parser, "syslog-rfc5424") && strcasecmp(parser, "syslog-rfc3164"))
		return dp_err_set(err, -EINVAL, "unknown parser '%s' for 'Parser' (built in: "
				  "syslog-rfc5424, syslog-rfc3164)", parser);
	int tcp = cfg->mode == MODE_TCP;
	int rc = in_net_setup(in, tcp ? DP_NET_TCP : DP_NET_UDP, cfg->listen, cfg->port, cfg->chunk_size,
			      cfg->max_size, err);
	if (rc)
		return rc;
	in->rcvbuf = (int)cfg->rcvbuf;
	in->framing = cfg->format == FMT_OCTET ? PSR_FRAME_OCTET :
		      cfg->format == FMT_NEWLINE ? PSR_FRAME_LF : PSR_FRAME_AUTO;
	return 0;
}

struct syslog_ctx {
	struct psr_syslog_ctx psr;
	bool rfc3164;
};

static void *ctx_create(struct dp_input *in, unsigned shard)
{
	(void)shard;
	struct in_syslog_cfg *cfg = in->cfg;
	struct syslog_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	psr_syslog_ctx_init(&x->psr, 0);
	x->rfc3164 = cfg->parser && !strcasecmp(cfg->parser, "syslog-rfc3164");
	return x;
}

static void burst_begin(void *ctx, uint64_t now_real_ns)
{
	struct syslog_ctx *x = ctx;
	psr_syslog_ctx_set_now(&x->psr, (uint32_t)(now_real_ns / 1000000000ull));
}

static int parse(struct dp_chunk *c, const char *p, size_t len, void *ctx)
{
	struct syslog_ctx *x = ctx;
	if (x->rfc3164)
		return psr_syslog3164_parse(c, p, len, &x->psr);
	return psr_syslog5424_parse(c, p, len, &x->psr);
}

const struct dp_input_ops in_syslog_ops = {
	.name = "syslog",
	.desc = "Syslog over TCP or UDP (RFC 5424, RFC 3164; RFC 6587 framing)",
	.opts = syslog_opts,
	.cfg_size = sizeof(struct in_syslog_cfg),
	.setup = setup,
	.shard_ctx_create = ctx_create,
	.shard_ctx_destroy = free,
	.burst_begin = burst_begin,
	.parse = parse,
};
