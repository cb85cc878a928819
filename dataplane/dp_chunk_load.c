/*
 * dp_chunk_load.c — rebuild a chunk's index (dp_chunk.h) over msgpack
 * events that were not written through the chunk builder: chunks read back
 * from the filesystem store. The store keeps only the events, not the
 * index, so a chunk costs its data alone on disk and the index is rebuilt
 * once per chunk on the shard that reads it back.
 *
 * Events are Fluent Bit's [time, map]; time may be an EventTime (ext type
 * 0, 8 bytes), an integer or a float, as Fluent Bit's own chunks hold.
 * Only string keys are indexed (as the parsers write them); an event
 * whose map has another key is kept whole and indexed up to that key.
 *
 * Threads: the shard that owns the chunk.
 */
#include <errno.h>
#include <math.h>
#include "dp_chunk.h"

static bool event_time(const uint8_t *p, size_t n, uint32_t *sec, uint32_t *nsec)
{
	*sec = 0;
	*nsec = 0;
	if (n >= 10 && p[0] == 0xd7 && p[1] == 0x00) {
		*sec = dp_mp_rd32(p + 2);
		*nsec = dp_mp_rd32(p + 6);
		return true;
	}
	if (n >= 11 && p[0] == 0xc7 && p[1] == 8 && p[2] == 0x00) {
		*sec = dp_mp_rd32(p + 3);
		*nsec = dp_mp_rd32(p + 7);
		return true;
	}
	enum dp_type t = dp_mp_type(p, n);
	if (t == DP_T_UINT && p[0] <= 0x7f) {
		*sec = p[0];
		return true;
	}
	if (t == DP_T_UINT) {
		size_t sz = dp_mp_object_size(p, n);
		uint64_t v = 0;
		for (size_t i = 1; i < sz; i++)
			v = v << 8 | p[i];
		*sec = (uint32_t)v;
		return sz > 0;
	}
	if (t == DP_T_FLOAT && n >= 9 && p[0] == 0xcb) {
		uint64_t bits = dp_mp_rd64(p + 1);
		double d;
		memcpy(&d, &bits, sizeof(d));
		if (d >= 0 && d < 4294967296.0) {
			*sec = (uint32_t)d;
			*nsec = (uint32_t)((d - floor(d)) * 1e9);
		}
		return true;
	}
	return dp_mp_object_size(p, n) > 0;   /* another type: time 0 */
}

/* Index the fields of the map at m (n bytes available) into c. */
static int index_map(struct dp_chunk *c, const uint8_t *m, size_t n, struct dp_rec *r)
{
	uint32_t count;
	size_t hdr;
	if (!dp_mp_container(m, n, true, &count, &hdr))
		return -EINVAL;
	const uint8_t *p = m + hdr, *end = m + n;
	r->field0 = c->nfields;
	r->nfields = 0;
	for (uint32_t i = 0; i < count; i++) {
		size_t ksz = dp_mp_object_size(p, (size_t)(end - p));
		if (!ksz)
			return -EINVAL;
		size_t vsz = dp_mp_object_size(p + ksz, (size_t)(end - p - ksz));
		if (!vsz)
			return -EINVAL;
		bool is_bin;
		size_t khdr, klen;
		if (dp_mp_strbin(p, ksz, &is_bin, &khdr, &klen) && !is_bin && klen <= UINT16_MAX &&
		    c->nfields < DP_CHUNK_FIELDS && r->nfields < UINT16_MAX) {
			const uint8_t *v = p + ksz;
			struct dp_field *f = &c->fields[c->nfields++];
			r->nfields++;
			f->key_off = (uint32_t)(p + khdr - c->data);
			f->key_len = (uint16_t)klen;
			f->flags = 0;
			f->type = (uint8_t)dp_mp_type(v, vsz);
			size_t vhdr, vlen;
			if ((f->type == DP_T_STR || f->type == DP_T_BIN) &&
			    dp_mp_strbin(v, vsz, &is_bin, &vhdr, &vlen)) {
				f->val_off = (uint32_t)(v + vhdr - c->data);
				f->val_len = (uint32_t)vlen;
			} else {
				f->val_off = (uint32_t)(v - c->data);
				f->val_len = (uint32_t)vsz;
			}
		} else if (c->nfields >= DP_CHUNK_FIELDS) {
			return -ENOSPC;
		}
		p += ksz + vsz;
	}
	return 0;
}

int dp_chunk_reindex(struct dp_chunk *c, uint32_t len)
{
	c->data_len = len;
	c->nrecs = 0;
	c->nfields = 0;
	const uint8_t *p = c->data, *end = c->data + len;
	while (p < end) {
		size_t sz = dp_mp_object_size(p, (size_t)(end - p));
		uint32_t n2;
		size_t hdr;
		if (!sz || !dp_mp_container(p, sz, false, &n2, &hdr) || n2 != 2)
			return -EINVAL;
		if (c->nrecs == DP_CHUNK_RECS)
			return -ENOSPC;
		struct dp_rec *r = &c->recs[c->nrecs];
		const uint8_t *t = p + hdr;
		size_t tsz = dp_mp_object_size(t, (size_t)(p + sz - t));
		uint32_t sec, nsec;
		if (!tsz || !event_time(t, tsz, &sec, &nsec))
			return -EINVAL;
		int rc = index_map(c, t + tsz, (size_t)(p + sz - t - tsz), r);
		if (rc)
			return rc;
		r->off = (uint32_t)(p - c->data);
		r->len = (uint32_t)sz;
		r->flags = 0;
		r->ts_sec = sec;
		r->ts_nsec = nsec;
		c->nrecs++;
		p += sz;
	}
	return 0;
}
