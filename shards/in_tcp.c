/*
 * in_tcp.c — Fluent Bit's `tcp` input: JSON objects (Format json, one per
 * line) or raw lines (Format none, cut at Separator, stored under "log").
 *
 * JSON objects may come one per line (the fast path), pretty-printed
 * over several lines or back to back ("{..}{..}", as Fluent Bit's JSON
 * stream tokenizer reads them): PSR_FRAME_JSON in parsers/psr_frame.h.
 *
 * Threads: setup on the control thread; parsing on the shard that received
 * the frame.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "dp_pipeline.h"
#include "dp_tls.h"
#include "in_net.h"
#include "psr_parser.h"

enum { FMT_JSON, FMT_NONE };

struct in_tcp_cfg {
	char *listen;
	int64_t port;
	int64_t buffer_size;
	int64_t chunk_size;
	int format;
	char *separator;
	char *source_address_key;
	char *parser;
	struct dp_tls_cfg tls;
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
	{ "Parser", DP_OPT_STR, NULL, C(parser), NULL, 0, 0, 0,
	  "Format none: the Name of a [PARSER] applied to each line; a line it does not match is "
	  "kept as {\"log\": line} and counted as unparsed." },
	DP_TLS_SERVER_OPTS(struct in_tcp_cfg, tls),
	{ NULL },
};

static int setup(struct dp_input *in, struct dp_err *err)
{
	struct in_tcp_cfg *cfg = in->cfg;
	int rc = in_net_setup(in, DP_NET_TCP, cfg->listen, cfg->port, cfg->chunk_size, cfg->buffer_size, err);
	if (rc)
		return rc;
	if ((rc = in_net_setup_tls(in, &cfg->tls, err)) != 0)
		return rc;
	in->src_key = cfg->source_address_key;
	in->src_key_len = in->src_key ? strlen(in->src_key) : 0;
	if (cfg->parser) {
		err->key = "Parser";
		if (cfg->format != FMT_NONE)
			return dp_err_set(err, -EINVAL, "Parser applies to lines: set Format none");
		if (!in->pl || !psr_parsers_find(in->pl->parsers, cfg->parser))
			return dp_err_set(err, -EINVAL, "unknown parser '%s' for 'Parser' (define it in a "
					  "[PARSER] section of the Parsers_File)", cfg->parser);
	}
	return in_net_setup_format(in, cfg->format == FMT_JSON, cfg->separator, err);
}

struct tcp_ctx {
	struct dp_input *in;
	const struct psr_parser *p;      /* Parser, or NULL */
	struct psr_parser_state *st;
};

static void ctx_destroy(void *ctx)
{
	struct tcp_ctx *x = ctx;
	if (x && x->st)
		psr_parser_state_destroy(x->st);
	free(x);
}

static void *ctx_create(struct dp_input *in, unsigned shard)
{
	(void)shard;
	struct in_tcp_cfg *cfg = in->cfg;
	struct tcp_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->in = in;
	if (cfg->parser) {
		x->p = psr_parsers_find(in->pl->parsers, cfg->parser);
		if (!(x->st = psr_parser_state_create(x->p))) {
			free(x);
			return NULL;
		}
	}
	return x;
}

static int parse(struct dp_chunk *c, const char *p, size_t len, void *ctx)
{
	struct tcp_ctx *x = ctx;
	if (!x->p)
		return in_net_lines_parse(c, p, len, x->in);
	return in_net_parse_with(x->p, x->st, c, p, len, "log", 3);
}

const struct dp_input_ops in_tcp_ops = {
	.name = "tcp",
	.desc = "JSON lines or raw lines over TCP",
	.opts = tcp_opts,
	.cfg_size = sizeof(struct in_tcp_cfg),
	.setup = setup,
	.shard_ctx_create = ctx_create,
	.shard_ctx_destroy = ctx_destroy,
	.parse = parse,
	.teardown = in_net_teardown,
};
