/*
 * in_http_int.h — what the http input's files share (in_http.c, the
 * requests; in_http_answer.c, the answers and ingest limits): its
 * configuration and its per-shard context.
 */
#ifndef IN_HTTP_INT_H
#define IN_HTTP_INT_H

#include <stdatomic.h>
#include "dp_plugin.h"
#include "dp_tls.h"
#include "in_http_auth.h"
#include "in_http_limit.h"
#include "psr_http.h"
#include "psr_json_batch.h"
#include "shard_seq.h"

#define HTTP_RESP_MAX 4096
/* Chunks one request's records may fill before any is pushed
 * (in_http_json.c); a larger request is checked first. */
#define HTTP_HOLD_MAX 8

struct shard;
struct shard_conn;
struct psr_fwd_gz;

struct in_http_cfg {
	char *listen;
	int64_t port;
	int64_t buffer_max_size;
	int64_t buffer_chunk_size;
	char *tag_key;
	bool add_remote_addr;
	int64_t code;
	char *success_header;       /* the last; all are read from the section */
	struct dp_tls_cfg tls;
	struct in_http_auth_cfg auth;   /* bearer tokens, tenant (in_http_auth.h) */
	struct in_http_limit_cfg lim;   /* batch size, rate, dedupe (in_http_limit.h) */
	/* made by setup: the success answer; with Accepted_Response json, its
	 * head up to the Content-Length */
	char *ok;
	size_t ok_len;
	size_t ok_head_len;
};

struct http_shard {
	struct dp_input *in;
	struct shard *sh;           /* set at the first frame (for chunk_released) */
	struct shard_seq seq;       /* chunks holding records of requests owed an answer */
	_Atomic uint64_t released;  /* seq.head, for other shards (Dedupe_Window) */
	struct psr_fwd_gz *gz;      /* gzip bodies: inflated into gz_buf, grown up to gz_max */
	uint8_t *gz_buf;
	size_t gz_cap, gz_max;
	struct psr_json_rec *recs;  /* the records of the request being emitted */
	size_t nrec_cap;
	char *dbuf;                 /* chunked bodies, decoded (Buffer_Max_Size) */
	char *fbuf;                 /* a form's value being decoded, grown to the largest body */
	size_t fbuf_cap;
	bool form;                  /* the request's body is x-www-form-urlencoded */
	bool mp;                    /* the request's body is msgpack (records, events) */
	struct http_mtime {         /* [nrec_cap] with mp: each record's time, if it had one */
		uint32_t sec, nsec;
		bool timed;
	} *mtimes, cur_mt;          /* cur_mt: the record being written */
	struct psr_http_str raddr;  /* Add_Remote_Addr: this request's, or len 0 */
	struct psr_http_str tenant; /* this request's tenant (in_http_auth_check), or len 0 */
	char tenant_buf[IN_HTTP_TENANT_MAX];
	struct psr_http_req req;
	char tag[DP_TAG_MAX];       /* from the path */
	char rtag[DP_TAG_MAX];      /* from Tag_Key */
	/* in_http_json.c: the chunks the request being written has filled,
	 * not pushed yet, and where it began in the first */
	struct dp_chunk *held[HTTP_HOLD_MAX];
	unsigned nheld;
	struct dp_chunk_pos mark;
};

/* in_http_answer.c */
int in_http_ok_setup(struct dp_input *in, struct in_http_cfg *cfg, struct dp_err *err);
/* Send msg to c in its turn (after the chunks numbered so far). */
void in_http_answer(struct http_shard *x, struct shard *sh, struct shard_conn *c, const char *msg,
		    size_t n);
/* Fluent Bit's error text; close: the connection ends once it is sent. */
void in_http_answer_error(struct http_shard *x, struct shard *sh, struct shard_conn *c, int status,
			  const char *text, bool close);
/* A JSON answer; hdr: an extra header line or "". */
void in_http_answer_json(struct http_shard *x, struct shard *sh, struct shard_conn *c, int status,
			 const char *reason, const char *hdr, const char *body, bool close);
/* The success answer of a request of n records (Accepted_Response). */
void in_http_answer_ok(struct http_shard *x, struct shard *sh, struct shard_conn *c, long n, bool dup);
/* The ingest limits on a batch of n records not begun: 0 to take it, 1
 * when it is answered (refused, or a copy of one accepted). */
int in_http_limits(struct http_shard *x, struct shard *sh, struct shard_conn *c,
		   const struct psr_http_req *r, struct in_http_dd_key key, long n);

/* in_http_json.c: a JSON body written in one pass. */
enum { HTTP_ONE_OK, HTTP_ONE_BAD, HTTP_ONE_MORE, HTTP_ONE_NO };
/* Write the body's records under tag, held: OK (all *nrec of them), BAD
 * (malformed: nothing kept), MORE (the first *nrec written; the rest is
 * to be checked, and written the old way once the request is taken),
 * NO (not this way; nothing written). */
int in_http_json_one(struct http_shard *x, struct shard *sh, const char *tag, size_t tl,
		     const char *body, size_t blen, uint32_t *nrec);
/* The request is taken: its held chunks go on, n records counted. */
void in_http_json_keep(struct http_shard *x, struct shard *sh, uint32_t n);
/* It is refused: its records rolled back. */
void in_http_json_undo(struct http_shard *x, struct shard *sh);
/* REMOTE_ADDR and the tenant, at the end of the record being written. */
void in_http_put_extra(struct http_shard *x, struct dp_chunk *c);

#endif
