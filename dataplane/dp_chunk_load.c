/*
 * dp_chunk_load.c — rebuild a chunk's index (dp_chunk.h) over msgpack
 * events that were not written through the chunk builder: chunks read back
 * from the filesystem store; and the reverse, the events of a chunk that
 * filters kept, as runs of bytes to write out. The store keeps only the events, not the
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
#include <sys/uio.h>
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

/* Size of the object at p (n bytes available), 0 if cut short: scalars
 * and strings here, the rest (containers, ext) by dp_mp_object_size. The
 * common kinds inline, since every key and value of every record passes
 * through here when a backlog is read back. */
static inline size_t obj_size(const uint8_t *p, size_t n)
{
	uint8_t h = p[0];
	size_t l;
	if (h <= 0x7f || h >= 0xe0 || h == 0xc0 || h == 0xc2 || h == 0xc3)
		return 1;
	if ((h & 0xe0) == 0xa0)
		l = 1 + (size_t)(h & 0x1f);
	else if ((h == 0xd9 || h == 0xc4) && n >= 2)
		l = 2 + (size_t)p[1];
	else if ((h == 0xda || h == 0xc5) && n >= 3)
		l = 3 + (size_t)dp_mp_rd16(p + 1);
	else if ((h == 0xdb || h == 0xc6) && n >= 5)
		l = 5 + (size_t)dp_mp_rd32(p + 1);
	else if (h == 0xcc || h == 0xd0)
		l = 2;
	else if (h == 0xcd || h == 0xd1)
		l = 3;
	else if (h == 0xce || h == 0xd2 || h == 0xca)
		l = 5;
	else if (h == 0xcf || h == 0xd3 || h == 0xcb)
		l = 9;
	else
		return dp_mp_object_size(p, n);
	return l <= n ? l : 0;
}

/* Index the fields of the map at m (n bytes available) into c; *end: the
 * first byte after the map. */
static int index_map(struct dp_chunk *c, const uint8_t *m, size_t n, struct dp_rec *r,
		     const uint8_t **endp)
{
	uint32_t count;
	size_t hdr;
	if (!dp_mp_container(m, n, true, &count, &hdr))
		return -EINVAL;
	const uint8_t *p = m + hdr, *end = m + n;
	r->field0 = c->nfields;
	r->nfields = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (p >= end)
			return -EINVAL;
		size_t ksz = obj_size(p, (size_t)(end - p));
		if (!ksz || p + ksz >= end)
			return -EINVAL;
		const uint8_t *v = p + ksz;
		size_t vsz = obj_size(v, (size_t)(end - v));
		if (!vsz)
			return -EINVAL;
		uint8_t kh = p[0];
		bool kstr = (kh & 0xe0) == 0xa0 || kh == 0xd9 || kh == 0xda || kh == 0xdb;
		size_t khdr = (kh & 0xe0) == 0xa0 ? 1 : kh == 0xd9 ? 2 : kh == 0xda ? 3 : 5;
		if (kstr && ksz - khdr <= UINT16_MAX && c->nfields < DP_CHUNK_FIELDS &&
		    r->nfields < UINT16_MAX) {
			struct dp_field *f = &c->fields[c->nfields++];
			r->nfields++;
			f->key_off = (uint32_t)(p + khdr - c->data);
			f->key_len = (uint16_t)(ksz - khdr);
			f->flags = 0;
			uint8_t vh = v[0];
			if ((vh & 0xe0) == 0xa0 || vh == 0xd9 || vh == 0xda || vh == 0xdb ||
			    vh == 0xc4 || vh == 0xc5 || vh == 0xc6) {
				size_t vhdr = (vh & 0xe0) == 0xa0 ? 1 : (vh == 0xd9 || vh == 0xc4) ? 2 :
					      (vh == 0xda || vh == 0xc5) ? 3 : 5;
				f->type = (vh >= 0xc4 && vh <= 0xc6) ? DP_T_BIN : DP_T_STR;
				f->val_off = (uint32_t)(v + vhdr - c->data);
				f->val_len = (uint32_t)(vsz - vhdr);
			} else {
				f->type = (uint8_t)dp_mp_type(v, vsz);
				f->val_off = (uint32_t)(v - c->data);
				f->val_len = (uint32_t)vsz;
			}
		} else if (c->nfields >= DP_CHUNK_FIELDS) {
			return -ENOSPC;
		}
		p = v + vsz;
	}
	*endp = p;
	return 0;
}

int dp_chunk_reindex(struct dp_chunk *c, uint32_t len)
{
	c->data_len = len;
	c->nrecs = 0;
	c->nfields = 0;
	const uint8_t *p = c->data, *end = c->data + len;
	while (p < end) {
		/* [time, map]: the array header, the time, then the map, whose
		 * walk finds where the event ends (no separate sizing pass). */
		uint32_t n2;
		size_t hdr;
		if (!dp_mp_container(p, (size_t)(end - p), false, &n2, &hdr) || n2 != 2)
			return -EINVAL;
		if (c->nrecs == DP_CHUNK_RECS)
			return -ENOSPC;
		struct dp_rec *r = &c->recs[c->nrecs];
		const uint8_t *t = p + hdr;
		if (t >= end)
			return -EINVAL;
		size_t tsz = t[0] == 0xd7 ? 10 : obj_size(t, (size_t)(end - t));
		uint32_t sec, nsec;
		if (!tsz || t + tsz >= end || !event_time(t, tsz, &sec, &nsec))
			return -EINVAL;
		const uint8_t *next;
		int rc = index_map(c, t + tsz, (size_t)(end - t - tsz), r, &next);
		if (rc)
			return rc;
		r->off = (uint32_t)(p - c->data);
		r->len = (uint32_t)(next - p);
		r->flags = 0;
		r->ts_sec = sec;
		r->ts_nsec = nsec;
		c->nrecs++;
		p = next;
	}
	return 0;
}

unsigned dp_chunk_kept_runs(const struct dp_chunk *c, uint32_t *rec, struct iovec *iov, unsigned max,
			    uint32_t *nrecs, uint32_t *len)
{
	unsigned n = 0;
	uint32_t i;
	for (i = *rec; i < c->nrecs; i++) {
		const struct dp_rec *r = &c->recs[i];
		if (r->flags & DP_REC_DROPPED)
			continue;
		if (n && (uint8_t *)iov[n - 1].iov_base + iov[n - 1].iov_len == c->data + r->off) {
			iov[n - 1].iov_len += r->len;
		} else {
			if (n == max)
				break;
			iov[n].iov_base = c->data + r->off;
			iov[n].iov_len = r->len;
			n++;
		}
		(*nrecs)++;
		*len += r->len;
	}
	*rec = i;
	return n;
}
