/*
 * in_tcp.c — Fluent Bit's `tcp` input: JSON objects (Format json, one per
 * line) or raw lines (Format none, cut at Separator, stored under "log").
 *
 * JSON objects may come one per line (the fast path), pretty-printed
 * over several lines or back to back ("{..}{..}", as Fluent Bit's JSON
 * stream tokenizer reads them): PSR_FRAME_JSON in parsers/psr_frame.h.
 */
#include <string.h>
#include "in_net.h"

enum { FMT_JSON, FMT_NONE };

struct in_tcp_cfg {
	char *listen;
	int64_t port;
	int64_t buffer_size;
	int64_t chunk_size;
	int format;
	char *separator;
	char *source_address_key;
};

#define C(f) offsetof(struct in_tcp_cfg, f)

static const struct dp_opt tcp_opts[] = {
	{ "Listen", DP_OPT_STR, "0.0.0.0", C(listen), NULL, 0, 0, 0, "Address to listen on." },
	{ "Port", DP_OPT_INT, "5170", C(port), NULL, 1, 65535, 0, "TCP port to listen on." },
	{ "Buffer_Size", DP_OPT_SIZE_KB, NULL, C(buffer_size), NULL, 0, 0, 0,
	  "Largest message in KiB; larger ones are counted as oversize and skipped. Default: Chunk_Size." },
	{ "Chunk_Size", DP_OPT_SIZE_KB, "32", C(chunk_size), NULL, 0, 0, 0,
	  "Read size in KiB; sluice reads at least 64 KiB at a time." },
	{ "Format", DP_OPT_ENUM, "json", C(format), "json|none", 0, 0, 0,
	  "json: JSON objects, one per line or spread over lines. none: each line (cut at Separator) "
	  "becomes {\"log\": line}." },
	{ "Separator", DP_OPT_STR, "\\n", C(separator), NULL, 0, 0, 0,
	  "Record separator for Format none; C escapes \\n \\r \\t \\0 \\\\ are understood." },
	{ "Source_Address_Key", DP_OPT_STR, NULL, C(source_address_key), NULL, 0, 0, 0,
	  "Add the sender's address under this key: tcp://ip:port." },
	{ NULL },
};

static int setup(struct dp_input *in, struct dp_err *err)
{
	struct in_tcp_cfg *cfg = in->cfg;
	int rc = in_net_setup(in, DP_NET_TCP, cfg->listen, cfg->port, cfg->chunk_size, cfg->buffer_size, err);
	if (rc)
		return rc;
	in->src_key = cfg->source_address_key;
	in->src_key_len = in->src_key ? strlen(in->src_key) : 0;
	return in_net_setup_format(in, cfg->format == FMT_JSON, cfg->separator, err);
}

const struct dp_input_ops in_tcp_ops = {
	.name = "tcp",
	.desc = "JSON lines or raw lines over TCP",
	.opts = tcp_opts,
	.cfg_size = sizeof(struct in_tcp_cfg),
	.setup = setup,
	.shard_ctx_create = in_net_lines_ctx,
	.parse = in_net_lines_parse,
};
