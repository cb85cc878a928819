/*
 * dp_chunk.h — the record model: a chunk is a batch of events of one input,
 * encoded as msgpack in Fluent Bit's layout, plus an index of every record
 * and every top-level field, built once while the parser writes.
 *
 * Format of chunk->data (what `Format msgpack` writes out, unchanged):
 *
 *   event  := array(2) [ time, map ]
 *   time   := ext8 type 0 (Fluent Bit EventTime): 4 bytes seconds and
 *             4 bytes nanoseconds, both big-endian             (10 bytes)
 *   map    := map16 header (0xde + count, patched when the record ends)
 *             followed by key/value pairs; keys are msgpack strings.
 *
 * Events are concatenated; there is no other framing. Fixed-width headers
 * (ext8 time, map16, and the 32-bit container headers nested values use)
 * are what let a parser write a record in one pass and patch counts at the
 * end instead of re-encoding.
 *
 * The index: chunk->recs[i] locates event i and its time; its fields are
 * chunk->fields[recs[i].field0 .. + nfields). A field points at its key
 * bytes and, for strings, at the string bytes; for any other type at the
 * encoded msgpack object. Later stages (filters, SQL, outputs) read fields
 * through it and never decode the msgpack again.
 *
 * Threads: a chunk is written by the shard that owns it, then read (never
 * written) by the output workers it was routed to, then returned to its
 * shard through a ring (dp_pool.h).
 */
#ifndef DP_CHUNK_H
#define DP_CHUNK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "dp_common.h"

/* Sizes of one chunk. A record must fit in one chunk: lines longer than
 * DP_CHUNK_DATA minus a little overhead are counted as oversize. The index
 * is sized for records of 128 bytes and fields of 32 bytes on average;
 * smaller ones end a chunk before its data is full. With these sizes the
 * index is 88 KiB beside 128 KiB of data. */
#define DP_CHUNK_DATA   (128 * 1024)
#define DP_CHUNK_RECS   1024
#define DP_CHUNK_FIELDS 4096
/* Longest tag a chunk carries itself (emitted records). */
#define DP_TAG_MAX 256

enum dp_type {
	DP_T_NIL = 0,
	DP_T_BOOL,
	DP_T_INT,    /* negative integer */
	DP_T_UINT,   /* non-negative integer */
	DP_T_FLOAT,
	DP_T_STR,
	DP_T_BIN,
	DP_T_ARRAY,
	DP_T_MAP,
	DP_T_EXT,
};

struct dp_field {
	uint32_t key_off;  /* offset of the key's bytes in data */
	uint32_t val_off;  /* STR/BIN: the payload; others: the msgpack object */
	uint32_t val_len;
	uint16_t key_len;
	uint8_t type;      /* enum dp_type */
	uint8_t flags;
};

#define DP_REC_DROPPED 0x1

struct dp_rec {
	uint32_t off;      /* the whole event [time, map] */
	uint32_t len;
	uint32_t field0;   /* first field in chunk->fields */
	uint16_t nfields;
	uint16_t flags;    /* DP_REC_* */
	uint32_t ts_sec;
	uint32_t ts_nsec;
};

struct dp_pool;

struct dp_chunk {
	/* Read by every stage. */
	uint32_t data_len;
	uint32_t nrecs;
	uint32_t nfields;
	uint16_t input;        /* input instance id */
	uint16_t shard;        /* owning shard */
	uint64_t route;        /* bitmap of output instances */
	uint64_t opened_ns;    /* monotonic time of the first record */
	struct dp_pool *pool;  /* where it goes back to */
	_Atomic uint32_t refs; /* outputs still holding it */
	/* Chunks of an emitter (rewrite_tag, multiline, SQL streams) carry
	 * their own tag; tag_len 0: the input's tag. */
	uint16_t tag_len;
	char tag[DP_TAG_MAX];
	/* For the input that filled it (e.g. Kafka offsets to commit when
	 * the chunk comes back, see dp_input_ops.chunk_released). */
	uint64_t in_meta[4];
	/* Filesystem store (shards/shard_store.c): the frame that holds this
	 * chunk on disk. st_seq 0: not stored. Written by the shard before the
	 * chunk is pushed, read by workers (per-output cursors). */
	uint64_t st_seq;
	uint64_t st_seg;       /* its segment */
	uint16_t st_dir;       /* its store directory */
	bool st_replayed;      /* read back from disk, not filled here */
	bool st_acked;         /* the input's chunk_released ran when it was stored */

	/* Builder state, used only by the owning shard while open. */
	uint32_t cur_off;      /* start of the open record, or UINT32_MAX */
	uint32_t cur_map;      /* offset of the map16 header */
	uint32_t cur_field0;
	uint32_t cur_nfields;
	bool overflow;         /* sticky: something did not fit */

	struct dp_rec *recs;
	struct dp_field *fields;
	uint8_t *data;
};

/* Initialise a chunk over memory the caller provides. */
void dp_chunk_init(struct dp_chunk *c, struct dp_rec *recs, struct dp_field *fields, uint8_t *data);
/* Forget all records; keeps memory, input and pool. */
void dp_chunk_reset(struct dp_chunk *c);
/* The first len bytes of c->data hold msgpack events [time, map] written
 * elsewhere (the filesystem store): index them (dp_chunk_load.c). 0, or
 * -EINVAL (not events) / -ENOSPC (more than the index holds). */
int dp_chunk_reindex(struct dp_chunk *c, uint32_t len);
/* The reverse, for writing a chunk out whole (the store, the dead-letter
 * queue): the events filters kept (not DP_REC_DROPPED), from record *rec
 * on, as runs of adjacent bytes in iov[0..return); stops when max runs are
 * full and leaves *rec where to go on (c->nrecs at the end). Adds the
 * records and bytes taken to *nrecs and *len. */
struct iovec;
unsigned dp_chunk_kept_runs(const struct dp_chunk *c, uint32_t *rec, struct iovec *iov, unsigned max,
			    uint32_t *nrecs, uint32_t *len);

/* ---- record builder (owning shard only) ----
 *
 * dp_chunk_rec_begin(c, sec, nsec);
 *   ... dp_chunk_put_*(c, ...) or field_begin / raw writes / field_end ...
 * rc = dp_chunk_rec_end(c);    0, or -ENOSPC when the chunk is full: the
 *                              record was rolled back; flush and retry.
 * dp_chunk_rec_abort(c);       roll back (malformed input).
 *
 * Writers never fail: when the data or the index is full they set the
 * sticky overflow flag and rec_end reports it, so parsers carry no checks.
 */
void dp_chunk_rec_begin(struct dp_chunk *c, uint32_t sec, uint32_t nsec);
void dp_chunk_rec_set_time(struct dp_chunk *c, uint32_t sec, uint32_t nsec);
int dp_chunk_rec_end(struct dp_chunk *c);
void dp_chunk_rec_abort(struct dp_chunk *c);

/* Several records as one: the position between two records, and a roll
 * back to it that forgets every record written since (an http request's
 * batch, refused whole once a record of it turns out malformed; dp_mark
 * in dp_edit.h is the same inside one record). Only before the chunk is
 * pushed: nothing but the writer has seen those records. */
struct dp_chunk_pos {
	uint32_t data_len, nrecs, nfields;
};

static inline struct dp_chunk_pos dp_chunk_pos_get(const struct dp_chunk *c)
{
	return (struct dp_chunk_pos){ c->data_len, c->nrecs, c->nfields };
}

void dp_chunk_truncate(struct dp_chunk *c, struct dp_chunk_pos m);

static inline bool dp_chunk_is_empty(const struct dp_chunk *c)
{
	return c->nrecs == 0;
}

/* Typed key/value pairs. */
static inline void dp_chunk_put_str(struct dp_chunk *c, const char *k, size_t klen, const char *v,
				    size_t vlen);
void dp_chunk_put_int(struct dp_chunk *c, const char *k, size_t klen, int64_t v);
void dp_chunk_put_double(struct dp_chunk *c, const char *k, size_t klen, double v);
void dp_chunk_put_bool(struct dp_chunk *c, const char *k, size_t klen, bool v);
void dp_chunk_put_nil(struct dp_chunk *c, const char *k, size_t klen);

/* A field whose value the caller writes with the raw writers below (nested
 * maps and arrays, strings decoded in place). */
void dp_chunk_field_begin(struct dp_chunk *c, const char *k, size_t klen);
void dp_chunk_field_end(struct dp_chunk *c, enum dp_type type);

/* ---- raw msgpack writers (no index entry) ---- */

/* Room for n more bytes at the write position, or NULL (and overflow set). */
static inline uint8_t *dp_chunk_reserve(struct dp_chunk *c, size_t n)
{
	if (unlikely(c->data_len + n > DP_CHUNK_DATA)) {
		c->overflow = true;
		return NULL;
	}
	return c->data + c->data_len;
}

static inline void dp_chunk_commit(struct dp_chunk *c, size_t n)
{
	c->data_len += (uint32_t)n;
}

static inline void dp_chunk_write(struct dp_chunk *c, const void *p, size_t n)
{
	uint8_t *w = dp_chunk_reserve(c, n);
	if (likely(w != NULL)) {
		memcpy(w, p, n);
		c->data_len += (uint32_t)n;
	}
}

void dp_mp_str(struct dp_chunk *c, const char *s, size_t n);
void dp_mp_int(struct dp_chunk *c, int64_t v);
void dp_mp_double(struct dp_chunk *c, double v);
void dp_mp_bool(struct dp_chunk *c, bool v);
void dp_mp_nil(struct dp_chunk *c);
/* Write a str header sized for up to max_len bytes; returns the offset of
 * the header so dp_mp_str_patch can set the real length (<= max_len) once
 * the payload is written, e.g. after decoding JSON escapes in place. */
uint32_t dp_mp_str_open(struct dp_chunk *c, size_t max_len);
void dp_mp_str_patch(struct dp_chunk *c, uint32_t hdr_off, size_t len);
/* map32/array32 header with a count patched later. */
uint32_t dp_mp_map_open(struct dp_chunk *c);
uint32_t dp_mp_array_open(struct dp_chunk *c);
void dp_mp_container_patch(struct dp_chunk *c, uint32_t hdr_off, uint32_t count);

/* msgpack str header for n bytes at w; returns its size. */
static inline uint32_t dp_mp_str_hdr(uint8_t *w, size_t n)
{
	if (n < 32) {
		w[0] = (uint8_t)(0xa0 | n);
		return 1;
	}
	if (n < 256) {
		w[0] = 0xd9;
		w[1] = (uint8_t)n;
		return 2;
	}
	if (n < 65536) {
		w[0] = 0xda;
		w[1] = (uint8_t)(n >> 8);
		w[2] = (uint8_t)n;
		return 3;
	}
	w[0] = 0xdb;
	w[1] = (uint8_t)(n >> 24);
	w[2] = (uint8_t)(n >> 16);
	w[3] = (uint8_t)(n >> 8);
	w[4] = (uint8_t)n;
	return 5;
}

/* 16 bytes anywhere: unaligned, may alias anything. Copies through it are
 * a register (memcpy into a struct temporary made GCC store the temporary
 * to the stack as well). */
typedef uint8_t dp_u8x16 __attribute__((vector_size(16), may_alias, aligned(1)));

static inline __attribute__((always_inline)) void dp_copy16(uint8_t *d, const uint8_t *s)
{
	*(dp_u8x16 *)(void *)d = *(const dp_u8x16 *)(const void *)s;
}

/*
 * Copy n bytes, inline for the short strings that make most fields (a
 * call to memcpy costs more than the copy at these sizes, and it clobbers
 * the registers the writers keep offsets in). Up to 64 bytes: two or four
 * loads that overlap in the middle, all inside [src, src + n) and stores
 * inside [dst, dst + n), so nothing is read past the source's end (a
 * string at the end of a mapped page is safe). Longer: memcpy. src and dst
 * must not overlap. The fixed-size memcpy calls compile to single moves.
 */
static inline __attribute__((always_inline)) void dp_copy(void *dst, const void *src, size_t n)
{
	uint8_t *d = (uint8_t *)dst;
	const uint8_t *s = (const uint8_t *)src;
	if (n <= 16) {
		if (n >= 8) {
			uint64_t a, b;
			memcpy(&a, s, 8);
			memcpy(&b, s + n - 8, 8);
			memcpy(d, &a, 8);
			memcpy(d + n - 8, &b, 8);
		} else if (n >= 4) {
			uint32_t a, b;
			memcpy(&a, s, 4);
			memcpy(&b, s + n - 4, 4);
			memcpy(d, &a, 4);
			memcpy(d + n - 4, &b, 4);
		} else if (n > 0) {
			/* 1: one byte thrice; 2: 0 1 1; 3: 0 1 2 */
			uint8_t a = s[0], b = s[n / 2], z = s[n - 1];
			d[0] = a;
			d[n / 2] = b;
			d[n - 1] = z;
		}
		return;
	}
	if (n <= 64) {
		if (n > 32) {
			dp_copy16(d + 16, s + 16);
			dp_copy16(d + n - 32, s + n - 32);
		}
		dp_copy16(d, s);
		dp_copy16(d + n - 16, s + n - 16);
		return;
	}
	memcpy(d, s, n);
}

/*
 * Several string fields in a row with the chunk's state in locals: begin
 * copies the write offset, the field count and the base pointers into a
 * struct on the caller's stack, each dp_puts_str works on those (once
 * inlined the struct lives in registers: byte stores into the data can
 * not alias it, as they alias c's members and force reloads after every
 * field), end stores them back. Same bounds rule and same bytes as one
 * dp_chunk_put_str per field; a field that does not fit sets overflow
 * (stored into the chunk by end) and writes nothing.
 *
 *   struct dp_puts w;
 *   dp_chunk_puts_begin(c, &w);
 *   dp_puts_str(&w, "host", 4, host, host_len); ...
 *   dp_chunk_puts_end(c, &w);
 *
 * Nothing else may write to c between begin and end.
 */
struct dp_puts {
	uint8_t *d;
	struct dp_field *f;
	uint32_t o;        /* write offset in d */
	uint32_t nf;       /* index of the next field */
	uint32_t nf0;      /* c->nfields at begin */
	bool overflow;
};

static inline void dp_chunk_puts_begin(const struct dp_chunk *c, struct dp_puts *w)
{
	w->d = c->data;
	w->f = c->fields;
	w->o = c->data_len;
	w->nf = w->nf0 = c->nfields;
	w->overflow = false;
}

/* Room for nfields more string fields whose keys and values add up to
 * bytes: when true, each of them would pass dp_puts_str's bounds check
 * (every check asks for the field plus 10 bytes, a field's two headers
 * take at most 8), so dp_puts_str_nocheck may write them; and there are
 * DP_PUTS_SLACK bytes more for its over-long copies. One check per record
 * instead of one per field. */
#define DP_PUTS_SLACK 32
static inline bool dp_puts_room(const struct dp_puts *w, size_t bytes, unsigned nfields)
{
	return w->o + bytes + 10 * (size_t)nfields + DP_PUTS_SLACK <= DP_CHUNK_DATA &&
	       w->nf + nfields <= DP_CHUNK_FIELDS;
}

/* always_inline: GCC otherwise makes one out-of-line copy per file, w in
 * memory, which is what dp_puts is there to avoid. check false: the caller
 * made sure with dp_puts_room (keys shorter than 64 KiB).
 *
 * v_end (unchecked writes only; NULL: none): the bytes from v up to v_end
 * may be read. A value shorter than 32 bytes with 32 readable is then
 * copied as 32 bytes, branch-free; the bytes written past it are inside
 * the room's slack and are overwritten by the next field or lie past the
 * data's end, where nothing reads them. */
static inline __attribute__((always_inline)) void dp_puts_str_x(struct dp_puts *w, const char *k,
								size_t klen, const char *v, size_t vlen,
								bool check, const char *v_end)
{
	uint32_t off = w->o, nf = w->nf;
	if (check && unlikely(off + klen + vlen + 10 > DP_CHUNK_DATA || nf >= DP_CHUNK_FIELDS ||
			      klen > UINT16_MAX)) {
		w->overflow = true;
		return;
	}
	uint8_t *d = w->d;
	uint32_t o = off + dp_mp_str_hdr(d + off, klen);
	dp_copy(d + o, k, klen);
	uint32_t koff = o;
	o += (uint32_t)klen;
	/* fixstr first, as likely: GCC otherwise computes the longer
	 * headers' byte-swapped lengths ahead of the test */
	if (likely(vlen < 32))
		d[o++] = (uint8_t)(0xa0 | vlen);
	else
		o += dp_mp_str_hdr(d + o, vlen);
	if (!check && v_end != NULL && vlen < 32 && v_end - v >= 32) {
		dp_copy16(d + o, (const uint8_t *)v);
		dp_copy16(d + o + 16, (const uint8_t *)v + 16);
	} else {
		dp_copy(d + o, v, vlen);
	}
	struct dp_field *f = &w->f[nf];
	f->key_off = koff;
	f->key_len = (uint16_t)klen;
	f->val_off = o;
	f->val_len = (uint32_t)vlen;
	f->type = DP_T_STR;
	f->flags = 0;
	w->o = o + (uint32_t)vlen;
	w->nf = nf + 1;
}

static inline __attribute__((always_inline)) void dp_puts_str(struct dp_puts *w, const char *k,
							      size_t klen, const char *v, size_t vlen)
{
	dp_puts_str_x(w, k, klen, v, vlen, true, NULL);
}

static inline __attribute__((always_inline)) void dp_puts_str_nocheck(struct dp_puts *w, const char *k,
								      size_t klen, const char *v,
								      size_t vlen, const char *v_end)
{
	dp_puts_str_x(w, k, klen, v, vlen, false, v_end);
}

static inline void dp_chunk_puts_end(struct dp_chunk *c, const struct dp_puts *w)
{
	c->data_len = w->o;
	c->nfields = w->nf;
	c->cur_nfields += w->nf - w->nf0;
	if (w->overflow)
		c->overflow = true;
}

/* The parsers' most frequent call, inline: one bounds check for key and
 * value, offsets kept in locals, headers written in place, short strings
 * copied inline. Measured 95 -> 28 ns for the 8 fields of an RFC 5424
 * record (before the inline copy and dp_puts). */
static inline void dp_chunk_put_str(struct dp_chunk *c, const char *k, size_t klen, const char *v,
				    size_t vlen)
{
	struct dp_puts w;
	dp_chunk_puts_begin(c, &w);
	dp_puts_str(&w, k, klen, v, vlen);
	dp_chunk_puts_end(c, &w);
}

/* ---- readers (any stage) ---- */

/* Big-endian loads of msgpack's multi-byte fields. */
static inline uint16_t dp_mp_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t dp_mp_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t dp_mp_rd64(const uint8_t *p)
{
	return (uint64_t)dp_mp_rd32(p) << 32 | dp_mp_rd32(p + 4);
}

static inline const struct dp_field *dp_rec_fields(const struct dp_chunk *c, const struct dp_rec *r)
{
	return c->fields + r->field0;
}

/* The first field named k (exact, case-sensitive), or NULL. */
const struct dp_field *dp_rec_field_get(const struct dp_chunk *c, const struct dp_rec *r,
					const char *k, size_t klen);

/* Scalar value of an INT/UINT/FLOAT/BOOL field. */
int64_t dp_field_int(const struct dp_chunk *c, const struct dp_field *f);
double dp_field_double(const struct dp_chunk *c, const struct dp_field *f);
bool dp_field_bool(const struct dp_chunk *c, const struct dp_field *f);

static inline const char *dp_field_key(const struct dp_chunk *c, const struct dp_field *f)
{
	return (const char *)c->data + f->key_off;
}

static inline const char *dp_field_val(const struct dp_chunk *c, const struct dp_field *f)
{
	return (const char *)c->data + f->val_off;
}

/* Size in bytes of the msgpack object at p (at most n bytes available), or
 * 0 when it is truncated or invalid. Used to walk nested values. */
size_t dp_mp_object_size(const uint8_t *p, size_t n);
/* The map (map true) or array at p, n bytes: its count and header size;
 * false when p holds another kind of object. */
bool dp_mp_container(const uint8_t *p, size_t n, bool map, uint32_t *count, size_t *hdr);
/* The string or binary at p: header size and payload length; false when
 * it is neither or does not fit in n. */
bool dp_mp_strbin(const uint8_t *p, size_t n, bool *is_bin, size_t *hdr, size_t *len);
/* The dp_type of the object at p (n >= 1 bytes); a signed integer header
 * holding a value >= 0 is DP_T_UINT. */
enum dp_type dp_mp_type(const uint8_t *p, size_t n);
/* The same from the header byte alone (a signed header is DP_T_INT). */
enum dp_type dp_mp_type_hdr(uint8_t h);

#endif
