/*
 * in_http_json.c — the http input's JSON body in one pass (in_http.c):
 * each record is written into the chunk as the body is walked
 * (psr_json_batch_next, psr_json_put_object), so the body is checked by
 * the writing itself instead of by a scan of its own first. A body found
 * malformed part way is rolled back whole (dp_chunk_truncate): the request
 * is refused entire, as Fluent Bit refuses a body it cannot pack.
 *
 * For that, no record of the request may leave the shard before its last
 * is written: the chunks it fills are held (not pushed) until the request
 * is taken, then pushed in order (in_http_json_keep), or given back to the
 * pool and the first chunk cut back to where the request began
 * (in_http_json_undo). Held: at most HTTP_HOLD_MAX chunks, and only while
 * the pool has a free one; past that, or for a record too big for an empty
 * chunk, the walk stops (HTTP_ONE_MORE) and the caller checks the rest of
 * the body the old way (psr_json_batch_scan) before taking what was
 * written: such a request costs what it cost before, no more.
 *
 * Not for a record that filters or SQL see as it is written (they keep
 * state, and emit records of their own: nothing to roll back), nor with
 * Tag_Key (a record's tag is known only once it is written, and a chunk
 * holds one tag): those requests take the checked path (HTTP_ONE_NO).
 *
 * Threads: the shard that owns the connection.
 */
#include <string.h>
#include "dp_edit.h"
#include "in_http_int.h"
#include "psr_json.h"
#include "psr_json_batch.h"
#include "shard.h"
#include "shard_seq.h"

/* Field k = v at the end of the record, in place of one the record has
 * (never a key twice); v empty: only that one removed. */
static void put_last(struct dp_chunk *c, const char *k, size_t klen, struct psr_http_str v)
{
	int dup = c->overflow ? -1 : dp_tail_find(c, k, klen);
	if (dup >= 0)
		dp_tail_remove(c, (unsigned)dup);
	if (v.len)
		dp_chunk_put_str(c, k, klen, v.p, v.len);
}

void in_http_put_extra(struct http_shard *x, struct dp_chunk *c)
{
	const char *tk = ((const struct in_http_cfg *)x->in->cfg)->auth.tenant_key;
	if (x->raddr.len)
		put_last(c, "REMOTE_ADDR", 11, x->raddr);
	if (tk)
		put_last(c, tk, strlen(tk), x->tenant);
}

/* A chunk of this tag, as shard_emit_tagged opens one. */
static struct dp_chunk *open_tagged(struct shard *sh, struct shard_in *si, const char *tag, size_t tl)
{
	si->want_tag = tag;
	si->want_tag_len = tl;
	struct dp_chunk *c = shard_chunk_open(sh, si);
	si->want_tag = NULL;
	return c;
}

void in_http_json_undo(struct http_shard *x, struct shard *sh)
{
	struct shard_in *si = &sh->ins[x->in->id];
	if (!x->nheld)
		return;
	while (x->nheld > 1)
		dp_pool_put(&si->pool, x->held[--x->nheld]);   /* never pushed: taken back as they are */
	dp_chunk_truncate(x->held[0], x->mark);
	si->open = x->held[0];
	x->nheld = 0;
}

void in_http_json_keep(struct http_shard *x, struct shard *sh, uint32_t n)
{
	struct shard_in *si = &sh->ins[x->in->id];
	if (!x->nheld)
		return;
	for (unsigned k = 0; k < x->nheld; k++) {
		struct dp_chunk *c = x->held[k];
		si->open = c;
		if (c->nrecs)
			shard_seq_of(&x->seq, c);   /* the chunks the answer waits for */
		if (k + 1 < x->nheld)
			shard_chunk_push(sh, si);
	}
	x->nheld = 0;
	if (!si->count_stored)
		DP_CNT_ADD(si->cnt.records, n);
}

int in_http_json_one(struct http_shard *x, struct shard *sh, const char *tag, size_t tl,
		     const char *body, size_t blen, uint32_t *nrec)
{
	struct shard_in *si = &sh->ins[x->in->id];
	const struct in_http_cfg *cfg = x->in->cfg;
	*nrec = 0;
	if (cfg->tag_key || sh->sp)
		return HTTP_ONE_NO;
	if (tl > DP_TAG_MAX)
		tl = DP_TAG_MAX;
	struct dp_chunk *c = si->open;
	if (c && (c->tag_len != tl || memcmp(c->tag, tag, tl)))
		shard_chunk_push(sh, si);   /* as shard_emit_tagged does */
	if (!(c = si->open) && (!si->pool.nfree || !(c = open_tagged(sh, si, tag, tl))))
		return HTTP_ONE_NO;   /* out of memory: the checked path waits for it */
	if (c->tag_len ? si->open_chain : si->in->filters)
		return HTTP_ONE_NO;
	x->held[0] = c;
	x->nheld = 1;
	x->mark = dp_chunk_pos_get(c);
	int64_t max = cfg->lim.max_batch_records;
	struct psr_json_batch_it it;
	uint32_t n = 0;
	int rc;
	psr_json_batch_begin(&it, body, blen);
	while ((rc = psr_json_batch_next(&it)) == 1) {
		const char *q;
		if (max && n >= max)
			goto more;   /* over Max_Batch_Records: the scan counts them all */
		for (;;) {
			dp_chunk_rec_begin(c, sh->now_sec, sh->now_nsec);
			q = psr_json_put_object(c, it.p, it.e);
			if (q) {
				in_http_put_extra(x, c);
				if (dp_chunk_rec_end(c) == 0)
					break;
			} else {
				bool full = c->overflow;
				dp_chunk_rec_abort(c);
				if (!full)
					goto bad;
			}
			/* It did not fit: the next chunk, held too. An overflowing
			 * record's verdict waits for a chunk it fits in. */
			if (!c->nrecs || x->nheld == HTTP_HOLD_MAX || !si->pool.nfree ||
			    !(c = open_tagged(sh, si, tag, tl)))
				goto more;   /* too big for any chunk, or memory short */
			x->held[x->nheld++] = c;
		}
		it.p = q;
		n++;
	}
	if (rc < 0)
		goto bad;
	*nrec = n;
	return HTTP_ONE_OK;
more:
	*nrec = n;
	return HTTP_ONE_MORE;
bad:
	in_http_json_undo(x, sh);
	return HTTP_ONE_BAD;
}
