/*
 * in_forward.c — Fluent Bit's `forward` input: Fluentd's Forward protocol
 * v1 over TCP or a Unix socket (Fluent Bit's in_forward keys).
 *
 * Each message is one msgpack object on the stream (PSR_FRAME_MSGPACK cuts
 * them out, bounded by Buffer_Max_Size: a larger one is counted oversize
 * and the connection closed, as Fluent Bit does); psr_forward.c decodes
 * its mode, tag, option and entries. Every entry becomes a record with the
 * entry's own time (nanoseconds kept) and the message's tag (Tag_Prefix
 * before it), or the input's Tag when one is set: a chunk holds one tag,
 * so records are emitted with shard_emit_tagged. The record map is copied
 * into the chunk as msgpack, field by field (no JSON round trip).
 *
 * Threads: setup on the control thread; the rest on the shard that owns
 * the connection.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "dp_pipeline.h"
#include "dp_tls.h"
#include "in_forward.h"
#include "in_net.h"
#include "psr_forward.h"
#include "psr_frame.h"
#include "shard.h"
#include "shard_conn.h"
#include "shard_seq.h"

/* The most a CompressedPackedForward message may inflate to: past it the
 * message is counted oversize. 64 MiB, or 16 x Buffer_Max_Size when more:
 * gzip of log lines reaches 10:1. */
#define FWD_GUNZIP_MIN (64u << 20)
/* Longest chunk id acknowledged (Fluent Bit and Fluentd send 24 bytes of
 * base64); a longer one is counted malformed and not answered. */
#define FWD_CHUNK_ID_MAX 255

struct in_forward_cfg {
	char *listen;
	int64_t port;
	char *unix_path;
	char *unix_perm;
	int64_t buffer_max_size;
	int64_t buffer_chunk_size;
	char *tag_prefix;
	char *shared_key;
	bool empty_shared_key;
	char *self_hostname;
	char *users;                /* the last Security.Users; all are read from the section */
	struct dp_tls_cfg tls;
	/* set up from the keys */
	bool auth_on;
	struct in_fwd_auth auth;
};

#define C(f) offsetof(struct in_forward_cfg, f)

static const struct dp_opt forward_opts[] = {
	{ "Listen", DP_OPT_STR, "0.0.0.0", C(listen), NULL, 0, 0, 0, "Address to listen on." },
	{ "Port", DP_OPT_INT, "24224", C(port), NULL, 1, 65535, 0, "TCP port to listen on." },
	{ "Unix_Path", DP_OPT_STR, NULL, C(unix_path), NULL, 0, 0, 0,
	  "Listen on this Unix socket instead of Listen and Port (served by shard 0). A stale socket "
	  "left there is replaced; one in use is an error." },
	{ "Unix_Perm", DP_OPT_STR, "0644", C(unix_perm), NULL, 0, 0, 0,
	  "Permissions of the Unix_Path socket file, in octal." },
	{ "Buffer_Max_Size", DP_OPT_SIZE, "6144000", C(buffer_max_size), NULL, 0, 0, 0,
	  "Largest message (one msgpack object) in bytes; a larger one is counted as oversize and "
	  "its connection closed, as Fluent Bit does." },
	{ "Buffer_Chunk_Size", DP_OPT_SIZE, "1024000", C(buffer_chunk_size), NULL, 0, 0, 0,
	  "Read size in bytes; sluice reads at least 64 KiB at a time." },
	{ "Tag_Prefix", DP_OPT_STR, NULL, C(tag_prefix), NULL, 0, 0, 0,
	  "Put this before the tag of every message. With Tag set, Tag wins." },
	{ "Shared_Key", DP_OPT_STR, NULL, C(shared_key), NULL, 0, 0, 0,
	  "Secure forward: senders must prove they know this key (HELO, PING, PONG handshake); "
	  "a wrong key gets PONG false and the connection is closed." },
	{ "Empty_Shared_Key", DP_OPT_BOOL, "off", C(empty_shared_key), NULL, 0, 0, 0,
	  "Secure forward with an empty shared key (Fluentd's zero-length key), e.g. for "
	  "Security.Users alone." },
	{ "Self_Hostname", DP_OPT_STR, "localhost", C(self_hostname), NULL, 0, 0, 0,
	  "Secure forward: the hostname sent in PONG (and in its digest)." },
	{ "Security.Users", DP_OPT_STR, NULL, C(users), NULL, 0, 0, 0,
	  "Secure forward: 'USER PASSWORD' a sender may log in with; repeat the key for more "
	  "users. Needs Shared_Key or Empty_Shared_Key." },
	DP_TLS_SERVER_OPTS(struct in_forward_cfg, tls),
	{ NULL },
};

/* Security.Users, every line of it ('USER PASSWORD'). */
static int users_setup(struct dp_input *in, struct in_forward_cfg *cfg, struct dp_err *err)
{
	const struct dp_conf_section *sec = in->sec;
	err->key = "Security.Users";
	for (unsigned i = 0; sec && i < sec->nkv; i++) {
		const struct dp_conf_kv *kv = &sec->kv[i];
		if (strcasecmp(kv->key, "Security.Users") != 0)
			continue;
		char user[256], pass[256];
		if (sscanf(kv->val, "%255s %255s", user, pass) != 2)
			return dp_err_set(err, -EINVAL, "invalid value '%s' for 'Security.Users': "
					  "expected 'USER PASSWORD'", kv->val);
		struct in_fwd_user *u = realloc(cfg->auth.users, (cfg->auth.nusers + 1) * sizeof(*u));
		if (!u)
			return dp_err_set(err, -ENOMEM, "out of memory");
		cfg->auth.users = u;
		u += cfg->auth.nusers;
		u->name = strdup(user);
		u->password = strdup(pass);
		cfg->auth.nusers++;
		if (!u->name || !u->password)
			return dp_err_set(err, -ENOMEM, "out of memory");
	}
	if (cfg->auth.nusers && !cfg->auth_on)
		return dp_err_set(err, -EINVAL, "Security.Users needs Shared_Key or Empty_Shared_Key");
	return 0;
}

static int setup(struct dp_input *in, struct dp_err *err)
{
	struct in_forward_cfg *cfg = in->cfg;
	int rc;
	if (cfg->unix_path) {
		err->key = "Unix_Path";
		if (!*cfg->unix_path)
			return dp_err_set(err, -EINVAL, "Unix_Path is empty");
		rc = in_net_setup_unix(in, DP_NET_UNIX_TCP, cfg->unix_path, cfg->unix_perm,
				       cfg->buffer_chunk_size, cfg->buffer_max_size, err);
		if (rc && err->key && !strcmp(err->key, "Path"))
			err->key = "Unix_Path";
	} else {
		rc = in_net_setup(in, DP_NET_TCP, cfg->listen, cfg->port, cfg->buffer_chunk_size,
				  cfg->buffer_max_size, err);
	}
	if (rc)
		return rc;
	if ((rc = in_net_setup_tls(in, &cfg->tls, err)) != 0)
		return rc;
	err->key = "Tag_Prefix";
	if (cfg->tag_prefix && strlen(cfg->tag_prefix) >= DP_TAG_MAX)
		return dp_err_set(err, -EINVAL, "Tag_Prefix is longer than %d bytes", DP_TAG_MAX - 1);
	cfg->auth_on = cfg->shared_key || cfg->empty_shared_key;
	cfg->auth.shared_key = cfg->shared_key ? cfg->shared_key : "";
	cfg->auth.hostname = cfg->self_hostname;
	err->key = "Self_Hostname";
	if (strlen(cfg->self_hostname) > DP_TAG_MAX)
		return dp_err_set(err, -EINVAL, "Self_Hostname is longer than %d bytes", DP_TAG_MAX);
	if ((rc = users_setup(in, cfg, err)) != 0)
		return rc;
	in->framing = PSR_FRAME_MSGPACK;
	/* Without Tag, every message brings its own. */
	in->tag_per_record = in->tag_opt == NULL;
	return 0;
}

struct fwd_shard {
	struct dp_input *in;
	struct shard *sh;           /* set at the first frame (for chunk_released) */
	/* chunks holding records of messages that asked for an ack */
	struct shard_seq seq;
	size_t prefix_len;
	/* the entry being emitted, for parse */
	uint32_t sec, nsec;
	/* CompressedPackedForward: inflated entries, grown on demand up to
	 * gz_max and kept */
	struct psr_fwd_gz *gz;
	uint8_t *gz_buf;
	size_t gz_cap, gz_max;
	char tag[DP_TAG_MAX];
};

static void ctx_destroy(void *ctx)
{
	struct fwd_shard *x = ctx;
	if (!x)
		return;
	psr_fwd_gz_destroy(x->gz);
	free(x->gz_buf);
	shard_seq_fini(&x->seq);
	free(x);
}

static void *ctx_create(struct dp_input *in, unsigned shard)
{
	(void)shard;
	struct in_forward_cfg *cfg = in->cfg;
	struct fwd_shard *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->in = in;
	if (shard_seq_init(&x->seq, in->pool_chunks + 2)) {
		free(x);
		return NULL;
	}
	if (cfg->tag_prefix) {
		x->prefix_len = strlen(cfg->tag_prefix);
		memcpy(x->tag, cfg->tag_prefix, x->prefix_len);
	}
	x->gz_max = DP_MAX((size_t)FWD_GUNZIP_MIN, 16 * (size_t)in->max_frame);
	return x;
}

/* One record: the map at p (psr_fwd_record), with the entry's time. */
static int parse(struct dp_chunk *c, const char *p, size_t len, void *ctx)
{
	struct fwd_shard *x = ctx;
	dp_chunk_rec_set_time(c, x->sec, x->nsec);
	return psr_fwd_record(c, p, len);
}

/* The entries of a CompressedPackedForward message, inflated into the
 * shard's buffer; NULL (counted) when they are not gzip or too large. */
static const uint8_t *gunzip(struct fwd_shard *x, struct shard_in *si, const struct psr_fwd_msg *m,
			     size_t *len)
{
	if (!x->gz && !(x->gz = psr_fwd_gz_create()))
		return NULL;
	for (;;) {
		long n = x->gz_cap ? psr_fwd_gunzip(x->gz, m->body, m->body_len, x->gz_buf, x->gz_cap) :
			 -EMSGSIZE;
		if (n >= 0) {
			*len = (size_t)n;
			return x->gz_buf;
		}
		if (n != -EMSGSIZE || x->gz_cap >= x->gz_max) {
			if (n == -EMSGSIZE)
				DP_CNT_ADD(si->cnt.oversize, 1);
			else
				DP_CNT_ADD(si->cnt.malformed, 1);
			return NULL;
		}
		/* Once per size step per shard, never per record. */
		size_t cap = DP_MIN(x->gz_max, DP_MAX((size_t)1 << 20, 4 * x->gz_cap));
		uint8_t *b = realloc(x->gz_buf, cap);
		if (!b) {
			DP_CNT_ADD(si->cnt.dropped, 1);
			return NULL;
		}
		x->gz_buf = b;
		x->gz_cap = cap;
	}
}

/* The option "chunk" asks for {"ack": chunk} ("Forward Protocol
 * Specification v1", Option, ResponseOption). It is sent once the
 * message's records are accepted: every chunk numbered so far (those
 * holding its records among them) released by all the outputs it was
 * routed to, or stored (storage.type filesystem). Fluent Bit answers as
 * soon as the records are in its buffer. A message with no record left
 * to wait for is answered at once; a malformed one never. */
static void ack(struct fwd_shard *x, struct shard *sh, struct shard_conn *c,
		const struct psr_fwd_msg *m)
{
	uint8_t msg[8 + FWD_CHUNK_ID_MAX];
	if (m->chunk_len > FWD_CHUNK_ID_MAX) {
		DP_CNT_ADD(sh->ins[x->in->id].cnt.malformed, 1);
		return;
	}
	msg[0] = 0x81;
	msg[1] = 0xa3;
	memcpy(msg + 2, "ack", 3);
	size_t n = 5 + dp_mp_str_hdr(msg + 5, m->chunk_len);
	memcpy(msg + n, m->chunk, m->chunk_len);
	n += m->chunk_len;
	shard_conn_answer(sh, c, x->seq.head, x->seq.tail, msg, n);
}

static int frame(struct dp_input *in, struct shard *sh, void *ctx, void *conn, const char *p,
		 size_t len, uint32_t *done)
{
	struct fwd_shard *x = ctx;
	x->sh = sh;
	struct shard_in *si = &sh->ins[in->id];
	const struct in_forward_cfg *cfg = in->cfg;
	if (cfg->auth_on && conn && !in_fwd_auth_done(conn)) {
		if (!in_fwd_auth_ping(&cfg->auth, sh, conn, p, len))
			DP_CNT_ADD(si->cnt.rejected, 1);
		return 0;
	}
	struct psr_fwd_msg m;
	if (psr_fwd_msg_parse(p, len, &m)) {
		DP_CNT_ADD(si->cnt.malformed, 1);
		return 0;
	}
	const char *tag = in->tag;
	size_t tag_len = in->tag_len;
	if (!in->tag_opt) {
		tag_len = DP_MIN((size_t)m.tag_len, DP_TAG_MAX - x->prefix_len);
		memcpy(x->tag + x->prefix_len, m.tag, tag_len);
		tag = x->tag;
		tag_len += x->prefix_len;
	}
	const uint8_t *body = m.body;
	size_t body_len = m.body_len;
	if (m.mode == PSR_FWD_COMPRESSED && !(body = gunzip(x, si, &m, &body_len)))
		return 0;
	struct psr_fwd_iter it;
	struct psr_fwd_entry e;
	psr_fwd_iter_init(&it, &m, body, body_len);
	uint32_t i = 0;
	int rc;
	while ((rc = psr_fwd_next(&it, &e)) != 0) {
		if (i++ < *done)
			continue;
		if (rc < 0) {
			/* a bad entry is skipped; a broken rest ends the message */
			DP_CNT_ADD(si->cnt.malformed, 1);
			if (rc == -EBADMSG)
				break;
			continue;
		}
		x->sec = e.sec;
		x->nsec = e.nsec;
		if (shard_emit_tagged(sh, in->id, tag, tag_len, (const char *)e.rec, e.rec_len) == -EAGAIN) {
			*done = i - 1;
			return -EAGAIN;
		}
		if (m.chunk && si->open && si->open->nrecs)
			shard_seq_of(&x->seq, si->open);   /* the chunk its ack waits for */
	}
	*done = i;
	if (m.chunk && conn) {
		ack(x, sh, conn, &m);
		/* The sender waits for its ack: after the last message of the
		 * connection's burst the chunk goes on now, not at Flush (an
		 * agent sending one chunk at a time would get 1/Flush acks a
		 * second). */
		struct shard_conn *c = conn;
		if (c->next_frame + 1 >= c->nframes && !c->more && si->open && si->open->nrecs)
			shard_chunk_push(sh, si);
	}
	return 0;
}

static void chunk_released(struct dp_input *in, void *ctx, struct dp_chunk *c)
{
	struct fwd_shard *x = ctx;
	if (x && x->sh && shard_seq_release(&x->seq, c, NULL))
		shard_conn_acks_due(x->sh, &x->sh->ins[in->id], x->seq.head);
}

static void teardown(struct dp_input *in)
{
	struct in_forward_cfg *cfg = in->cfg;
	for (unsigned i = 0; cfg && i < cfg->auth.nusers; i++) {
		free(cfg->auth.users[i].name);
		free(cfg->auth.users[i].password);
	}
	if (cfg) {
		free(cfg->auth.users);
		cfg->auth.users = NULL;
		cfg->auth.nusers = 0;
	}
	in_net_teardown(in);
}

/* Secure forward: HELO first. */
static void conn_open(struct dp_input *in, struct shard *sh, void *ctx, void *conn)
{
	(void)ctx;
	struct in_forward_cfg *cfg = in->cfg;
	if (cfg->auth_on)
		in_fwd_auth_helo(&cfg->auth, sh, conn);
}

const struct dp_input_ops in_forward_ops = {
	.name = "forward",
	.desc = "Fluentd's Forward protocol v1 (Fluent Bit and Fluentd forward outputs)",
	.opts = forward_opts,
	.cfg_size = sizeof(struct in_forward_cfg),
	.setup = setup,
	.shard_ctx_create = ctx_create,
	.shard_ctx_destroy = ctx_destroy,
	.parse = parse,
	.frame = frame,
	.chunk_released = chunk_released,
	.conn_open = conn_open,
	.teardown = teardown,
};
