/*
 * in_net.c — shared set-up of the network inputs (see in_net.h).
 *
 * Threads: setup on the control thread; the parse callbacks on the shard
 * that received the frame.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include "dp_tls.h"
#include "in_net.h"
#include "psr_frame.h"
#include "psr_json.h"
#include "psr_parser.h"

/* Smallest read: a shard reads at least this much per read(2) whatever
 * Buffer_Chunk_Size says, since fewer, larger reads cost less CPU. */
#define IN_NET_MIN_READ (64 * 1024)

static int sizes(struct dp_input *in, enum dp_transport net, int64_t chunk_size, int64_t max_size,
		 struct dp_err *err)
{
	err->key = NULL;
	if (chunk_size < 1 || chunk_size > (64 << 20))
		return dp_err_set(err, -EINVAL, "buffer chunk size %lld out of range 1..64M",
				  (long long)chunk_size);
	if (max_size <= 0)
		max_size = chunk_size;
	if (max_size < chunk_size && net == DP_NET_TCP)
		return dp_err_set(err, -EINVAL, "buffer max size (%lld) is smaller than the chunk size (%lld)",
				  (long long)max_size, (long long)chunk_size);
	if (max_size > (64 << 20))
		return dp_err_set(err, -EINVAL, "buffer max size %lld is over 64M", (long long)max_size);
	in->net = net;
	in->max_frame = (uint32_t)max_size;
	in->read_size = (uint32_t)(chunk_size < IN_NET_MIN_READ ? IN_NET_MIN_READ : chunk_size);
	return 0;
}

int in_net_setup(struct dp_input *in, enum dp_transport net, const char *listen, int64_t port,
		 int64_t chunk_size, int64_t max_size, struct dp_err *err)
{
	err->key = "Port";
	if (port < 1 || port > 65535)
		return dp_err_set(err, -EINVAL, "invalid value '%lld' for 'Port': expected 1..65535",
				  (long long)port);
	int rc = sizes(in, net, chunk_size, max_size, err);
	if (rc)
		return rc;
	in->listen = strdup(listen);
	if (!in->listen)
		return dp_err_set(err, -ENOMEM, "out of memory");
	in->port = (int)port;
	return 0;
}

int in_net_setup_unix(struct dp_input *in, enum dp_transport net, const char *path, const char *perm,
		      int64_t chunk_size, int64_t max_size, struct dp_err *err)
{
	/* A missing Path is the Mode's demand: point there. */
	err->key = path ? "Path" : "Mode";
	if (!path || !*path)
		return dp_err_set(err, -EINVAL, "Mode %s needs 'Path', the socket's file",
				  net == DP_NET_UNIX_TCP ? "unix_tcp" : "unix_udp");
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return dp_err_set(err, -ENAMETOOLONG, "Path '%s' is longer than a Unix socket path may be",
				  path);
	err->key = "Unix_Perm";
	char *end;
	long mode = strtol(perm, &end, 8);
	if (end == perm || *end || mode < 0 || mode > 07777)
		return dp_err_set(err, -EINVAL, "invalid value '%s' for 'Unix_Perm': expected octal "
				  "permissions such as 0644", perm);
	int rc = sizes(in, net, chunk_size, max_size, err);
	if (rc)
		return rc;
	in->path = strdup(path);
	if (!in->path)
		return dp_err_set(err, -ENOMEM, "out of memory");
	in->unix_perm = (unsigned)mode;
	return 0;
}

int in_net_setup_tls(struct dp_input *in, const struct dp_tls_cfg *cfg, struct dp_err *err)
{
	if (!cfg->on)
		return 0;
	err->key = "tls";
	if (in->net != DP_NET_TCP)
		return dp_err_set(err, -EINVAL, "tls on needs a TCP listener (syslog: Mode tcp, RFC 5425); "
				  "%s has no TLS", dp_net_is_unix(in->net) ? "a Unix socket" : "UDP");
	in->tls = dp_tls_create(cfg, DP_TLS_SERVER, err);
	return in->tls ? 0 : err->code;
}

void in_net_teardown(struct dp_input *in)
{
	dp_tls_destroy(in->tls);
	in->tls = NULL;
}

int in_net_setup_rx(struct dp_input *in, const struct shard_rx_cfg *rx, struct dp_err *err)
{
	static const char *const names[] = { "epoll", "dpdk", "af_xdp" };
	in->rx = rx;
	if (rx->backend == SHARD_RX_EPOLL)
		return 0;
	err->key = "Rx_Backend";
	if (in->net != DP_NET_UDP)
		return dp_err_set(err, -EINVAL, "Rx_Backend %s needs Mode udp", names[rx->backend]);
	if (rx->backend == SHARD_RX_DPDK && (!rx->dpdk_port || !*rx->dpdk_port))
		return dp_err_set(err, -EINVAL, "Rx_Backend dpdk needs 'Dpdk_Port' (a PCI address or a vdev)");
	if (rx->backend == SHARD_RX_AF_XDP && (!rx->xdp_interface || !*rx->xdp_interface))
		return dp_err_set(err, -EINVAL, "Rx_Backend af_xdp needs 'Xdp_Interface'");
#ifndef SLUICE_DPDK
	if (rx->backend == SHARD_RX_DPDK)
		return dp_err_set(err, -ENOTSUP, "Rx_Backend dpdk: sluice was built without DPDK");
#endif
#ifndef SLUICE_XDP
	if (rx->backend == SHARD_RX_AF_XDP)
		return dp_err_set(err, -ENOTSUP, "Rx_Backend af_xdp: sluice was built without libxdp");
#endif
	return 0;
}

/* Decode C escapes; returns the length, or -1 on an unknown escape. */
static int unescape(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	for (; *s; s++) {
		char ch = *s;
		if (ch == '\\') {
			switch (*++s) {
			case 'n': ch = '\n'; break;
			case 'r': ch = '\r'; break;
			case 't': ch = '\t'; break;
			case '0': ch = '\0'; break;
			case '\\': ch = '\\'; break;
			default: return -1;
			}
		}
		if (n == cap)
			return -1;
		out[n++] = ch;
	}
	return (int)n;
}

int in_net_setup_format(struct dp_input *in, bool json, const char *separator, struct dp_err *err)
{
	char sep[PSR_FRAME_SEP_MAX];
	int n = unescape(separator, sep, sizeof(sep));
	err->key = "Separator";
	if (n <= 0)
		return dp_err_set(err, -EINVAL, "invalid value '%s' for 'Separator': expected 1 to %d bytes",
				  separator, PSR_FRAME_SEP_MAX);
	if (json) {
		in->framing = PSR_FRAME_JSON;
	} else if (n == 1 && sep[0] == '\n') {
		in->framing = PSR_FRAME_LF;
	} else {
		in->framing = PSR_FRAME_SEP;
		in->sep = malloc((size_t)n);
		if (!in->sep)
			return dp_err_set(err, -ENOMEM, "out of memory");
		memcpy(in->sep, sep, (size_t)n);
		in->sep_len = (size_t)n;
	}
	return 0;
}

void *in_net_lines_ctx(struct dp_input *in, unsigned shard)
{
	(void)shard;
	return in;
}

int in_net_lines_parse(struct dp_chunk *c, const char *p, size_t len, void *ctx)
{
	const struct dp_input *in = ctx;
	if (in->framing == PSR_FRAME_JSON)
		return psr_json_parse(c, p, len);
	dp_chunk_put_str(c, "log", 3, p, len);
	return 0;
}

int in_net_parse_with(const struct psr_parser *p, struct psr_parser_state *st, struct dp_chunk *c,
		      const char *line, size_t len, const char *raw_key, size_t raw_klen)
{
	if (psr_parser_exec(p, st, c, line, len) == 0)
		return 0;
	dp_chunk_put_str(c, raw_key, raw_klen, line, len);
	return DP_PARSE_UNPARSED;
}
