/*
 * dp_edit.c — editing the tail record of a chunk (see dp_edit.h).
 *
 * Invariant relied on: the key/value pairs of a record are contiguous and
 * in index order, starting right after the 14-byte event header (array,
 * ext8 time, map16). A pair starts where the previous value ends; a value
 * ends at val_off + val_len (strings: val_off is the payload; other types:
 * the object itself). Key headers are not assumed minimal (the JSON parser
 * sizes them for the longest possible key), so a pair's start is always
 * found from its predecessor, never from its key length.
 *
 * Threads: the shard that owns the chunk being edited (filters run there).
 */
#include <errno.h>
#include "dp_edit.h"

#define EV_HDR 14

struct tail {
	uint32_t off;        /* event start */
	uint32_t field0;
	uint32_t *nfields;   /* where the count lives (rec or builder) */
	uint32_t nf_open;    /* scratch for the open case */
	bool open;
};

static void tail_get(struct dp_chunk *c, struct tail *t)
{
	if (dp_chunk_rec_is_open(c)) {
		t->open = true;
		t->off = c->cur_off;
		t->field0 = c->cur_field0;
		t->nfields = &c->cur_nfields;
	} else {
		struct dp_rec *r = &c->recs[c->nrecs - 1];
		t->open = false;
		t->off = r->off;
		t->field0 = r->field0;
		t->nf_open = r->nfields;
		t->nfields = &t->nf_open;
	}
}

/* Write back a closed record's count, length and map header. */
static void tail_put(struct dp_chunk *c, struct tail *t)
{
	if (t->open)
		return;
	struct dp_rec *r = &c->recs[c->nrecs - 1];
	r->nfields = (uint16_t)t->nf_open;
	r->len = c->data_len - r->off;
	c->data[r->off + 12] = (uint8_t)(t->nf_open >> 8);
	c->data[r->off + 13] = (uint8_t)t->nf_open;
}

static inline uint32_t val_end(const struct dp_field *f)
{
	return f->val_off + f->val_len;
}

static uint32_t pair_start(const struct dp_chunk *c, const struct tail *t, unsigned i)
{
	return i == 0 ? t->off + EV_HDR : val_end(&c->fields[t->field0 + i - 1]);
}

unsigned dp_tail_nfields(const struct dp_chunk *c)
{
	if (dp_chunk_rec_is_open(c))
		return c->cur_nfields;
	return c->nrecs ? c->recs[c->nrecs - 1].nfields : 0;
}

struct dp_field *dp_tail_field(struct dp_chunk *c, unsigned i)
{
	uint32_t f0 = dp_chunk_rec_is_open(c) ? c->cur_field0 : c->recs[c->nrecs - 1].field0;
	return &c->fields[f0 + i];
}

int dp_tail_find(const struct dp_chunk *c, const char *k, size_t klen)
{
	unsigned n = dp_tail_nfields(c);
	uint32_t f0 = dp_chunk_rec_is_open(c) ? c->cur_field0 : c->recs[c->nrecs - 1].field0;
	for (unsigned i = 0; i < n; i++) {
		const struct dp_field *f = &c->fields[f0 + i];
		if (f->key_len == klen && !memcmp(c->data + f->key_off, k, klen))
			return (int)i;
	}
	return -1;
}

int dp_tail_find_str(const struct dp_chunk *c, const char *k, size_t klen)
{
	unsigned n = dp_tail_nfields(c);
	uint32_t f0 = dp_chunk_rec_is_open(c) ? c->cur_field0 : c->recs[c->nrecs - 1].field0;
	for (unsigned i = 0; k && i < n; i++) {
		const struct dp_field *f = &c->fields[f0 + i];
		if (f->type == DP_T_STR && f->key_len == klen && !memcmp(c->data + f->key_off, k, klen))
			return (int)i;
	}
	return -1;
}

void dp_tail_drop(struct dp_chunk *c)
{
	if (dp_chunk_rec_is_open(c)) {
		dp_chunk_rec_abort(c);
		return;
	}
	if (!c->nrecs)
		return;
	struct dp_rec *r = &c->recs[--c->nrecs];
	c->data_len = r->off;
	c->nfields = r->field0;
}

void dp_tail_reopen(struct dp_chunk *c)
{
	struct dp_rec *r = &c->recs[--c->nrecs];
	c->cur_off = r->off;
	c->cur_map = r->off + 11;
	c->cur_field0 = r->field0;
	c->cur_nfields = r->nfields;
	c->overflow = false;
}

int dp_tail_close(struct dp_chunk *c)
{
	return dp_chunk_rec_end(c);
}

/* Replace bytes [a, b) of the tail record by n bytes from src (src may be
 * NULL: the caller writes them), shifting what follows and the offsets of
 * the index entries at or after field `from`. 0 or -ENOSPC. */
static int splice(struct dp_chunk *c, struct tail *t, uint32_t a, uint32_t b, const void *src,
		  uint32_t n, unsigned from)
{
	int64_t delta = (int64_t)n - (int64_t)(b - a);
	if (delta > 0 && c->data_len + (uint64_t)delta > DP_CHUNK_DATA)
		return -ENOSPC;
	memmove(c->data + b + delta, c->data + b, c->data_len - b);
	if (src)
		memcpy(c->data + a, src, n);
	c->data_len = (uint32_t)(c->data_len + delta);
	for (unsigned j = from; j < *t->nfields; j++) {
		struct dp_field *f = &c->fields[t->field0 + j];
		f->key_off = (uint32_t)(f->key_off + delta);
		f->val_off = (uint32_t)(f->val_off + delta);
	}
	return 0;
}

void dp_tail_remove(struct dp_chunk *c, unsigned i)
{
	struct tail t;
	tail_get(c, &t);
	if (i >= *t.nfields)
		return;
	uint32_t a = pair_start(c, &t, i), b = val_end(&c->fields[t.field0 + i]);
	splice(c, &t, a, b, NULL, 0, i + 1);
	struct dp_field *f = &c->fields[t.field0];
	memmove(f + i, f + i + 1, (*t.nfields - i - 1) * sizeof(*f));
	(*t.nfields)--;
	c->nfields--;
	tail_put(c, &t);
}

int dp_tail_rename(struct dp_chunk *c, unsigned i, const char *k, size_t klen)
{
	struct tail t;
	tail_get(c, &t);
	if (i >= *t.nfields || klen > UINT16_MAX)
		return -EINVAL;
	struct dp_field *f = &c->fields[t.field0 + i];
	uint32_t a = pair_start(c, &t, i), b = f->key_off + f->key_len;
	uint8_t hdr[5];
	uint32_t h = dp_mp_str_hdr(hdr, klen);
	int64_t delta = (int64_t)(h + klen) - (int64_t)(b - a);
	if (delta > 0 && c->data_len + (uint64_t)delta > DP_CHUNK_DATA)
		return -ENOSPC;
	/* The value moves with the rest; this field's val_off too. */
	memmove(c->data + b + delta, c->data + b, c->data_len - b);
	memcpy(c->data + a, hdr, h);
	memcpy(c->data + a + h, k, klen);
	c->data_len = (uint32_t)(c->data_len + delta);
	f->key_off = a + h;
	f->key_len = (uint16_t)klen;
	f->val_off = (uint32_t)(f->val_off + delta);
	for (unsigned j = i + 1; j < *t.nfields; j++) {
		struct dp_field *g = &c->fields[t.field0 + j];
		g->key_off = (uint32_t)(g->key_off + delta);
		g->val_off = (uint32_t)(g->val_off + delta);
	}
	tail_put(c, &t);
	return 0;
}

int dp_tail_set_str(struct dp_chunk *c, unsigned i, const char *v, size_t vlen)
{
	struct tail t;
	tail_get(c, &t);
	if (i >= *t.nfields)
		return -EINVAL;
	struct dp_field *f = &c->fields[t.field0 + i];
	uint32_t a = f->key_off + f->key_len, b = val_end(f);
	uint8_t hdr[5];
	uint32_t h = dp_mp_str_hdr(hdr, vlen);
	/* v may point into this chunk (a copy of another field): stage it
	 * when the move would overwrite it. */
	int64_t delta = (int64_t)(h + vlen) - (int64_t)(b - a);
	if (delta > 0 && c->data_len + (uint64_t)delta > DP_CHUNK_DATA)
		return -ENOSPC;
	const uint8_t *vp = (const uint8_t *)v;
	uint8_t stage[256];
	uint8_t *heap = NULL;
	if (vp >= c->data && vp < c->data + DP_CHUNK_DATA) {
		if (vlen <= sizeof(stage)) {
			memcpy(stage, v, vlen);
			vp = stage;
		} else {
			/* Control-path rare case (long copied value): move the
			 * source through the free tail of the chunk. */
			if (c->data_len + (uint64_t)delta + vlen > DP_CHUNK_DATA)
				return -ENOSPC;
			heap = c->data + DP_CHUNK_DATA - vlen;
			memmove(heap, v, vlen);
			vp = heap;
		}
	}
	memmove(c->data + b + delta, c->data + b, c->data_len - b);
	memcpy(c->data + a, hdr, h);
	memmove(c->data + a + h, vp, vlen);
	c->data_len = (uint32_t)(c->data_len + delta);
	f->val_off = a + h;
	f->val_len = (uint32_t)vlen;
	f->type = DP_T_STR;
	for (unsigned j = i + 1; j < *t.nfields; j++) {
		struct dp_field *g = &c->fields[t.field0 + j];
		g->key_off = (uint32_t)(g->key_off + delta);
		g->val_off = (uint32_t)(g->val_off + delta);
	}
	tail_put(c, &t);
	return 0;
}

void dp_chunk_put_copy(struct dp_chunk *c, const char *k, size_t klen, const struct dp_chunk *src,
		       const struct dp_field *f)
{
	/* Copy what the field describes before writing: f may live in c and
	 * the write may not move it, but its index slot is read first. */
	uint32_t voff = f->val_off, vlen = f->val_len;
	uint8_t type = f->type;
	const uint8_t *sd = src->data;
	if (type == DP_T_STR) {
		/* Through the builder so the new field is indexed as a string. */
		if (c->data_len + klen + vlen + 10 > DP_CHUNK_DATA) {
			c->overflow = true;
			return;
		}
		/* When src == c the payload lies before the write position:
		 * put_str copies forward without overlap. */
		dp_chunk_put_str(c, k, klen, (const char *)sd + voff, vlen);
		return;
	}
	if (type == DP_T_BIN) {
		/* bin keeps its header: rebuild it. */
		uint32_t hdr_start = voff - (vlen < 256 ? 2 : vlen < 65536 ? 3 : 5);
		dp_chunk_field_begin(c, k, klen);
		dp_chunk_write(c, sd + hdr_start, voff + vlen - hdr_start);
		dp_chunk_field_end(c, DP_T_BIN);
		return;
	}
	dp_chunk_field_begin(c, k, klen);
	dp_chunk_write(c, sd + voff, vlen);
	dp_chunk_field_end(c, (enum dp_type)type);
}
