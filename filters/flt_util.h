/*
 * flt_util.h — helpers the record-editing filters share (modify,
 * record_modifier): appending to the tail record without ever losing it,
 * key comparisons, moving a field and removing many in one pass (what
 * dp_edit.h does not offer; candidates for it), and the token splitter
 * for rule values.
 *
 * Threads: the inline record helpers run on the shard that owns the chunk;
 * flt_split runs on the control thread (setup).
 */
#ifndef FLT_UTIL_H
#define FLT_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include "dp_edit.h"

/* Would `bytes` more bytes and `fields` more index entries fit? Checked
 * before every append: dp_tail_close drops the whole record when an append
 * overflowed, and a filter must never lose the record it was asked to edit
 * (the caller counts the edit it skipped instead). 65535 fields is what a
 * map16 header can count. */
static inline bool flt_room(const struct dp_chunk *c, size_t bytes, unsigned fields)
{
	return c->data_len + bytes <= DP_CHUNK_DATA && c->nfields + fields <= DP_CHUNK_FIELDS &&
	       dp_tail_nfields(c) + fields <= UINT16_MAX;
}

/* Bytes a string key/value pair takes at most (two 5-byte headers). */
static inline size_t flt_pair_size(size_t klen, size_t vlen)
{
	return klen + vlen + 10;
}

/* Open the tail record for appending (it may already be open); returns
 * whether it was closed, to pass to flt_append_end. */
static inline bool flt_append_begin(struct dp_chunk *c)
{
	if (dp_chunk_rec_is_open(c))
		return false;
	dp_tail_reopen(c);
	return true;
}

/* Close it again. Room was checked, so this cannot fail. */
static inline void flt_append_end(struct dp_chunk *c, bool reopened)
{
	if (reopened)
		dp_tail_close(c);
}

/* The tail record's fields, one lookup instead of one per field. */
static inline struct dp_field *flt_fields(struct dp_chunk *c)
{
	return &c->fields[dp_chunk_rec_is_open(c) ? c->cur_field0 : c->recs[c->nrecs - 1].field0];
}

static inline const char *flt_key(const struct dp_chunk *c, const struct dp_field *f)
{
	return (const char *)c->data + f->key_off;
}

/* Case-sensitive key equality (modify compares keys with strncmp). */
static inline bool flt_key_eq(const struct dp_chunk *c, const struct dp_field *f, const char *k,
			      size_t klen)
{
	/* Length and first byte inline: most keys differ there, and a
	 * memcmp call per field was the largest cost measured. */
	const uint8_t *p = c->data + f->key_off;
	return f->key_len == klen && (!klen || (p[0] == (uint8_t)k[0] && !memcmp(p, k, klen)));
}

/* The first field of the tail record named k, or -1 (dp_tail_find,
 * inline). */
static inline int flt_find(struct dp_chunk *c, const char *k, size_t klen)
{
	const struct dp_field *fs = flt_fields(c);
	for (unsigned i = 0, n = dp_tail_nfields(c); i < n; i++)
		if (flt_key_eq(c, &fs[i], k, klen))
			return (int)i;
	return -1;
}

/* Does the key start with prefix p? */
static inline bool flt_key_prefix(const struct dp_chunk *c, const struct dp_field *f, const char *p,
				  size_t plen)
{
	return f->key_len >= plen && !memcmp(c->data + f->key_off, p, plen);
}

/*
 * Keep only the fields of the tail record for which keep[i] is true, in
 * one pass: each kept pair moves down at most once (dp_tail_remove per
 * field would move the rest of the record once per removal). Relies on
 * the layout dp_edit.c documents: pairs contiguous in index order after
 * the 14-byte event header, the map16 count at bytes 12..13; the tail
 * record is the last bytes of the chunk. Returns the fields removed.
 */
static inline unsigned flt_tail_compact(struct dp_chunk *c, const bool *keep)
{
	bool open = dp_chunk_rec_is_open(c);
	uint32_t off = open ? c->cur_off : c->recs[c->nrecs - 1].off;
	struct dp_field *fs = flt_fields(c);
	unsigned n = dp_tail_nfields(c), j = 0;
	uint32_t rd = off + 14, w = off + 14;
	for (unsigned i = 0; i < n; i++) {
		uint32_t end = fs[i].val_off + fs[i].val_len;
		if (keep[i]) {
			if (w != rd) {
				memmove(c->data + w, c->data + rd, end - rd);
				fs[i].key_off -= rd - w;
				fs[i].val_off -= rd - w;
			}
			w += end - rd;
			fs[j++] = fs[i];
		}
		rd = end;
	}
	unsigned removed = n - j;
	if (!removed)
		return 0;
	c->data_len = w;
	c->nfields -= removed;
	if (open) {
		c->cur_nfields = j;
	} else {
		struct dp_rec *r = &c->recs[c->nrecs - 1];
		r->nfields = (uint16_t)j;
		r->len = w - off;
		c->data[off + 12] = (uint8_t)(j >> 8);
		c->data[off + 13] = (uint8_t)j;
	}
	return removed;
}

/* Start of the tail record's first pair (after array, ext8 time, map16). */
static inline uint32_t flt_pairs_start(const struct dp_chunk *c)
{
	return (dp_chunk_rec_is_open(c) ? c->cur_off : c->recs[c->nrecs - 1].off) + 14;
}

static inline uint32_t flt_val_end(const struct dp_field *f)
{
	return f->val_off + f->val_len;
}

static inline void flt_reverse(uint8_t *p, size_t n)
{
	for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
		uint8_t t = p[i];
		p[i] = p[j - 1];
		p[j - 1] = t;
	}
}

/* Turn bytes [p, p+n1) [p+n1, p+n1+n2) into the second block then the
 * first: through the stack when the smaller block is small, else by three
 * reversals (no allocation either way). */
static inline void flt_rotate(uint8_t *p, size_t n1, size_t n2)
{
	uint8_t tmp[1024];
	if (n1 <= sizeof(tmp) && n1 <= n2) {
		memcpy(tmp, p, n1);
		memmove(p, p + n1, n2);
		memcpy(p + n2, tmp, n1);
	} else if (n2 <= sizeof(tmp)) {
		memcpy(tmp, p + n1, n2);
		memmove(p + n2, p, n1);
		memcpy(p, tmp, n2);
	} else {
		flt_reverse(p, n1);
		flt_reverse(p + n1, n2);
		flt_reverse(p, n1 + n2);
	}
}

static inline void flt_shift(struct dp_field *f, unsigned from, unsigned to, int64_t d)
{
	for (unsigned j = from; j <= to; j++) {
		f[j].key_off = (uint32_t)(f[j].key_off + d);
		f[j].val_off = (uint32_t)(f[j].val_off + d);
	}
}

/* Move field `from` of the tail record to position `to`, the others
 * keeping their order; bytes and index move together. Pairs are
 * contiguous and in index order (the invariant dp_edit.c relies on), so
 * this is one rotation of the bytes between them. */
static inline void flt_tail_move(struct dp_chunk *c, unsigned from, unsigned to)
{
	if (from == to)
		return;
	struct dp_field *fs = dp_tail_field(c, 0), moved = fs[from];
	uint32_t base = flt_pairs_start(c);
#define PS(i) ((i) == 0 ? base : flt_val_end(&fs[(i) - 1]))
	if (from > to) {
		uint32_t a = PS(to), m = PS(from), b = flt_val_end(&fs[from]);
		flt_rotate(c->data + a, m - a, b - m);
		flt_shift(fs, to, from - 1, (int64_t)(b - m));
		moved.key_off -= m - a;
		moved.val_off -= m - a;
		memmove(fs + to + 1, fs + to, (from - to) * sizeof(*fs));
	} else {
		uint32_t a = PS(from), m = flt_val_end(&fs[from]), b = flt_val_end(&fs[to]);
		flt_rotate(c->data + a, m - a, b - m);
		flt_shift(fs, from + 1, to, -(int64_t)(m - a));
		moved.key_off += b - m;
		moved.val_off += b - m;
		memmove(fs + from, fs + from + 1, (to - from) * sizeof(*fs));
	}
#undef PS
	fs[to] = moved;
}

/*
 * Split a rule value into at most max tokens separated by blanks, as Fluent
 * Bit's flb_utils_split_quoted does: a token may be double-quoted (the
 * quotes go, \" and \\ inside become " and \), so a value can hold blanks:
 *   Set message "hello world"
 * Tokens are written NUL-terminated into buf (at least strlen(s) + 1
 * bytes); tok[i] and len[i] point into it. Returns the number of tokens,
 * max + 1 when there are more, or -1 for an unterminated quote.
 */
static inline int flt_split(const char *s, char *buf, unsigned max, char **tok, size_t *len)
{
	unsigned n = 0;
	char *w = buf;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			return (int)n;
		if (n == max)
			return (int)max + 1;
		char *start = w;
		tok[n] = start;
		if (*s == '"') {
			s++;
			while (*s && *s != '"') {
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				*w++ = *s++;
			}
			if (*s != '"')
				return -1;
			s++;
		} else {
			while (*s && *s != ' ' && *s != '\t')
				*w++ = *s++;
		}
		len[n++] = (size_t)(w - start);
		*w++ = '\0';
	}
}

#endif
