/*
 * in_http_answer.c — the http input's answers (in_http.c): the success
 * answer made once at setup, answers sent in the order of a shard's
 * requests (owed until the chunks before them come back), Fluent Bit's
 * error texts, the JSON answers of sluice's ingest keys, and those keys'
 * checks on a batch (in_http_limit.h) before any record of it is kept.
 *
 * Threads: in_http_ok_setup on the control thread; the rest on the shard
 * that owns the connection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "in_http_int.h"
#include "shard.h"
#include "shard_conn.h"

/* The success answer, once: status line, Server, Success_Headers. */
int in_http_ok_setup(struct dp_input *in, struct in_http_cfg *cfg, struct dp_err *err)
{
	char buf[HTTP_RESP_MAX];
	size_t n = 0;
	const char *reason = cfg->code == 200 ? "OK" : cfg->code == 201 ? "Created" : "No Content";
	err->key = "Successful_Response_Code";
	if (cfg->code != 200 && cfg->code != 201 && cfg->code != 204)
		return dp_err_set(err, -EINVAL, "invalid value '%lld' for 'Successful_Response_Code': "
				  "expected 200, 201 or 204", (long long)cfg->code);
	n += (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\nServer: sluice\r\n", (int)cfg->code,
			      reason);
	err->key = "Success_Header";
	const struct dp_conf_section *sec = in->sec;
	for (unsigned i = 0; sec && i < sec->nkv; i++) {
		const struct dp_conf_kv *kv = &sec->kv[i];
		if (strcasecmp(kv->key, "Success_Header") != 0)
			continue;
		const char *v = kv->val, *sp = v + strcspn(v, " \t");
		const char *val = sp + strspn(sp, " \t");
		if (sp == v || !*val || strpbrk(v, "\r\n") || memchr(v, ':', (size_t)(sp - v)))
			return dp_err_set(err, -EINVAL, "invalid value '%s' for 'Success_Header': expected "
					  "'NAME VALUE'", v);
		int w = snprintf(buf + n, sizeof(buf) - n, "%.*s: %s\r\n", (int)(sp - v), v, val);
		if (w < 0 || (size_t)w >= sizeof(buf) - n - 32)
			return dp_err_set(err, -EINVAL, "Success_Header: the headers take more than %d bytes",
					  HTTP_RESP_MAX - 64);
		n += (size_t)w;
	}
	if (cfg->lim.accepted) {
		err->key = "Accepted_Response";
		if (cfg->code == 204)
			return dp_err_set(err, -EINVAL, "Accepted_Response json needs a body: "
					  "Successful_Response_Code 204 has none");
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "Content-Type: application/json\r\n");
		cfg->ok_head_len = n;
	} else {
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\r\n",
				      cfg->code == 204 ? "" : "Content-Length: 0\r\n");
	}
	if (!(cfg->ok = malloc(n)))
		return dp_err_set(err, -ENOMEM, "out of memory");
	memcpy(cfg->ok, buf, n);
	cfg->ok_len = n;
	return 0;
}

/* Send msg to c in its turn: at once when no chunk is out, else after the
 * chunks numbered so far (those holding this request's records, and the
 * earlier requests' answers owed) come back. */
void in_http_answer(struct http_shard *x, struct shard *sh, struct shard_conn *c, const char *msg,
		   size_t n)
{
	shard_conn_answer(sh, c, x->seq.head, x->seq.tail, msg, n);
}

/* An error answer, Fluent Bit's text as its body; `close`: the connection
 * ends once it is sent (the framing is lost, or the client asked). */
void in_http_answer_error(struct http_shard *x, struct shard *sh, struct shard_conn *c, int status,
			 const char *text, bool close)
{
	static const struct { int code; const char *reason; } reasons[] = {
		{ 200, "OK" }, { 400, "Bad Request" }, { 411, "Length Required" },
		{ 413, "Content Too Large" },
	};
	const char *reason = "Error";
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == status)
			reason = reasons[i].reason;
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\nServer: sluice\r\n%sContent-Length: %zu"
			 "\r\n\r\n%s", status, reason, close ? "Connection: close\r\n" : "", strlen(text),
			 text);
	in_http_answer(x, sh, c, buf, (size_t)n);
	if (close)
		c->eof = true;   /* no more reads; closed once its answers are out */
}

/* A JSON answer: status, an extra header line ("" for none), body. */
void in_http_answer_json(struct http_shard *x, struct shard *sh, struct shard_conn *c, int status,
			const char *reason, const char *hdr, const char *body, bool close)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\nServer: sluice\r\n%s%sContent-Type: "
			 "application/json\r\nContent-Length: %zu\r\n\r\n%s", status, reason, hdr,
			 close ? "Connection: close\r\n" : "", strlen(body), body);
	in_http_answer(x, sh, c, buf, (size_t)DP_MIN(n, (int)sizeof(buf) - 1));
	if (close)
		c->eof = true;
}

/* The success answer of a request of n records (Accepted_Response). */
void in_http_answer_ok(struct http_shard *x, struct shard *sh, struct shard_conn *c, long n, bool dup)
{
	const struct in_http_cfg *cfg = x->in->cfg;
	if (!cfg->lim.accepted) {
		in_http_answer(x, sh, c, cfg->ok, cfg->ok_len);
		return;
	}
	char body[96], buf[HTTP_RESP_MAX + 160];
	int bl = snprintf(body, sizeof(body), "{\"status\":\"accepted\",\"received_count\":%ld%s}", n,
			  dup ? ",\"duplicate\":true" : "");
	memcpy(buf, cfg->ok, cfg->ok_head_len);
	int hl = snprintf(buf + cfg->ok_head_len, sizeof(buf) - cfg->ok_head_len,
			  "Content-Length: %d\r\n\r\n%s", bl, body);
	in_http_answer(x, sh, c, buf, cfg->ok_head_len + (size_t)hl);
}

/* The ingest limits (in_http_limit.h), on a request of n records not
 * begun yet: 0 to take it, 1 when it is answered (refused, or a copy of
 * one accepted). */
int in_http_limits(struct http_shard *x, struct shard *sh, struct shard_conn *c,
		  const struct psr_http_req *r, struct in_http_dd_key key, long n)
{
	struct in_http_limit_cfg *lim = &((struct in_http_cfg *)x->in->cfg)->lim;
	struct shard_in *si = &sh->ins[x->in->id];
	bool close = !r->keep_alive;
	char msg[160], hdr[48];
	uint64_t now_ms = sh->now_real_ns / 1000000;
	if (lim->max_batch_records && n > lim->max_batch_records) {
		snprintf(msg, sizeof(msg), "{\"status\":\"error\",\"error\":\"batch of %ld records exceeds "
			 "Max_Batch_Records %lld\"}", n, (long long)lim->max_batch_records);
		in_http_answer_json(x, sh, c, 413, "Content Too Large", "", msg, close);
		DP_CNT_ADD(si->cnt.limited, 1);
		return 1;
	}
	if (lim->dd) {
		enum in_http_dd d = in_http_dd_look(lim, key, now_ms, &x->released);
		/* the first's own shard: answered after the first's answer */
		if (d == IN_HTTP_DD_DONE || d == IN_HTTP_DD_INFLIGHT_HERE) {
			in_http_answer_ok(x, sh, c, n, true);
			DP_CNT_ADD(si->cnt.deduplicated, 1);
			return 1;
		}
		if (d == IN_HTTP_DD_INFLIGHT) {
			in_http_answer_json(x, sh, c, 503, "Service Unavailable", "Retry-After: 1\r\n",
				    "{\"status\":\"error\",\"error\":\"an identical batch is being stored\"}",
				    close);
			return 1;
		}
	}
	long wait = lim->rate ? in_http_rate_take(lim, x->tenant.p, x->tenant.len, (uint64_t)n, now_ms) : 0;
	if (wait < 0) {
		snprintf(msg, sizeof(msg), "{\"status\":\"error\",\"error\":\"batch of %ld records exceeds "
			 "Rate_Limit %lld per minute\"}", n, (long long)lim->rate_limit);
		in_http_answer_json(x, sh, c, 413, "Content Too Large", "", msg, close);
	} else if (wait > 0) {
		snprintf(hdr, sizeof(hdr), "Retry-After: %ld\r\n", wait);
		in_http_answer_json(x, sh, c, 429, "Too Many Requests", hdr,
			    "{\"status\":\"error\",\"error\":\"Rate_Limit reached\"}", close);
	}
	if (wait)
		DP_CNT_ADD(si->cnt.limited, 1);
	return wait != 0;
}

