/*
 * out_forward.c — Fluent Bit's `forward` output: records to a Fluentd or
 * Fluent Bit server in Forward protocol v1
 * (https://github.com/fluent/fluentd/wiki/Forward-Protocol-Specification-v1).
 *
 * One message per chunk (a chunk holds one tag), as Fluent Bit sends one per
 * flush of a chunk (plugins/out_forward/forward.c, forward_format.c):
 *
 *   Forward mode (default):   [tag, [entry, ...], option?]
 *   Compress gzip:            [tag, bin(gzip(entry entry ...)), option]
 *                             (CompressedPackedForward, option
 *                             {"size": n, "compressed": "gzip"})
 *   entry:                    [time, record]: the chunk's event bytes as
 *                             they are (time an EventTime, nanoseconds
 *                             kept); Time_as_Integer: time as integer
 *                             seconds; Retain_Metadata_In_Forward_Mode:
 *                             [[time, {}], record] (Fluent Bit 2's layout;
 *                             records here carry no metadata)
 *   option:                   {"chunk": id, "size": n, "compressed": ...},
 *                             sent with Send_options, Require_ack_response
 *                             or Compress gzip, each key when it applies.
 *
 * Forward mode, not PackedForward: the entries are the chunk's bytes behind
 * an array header, so it costs the same copy and is what Fluent Bit sends.
 *
 * Delivery: a burst's messages are written back to back on the node's
 * connection. With Require_ack_response each carries a unique chunk id
 * (base64 of 16 bytes) and the burst is confirmed only once the server has
 * answered {"ack": id} for every one; an ack missing after net.io_timeout,
 * or any error, closes the connection and the whole burst is retried (at
 * least once: a message the server kept but did not ack comes again).
 * Without acks a burst is confirmed once written.
 *
 * Nodes: Host/Port, Unix_Path, or an Upstream file; each flush goes to the
 * next node (round robin, as Fluent Bit's flb_upstream_ha_node_get), and a
 * node that fails hands the burst to the next one within the same flush.
 *
 * Threads: setup/teardown on the control thread; a worker context (its
 * connections, buffers) on its output worker only.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include "dp_log.h"
#include "dp_pipeline.h"
#include "dp_plugin.h"
#include "dp_time.h"
#include "out_buf.h"
#include "out_forward.h"
#include "out_http.h"

#define FWD_LOG_EVERY_NS (30 * 1000000000ull)
#define FWD_ID_LEN 24                 /* base64 of 16 bytes */

struct out_fwd_cfg {
	char *host;
	int64_t port;
	char *unix_path;
	char *upstream;
	char *tag;
	bool time_as_integer;
	bool send_options;
	bool require_ack;
	char *compress;
	char *shared_key;
	char *self_hostname;
	bool empty_shared_key;
	char *username, *password;
	bool retain_metadata;
	char *add_option;           /* the last; all are read from the section */
	double connect_timeout;
	double io_timeout;
	bool tls_verify_hostname;
	struct dp_tls_cfg tls;
	/* set by setup */
	bool gzip;
	uint8_t *extra_opts;        /* Add_Option pairs, msgpack (str key, str value) */
	size_t extra_len;
	unsigned nextra;
	struct out_fwd_node *nodes;
	unsigned nnodes;
};

#define C(f) offsetof(struct out_fwd_cfg, f)

static const struct dp_opt fwd_opts[] = {
	{ "Host", DP_OPT_STR, "127.0.0.1", C(host), NULL, 0, 0, 0, "Host name or IP address of the Forward server." },
	{ "Port", DP_OPT_INT, "24224", C(port), NULL, 1, 65535, 0, "TCP port of the Forward server." },
	{ "Unix_Path", DP_OPT_STR, NULL, C(unix_path), NULL, 0, 0, 0,
	  "Connect to this Unix socket instead of Host:Port (ignored with Upstream)." },
	{ "Upstream", DP_OPT_STR, NULL, C(upstream), NULL, 0, 0, 0,
	  "File of [UPSTREAM] and [NODE] sections (name, host, port, and per node shared_key, "
	  "self_hostname, username, password, tls.*): bursts go round robin over the nodes, and a "
	  "node that fails passes its burst to the next." },
	{ "Tag", DP_OPT_STR, NULL, C(tag), NULL, 0, 0, 0,
	  "Send the records under this tag instead of their own (a fixed tag; record accessor "
	  "patterns are not supported)." },
	{ "Time_as_Integer", DP_OPT_BOOL, "false", C(time_as_integer), NULL, 0, 0, 0,
	  "Send times as integer seconds (Fluentd 0.12) instead of EventTime with nanoseconds." },
	{ "Add_Option", DP_OPT_STR, NULL, C(add_option), NULL, 0, 0, 0,
	  "'KEY VALUE': a string option added to every message's options (repeat the key for more); "
	  "the options are then sent." },
	{ "Send_options", DP_OPT_BOOL, "false", C(send_options), NULL, 0, 0, 0,
	  "Send each message's option map with its record count (size)." },
	{ "Require_ack_response", DP_OPT_BOOL, "false", C(require_ack), NULL, 0, 0, 0,
	  "Send a chunk id with each message and confirm a burst only when the server acknowledged "
	  "every message of it (else the burst is retried)." },
	{ "Compress", DP_OPT_STR, NULL, C(compress), NULL, 0, 0, 0,
	  "gzip: CompressedPackedForward (entries gzip-compressed); text or unset: none." },
	{ "Shared_Key", DP_OPT_STR, NULL, C(shared_key), NULL, 0, 0, 0,
	  "Authenticate with the server's HELO/PING/PONG handshake using this key." },
	{ "Empty_Shared_Key", DP_OPT_BOOL, "false", C(empty_shared_key), NULL, 0, 0, 0,
	  "Do the handshake with an empty shared key." },
	{ "Self_Hostname", DP_OPT_STR, "localhost", C(self_hostname), NULL, 0, 0, 0,
	  "Host name sent in the handshake's PING." },
	{ "Username", DP_OPT_STR, "", C(username), NULL, 0, 0, 0,
	  "User sent in the handshake when the server asks for user authentication." },
	{ "Password", DP_OPT_STR, "", C(password), NULL, 0, 0, 0, "Password of Username." },
	{ "Retain_Metadata_In_Forward_Mode", DP_OPT_BOOL, "false", C(retain_metadata), NULL, 0, 0, 0,
	  "Send entries as [[time, metadata], record] (Fluent Bit 2+ peers; Fluentd refuses it). "
	  "Records here have no metadata: it is an empty map." },
	{ "net.connect_timeout", DP_OPT_SECONDS, "10", C(connect_timeout), NULL, 0, 3600, 0,
	  "Time allowed to connect (TCP and TLS handshake); then the next node, or a retry." },
	{ "net.io_timeout", DP_OPT_SECONDS, "60", C(io_timeout), NULL, 0, 86400, 0,
	  "Time allowed for a write, the Shared_Key handshake, and the server's acks of a burst; "
	  "then the connection is closed and the burst retried. 0: no limit. (Fluent Bit's default "
	  "is 0; a bounded wait is the sluice default so a silent server cannot hold a worker.)" },
	{ "tls.verify_hostname", DP_OPT_BOOL, "off", C(tls_verify_hostname), NULL, 0, 0, 0,
	  "Also check that the server's certificate names Host (or tls.vhost)." },
	DP_TLS_CLIENT_OPTS(struct out_fwd_cfg, tls),
	{ NULL },
};

struct fwd_node_state {
	struct out_fwd_conn conn;
	struct dp_ratelimit rl;
};

struct fwd_worker {
	struct dp_output *o;
	struct out_fwd_cfg *cfg;
	struct fwd_node_state *ns;
	unsigned rr;                      /* next node */
	struct out_buf msg;               /* one message */
	struct out_buf ent;               /* gzip: the entries before compression */
	struct out_buf gz;
	uint8_t id_seed[8];
	uint64_t id_seq;
	char ids[DP_BURST][FWD_ID_LEN + 1];
	bool acked[DP_BURST];
	struct out_fwd_timeouts to;
};

static void node_init_from_cfg(struct out_fwd_node *n, const struct out_fwd_cfg *cfg)
{
	memset(n, 0, sizeof(*n));
	n->host = cfg->host;
	n->port = (int)cfg->port;
	n->unix_path = cfg->unix_path;
	n->shared_key = cfg->empty_shared_key ? "" : cfg->shared_key;
	n->self_hostname = cfg->self_hostname;
	n->username = cfg->username;
	n->password = cfg->password;
	n->tls_verify_hostname = cfg->tls_verify_hostname;
	n->tls_vhost = cfg->tls.vhost;
}

/* Strings of a node are strdup'd so that nodes from the Upstream file and
 * the single node are freed alike. */
static int node_own(struct out_fwd_node *n)
{
	char **f[] = { &n->name, &n->host, &n->unix_path, &n->shared_key, &n->self_hostname, &n->username,
		       &n->password, &n->tls_vhost };
	for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (*f[i] && !(*f[i] = strdup(*f[i])))
			return -ENOMEM;
	return 0;
}

void out_fwd_node_fini(struct out_fwd_node *n)
{
	free(n->name);
	free(n->host);
	free(n->unix_path);
	free(n->shared_key);
	free(n->self_hostname);
	free(n->username);
	free(n->password);
	free(n->tls_vhost);
	dp_tls_destroy(n->tls);
	memset(n, 0, sizeof(*n));
}

static void free_nodes(struct out_fwd_cfg *cfg)
{
	for (unsigned i = 0; i < cfg->nnodes; i++)
		out_fwd_node_fini(&cfg->nodes[i]);
	free(cfg->nodes);
	cfg->nodes = NULL;
	cfg->nnodes = 0;
}

static void teardown(struct dp_output *o)
{
	struct out_fwd_cfg *cfg = o->cfg;
	free_nodes(cfg);
	free(cfg->extra_opts);
	cfg->extra_opts = NULL;
}

static int make_salt(struct out_fwd_node *n)
{
	/* 16 printable characters (Fluent Bit sends 16 raw random bytes in
	 * a str, which a strict msgpack reader refuses as invalid UTF-8). */
	static const char hex[] = "0123456789abcdef";
	unsigned char r[8];
	if (RAND_bytes(r, sizeof(r)) != 1)
		return -EIO;
	for (unsigned i = 0; i < 8; i++) {
		n->salt[2 * i] = hex[r[i] >> 4];
		n->salt[2 * i + 1] = hex[r[i] & 15];
	}
	n->salt[16] = 0;
	return 0;
}

/* Add_Option KEY VALUE, every one of the section, as msgpack pairs
 * written after the options of each message (forward.c, add_option). */
static int extra_setup(struct dp_output *o, struct out_fwd_cfg *cfg, struct dp_err *err)
{
	err->key = "Add_Option";
	free(cfg->extra_opts);
	cfg->extra_opts = NULL;
	cfg->extra_len = cfg->nextra = 0;
	const struct dp_conf_section *sec = o->sec;
	for (unsigned i = 0; sec && i < sec->nkv; i++) {
		const struct dp_conf_kv *kv = &sec->kv[i];
		if (strcasecmp(kv->key, "Add_Option"))
			continue;
		const char *v = kv->val, *sp = v + strcspn(v, " \t");
		const char *val = sp + strspn(sp, " \t");
		size_t kl = (size_t)(sp - v), vl = strlen(val);
		if (!kl || !vl || cfg->nextra == 14 || kl > 255 || vl > 255)
			return dp_err_set(err, -EINVAL, "invalid value '%s' for 'Add_Option': expected 'KEY VALUE' "
					  "(at most 14 of them, 255 bytes each)", v);
		uint8_t *b = realloc(cfg->extra_opts, cfg->extra_len + kl + vl + 4);
		if (!b)
			return dp_err_set(err, -ENOMEM, "out of memory");
		cfg->extra_opts = b;
		b += cfg->extra_len;
		*b++ = 0xd9;
		*b++ = (uint8_t)kl;
		memcpy(b, v, kl);
		b += kl;
		*b++ = 0xd9;
		*b++ = (uint8_t)vl;
		memcpy(b, val, vl);
		cfg->extra_len += kl + vl + 4;
		cfg->nextra++;
	}
	return 0;
}

static int setup(struct dp_output *o, struct dp_err *err)
{
	struct out_fwd_cfg *cfg = o->cfg;
	free_nodes(cfg);
	err->key = "Compress";
	if (cfg->compress && strcasecmp(cfg->compress, "gzip") && strcasecmp(cfg->compress, "text"))
		return dp_err_set(err, -EINVAL, "invalid value '%s' for 'Compress': expected gzip or text",
				  cfg->compress);
	cfg->gzip = cfg->compress && !strcasecmp(cfg->compress, "gzip");
	int rc = extra_setup(o, cfg, err);
	if (rc)
		return rc;
	if (cfg->gzip && cfg->time_as_integer)
		return dp_err_set(err, -EINVAL, "Compress gzip cannot go with Time_as_Integer (as in Fluent Bit: "
				  "Fluentd 0.12 has no compressed mode)");
	err->key = "Tag";
	if (cfg->tag && (!*cfg->tag || strchr(cfg->tag, '$')))
		return dp_err_set(err, -EINVAL, "Tag '%s': a fixed tag is expected (record accessor patterns are "
				  "not supported)", cfg->tag);
	err->key = "Host";
	if (!cfg->unix_path && !cfg->upstream && (!*cfg->host || strpbrk(cfg->host, "/ \t")))
		return dp_err_set(err, -EINVAL, "invalid Host '%s'", cfg->host);
	struct out_fwd_node def;
	node_init_from_cfg(&def, cfg);
	if (cfg->upstream) {
		err->key = "Upstream";
		if ((rc = out_fwd_upstream_load(cfg->upstream, &def, &cfg->nodes, &cfg->nnodes, err)))
			return rc;
		/* the output's own tls.* hold for nodes that set none */
		for (unsigned i = 0; i < cfg->nnodes; i++) {
			if (cfg->nodes[i].tls || !cfg->tls.on)
				continue;
			err->key = "tls";
			if (!(cfg->nodes[i].tls = dp_tls_create(&cfg->tls, DP_TLS_CLIENT, err)))
				return err->code;
		}
	} else {
		if (!(cfg->nodes = calloc(1, sizeof(*cfg->nodes))))
			return dp_err_set(err, -ENOMEM, "out of memory");
		cfg->nnodes = 1;
		cfg->nodes[0] = def;
		char name[300];
		if (cfg->unix_path)
			snprintf(name, sizeof(name), "%s", cfg->unix_path);
		else
			snprintf(name, sizeof(name), "%s:%d", cfg->host, (int)cfg->port);
		cfg->nodes[0].name = name;
		if (node_own(&cfg->nodes[0]))
			return dp_err_set(err, -ENOMEM, "out of memory");
		if (cfg->tls.on) {
			err->key = "tls";
			if (cfg->unix_path)
				return dp_err_set(err, -EINVAL, "tls on needs Host:Port, not Unix_Path");
			if (!(cfg->nodes[0].tls = dp_tls_create(&cfg->tls, DP_TLS_CLIENT, err)))
				return err->code;
		}
	}
	for (unsigned i = 0; i < cfg->nnodes; i++)
		if (make_salt(&cfg->nodes[i]))
			return dp_err_set(err, -EIO, "cannot draw random bytes for the shared key salt");
	err->key = NULL;
	return 0;
}

static void worker_destroy(void *wctx)
{
	struct fwd_worker *w = wctx;
	for (unsigned i = 0; w->ns && i < w->cfg->nnodes; i++)
		out_fwd_conn_close(&w->ns[i].conn);
	free(w->ns);
	out_buf_fini(&w->msg);
	out_buf_fini(&w->ent);
	out_buf_fini(&w->gz);
	free(w);
}

/* A message holds one chunk's records: the chunk's bytes, plus at most 3
 * bytes more per record (Retain_Metadata), plus the header and options. */
#define FWD_MSG_CAP (DP_CHUNK_DATA + 3 * DP_CHUNK_RECS + DP_TAG_MAX + 1024)

static void *worker_create(struct dp_output *o, unsigned worker, struct dp_err *err)
{
	struct out_fwd_cfg *cfg = o->cfg;
	struct fwd_worker *w = calloc(1, sizeof(*w));
	if (!w || !(w->ns = calloc(cfg->nnodes, sizeof(*w->ns)))) {
		free(w);
		dp_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	w->o = o;
	w->cfg = cfg;
	w->rr = worker % cfg->nnodes;   /* workers start on different nodes */
	w->to.connect_ms = (int)(cfg->connect_timeout * 1000);
	w->to.io_ms = (int)(cfg->io_timeout * 1000);
	for (unsigned i = 0; i < cfg->nnodes; i++)
		out_fwd_conn_init(&w->ns[i].conn, &cfg->nodes[i]);
	if (out_buf_init(&w->msg, FWD_MSG_CAP + (cfg->gzip ? out_http_gzip_bound(FWD_MSG_CAP) : 0)) ||
	    (cfg->gzip && (out_buf_init(&w->ent, FWD_MSG_CAP) || out_buf_init(&w->gz, out_http_gzip_bound(FWD_MSG_CAP))))) {
		dp_err_set(err, -ENOMEM, "out of memory");
		worker_destroy(w);
		return NULL;
	}
	if (RAND_bytes(w->id_seed, sizeof(w->id_seed)) != 1) {
		dp_err_set(err, -EIO, "cannot draw random bytes for chunk ids");
		worker_destroy(w);
		return NULL;
	}
	return w;
}

/* ---- messages ---- */

static inline void put(struct out_buf *b, const void *p, size_t n)
{
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static inline void put_u8(struct out_buf *b, uint8_t v)
{
	b->p[b->len++] = (char)v;
}

static inline void put_be32(struct out_buf *b, uint8_t hdr, uint32_t v)
{
	uint8_t x[5] = { hdr, (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	put(b, x, 5);
}

static void put_str(struct out_buf *b, const char *s, size_t n)
{
	b->len += dp_mp_str_hdr((uint8_t *)b->p + b->len, n);
	put(b, s, n);
}

/* The live records of c as entries into b; returns how many. */
static uint32_t put_entries(const struct out_fwd_cfg *cfg, struct out_buf *b, const struct dp_chunk *c)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < c->nrecs; i++) {
		const struct dp_rec *r = &c->recs[i];
		if (r->flags & DP_REC_DROPPED)
			continue;
		const uint8_t *ev = c->data + r->off;
		if (!cfg->time_as_integer && !cfg->retain_metadata) {
			put(b, ev, r->len);
			n++;
			continue;
		}
		/* [time, map]: find the map behind the time, whatever the
		 * time's encoding (store replays may hold integers). */
		size_t ts = r->len > 1 ? dp_mp_object_size(ev + 1, r->len - 1) : 0;
		if (ev[0] != 0x92 || !ts)
			continue;   /* not an event: cannot happen for indexed records */
		const uint8_t *map = ev + 1 + ts;
		size_t mlen = r->len - 1 - ts;
		put_u8(b, 0x92);
		if (cfg->retain_metadata) {
			put_u8(b, 0x92);
			if (cfg->time_as_integer)
				put_be32(b, 0xce, r->ts_sec);
			else
				put(b, ev + 1, ts);
			put_u8(b, 0x80);
		} else {
			put_be32(b, 0xce, r->ts_sec);
		}
		put(b, map, mlen);
		n++;
	}
	return n;
}

static void make_id(struct fwd_worker *w, char out[FWD_ID_LEN + 1])
{
	uint8_t raw[16];
	memcpy(raw, w->id_seed, 8);
	uint64_t s = ++w->id_seq;
	for (unsigned i = 0; i < 8; i++)
		raw[8 + i] = (uint8_t)(s >> (56 - 8 * i));
	EVP_EncodeBlock((unsigned char *)out, raw, 16);
	out[FWD_ID_LEN] = 0;
}

/* One chunk's message into w->msg; 0 records: nothing to send. */
static int build(struct fwd_worker *w, const struct dp_chunk *c, const char *id, uint32_t *nrecs)
{
	const struct out_fwd_cfg *cfg = w->cfg;
	struct out_buf *b = &w->msg;
	b->len = 0;
	bool opts = cfg->send_options || cfg->require_ack || cfg->gzip || cfg->nextra;
	size_t taglen;
	const char *tag = cfg->tag ? cfg->tag : dp_chunk_tag(w->o->pl, c, &taglen);
	if (cfg->tag)
		taglen = strlen(cfg->tag);
	put_u8(b, opts ? 0x93 : 0x92);
	put_str(b, tag, taglen);
	uint32_t n;
	if (cfg->gzip) {
		w->ent.len = 0;
		n = put_entries(cfg, &w->ent, c);
		if (!n)
			return 0;
		int rc = out_http_gzip(w->ent.p, w->ent.len, &w->gz);
		if (rc)
			return rc;
		put_be32(b, 0xc6, (uint32_t)w->gz.len);
		put(b, w->gz.p, w->gz.len);
	} else {
		size_t at = b->len;
		b->len += 5;
		n = put_entries(cfg, b, c);
		if (!n)
			return 0;
		size_t end = b->len;
		b->len = at;
		put_be32(b, 0xdd, n);
		b->len = end;
	}
	if (opts) {
		put_u8(b, (uint8_t)(0x80 + (id ? 1 : 0) + 1 + (cfg->gzip ? 1 : 0) + cfg->nextra));
		if (id) {
			put_str(b, "chunk", 5);
			put_str(b, id, FWD_ID_LEN);
		}
		put_str(b, "size", 4);
		put_be32(b, 0xce, n);
		if (cfg->gzip) {
			put_str(b, "compressed", 10);
			put_str(b, "gzip", 4);
		}
		if (cfg->nextra)
			put(b, cfg->extra_opts, cfg->extra_len);
	}
	*nrecs = n;
	return 0;
}

/* ---- sending ---- */

/* A kept connection the server closed reads as EOF: found before writing,
 * so a burst is not written into a dead socket and counted delivered. */
static bool conn_alive(struct out_fwd_conn *c)
{
	if (c->ssl)
		return true;   /* checked by the write itself (SSL alerts) */
	char x;
	ssize_t k = recv(c->fd, &x, 1, MSG_PEEK | MSG_DONTWAIT);
	return k > 0 || (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

static int wait_acks(struct fwd_worker *w, struct out_fwd_conn *conn, unsigned nids, char *why, size_t cap)
{
	uint64_t deadline = w->to.io_ms ? dp_time_mono_ns() + (uint64_t)w->to.io_ms * 1000000ull : 0;
	unsigned left = nids;
	while (left) {
		const uint8_t *m, *v;
		size_t mn, vn, sl;
		const char *s;
		int rc = out_fwd_conn_read_obj(conn, deadline, &m, &mn);
		if (rc) {
			snprintf(why, cap, "%u of %u acks missing: %s", left, nids,
				 rc == -ETIMEDOUT ? "none within net.io_timeout" : strerror(-rc));
			return rc;
		}
		if (!out_fwd_mp_map_get(m, mn, "ack", &v, &vn) || !out_fwd_mp_str(v, vn, &s, &sl)) {
			snprintf(why, cap, "the server sent something else than an ack");
			return -EPROTO;
		}
		/* acks of an earlier, abandoned send are not ours: skipped */
		for (unsigned i = 0; i < nids; i++)
			if (!w->acked[i] && sl == FWD_ID_LEN && !memcmp(s, w->ids[i], FWD_ID_LEN)) {
				w->acked[i] = true;
				left--;
				break;
			}
	}
	return 0;
}

static int send_burst(struct fwd_worker *w, struct out_fwd_conn *conn, struct dp_chunk *const *c, unsigned n,
		      char *why, size_t cap)
{
	int rc;
	if (out_fwd_conn_is_open(conn) && !conn_alive(conn))
		out_fwd_conn_close(conn);
	if (!out_fwd_conn_is_open(conn) && (rc = out_fwd_conn_open(conn, &w->to, why, cap)))
		return rc;
	bool ack = w->cfg->require_ack;
	unsigned nids = 0;
	for (unsigned i = 0; i < n; i++) {
		uint32_t recs = 0;
		if (ack)
			make_id(w, w->ids[nids]);
		if ((rc = build(w, c[i], ack ? w->ids[nids] : NULL, &recs))) {
			snprintf(why, cap, "cannot compress: %s", strerror(-rc));
			return rc;
		}
		if (!recs)
			continue;
		uint64_t deadline = w->to.io_ms ? dp_time_mono_ns() + (uint64_t)w->to.io_ms * 1000000ull : 0;
		if ((rc = out_fwd_conn_write(conn, w->msg.p, w->msg.len, deadline))) {
			snprintf(why, cap, "write: %s", rc == -ETIMEDOUT ? "timed out (net.io_timeout)" : strerror(-rc));
			return rc;
		}
		if (ack)
			w->acked[nids++] = false;
	}
	return ack && nids ? wait_acks(w, conn, nids, why, cap) : 0;
}

static int flush(void *wctx, struct dp_chunk *const *c, unsigned n)
{
	struct fwd_worker *w = wctx;
	unsigned nn = w->cfg->nnodes;
	unsigned first = w->rr;
	w->rr = (w->rr + 1) % nn;
	int rc = -EIO;
	for (unsigned k = 0; k < nn; k++) {
		unsigned i = (first + k) % nn;
		struct fwd_node_state *s = &w->ns[i];
		char why[320];
		why[0] = 0;
		if (!(rc = send_burst(w, &s->conn, c, n, why, sizeof(why))))
			return 0;
		out_fwd_conn_close(&s->conn);
		if (dp_ratelimit_ok(&s->rl, dp_time_mono_ns(), FWD_LOG_EVERY_NS)) {
			unsigned long long more = s->rl.suppressed;
			s->rl.suppressed = 0;
			char extra[64] = "";
			if (more)
				snprintf(extra, sizeof(extra), " (%llu more failures since the last report)", more);
			/* a refused handshake needs a person (the key); the rest
			 * usually heals by itself */
			dp_plog(w->o, rc == -EACCES ? DP_LOG_ERROR : DP_LOG_WARN, "node %s: %s%s%s", s->conn.node->name,
				why[0] ? why : strerror(-rc),
				nn > 1 && k + 1 < nn ? ", trying the next node" : ", will retry", extra);
		}
	}
	return rc;
}

const struct dp_output_ops out_forward_ops = {
	.name = "forward",
	.desc = "Sends records to a Fluentd or Fluent Bit server (Forward protocol v1)",
	.opts = fwd_opts,
	.cfg_size = sizeof(struct out_fwd_cfg),
	.setup = setup,
	.worker_create = worker_create,
	.flush = flush,
	.worker_destroy = worker_destroy,
	.teardown = teardown,
};
