/*
 * psr_json_batch.h — a body of JSON records (an HTTP request's): checked
 * whole and cut into its records before any is kept, so a malformed body
 * is refused entire (Fluent Bit's in_http packs the whole body first, and
 * answers 400 to a body it cannot read).
 *
 * A body is one or more JSON values separated by whitespace: objects (one
 * record each; several of them back to back or one per line is NDJSON) or
 * arrays of objects (one record per element). Anything else is malformed:
 * a scalar at the top level or in such an array, invalid JSON (RFC 8259:
 * the grammar of numbers, strings with their escapes and no raw control
 * characters, literals), nesting deeper than PSR_JSON_MAX_DEPTH, an empty
 * body. Each record is then parsed by psr_json_parse, which accepts every
 * object this accepts.
 *
 * Threads: stateless; the caller's shard.
 */
#ifndef PSR_JSON_BATCH_H
#define PSR_JSON_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct psr_json_rec {
	uint32_t off, len;          /* the object in the body */
	uint32_t tag_off, tag_len;  /* the string value of the top-level key asked for,
	                               between its quotes, escapes left as they are */
	bool has_tag;
	bool tag_escaped;           /* it holds a backslash escape */
};

/* Check p[0..len) (len < 4 GiB) and find its records: how many there are
 * (out[] is filled up to cap; call again with room for all when more),
 * or -EINVAL when the body is malformed. tag_key (may be NULL): note the
 * string value of this top-level key of each record. */
long psr_json_batch_scan(const char *p, size_t len, const char *tag_key, size_t tag_key_len,
			 struct psr_json_rec *out, size_t cap);

/* The same body walked one record at a time, for a caller that writes
 * each record as it goes (psr_json_put_object) and so checks the body in
 * that one pass: next finds the next record's '{' (1: at it->p; the
 * caller then sets it->p past the record's '}'), or says the body ended
 * well (0) or is malformed (-EINVAL). The scan above is this walk with
 * its own check of each object: both accept the same bodies. */
struct psr_json_batch_it {
	const char *p, *e;
	uint8_t in_array;           /* 0 no; 1 just after '['; 2 after an element */
	bool any;                   /* a value was seen ("[]" is a body of none) */
};

void psr_json_batch_begin(struct psr_json_batch_it *it, const char *p, size_t len);
int psr_json_batch_next(struct psr_json_batch_it *it);

#endif
