/*
 * in_http.c — Fluent Bit's `http` input: records POSTed as JSON over
 * HTTP/1.1 (plugins/in_http/http_prot.c; docs: pipeline/inputs/http).
 *
 * PSR_FRAME_HTTP cuts each request (head and Content-Length body, bounded
 * by Buffer_Max_Size) out of the connection's stream; psr_http.c reads its
 * head. The body (gunzipped for Content-Encoding: gzip) is an object,
 * objects one after another (NDJSON), or arrays of objects
 * (psr_json_batch.h), written record by record as it is walked and so
 * checked in the same pass, held until the whole body proved good
 * (in_http_json.c); where that cannot be (filters, Tag_Key; the part of
 * a body past HTTP_HOLD_MAX chunks) it is checked whole first by
 * psr_json_batch_scan, then each record written by psr_json_parse.
 * Either way a bad body is refused entire. A msgpack body
 * (application/msgpack, sluice's own: Fluent Bit takes JSON and forms
 * only) is maps or [time, map] events one after another, written by
 * psr_fwd_record. A form (application/x-www-form-urlencoded) is one
 * record of its pairs. The tag is the request's path without its '/' (URL
 * decoded, characters other than letters, digits, '_' and '.' made '_', as
 * Fluent Bit does), the input's Tag for "/", or a record's Tag_Key value.
 *
 * The answer (Successful_Response_Code with the Success_Headers) is sent
 * only once the request's records are accepted: the chunks holding them
 * released by every output they were routed to, or stored (storage.type
 * filesystem). So a 2xx means the batch is safe. The chunk is pushed at
 * the end of a connection's burst of requests rather than at Flush, since
 * a client waits for the answer before it sends more. Answers go out in
 * the order of the requests (shard_conn_ack_add): an error answered at
 * once would overtake a 2xx still owed. A request refused (400, as Fluent
 * Bit answers for a bad method, Content-Type or body) costs nothing else:
 * the next request on the connection is served. One whose framing is lost
 * (unreadable head or chunks: 400, a Transfer-Encoding other than
 * chunked: 411, past Buffer_Max_Size: 413) is answered and its
 * connection closed. Chunked bodies are decoded into a per-shard buffer
 * of Buffer_Max_Size.
 *
 * With Auth_Tokens_File, JWT_Key or oauth2.validate (in_http_auth.c; the
 * JWKS: in_http_jwks.c) a request passing those checks must also carry a
 * bearer token: one refused gets 401 (its
 * body never read, counted auth_failed; the connection goes on). The
 * token's tenant is x->tenant, added to each record under Tenant_Key.
 * Then the ingest limits (in_http_limit.c: Max_Batch_Records, Rate_Limit
 * per tenant, Dedupe_Window) on the scanned batch, before any record of
 * it is kept; Accepted_Response json makes the 2xx say how many.
 *
 * Threads: setup on the control thread; the rest on the shard that owns
 * the connection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_edit.h"
#include "dp_pipeline.h"
#include "dp_tls.h"
#include "in_http_int.h"
#include "in_net.h"
#include "psr_forward.h"
#include "psr_frame.h"
#include "psr_http.h"
#include "psr_json.h"
#include "psr_json_batch.h"
#include "shard.h"
#include "shard_conn.h"
#include "shard_seq.h"

/* The most a gzip body may inflate to, as for forward's gzip messages. */
#define HTTP_GUNZIP_MIN (64u << 20)

#define C(f) offsetof(struct in_http_cfg, f)

static const struct dp_opt http_opts[] = {
	{ "Listen", DP_OPT_STR, "0.0.0.0", C(listen), NULL, 0, 0, 0, "Address to listen on." },
	{ "Port", DP_OPT_INT, "9880", C(port), NULL, 1, 65535, 0, "TCP port to listen on." },
	{ "Buffer_Max_Size", DP_OPT_SIZE, "4M", C(buffer_max_size), NULL, 0, 0, 0,
	  "Largest request (head and body) in bytes; a larger one is answered 413 and its "
	  "connection closed." },
	{ "Buffer_Chunk_Size", DP_OPT_SIZE, "512K", C(buffer_chunk_size), NULL, 0, 0, 0,
	  "Read size in bytes; sluice reads at least 64 KiB at a time." },
	{ "Tag_Key", DP_OPT_STR, NULL, C(tag_key), NULL, 0, 0, 0,
	  "A record whose top-level key of this name holds a string gets that string as its tag "
	  "(the key stays in the record)." },
	{ "Add_Remote_Addr", DP_OPT_BOOL, "off", C(add_remote_addr), NULL, 0, 0, 0,
	  "Add REMOTE_ADDR to every record: the first address of the request's X-Forwarded-For "
	  "header (none when the request has no such header)." },
	{ "Successful_Response_Code", DP_OPT_INT, "201", C(code), NULL, 200, 204, 0,
	  "Status of the answer to an accepted request: 200, 201 or 204." },
	{ "Success_Header", DP_OPT_STR, NULL, C(success_header), NULL, 0, 0, 0,
	  "'NAME VALUE': a header added to every successful answer; repeat the key for more." },
	DP_TLS_SERVER_OPTS(struct in_http_cfg, tls),
	IN_HTTP_AUTH_OPTS(struct in_http_cfg, auth),
	IN_HTTP_LIMIT_OPTS(struct in_http_cfg, lim),
	{ NULL },
};

static int setup(struct dp_input *in, struct dp_err *err)
{
	struct in_http_cfg *cfg = in->cfg;
	int rc = in_net_setup(in, DP_NET_TCP, cfg->listen, cfg->port, cfg->buffer_chunk_size,
			      cfg->buffer_max_size, err);
	if (rc)
		return rc;
	if ((rc = in_net_setup_tls(in, &cfg->tls, err)) != 0)
		return rc;
	err->key = "Tag_Key";
	if (cfg->tag_key && !*cfg->tag_key)
		return dp_err_set(err, -EINVAL, "Tag_Key is empty");
	if ((rc = in_http_ok_setup(in, cfg, err)) != 0)
		return rc;
	if ((rc = in_http_auth_setup(&cfg->auth, in->sec, in->name, err)) != 0)
		return rc;
	if ((rc = in_http_limit_setup(&cfg->lim, err)) != 0)
		return rc;
	in->framing = PSR_FRAME_HTTP;
	in->tag_per_record = true;   /* tags come from the path */
	return 0;
}

static void ctx_destroy(void *ctx)
{
	struct http_shard *x = ctx;
	if (!x)
		return;
	psr_fwd_gz_destroy(x->gz);
	free(x->gz_buf);
	free(x->recs);
	free(x->mtimes);
	free(x->dbuf);
	free(x->fbuf);
	shard_seq_fini(&x->seq);
	free(x);
}

static void *ctx_create(struct dp_input *in, unsigned shard)
{
	(void)shard;
	struct http_shard *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->in = in;
	if (shard_seq_init(&x->seq, in->pool_chunks + 2)) {
		free(x);
		return NULL;
	}
	x->gz_max = DP_MAX((size_t)HTTP_GUNZIP_MIN, 16 * (size_t)in->max_frame);
	/* oauth2.validate: the JWKS fetch thread, started by the first shard
	 * (not at setup, which --dry-run runs too) */
	in_http_auth_start(&((struct in_http_cfg *)in->cfg)->auth);
	return x;
}

/* A form's pairs as fields, in order (checked by records_of). */
static int parse_form(struct http_shard *x, struct dp_chunk *c, const char *p, size_t len)
{
	struct psr_http_str k, v;
	size_t off = 0;
	while (psr_http_form_next(p, len, &off, &k, &v)) {
		long n = psr_http_url_decode(v, x->fbuf);
		if (n < 0)
			return -EINVAL;
		dp_chunk_put_str(c, k.p, k.len, x->fbuf, (size_t)n);
	}
	return 0;
}

/* One record: a JSON object, or a whole form; REMOTE_ADDR, then the
 * tenant under Tenant_Key (the client's own value never kept), after it. */
static int parse(struct dp_chunk *c, const char *p, size_t len, void *ctx)
{
	struct http_shard *x = ctx;
	if (x->mp && x->cur_mt.timed)
		dp_chunk_rec_set_time(c, x->cur_mt.sec, x->cur_mt.nsec);
	int rc = x->form ? parse_form(x, c, p, len) : x->mp ? psr_fwd_record(c, p, len) :
		 psr_json_parse(c, p, len);
	if (!rc)
		in_http_put_extra(x, c);
	return rc;
}

/* The tag of the path: URL decoded, '/' dropped, anything but letters,
 * digits, '_' and '.' made '_' (http_prot.c). 0 for "/": the input's Tag. */
static size_t path_tag(struct psr_http_str path, char *out)
{
	size_t n = 0;
	for (uint32_t i = 1; i < path.len && n < DP_TAG_MAX - 1; i++) {
		unsigned char ch = (unsigned char)path.p[i];
		if (ch == '%' && i + 2 < path.len) {
			struct psr_http_str hx = { path.p + i, 3 };
			char dec;
			if (psr_http_url_decode(hx, &dec) == 1) {
				ch = (unsigned char)dec;
				i += 2;
			}
		}
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			  ch == '_' || ch == '.';
		out[n++] = ok ? (char)ch : '_';
	}
	return n;
}

/* A Tag_Key value between its quotes, simple escapes decoded. */
static size_t rec_tag(const char *v, size_t len, bool escaped, char *out)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n < DP_TAG_MAX - 1; i++) {
		char ch = v[i];
		if (escaped && ch == '\\' && i + 1 < len) {
			ch = v[++i];
			ch = ch == 'n' ? '\n' : ch == 't' ? '\t' : ch == 'r' ? '\r' : ch;
		}
		out[n++] = ch;
	}
	return n;
}

static bool type_is(struct psr_http_str ct, const char *t)
{
	size_t n = strlen(t);
	return ct.len >= n && strncasecmp(ct.p, t, n) == 0 &&
	       (ct.len == n || ct.p[n] == ';' || ct.p[n] == ' ');
}

/* The body, de-chunked and inflated as the request says; NULL (answered)
 * when it cannot be. */
static const char *body_of(struct http_shard *x, struct shard *sh, struct shard_conn *c,
			   const struct psr_http_req *r, const char *p, size_t len, size_t *blen)
{
	struct psr_http_str ce = r->content_encoding;
	const char *b = p + r->head_len;
	*blen = r->content_length;
	if (r->chunked) {
		long n = -EBADMSG;
		if (x->dbuf || (x->dbuf = malloc(x->in->max_frame)))
			n = psr_http_dechunk(b, len - r->head_len, x->dbuf, x->in->max_frame);
		if (n < 0) {
			in_http_answer_error(x, sh, c, 400, "error: invalid chunked data\n", true);
			return NULL;
		}
		b = x->dbuf;
		*blen = (size_t)n;
	}
	if (*blen == 0) {
		in_http_answer_error(x, sh, c, 400, "error: no payload found\n", !r->keep_alive);
		return NULL;
	}
	if (!ce.len || psr_http_str_is(ce, "identity"))
		return b;
	if (!psr_http_str_is(ce, "gzip")) {
		in_http_answer_error(x, sh, c, 400, "error: unsupported 'Content-Encoding'\n", !r->keep_alive);
		return NULL;
	}
	if (!x->gz && !(x->gz = psr_fwd_gz_create()))
		return NULL;
	for (;;) {
		long n = x->gz_cap ? psr_fwd_gunzip(x->gz, b, *blen, x->gz_buf, x->gz_cap) : -EMSGSIZE;
		if (n >= 0) {
			*blen = (size_t)n;
			return (const char *)x->gz_buf;
		}
		if (n != -EMSGSIZE || x->gz_cap >= x->gz_max) {
			in_http_answer_error(x, sh, c, n == -EMSGSIZE ? 413 : 400,
				     n == -EMSGSIZE ? "error: payload too large once inflated\n" :
				     "error: invalid gzip payload\n", !r->keep_alive);
			return NULL;
		}
		/* once per size step per shard, never per request */
		size_t cap = DP_MIN(x->gz_max, DP_MAX((size_t)1 << 20, 4 * x->gz_cap));
		uint8_t *b = realloc(x->gz_buf, cap);
		if (!b)
			return NULL;
		x->gz_buf = b;
		x->gz_cap = cap;
	}
}

/* A form is one record (x->recs[0]), its Tag_Key pair's value decoded
 * into x->rtag: 1, or -1 when its values cannot be decoded or it has no
 * pair. */
static long form_of(struct http_shard *x, const char *body, size_t len)
{
	const struct in_http_cfg *cfg = x->in->cfg;
	if (len > x->fbuf_cap) {
		char *b = realloc(x->fbuf, len);   /* grows to the largest body, then kept */
		if (!b)
			return -1;
		x->fbuf = b;
		x->fbuf_cap = len;
	}
	struct psr_json_rec *rec = &x->recs[0];
	struct psr_http_str k, v;
	size_t off = 0;
	long npairs = 0;
	memset(rec, 0, sizeof(*rec));
	rec->len = (uint32_t)len;
	while (psr_http_form_next(body, len, &off, &k, &v)) {
		long n = psr_http_url_decode(v, x->fbuf);
		if (n < 0)
			return -1;
		npairs++;
		if (cfg->tag_key && !rec->has_tag && strlen(cfg->tag_key) == k.len &&
		    memcmp(k.p, cfg->tag_key, k.len) == 0 && n) {
			rec->has_tag = true;
			rec->tag_len = (uint32_t)DP_MIN((size_t)n, (size_t)DP_TAG_MAX - 1);
			memcpy(x->rtag, x->fbuf, rec->tag_len);
		}
	}
	return npairs ? 1 : -1;
}

/* The records of the body, in x->recs: how many, or -1 (answered). */
/* A msgpack body: maps and [time, map] events one after another, each a
 * record (psr_fwd_next_loose); any bad object refuses the whole body. */
static long mp_of(struct http_shard *x, const char *body, size_t len)
{
	const uint8_t *p = (const uint8_t *)body, *end = p + len;
	struct psr_fwd_entry e;
	bool timed;
	long n = 0;
	int rc;
	if (!x->mtimes && !(x->mtimes = malloc(x->nrec_cap * sizeof(*x->mtimes))))
		return -1;
	while ((rc = psr_fwd_next_loose(&p, end, &e, &timed)) == 1) {
		if ((size_t)n == x->nrec_cap) {   /* grown to the largest batch, kept */
			size_t cap = 2 * x->nrec_cap;
			struct psr_json_rec *a = realloc(x->recs, cap * sizeof(*a));
			if (a)
				x->recs = a;
			struct http_mtime *t = a ? realloc(x->mtimes, cap * sizeof(*t)) : NULL;
			if (!t)
				return -1;
			x->mtimes = t;
			x->nrec_cap = cap;
		}
		x->recs[n] = (struct psr_json_rec){ .off = (uint32_t)((const char *)e.rec - body),
						    .len = (uint32_t)e.rec_len };
		x->mtimes[n++] = (struct http_mtime){ e.sec, e.nsec, timed };
	}
	return rc == 0 && n ? n : -1;
}

static long records_of(struct http_shard *x, struct shard *sh, struct shard_conn *c,
		       const struct psr_http_req *r, const char *body, size_t len)
{
	const struct in_http_cfg *cfg = x->in->cfg;
	size_t klen = cfg->tag_key ? strlen(cfg->tag_key) : 0;
	if (!x->nrec_cap) {
		if (!(x->recs = malloc(64 * sizeof(*x->recs))))
			return -1;
		x->nrec_cap = 64;
	}
	if (x->form || x->mp) {
		long n = len >= UINT32_MAX ? -1 : x->form ? form_of(x, body, len) : mp_of(x, body, len);
		if (n < 0)
			in_http_answer_error(x, sh, c, 400, "error: invalid payload\n", !r->keep_alive);
		return n;
	}
	long n = len < UINT32_MAX ? psr_json_batch_scan(body, len, cfg->tag_key, klen, x->recs,
							x->nrec_cap) : -EINVAL;
	if (n > (long)x->nrec_cap) {
		size_t cap = DP_MAX((size_t)n, 2 * x->nrec_cap);
		struct psr_json_rec *a = realloc(x->recs, cap * sizeof(*a));
		if (!a)
			return -1;
		x->recs = a;
		x->nrec_cap = cap;
		n = psr_json_batch_scan(body, len, cfg->tag_key, klen, x->recs, x->nrec_cap);
	}
	if (n < 0)
		in_http_answer_error(x, sh, c, 400, "error: invalid payload\n", !r->keep_alive);
	return n;
}

/* The request's checks, in Fluent Bit's order (http_prot_handle): the
 * error answered, or 0 for a POST with a JSON body to take. */
static int check(struct http_shard *x, struct shard *sh, struct shard_conn *c,
		 const struct psr_http_req *r)
{
	bool close = !r->keep_alive;
	const char *err = NULL;
	x->form = x->mp = false;
	if (!r->path.len || r->path.p[0] != '/' || (r->minor == 1 && !r->host.len))
		err = "error: invalid request\n";
	else if (psr_http_str_is(r->method, "GET") && r->path.len == 7 &&
		 memcmp(r->path.p, "/health", 7) == 0)
		err = "{\"status\":\"ok\"}\n";
	else if (!psr_http_str_is(r->method, "POST"))
		err = "error: invalid HTTP method\n";
	else if (!r->content_type.len)
		err = "error: header 'Content-Type' is not set\n";
	else if ((x->form = psr_http_str_is(r->content_type, "application/x-www-form-urlencoded")))
		err = NULL;
	else if ((x->mp = type_is(r->content_type, "application/msgpack") ||
			  type_is(r->content_type, "application/x-msgpack")))
		err = NULL;   /* sluice: Fluent Bit's in_http takes JSON and forms only */
	else if (!type_is(r->content_type, "application/json") &&
		 !type_is(r->content_type, "application/x-ndjson"))
		err = "error: invalid 'Content-Type'\n";
	if (!err)
		return 0;
	in_http_answer_error(x, sh, c, err[0] == '{' ? 200 : 400, err, close);
	return -1;
}

/* frame_done's high bit: the request passed its ingest limits. Counts
 * stay below it: a body is under 4 GiB (records_of) and a record takes
 * two bytes at least. */
#define HTTP_ADMITTED (1u << 31)

/* One request: its records emitted and its answer sent or owed. */
static int request(struct dp_input *in, struct shard *sh, struct http_shard *x, struct shard_conn *c,
		   const char *p, size_t len, uint32_t *done)
{
	struct shard_in *si = &sh->ins[in->id];
	struct psr_http_req *r = &x->req;
	/* A frame whose framing was lost (psr_http.h), counted by the framer. */
	int rc = psr_http_req_parse(p, len, r);
	if (rc == -EAGAIN || (!rc && (r->chunked ? len == r->head_len :
				      r->head_len + r->content_length > len))) {
		in_http_answer_error(x, sh, c, 413, "error: request larger than Buffer_Max_Size\n", true);
		return 0;
	}
	if (rc || (r->has_te && r->has_length)) {
		in_http_answer_error(x, sh, c, 400, "error: invalid request\n", true);
		return 0;
	}
	if (r->has_te && !r->chunked) {
		in_http_answer_error(x, sh, c, 411, "error: only Transfer-Encoding: chunked is read\n", true);
		return 0;
	}
	if (check(x, sh, c, r)) {
		if (*r->method.p == 'P' || r->content_length || r->chunked)
			DP_CNT_ADD(si->cnt.malformed, 1);
		return 0;
	}
	/* Per request, before the body is read; again when a request paused
	 * by backpressure resumes (x is shared by the shard's connections). */
	const char *why;
	if (in_http_auth_check(&((const struct in_http_cfg *)in->cfg)->auth, r, time(NULL),
			       x->tenant_buf, &x->tenant, &why)) {
		char buf[512];
		in_http_answer(x, sh, c, buf, in_http_auth_answer(why, !r->keep_alive, buf, sizeof(buf)));
		c->eof = c->eof || !r->keep_alive;
		DP_CNT_ADD(si->cnt.auth_failed, 1);
		return 0;
	}
	size_t blen;
	const char *body = body_of(x, sh, c, r, p, len, &blen);
	if (!body) {
		DP_CNT_ADD(si->cnt.malformed, 1);
		return 0;
	}
	x->raddr.len = 0;
	const struct psr_http_str *xff = ((const struct in_http_cfg *)in->cfg)->add_remote_addr ?
					 psr_http_header(r, "X-Forwarded-For") : NULL;
	if (xff) {
		/* the first address: the client, the proxies after it */
		const char *comma = memchr(xff->p, ',', xff->len);
		x->raddr = (struct psr_http_str){ xff->p, (uint32_t)((comma ? comma : xff->p + xff->len) -
								      xff->p) };
		while (x->raddr.len && (x->raddr.p[x->raddr.len - 1] == ' ' ||
					x->raddr.p[x->raddr.len - 1] == '\t'))
			x->raddr.len--;
	}
	size_t tag_len = path_tag(r->path, x->tag);
	const char *tag = tag_len ? x->tag : in->tag;
	if (!tag_len)
		tag_len = in->tag_len;
	/* A JSON body is written as it is checked (in_http_json.c), held
	 * until the limits below take it; the rest the old way: checked whole
	 * (records_of), then written. */
	uint32_t first = 0;
	int one = *done || x->form || x->mp || blen >= UINT32_MAX ? HTTP_ONE_NO :
		  in_http_json_one(x, sh, tag, tag_len, body, blen, &first);
	long n = first;
	if (one == HTTP_ONE_BAD)
		in_http_answer_error(x, sh, c, 400, "error: invalid payload\n", !r->keep_alive);
	else if (one != HTTP_ONE_OK && (n = records_of(x, sh, c, r, body, blen)) < 0)
		in_http_json_undo(x, sh);
	if (one == HTTP_ONE_BAD || n < 0) {
		DP_CNT_ADD(si->cnt.malformed, 1);
		return 0;
	}
	const struct in_http_cfg *cfg = in->cfg;
	/* the Dedupe_Window key: hashed once, looked up and noted */
	struct in_http_dd_key key = { 0, 0 };
	if (cfg->lim.dd)
		key = in_http_dd_key(r->path.p, r->path.len, x->tenant.p, x->tenant.len, body, blen);
	/* once per request: a frame that ran out of memory at its first
	 * record comes again with HTTP_ADMITTED, its tokens already taken */
	if (!(*done & HTTP_ADMITTED) && in_http_limits(x, sh, c, r, key, n)) {
		in_http_json_undo(x, sh);
		return 0;
	}
	uint32_t from = *done & ~HTTP_ADMITTED;
	if (one == HTTP_ONE_OK || one == HTTP_ONE_MORE) {
		in_http_json_keep(x, sh, first);
		from = first;
	}
	for (uint32_t i = from; i < (uint32_t)n; i++) {
		const struct psr_json_rec *rec = &x->recs[i];
		const char *t = tag;
		size_t tl = tag_len;
		if (x->mp)
			x->cur_mt = x->mtimes[i];
		if (rec->has_tag && rec->tag_len) {
			tl = x->form ? rec->tag_len :
			     rec_tag(body + rec->tag_off, rec->tag_len, rec->tag_escaped, x->rtag);
			t = x->rtag;
		}
		if (shard_emit_tagged(sh, in->id, t, tl, body + rec->off, rec->len) == -EAGAIN) {
			*done = i | HTTP_ADMITTED;
			return -EAGAIN;
		}
		if (si->open && si->open->nrecs)
			shard_seq_of(&x->seq, si->open);   /* the chunk the answer waits for */
	}
	*done = (uint32_t)n;
	if (cfg->lim.dd)
		in_http_dd_note(&((struct in_http_cfg *)in->cfg)->lim, key, sh->now_real_ns / 1000000,
				&x->released, x->seq.tail - 1, x->seq.tail == x->seq.head);
	in_http_answer_ok(x, sh, c, n, false);
	if (!r->keep_alive)
		c->eof = true;
	return 0;
}

static int frame(struct dp_input *in, struct shard *sh, void *ctx, void *conn, const char *p,
		 size_t len, uint32_t *done)
{
	struct http_shard *x = ctx;
	struct shard_conn *c = conn;
	x->sh = sh;
	if (!c)
		return 0;
	int rc = request(in, sh, x, c, p, len, done);
	/* The client waits for its answers: after the last request of the
	 * connection's burst (answered or refused) the chunk goes on now,
	 * not at Flush. An answer owed is written when it comes back. */
	if (rc == 0 && c->next_frame + 1 >= c->nframes && !c->more)
		shard_chunk_push(sh, &sh->ins[in->id]);
	return rc;
}

static void chunk_released(struct dp_input *in, void *ctx, struct dp_chunk *c)
{
	struct http_shard *x = ctx;
	if (x && x->sh && shard_seq_release(&x->seq, c, NULL)) {
		atomic_store_explicit(&x->released, x->seq.head, memory_order_release);
		shard_conn_acks_due(x->sh, &x->sh->ins[in->id], x->seq.head);
	}
}

static void teardown(struct dp_input *in)
{
	struct in_http_cfg *cfg = in->cfg;
	if (cfg) {
		free(cfg->ok);
		cfg->ok = NULL;
		in_http_auth_teardown(&cfg->auth);
		in_http_limit_teardown(&cfg->lim);
	}
	in_net_teardown(in);
}

const struct dp_input_ops in_http_ops = {
	.name = "http",
	.desc = "JSON records POSTed over HTTP/1.1 (Fluent Bit's http input)",
	.opts = http_opts,
	.cfg_size = sizeof(struct in_http_cfg),
	.setup = setup,
	.shard_ctx_create = ctx_create,
	.shard_ctx_destroy = ctx_destroy,
	.parse = parse,
	.frame = frame,
	.chunk_released = chunk_released,
	.teardown = teardown,
};
