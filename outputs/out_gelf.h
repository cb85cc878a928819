/*
 * out_gelf.h — a record as a GELF 1.1 message (JSON), byte for byte as
 * Fluent Bit's flb_msgpack_to_gelf (src/flb_pack_gelf.c) writes it, for
 * the outputs with Format gelf (kafka, http). Stateless: any output
 * worker, on a chunk it holds.
 *
 *   {"version":"1.1", "host":"h", "short_message":"m", "_app":"x", "timestamp":1700000000.123}
 *
 * (members after the first are separated by ", ", as there).
 * - The record keys named by the five keys (defaults host, short_message,
 *   full_message, level, timestamp) become those GELF fields; a second
 *   member of the same name is left out. Every other member becomes
 *   "_key"; a member named "id" is left out (GELF forbids "_id"). Bytes
 *   of a name outside [A-Za-z0-9_.-] are written '_'.
 * - Values: strings and bin quoted, with JSON escapes (other control
 *   characters and DEL as \u00xx), every non-ASCII character as \uXXXX
 *   (a surrogate pair above U+FFFF) and each byte of invalid UTF-8 as the
 *   character U+E0XX; booleans as the strings "true"/"false"; integers as
 *   they are; floats with six decimals ("%f"); nil members left out; ext
 *   as the text \xHH per byte.
 * - A nested map is flattened into members named by its path: {"k":{"a":1,
 *   "b":{"c":null}}} gives "_k_a":1, "_k_b_c":null (a nil inside is
 *   null; an empty map gives nothing; members whose key is not a string
 *   are left out). A GELF key's map is flattened the same way ("_host_a").
 * - An array is one string of its elements joined with ", ": strings
 *   unquoted, booleans bare, nil as null, an inner array's elements in
 *   line, a map as "k=v k2=v2" ("p_k=v" under a nested map p); e.g.
 *   {"t":[true,2019,"str"]} gives "_t":"true, 2019, str" (Fluent Bit's
 *   tests/internal/gelf.c).
 * - level: a non-negative integer as it is; "0".."7" or a syslog keyword
 *   (emerg, alert, crit, err, warning, notice, info, debug) as its
 *   number; another string stays a string; any other type (nil too)
 *   makes the record fail.
 * - timestamp: when the record has none, the record's time in seconds
 *   with milliseconds.
 * - A record without short_message fails (Fluent Bit: "missing
 *   short_message key"); a short_message whose value is a map counts as
 *   present (flattened into "_short_message_..."), as there.
 * - Where Fluent Bit's bytes are not valid JSON, sluice escapes: a quote,
 *   backslash or control character inside an array's text (Fluent Bit
 *   copies them raw), and the backslash of ext's \xHH. Invalid UTF-8 is
 *   mapped per byte; Fluent Bit's handling of some truncated sequences
 *   differs by platform. Nesting deeper than 128 levels fails the record.
 */
#ifndef OUT_GELF_H
#define OUT_GELF_H
#include <stddef.h>
#include "dp_chunk.h"

struct out_gelf_keys {
	const char *host, *short_message, *full_message, *level, *timestamp;  /* NULL: defaults */
};

/* Bytes written to dst, or 0: did not fit in cap, or cannot be encoded
 * (no short_message, a level of another type, malformed msgpack). */
size_t out_gelf_rec(const struct dp_chunk *c, const struct dp_rec *r, const struct out_gelf_keys *k,
		    char *dst, size_t cap);

#endif
