/*
 * psr_json.h — the JSON-lines parser: one JSON object per line, written
 * straight into the open record of a chunk as msgpack, with an index entry
 * per top-level member. Stateless; called by the shard that owns the chunk.
 *
 * What it accepts (RFC 8259, one value per line):
 *   - the top level must be an object; its members become the record's
 *     top-level fields, in input order (duplicate keys are kept, as Fluent
 *     Bit does; dp_rec_field_get finds the first);
 *   - nested objects and arrays become msgpack maps and arrays (map32 and
 *     array32 headers, counts patched when they close), at most
 *     PSR_JSON_MAX_DEPTH levels counting the top-level object;
 *   - strings are decoded: every escape, including \uXXXX and surrogate
 *     pairs, becomes UTF-8. A lone or mismatched surrogate becomes U+FFFD
 *     rather than costing the whole line. Bytes >= 0x80 are copied as they
 *     are, without UTF-8 validation (Fluent Bit passes them through too);
 *     the JSON encoder (out_json.h) passes them back out unchanged;
 *   - integers that fit int64 are written as msgpack ints (DP_T_INT when
 *     negative, DP_T_UINT otherwise), non-negative ones up to UINT64_MAX as
 *     uint64; anything else (fraction, exponent, larger) as a double. "-0"
 *     is the integer 0. Numbers longer than PSR_JSON_MAX_NUMBER bytes are
 *     rejected (no log line carries one; a bound keeps strtod on a stack copy);
 *   - true, false, null;
 *   - whitespace (space, tab, LF, CR) before and after the object.
 *
 * Everything else returns -EINVAL: text after the object, a non-object top
 * level, unterminated strings or containers, raw control characters inside
 * strings, invalid escapes, leading zeros, nesting deeper than the limit.
 * The caller aborts the record then (dp_chunk_rec_abort); fields already
 * written are rolled back with it.
 *
 * When the chunk fills up the writers stop (the chunk's sticky overflow
 * flag) and dp_chunk_rec_end reports -ENOSPC; the caller flushes and parses
 * the line again into an empty chunk. A line that fills the chunk may get 0
 * instead of -EINVAL (escapes past the point of overflow are not decoded):
 * the retry gives the real answer.
 *
 * Floats are parsed with strtod, which honours LC_NUMERIC; sluice never
 * calls setlocale, so the decimal point is '.'.
 */
#ifndef PSR_JSON_H
#define PSR_JSON_H

#include <stddef.h>
#include "dp_chunk.h"

#define PSR_JSON_MAX_DEPTH  30  /* msgpack-c readers (Fluent Bit) stop at 32 levels; the event adds 1 */
#define PSR_JSON_MAX_NUMBER 256

/* Parse one line (without its newline; a trailing CR is allowed) into the
 * record the caller opened with dp_chunk_rec_begin. Returns 0 or -EINVAL. */
int psr_json_parse(struct dp_chunk *c, const char *line, size_t len);
/* The object at p ('{') and nothing after it, written as psr_json_parse
 * writes a line into the open record: the byte after its '}', or NULL
 * when it is malformed (and, as there, maybe when the chunk overflowed:
 * look at c->overflow). A body of several records (psr_json_batch.h) is
 * written in one pass with it. */
const char *psr_json_put_object(struct dp_chunk *c, const char *p, const char *end);

#endif
