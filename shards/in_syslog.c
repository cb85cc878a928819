/*
 * in_syslog.c — Fluent Bit's `syslog` input: RFC 5424 / RFC 3164 over TCP
 * (LF, NUL or RFC 6587 octet-counted frames, detected per frame), UDP (one
 * message per datagram) or a Unix socket (unix_tcp, unix_udp), parsed by
 * the native parsers in parsers/. Keys and defaults follow Fluent Bit's
 * in_syslog.
 *
 * Threads: setup on the control thread; parsing on the shard that received
 * the frame.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_pipeline.h"
#include "dp_tls.h"
#include "in_net.h"
#include "psr_frame.h"
#include "psr_parser.h"
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
	char *raw_message_key;
	int format;
	struct shard_rx_cfg rx;
	struct dp_tls_cfg tls;
};

#define C(f) offsetof(struct in_syslog_cfg, f)

static const struct dp_opt syslog_opts[] = {
	{ "Mode", DP_OPT_ENUM, "unix_udp", C(mode), "unix_udp|unix_tcp|tcp|udp", 0, 0, 0,
	  "Transport: tcp, udp, or a Unix socket at Path (unix_udp, unix_tcp; served by shard 0)." },
	{ "Listen", DP_OPT_STR, "0.0.0.0", C(listen), NULL, 0, 0, 0, "Address to listen on (tcp, udp)." },
	{ "Port", DP_OPT_INT, "5140", C(port), NULL, 1, 65535, 0, "Port to listen on (tcp, udp)." },
	{ "Path", DP_OPT_STR, NULL, C(path), NULL, 0, 0, 0,
	  "Unix socket file (unix modes). A stale socket left there is replaced; one in use is an error." },
	{ "Unix_Perm", DP_OPT_STR, "0644", C(unix_perm), NULL, 0, 0, 0,
	  "Permissions of the Unix socket file, in octal." },
	{ "Parser", DP_OPT_STR, NULL, C(parser), NULL, 0, 0, 0,
	  "syslog-rfc5424 (default for tcp and udp), syslog-rfc3164, or syslog-rfc3164-local "
	  "(default for the unix modes: no host field), all native; or the Name of any [PARSER] (a line "
	  "it does not match is kept under 'message' and counted as unparsed)." },
	{ "Buffer_Chunk_Size", DP_OPT_SIZE, "32000", C(chunk_size), NULL, 0, 0, 0,
	  "Read size; sluice reads at least 64 KiB at a time. For udp, see Buffer_Max_Size." },
	{ "Buffer_Max_Size", DP_OPT_SIZE, NULL, C(max_size), NULL, 0, 0, 0,
	  "Largest message (TCP frame or UDP datagram); larger ones are counted as oversize and skipped. "
	  "Default: Buffer_Chunk_Size." },
	{ "Receive_Buffer_Size", DP_OPT_SIZE, "0", C(rcvbuf), NULL, 0, 0, 0,
	  "SO_RCVBUF of the sockets; 0 keeps the kernel's default." },
	{ "Source_Address_Key", DP_OPT_STR, NULL, C(source_address_key), NULL, 0, 0, 0,
	  "Add the sender's address under this key: tcp://ip:port, udp://ip:port or unix://path." },
	{ "Raw_Message_Key", DP_OPT_STR, NULL, C(raw_message_key), NULL, 0, 0, 0,
	  "Add the whole message as received (the frame, without its framing) under this key, after "
	  "the parsed fields." },
	{ "Format", DP_OPT_ENUM, "auto", C(format), "auto|newline|octet_counting", 0, 0, 0,
	  "TCP framing. auto (sluice's default) detects RFC 6587 octet counting or LF/NUL per frame." },
	IN_NET_RX_OPTS(struct in_syslog_cfg, rx),
	DP_TLS_SERVER_OPTS(struct in_syslog_cfg, tls),
	{ NULL },
};

static const char *parser_name(const struct in_syslog_cfg *cfg)
{
	if (cfg->parser)
		return cfg->parser;
	/* Fluent Bit's defaults: what arrives on a local socket comes from
	 * syslog(3), which leaves out the host. */
	return cfg->mode == MODE_TCP || cfg->mode == MODE_UDP ? "syslog-rfc5424" : "syslog-rfc3164-local";
}

static bool is_native(const char *p)
{
	return !strcasecmp(p, "syslog-rfc5424") || !strcasecmp(p, "syslog-rfc3164") ||
	       !strcasecmp(p, "syslog-rfc3164-local");
}

static int setup(struct dp_input *in, struct dp_err *err)
{
	struct in_syslog_cfg *cfg = in->cfg;
	const char *parser = parser_name(cfg);
	err->key = "Parser";
	/* The three syslog parsers are native (Fluent Bit's parsers.conf
	 * defines them as regexes with the same fields); any other name is
	 * a [PARSER] from the Parsers_File. */
	if (!is_native(parser) && !(in->pl && psr_parsers_find(in->pl->parsers, parser)))
		return dp_err_set(err, -EINVAL, "unknown parser '%s' for 'Parser' (built in: "
				  "syslog-rfc5424, syslog-rfc3164, syslog-rfc3164-local; others come from "
				  "[PARSER] sections)", parser);
	int rc;
	switch (cfg->mode) {
	case MODE_TCP:
	case MODE_UDP:
		rc = in_net_setup(in, cfg->mode == MODE_TCP ? DP_NET_TCP : DP_NET_UDP, cfg->listen, cfg->port,
				  cfg->chunk_size, cfg->max_size, err);
		break;
	default:
		rc = in_net_setup_unix(in, cfg->mode == MODE_UNIX_TCP ? DP_NET_UNIX_TCP : DP_NET_UNIX_UDP,
				       cfg->path, cfg->unix_perm, cfg->chunk_size, cfg->max_size, err);
		break;
	}
	if (rc)
		return rc;
	if ((rc = in_net_setup_rx(in, &cfg->rx, err)) != 0)
		return rc;
	if ((rc = in_net_setup_tls(in, &cfg->tls, err)) != 0)
		return rc;
	in->rcvbuf = (int)cfg->rcvbuf;
	in->src_key = cfg->source_address_key;
	in->src_key_len = in->src_key ? strlen(in->src_key) : 0;
	in->framing = cfg->format == FMT_OCTET ? PSR_FRAME_OCTET :
		      cfg->format == FMT_NEWLINE ? PSR_FRAME_LF : PSR_FRAME_AUTO;
	return 0;
}

struct syslog_ctx {
	struct psr_syslog_ctx psr;
	int (*parse)(struct dp_chunk *c, const char *line, size_t len, struct psr_syslog_ctx *ctx);
	const struct psr_parser *user;   /* a [PARSER], instead of a native one */
	const char *raw_key;             /* Raw_Message_Key, or NULL */
	size_t raw_key_len;
	struct psr_parser_state *user_st;
};

static void *ctx_create(struct dp_input *in, unsigned shard)
{
	(void)shard;
	struct in_syslog_cfg *cfg = in->cfg;
	struct syslog_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	psr_syslog_ctx_init(&x->psr, 0);
	x->raw_key = cfg->raw_message_key;
	x->raw_key_len = x->raw_key ? strlen(x->raw_key) : 0;
	const char *p = parser_name(cfg);
	if (!is_native(p)) {
		x->user = psr_parsers_find(in->pl->parsers, p);
		x->user_st = psr_parser_state_create(x->user);
		if (!x->user_st) {
			free(x);
			return NULL;
		}
	}
	x->parse = !strcasecmp(p, "syslog-rfc3164")       ? psr_syslog3164_parse :
		   !strcasecmp(p, "syslog-rfc3164-local") ? psr_syslog3164_local_parse :
							    psr_syslog5424_parse;
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
	int rc;
	/* The common case first, as a tail call: a native parser alone. */
	if (!x->user && !x->raw_key)
		return x->parse(c, p, len, &x->psr);
	rc = x->user ? in_net_parse_with(x->user, x->user_st, c, p, len, "message", 7)
		     : x->parse(c, p, len, &x->psr);
	/* Fluent Bit adds the raw message to records its parser made. */
	if (rc == 0 && x->raw_key)
		dp_chunk_put_str(c, x->raw_key, x->raw_key_len, p, len);
	return rc;
}

static void ctx_destroy(void *ctx)
{
	struct syslog_ctx *x = ctx;
	if (x && x->user_st)
		psr_parser_state_destroy(x->user_st);
	free(x);
}

const struct dp_input_ops in_syslog_ops = {
	.name = "syslog",
	.desc = "Syslog over TCP or UDP (RFC 5424, RFC 3164; RFC 6587 framing)",
	.opts = syslog_opts,
	.cfg_size = sizeof(struct in_syslog_cfg),
	.setup = setup,
	.shard_ctx_create = ctx_create,
	.shard_ctx_destroy = ctx_destroy,
	.burst_begin = burst_begin,
	.parse = parse,
	.teardown = in_net_teardown,
};
