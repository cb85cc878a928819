/*
 * flt_util.h — small helpers the record-editing filters share (modify,
 * record_modifier): appending to the tail record without ever losing it,
 * key comparisons, and the token splitter for rule values.
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

static inline const char *flt_key(const struct dp_chunk *c, const struct dp_field *f)
{
	return (const char *)c->data + f->key_off;
}

/* Case-sensitive key equality (modify compares keys with strncmp). */
static inline bool flt_key_eq(const struct dp_chunk *c, const struct dp_field *f, const char *k,
			      size_t klen)
{
	return f->key_len == klen && !memcmp(c->data + f->key_off, k, klen);
}

/* Does the key start with prefix p? */
static inline bool flt_key_prefix(const struct dp_chunk *c, const struct dp_field *f, const char *p,
				  size_t plen)
{
	return f->key_len >= plen && !memcmp(c->data + f->key_off, p, plen);
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
