/*
 * dp_chunk.c — writing and reading chunks (layout in dp_chunk.h).
 * Writers run on the owning shard only; readers on any thread that holds
 * a reference.
 */
#include <errno.h>
#include "dp_chunk.h"

#define NO_REC UINT32_MAX

static inline void be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}


void dp_chunk_init(struct dp_chunk *c, struct dp_rec *recs, struct dp_field *fields, uint8_t *data)
{
	memset(c, 0, sizeof(*c));
	c->recs = recs;
	c->fields = fields;
	c->data = data;
	c->cur_off = NO_REC;
}

void dp_chunk_reset(struct dp_chunk *c)
{
	c->data_len = 0;
	c->nrecs = 0;
	c->nfields = 0;
	c->route = 0;
	c->opened_ns = 0;
	c->tag_len = 0;
	memset(c->in_meta, 0, sizeof(c->in_meta));
	c->st_seq = 0;
	c->st_replayed = false;
	c->st_acked = false;
	c->cur_off = NO_REC;
	c->overflow = false;
	atomic_store_explicit(&c->refs, 0, memory_order_relaxed);
}

void dp_chunk_rec_begin(struct dp_chunk *c, uint32_t sec, uint32_t nsec)
{
	c->cur_off = c->data_len;
	c->cur_field0 = c->nfields;
	c->cur_nfields = 0;
	c->overflow = false;
	/* array(2), ext8 type 0 len 8, sec, nsec, map16 placeholder */
	uint8_t *w = dp_chunk_reserve(c, 1 + 3 + 8 + 3);
	if (!w)
		return;
	w[0] = 0x92;
	w[1] = 0xd7;
	w[2] = 0x00;
	be32(w + 3, sec);
	be32(w + 7, nsec);
	w[11] = 0xde;
	w[12] = 0;
	w[13] = 0;
	c->cur_map = c->data_len + 11;
	c->data_len += 14;
}

void dp_chunk_rec_set_time(struct dp_chunk *c, uint32_t sec, uint32_t nsec)
{
	if (c->overflow)
		return;
	be32(c->data + c->cur_off + 3, sec);
	be32(c->data + c->cur_off + 7, nsec);
}

void dp_chunk_rec_abort(struct dp_chunk *c)
{
	if (c->cur_off == NO_REC)
		return;
	c->data_len = c->cur_off;
	c->nfields = c->cur_field0;
	c->cur_off = NO_REC;
	c->overflow = false;
}

void dp_chunk_truncate(struct dp_chunk *c, struct dp_chunk_pos m)
{
	c->data_len = m.data_len;
	c->nrecs = m.nrecs;
	c->nfields = m.nfields;
	c->cur_off = NO_REC;
	c->overflow = false;
}

int dp_chunk_rec_end(struct dp_chunk *c)
{
	if (c->overflow || c->nrecs >= DP_CHUNK_RECS || c->cur_nfields > UINT16_MAX) {
		dp_chunk_rec_abort(c);
		return -ENOSPC;
	}
	be16(c->data + c->cur_map + 1, (uint16_t)c->cur_nfields);
	struct dp_rec *r = &c->recs[c->nrecs++];
	r->off = c->cur_off;
	r->len = c->data_len - c->cur_off;
	r->field0 = c->cur_field0;
	r->nfields = (uint16_t)c->cur_nfields;
	r->flags = 0;
	r->ts_sec = dp_mp_rd32(c->data + c->cur_off + 3);
	r->ts_nsec = dp_mp_rd32(c->data + c->cur_off + 7);
	c->cur_off = NO_REC;
	return 0;
}

/* ---- raw writers ---- */

void dp_mp_str(struct dp_chunk *c, const char *s, size_t n)
{
	uint8_t *w = dp_chunk_reserve(c, n + 5);
	if (!w)
		return;
	uint32_t h = dp_mp_str_hdr(w, n);
	memcpy(w + h, s, n);
	c->data_len += (uint32_t)(h + n);
}

uint32_t dp_mp_str_open(struct dp_chunk *c, size_t max_len)
{
	uint32_t off = c->data_len;
	uint8_t *w = dp_chunk_reserve(c, max_len + 5);
	if (!w)
		return off;
	if (max_len < 32) {
		w[0] = 0xa0;
		c->data_len += 1;
	} else if (max_len < 256) {
		w[0] = 0xd9;
		c->data_len += 2;
	} else if (max_len < 65536) {
		w[0] = 0xda;
		c->data_len += 3;
	} else {
		w[0] = 0xdb;
		c->data_len += 5;
	}
	return off;
}

void dp_mp_str_patch(struct dp_chunk *c, uint32_t hdr_off, size_t len)
{
	if (c->overflow)
		return;
	uint8_t *h = c->data + hdr_off;
	switch (h[0]) {
	case 0xd9: h[1] = (uint8_t)len; break;
	case 0xda: be16(h + 1, (uint16_t)len); break;
	case 0xdb: be32(h + 1, (uint32_t)len); break;
	default:   h[0] = 0xa0 | (uint8_t)len; break;
	}
}

void dp_mp_int(struct dp_chunk *c, int64_t v)
{
	uint8_t *w = dp_chunk_reserve(c, 9);
	if (!w)
		return;
	if (v >= 0 && v < 128) {
		w[0] = (uint8_t)v;
		c->data_len += 1;
	} else if (v < 0 && v >= -32) {
		w[0] = (uint8_t)(0xe0 | (v + 32));
		c->data_len += 1;
	} else if (v >= 0) {
		w[0] = 0xcf;
		be32(w + 1, (uint32_t)((uint64_t)v >> 32));
		be32(w + 5, (uint32_t)v);
		c->data_len += 9;
	} else {
		w[0] = 0xd3;
		be32(w + 1, (uint32_t)((uint64_t)v >> 32));
		be32(w + 5, (uint32_t)v);
		c->data_len += 9;
	}
}

void dp_mp_double(struct dp_chunk *c, double v)
{
	uint8_t *w = dp_chunk_reserve(c, 9);
	if (!w)
		return;
	uint64_t u;
	memcpy(&u, &v, 8);
	w[0] = 0xcb;
	be32(w + 1, (uint32_t)(u >> 32));
	be32(w + 5, (uint32_t)u);
	c->data_len += 9;
}

void dp_mp_bool(struct dp_chunk *c, bool v)
{
	uint8_t b = v ? 0xc3 : 0xc2;
	dp_chunk_write(c, &b, 1);
}

void dp_mp_nil(struct dp_chunk *c)
{
	uint8_t b = 0xc0;
	dp_chunk_write(c, &b, 1);
}

static uint32_t container_open(struct dp_chunk *c, uint8_t tag)
{
	uint32_t off = c->data_len;
	uint8_t *w = dp_chunk_reserve(c, 5);
	if (w) {
		w[0] = tag;
		memset(w + 1, 0, 4);
		c->data_len += 5;
	}
	return off;
}

uint32_t dp_mp_map_open(struct dp_chunk *c)
{
	return container_open(c, 0xdf);
}

uint32_t dp_mp_array_open(struct dp_chunk *c)
{
	return container_open(c, 0xdd);
}

void dp_mp_container_patch(struct dp_chunk *c, uint32_t hdr_off, uint32_t count)
{
	if (!c->overflow)
		be32(c->data + hdr_off + 1, count);
}

/* ---- indexed fields ---- */

static inline struct dp_field *field_new(struct dp_chunk *c, const char *k, size_t klen)
{
	if (unlikely(c->nfields >= DP_CHUNK_FIELDS || klen > UINT16_MAX)) {
		c->overflow = true;
		return NULL;
	}
	dp_mp_str(c, k, klen);
	if (unlikely(c->overflow))
		return NULL;
	struct dp_field *f = &c->fields[c->nfields++];
	c->cur_nfields++;
	f->key_off = c->data_len - (uint32_t)klen;
	f->key_len = (uint16_t)klen;
	f->flags = 0;
	f->val_off = c->data_len;
	return f;
}

void dp_chunk_field_begin(struct dp_chunk *c, const char *k, size_t klen)
{
	field_new(c, k, klen);
}

/* Where the payload of the string object at off starts. */
static uint32_t str_payload(const struct dp_chunk *c, uint32_t off)
{
	uint8_t h = c->data[off];
	if ((h & 0xe0) == 0xa0)
		return off + 1;
	if (h == 0xd9 || h == 0xc4)
		return off + 2;
	if (h == 0xda || h == 0xc5)
		return off + 3;
	return off + 5;
}

void dp_chunk_field_end(struct dp_chunk *c, enum dp_type type)
{
	if (c->overflow)
		return;
	struct dp_field *f = &c->fields[c->nfields - 1];
	uint32_t obj = f->val_off;
	f->type = (uint8_t)type;
	if (type == DP_T_STR || type == DP_T_BIN) {
		f->val_off = str_payload(c, obj);
		f->val_len = c->data_len - f->val_off;
	} else {
		f->val_len = c->data_len - obj;
	}
}

static inline void put_scalar_end(struct dp_chunk *c, struct dp_field *f, enum dp_type t)
{
	if (c->overflow)
		return;
	f->type = (uint8_t)t;
	f->val_len = c->data_len - f->val_off;
}

void dp_chunk_put_int(struct dp_chunk *c, const char *k, size_t klen, int64_t v)
{
	struct dp_field *f = field_new(c, k, klen);
	if (!f)
		return;
	dp_mp_int(c, v);
	put_scalar_end(c, f, v < 0 ? DP_T_INT : DP_T_UINT);
}

void dp_chunk_put_double(struct dp_chunk *c, const char *k, size_t klen, double v)
{
	struct dp_field *f = field_new(c, k, klen);
	if (!f)
		return;
	dp_mp_double(c, v);
	put_scalar_end(c, f, DP_T_FLOAT);
}

void dp_chunk_put_bool(struct dp_chunk *c, const char *k, size_t klen, bool v)
{
	struct dp_field *f = field_new(c, k, klen);
	if (!f)
		return;
	dp_mp_bool(c, v);
	put_scalar_end(c, f, DP_T_BOOL);
}

void dp_chunk_put_nil(struct dp_chunk *c, const char *k, size_t klen)
{
	struct dp_field *f = field_new(c, k, klen);
	if (!f)
		return;
	dp_mp_nil(c);
	put_scalar_end(c, f, DP_T_NIL);
}

/* ---- readers ---- */

const struct dp_field *dp_rec_field_get(const struct dp_chunk *c, const struct dp_rec *r,
					const char *k, size_t klen)
{
	const struct dp_field *f = dp_rec_fields(c, r);
	for (unsigned i = 0; i < r->nfields; i++)
		if (f[i].key_len == klen && memcmp(c->data + f[i].key_off, k, klen) == 0)
			return &f[i];
	return NULL;
}

int64_t dp_field_int(const struct dp_chunk *c, const struct dp_field *f)
{
	const uint8_t *p = c->data + f->val_off;
	uint8_t h = p[0];
	if (h <= 0x7f)
		return h;
	if (h >= 0xe0)
		return (int8_t)h;
	switch (h) {
	case 0xcc: return p[1];
	case 0xcd: return dp_mp_rd16(p + 1);
	case 0xce: return dp_mp_rd32(p + 1);
	case 0xcf: return (int64_t)dp_mp_rd64(p + 1);
	case 0xd0: return (int8_t)p[1];
	case 0xd1: return (int16_t)dp_mp_rd16(p + 1);
	case 0xd2: return (int32_t)dp_mp_rd32(p + 1);
	case 0xd3: return (int64_t)dp_mp_rd64(p + 1);
	case 0xca: case 0xcb: return (int64_t)dp_field_double(c, f);
	case 0xc3: return 1;
	default: return 0;
	}
}

double dp_field_double(const struct dp_chunk *c, const struct dp_field *f)
{
	const uint8_t *p = c->data + f->val_off;
	if (p[0] == 0xcb) {
		uint64_t u = dp_mp_rd64(p + 1);
		double d;
		memcpy(&d, &u, 8);
		return d;
	}
	if (p[0] == 0xca) {
		uint32_t u = dp_mp_rd32(p + 1);
		float fl;
		memcpy(&fl, &u, 4);
		return fl;
	}
	return (double)dp_field_int(c, f);
}

bool dp_field_bool(const struct dp_chunk *c, const struct dp_field *f)
{
	return c->data[f->val_off] == 0xc3;
}

/* Iterative walk: counts how many objects are still owed. */
size_t dp_mp_object_size(const uint8_t *p, size_t n)
{
	size_t i = 0;
	uint64_t owed = 1;
	while (owed) {
		if (i >= n)
			return 0;
		uint8_t h = p[i];
		uint64_t body = 0, children = 0;
		size_t hdr = 1;
		owed--;
		if (h <= 0x7f || h >= 0xe0 || h == 0xc0 || h == 0xc2 || h == 0xc3) {
			/* fixint, nil, bool */
		} else if ((h & 0xe0) == 0xa0) {
			body = h & 0x1f;
		} else if ((h & 0xf0) == 0x90) {
			children = h & 0x0f;
		} else if ((h & 0xf0) == 0x80) {
			children = 2u * (h & 0x0f);
		} else {
			switch (h) {
			case 0xcc: case 0xd0: body = 1; break;
			case 0xcd: case 0xd1: body = 2; break;
			case 0xce: case 0xd2: case 0xca: body = 4; break;
			case 0xcf: case 0xd3: case 0xcb: body = 8; break;
			case 0xd4: body = 2; break;
			case 0xd5: body = 3; break;
			case 0xd6: body = 5; break;
			case 0xd7: body = 9; break;
			case 0xd8: body = 17; break;
			case 0xc4: case 0xd9: hdr = 2; break;
			case 0xc5: case 0xda: hdr = 3; break;
			case 0xc6: case 0xdb: hdr = 5; break;
			case 0xc7: hdr = 3; break;
			case 0xc8: hdr = 4; break;
			case 0xc9: hdr = 6; break;
			case 0xdc: case 0xde: hdr = 3; break;
			case 0xdd: case 0xdf: hdr = 5; break;
			default: return 0; /* 0xc1 is never used */
			}
			if (i + hdr > n)
				return 0;
			switch (h) {
			case 0xc4: case 0xd9: body = p[i + 1]; break;
			case 0xc5: case 0xda: body = dp_mp_rd16(p + i + 1); break;
			case 0xc6: case 0xdb: body = dp_mp_rd32(p + i + 1); break;
			/* ext: hdr counts the type byte already */
			case 0xc7: body = p[i + 1]; break;
			case 0xc8: body = dp_mp_rd16(p + i + 1); break;
			case 0xc9: body = dp_mp_rd32(p + i + 1); break;
			case 0xdc: children = dp_mp_rd16(p + i + 1); break;
			case 0xdd: children = dp_mp_rd32(p + i + 1); break;
			case 0xde: children = 2u * dp_mp_rd16(p + i + 1); break;
			case 0xdf: children = 2u * (uint64_t)dp_mp_rd32(p + i + 1); break;
			}
		}
		if (body > n || i + hdr + body > n)
			return 0;
		i += hdr + body;
		owed += children;
	}
	return i;
}

/* ---- reading msgpack objects (dp_chunk.h) ---- */

/* Header of the map or array at p (n bytes): its count and header size,
 * or false when p is not that kind of container. */
bool dp_mp_container(const uint8_t *p, size_t n, bool map, uint32_t *count, size_t *hdr)
{
	if (n < 1)
		return false;
	uint8_t h = p[0];
	uint8_t fix = map ? 0x80 : 0x90, c16 = map ? 0xde : 0xdc, c32 = map ? 0xdf : 0xdd;
	if ((h & 0xf0) == fix) {
		*count = h & 0x0f;
		*hdr = 1;
	} else if (h == c16 && n >= 3) {
		*count = dp_mp_rd16(p + 1);
		*hdr = 3;
	} else if (h == c32 && n >= 5) {
		*count = dp_mp_rd32(p + 1);
		*hdr = 5;
	} else {
		return false;
	}
	return true;
}

/* String or binary at p: payload offset and length, or false. */
bool dp_mp_strbin(const uint8_t *p, size_t n, bool *is_bin, size_t *hdr, size_t *len)
{
	uint8_t h = p[0];
	*is_bin = false;
	if ((h & 0xe0) == 0xa0) {
		*hdr = 1;
		*len = h & 0x1f;
	} else if ((h == 0xd9 || h == 0xc4) && n >= 2) {
		*hdr = 2;
		*len = p[1];
	} else if ((h == 0xda || h == 0xc5) && n >= 3) {
		*hdr = 3;
		*len = dp_mp_rd16(p + 1);
	} else if ((h == 0xdb || h == 0xc6) && n >= 5) {
		*hdr = 5;
		*len = dp_mp_rd32(p + 1);
	} else {
		return false;
	}
	*is_bin = h >= 0xc4 && h <= 0xc6;
	return *hdr + *len <= n;
}

enum dp_type dp_mp_type_hdr(uint8_t h)
{
	if (h <= 0x7f || (h >= 0xcc && h <= 0xcf))
		return DP_T_UINT;
	if (h >= 0xe0 || (h >= 0xd0 && h <= 0xd3))
		return DP_T_INT;
	if ((h & 0xe0) == 0xa0 || (h >= 0xd9 && h <= 0xdb))
		return DP_T_STR;
	if ((h & 0xf0) == 0x80 || h == 0xde || h == 0xdf)
		return DP_T_MAP;
	if ((h & 0xf0) == 0x90 || h == 0xdc || h == 0xdd)
		return DP_T_ARRAY;
	switch (h) {
	case 0xc0: return DP_T_NIL;
	case 0xc2: case 0xc3: return DP_T_BOOL;
	case 0xca: case 0xcb: return DP_T_FLOAT;
	case 0xc4: case 0xc5: case 0xc6: return DP_T_BIN;
	default: return DP_T_EXT;
	}
}

enum dp_type dp_mp_type(const uint8_t *p, size_t n)
{
	uint8_t h = p[0];
	/* a signed header holding a value >= 0 is a non-negative integer */
	if (h == 0xd0)
		return n >= 2 && (int8_t)p[1] < 0 ? DP_T_INT : DP_T_UINT;
	if (h >= 0xd1 && h <= 0xd3)
		return n >= 2 && (p[1] & 0x80) ? DP_T_INT : DP_T_UINT;
	return dp_mp_type_hdr(h);
}
