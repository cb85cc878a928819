/*
 * dp_edit.h — editing the record at the tail of a chunk: the record a shard
 * has just parsed, while its bytes are still hot in cache. Filters run here,
 * one record at a time, right after the parser (see dp_filter.h): dropping
 * the record rolls the chunk back (nothing is copied or marked), adding a
 * field appends to it, removing or renaming one moves only the bytes of
 * this record that follow it. The record stays one contiguous msgpack event
 * in Fluent Bit's layout, and its index stays exact, so nothing downstream
 * changes.
 *
 * A tail record is either closed (the last of c->recs, as after
 * dp_chunk_rec_end) or reopened (dp_tail_reopen: fields may be appended with
 * dp_chunk_put_* / dp_chunk_field_begin..end). Field numbers are 0-based
 * within the record, in either state.
 *
 * Threads: the owning shard only.
 */
#ifndef DP_EDIT_H
#define DP_EDIT_H

#include "dp_chunk.h"

/* Is a record open (begun or reopened and not yet ended)? */
static inline bool dp_chunk_rec_is_open(const struct dp_chunk *c)
{
	return c->cur_off != UINT32_MAX;
}

/* The closed tail record, or NULL when the chunk is empty. */
static inline struct dp_rec *dp_tail(struct dp_chunk *c)
{
	return c->nrecs ? &c->recs[c->nrecs - 1] : NULL;
}

/* Number of fields of the tail record, and field i of it. */
unsigned dp_tail_nfields(const struct dp_chunk *c);
struct dp_field *dp_tail_field(struct dp_chunk *c, unsigned i);
/* The first field of the tail record named k, or -1. */
int dp_tail_find(const struct dp_chunk *c, const char *k, size_t klen);
/* The first field named k whose value is a string, or -1 (k NULL: -1):
 * Fluent Bit's get_key_id (src/multiline/flb_ml.c) skips the others. */
int dp_tail_find_str(const struct dp_chunk *c, const char *k, size_t klen);

/* Forget the tail record (closed or open): its bytes and index entries. */
void dp_tail_drop(struct dp_chunk *c);

/* Reopen the closed tail record so fields can be appended; dp_tail_close
 * ends it again: 0, or -ENOSPC when what was appended did not fit (the
 * record was then dropped entirely, as dp_chunk_rec_end does). */
void dp_tail_reopen(struct dp_chunk *c);
int dp_tail_close(struct dp_chunk *c);

/* Remove field i. */
void dp_tail_remove(struct dp_chunk *c, unsigned i);
/* Give field i a new key (its value unchanged). 0, or -ENOSPC. */
int dp_tail_rename(struct dp_chunk *c, unsigned i, const char *k, size_t klen);
/* Replace field i's value by a string. 0, or -ENOSPC. */
int dp_tail_set_str(struct dp_chunk *c, unsigned i, const char *v, size_t vlen);

/* Append a copy of an existing field of any type (key renamed to k) to the
 * open record: the value's msgpack bytes are copied as they are. src may
 * be a field of the same chunk. */
void dp_chunk_put_copy(struct dp_chunk *c, const char *k, size_t klen, const struct dp_chunk *src,
		       const struct dp_field *f);

/* Save and restore the write position inside an open record, to undo a
 * parser's partial output (e.g. a regex that matched but a type that did
 * not convert). */
struct dp_mark {
	uint32_t data_len, nfields, cur_nfields;
	bool overflow;
};

static inline struct dp_mark dp_chunk_mark(const struct dp_chunk *c)
{
	struct dp_mark m = { c->data_len, c->nfields, c->cur_nfields, c->overflow };
	return m;
}

static inline void dp_chunk_rollback(struct dp_chunk *c, struct dp_mark m)
{
	c->data_len = m.data_len;
	c->nfields = m.nfields;
	c->cur_nfields = m.cur_nfields;
	c->overflow = m.overflow;
}

#endif
