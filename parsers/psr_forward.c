/*
 * psr_forward.c — decoding Forward protocol v1 messages and their entries
 * (see psr_forward.h), and gunzipping CompressedPackedForward payloads.
 *
 * Every read is bounded by the frame: a frame is untrusted input (the
 * fuzz target tests/fuzz/fuzz_forward.c feeds it anything).
 *
 * Threads: the shard that owns the frame; a psr_fwd_gz belongs to one
 * shard.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "dp_chunk.h"
#include "psr_forward.h"

static bool str_at(const uint8_t *p, const uint8_t *e, const char **s, uint32_t *len, size_t *size)
{
	bool bin;
	size_t hdr, l;
	if (p >= e || !dp_mp_strbin(p, (size_t)(e - p), &bin, &hdr, &l) || bin)
		return false;
	*s = (const char *)p + hdr;
	*len = (uint32_t)l;
	*size = hdr + l;
	return true;
}

static bool str_is(const char *s, uint32_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

/* The option map at p: "chunk" and "compressed" are what matter here
 * ("size" is a hint, "fluent_signal" and "metadata" are Fluent Bit's). */
static int option(const uint8_t *p, const uint8_t *e, struct psr_fwd_msg *m, bool *gzip)
{
	uint32_t n;
	size_t hdr;
	if (!dp_mp_container(p, (size_t)(e - p), true, &n, &hdr))
		return p[0] == 0xc0 ? 0 : -EINVAL;   /* nil: no option */
	p += hdr;
	for (uint32_t i = 0; i < n; i++) {
		const char *k = NULL, *v = NULL;
		uint32_t kl = 0, vl = 0;
		size_t ks = 0, vs = 0;
		if (!str_at(p, e, &k, &kl, &ks)) {
			ks = dp_mp_object_size(p, (size_t)(e - p));
			if (!ks)
				return -EINVAL;
			k = NULL;
		}
		p += ks;
		bool is_str = str_at(p, e, &v, &vl, &vs);
		if (!is_str && !(vs = dp_mp_object_size(p, (size_t)(e - p))))
			return -EINVAL;
		if (k && str_is(k, kl, "chunk") && is_str) {
			m->chunk = v;
			m->chunk_len = vl;
		} else if (k && str_is(k, kl, "compressed")) {
			if (!is_str || !(str_is(v, vl, "gzip") || str_is(v, vl, "text")))
				return -EINVAL;
			*gzip = str_is(v, vl, "gzip");
		}
		p += vs;
	}
	return 0;
}

int psr_fwd_msg_parse(const void *buf, size_t len, struct psr_fwd_msg *m)
{
	const uint8_t *p = buf, *e = p + len;
	uint32_t n;
	size_t hdr, sz;
	memset(m, 0, sizeof(*m));
	if (!dp_mp_container(p, len, false, &n, &hdr) || n < 2 || n > 4)
		return -EINVAL;
	p += hdr;
	if (!str_at(p, e, &m->tag, &m->tag_len, &sz))
		return -EINVAL;
	p += sz;
	if (p >= e)
		return -EINVAL;
	const uint8_t *second = p;
	if (!(sz = dp_mp_object_size(p, (size_t)(e - p))))
		return -EINVAL;
	p += sz;
	enum dp_type t = dp_mp_type_hdr(second[0]);
	uint32_t want;   /* elements before the option */
	if (t == DP_T_ARRAY) {
		uint32_t cnt;
		size_t h;
		dp_mp_container(second, sz, false, &cnt, &h);
		m->mode = PSR_FWD_FORWARD;
		m->body = second + h;
		m->body_len = sz - h;
		m->nentries = cnt;
		want = 2;
	} else if (t == DP_T_STR || t == DP_T_BIN) {
		bool bin;
		size_t h, l;
		dp_mp_strbin(second, sz, &bin, &h, &l);
		m->mode = PSR_FWD_PACKED;
		m->body = second + h;
		m->body_len = l;
		want = 2;
	} else {
		/* Message: time, then the record */
		if (p >= e || !(sz = dp_mp_object_size(p, (size_t)(e - p))))
			return -EINVAL;
		m->mode = PSR_FWD_MESSAGE;
		m->body = second;
		m->body_len = (size_t)(p + sz - second);
		m->nentries = 1;
		p += sz;
		want = 3;
	}
	if (n < want || n > want + 1)
		return -EINVAL;
	bool gzip = false;
	if (n == want + 1 && (p >= e || option(p, e, m, &gzip)))
		return -EINVAL;
	if (gzip) {
		if (m->mode != PSR_FWD_PACKED)
			return -EINVAL;
		m->mode = PSR_FWD_COMPRESSED;
	}
	return 0;
}

void psr_fwd_iter_init(struct psr_fwd_iter *it, const struct psr_fwd_msg *m, const void *body,
		       size_t len)
{
	it->p = body;
	it->e = it->p + len;
	it->left = m->nentries;
	it->mode = m->mode;
}

/* An EventTime (ext type 0, 8 bytes), an unsigned integer or a float. */
static bool event_time(const uint8_t *p, size_t sz, uint32_t *sec, uint32_t *nsec)
{
	const uint8_t *x = NULL;
	if (sz == 10 && p[0] == 0xd7 && p[1] == 0)
		x = p + 2;
	else if (sz == 11 && p[0] == 0xc7 && p[1] == 8 && p[2] == 0)
		x = p + 3;
	if (x) {
		*sec = dp_mp_rd32(x);
		*nsec = dp_mp_rd32(x + 4);
		return *nsec < 1000000000u;
	}
	uint64_t v = 0;
	switch (dp_mp_type_hdr(p[0])) {
	case DP_T_UINT:
		for (size_t i = 1; i < sz; i++)
			v = v << 8 | p[i];
		if (sz == 1)
			v = p[0];
		if (v > UINT32_MAX)
			return false;
		*sec = (uint32_t)v;
		*nsec = 0;
		return true;
	case DP_T_FLOAT: {
		double d;
		if (p[0] == 0xca) {
			float f;
			uint32_t u = dp_mp_rd32(p + 1);
			memcpy(&f, &u, 4);
			d = f;
		} else {
			uint64_t u = dp_mp_rd64(p + 1);
			memcpy(&d, &u, 8);
		}
		if (!(d >= 0 && d < 4294967296.0))
			return false;
		*sec = (uint32_t)d;
		*nsec = (uint32_t)((d - floor(d)) * 1e9);
		if (*nsec >= 1000000000u)
			*nsec = 999999999u;
		return true;
	}
	default:
		return false;
	}
}

/* time (or [time, metadata]) then the record at p; sets *e. */
static int time_record(const uint8_t *p, const uint8_t *end, struct psr_fwd_entry *e)
{
	size_t sz = dp_mp_object_size(p, (size_t)(end - p));
	if (!sz)
		return -EBADMSG;
	uint32_t n;
	size_t hdr;
	const uint8_t *t = p;
	size_t tsz = sz;
	if (dp_mp_container(p, sz, false, &n, &hdr)) {
		/* Fluent Bit 2.1+: [[time, metadata], record] */
		if (n != 2 || !(tsz = dp_mp_object_size(p + hdr, sz - hdr)))
			return -EINVAL;
		t = p + hdr;
	}
	if (!event_time(t, tsz, &e->sec, &e->nsec))
		return -EINVAL;
	p += sz;
	if (p >= end || !(sz = dp_mp_object_size(p, (size_t)(end - p))))
		return -EBADMSG;
	if (dp_mp_type_hdr(p[0]) != DP_T_MAP)
		return -EINVAL;
	e->rec = p;
	e->rec_len = sz;
	return 0;
}

int psr_fwd_next(struct psr_fwd_iter *it, struct psr_fwd_entry *e)
{
	if (it->p >= it->e || (it->mode != PSR_FWD_PACKED && it->mode != PSR_FWD_COMPRESSED &&
			       it->left == 0)) {
		it->p = it->e;
		return 0;
	}
	if (it->mode == PSR_FWD_MESSAGE) {
		it->left = 0;
		int rc = time_record(it->p, it->e, e);
		it->p = it->e;
		return rc ? rc : 1;
	}
	it->left--;
	/* [time, record]: its size first, so a bad entry is skipped whole */
	size_t sz = dp_mp_object_size(it->p, (size_t)(it->e - it->p));
	if (!sz) {
		it->p = it->e;
		return -EBADMSG;
	}
	const uint8_t *p = it->p, *end = p + sz;
	it->p = end;
	uint32_t n;
	size_t hdr;
	if (!dp_mp_container(p, sz, false, &n, &hdr) || n != 2)
		return -EINVAL;
	return time_record(p + hdr, end, e) ? -EINVAL : 1;
}

int psr_fwd_next_loose(const uint8_t **pp, const uint8_t *end, struct psr_fwd_entry *e, bool *timed)
{
	const uint8_t *p = *pp;
	if (p >= end)
		return 0;
	size_t sz = dp_mp_object_size(p, (size_t)(end - p));
	if (!sz) {
		*pp = end;
		return -EBADMSG;
	}
	*pp = p + sz;
	*timed = false;
	if (dp_mp_type_hdr(p[0]) == DP_T_MAP) {
		e->rec = p;
		e->rec_len = sz;
		return 1;
	}
	uint32_t n;
	size_t hdr;
	if (!dp_mp_container(p, sz, false, &n, &hdr) || n != 2 || time_record(p + hdr, p + sz, e))
		return -EINVAL;
	*timed = true;
	return 1;
}

int psr_fwd_record(struct dp_chunk *c, const void *p, size_t len)
{
	const uint8_t *q = p, *e = q + len;
	uint32_t n;
	size_t hdr;
	if (!dp_mp_container(q, len, true, &n, &hdr))
		return -EINVAL;
	q += hdr;
	for (uint32_t i = 0; i < n; i++) {
		bool bin;
		size_t kh, kl;
		if (q >= e || !dp_mp_strbin(q, (size_t)(e - q), &bin, &kh, &kl) || bin ||
		    kl > UINT16_MAX)
			return -EINVAL;
		const char *k = (const char *)q + kh;
		q += kh + kl;
		size_t vs = q < e ? dp_mp_object_size(q, (size_t)(e - q)) : 0;
		if (!vs)
			return -EINVAL;
		dp_chunk_field_begin(c, k, kl);
		dp_chunk_write(c, q, vs);
		dp_chunk_field_end(c, dp_mp_type(q, vs));
		q += vs;
	}
	return 0;
}

struct psr_fwd_gz {
	z_stream z;
};

struct psr_fwd_gz *psr_fwd_gz_create(void)
{
	struct psr_fwd_gz *g = calloc(1, sizeof(*g));
	if (g && inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK) {
		free(g);
		return NULL;
	}
	return g;
}

void psr_fwd_gz_destroy(struct psr_fwd_gz *g)
{
	if (!g)
		return;
	inflateEnd(&g->z);
	free(g);
}

long psr_fwd_gunzip(struct psr_fwd_gz *g, const void *in, size_t len, void *out, size_t cap)
{
	z_stream *z = &g->z;
	const uint8_t *p = in, *e = p + len;
	size_t have = 0;
	if (len == 0)
		return -EINVAL;
	/* Fluentd appends to a compressed chunk as a new gzip member: one
	 * member after another until the input ends. */
	while (p < e) {
		inflateReset(z);
		z->next_in = (Bytef *)(uintptr_t)p;
		z->avail_in = (uInt)DP_MIN((size_t)(e - p), (size_t)UINT32_MAX);
		z->next_out = (Bytef *)out + have;
		z->avail_out = (uInt)DP_MIN(cap - have, (size_t)UINT32_MAX);
		int rc = inflate(z, Z_FINISH);
		have = (size_t)((uint8_t *)z->next_out - (uint8_t *)out);
		if (rc == Z_STREAM_END) {
			p = z->next_in;
			continue;
		}
		if ((rc == Z_BUF_ERROR || rc == Z_OK) && z->avail_out == 0)
			return -EMSGSIZE;
		return -EINVAL;
	}
	return (long)have;
}
