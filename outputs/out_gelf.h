/*
 * out_gelf.h — a record as a GELF 1.1 message (JSON), as Fluent Bit's
 * flb_msgpack_to_gelf writes it, for the outputs with Format gelf (kafka
 * now, http later). Stateless: any output worker, on a chunk it holds.
 *
 *   {"version":"1.1","host":"h","short_message":"m","_app":"x","timestamp":1700000000.123}
 *
 * - The record keys named by the five keys (defaults host, short_message,
 *   full_message, level, timestamp) become those GELF fields; a second
 *   member of the same name is left out. Every other member becomes
 *   "_key"; a member named "id" is left out (GELF forbids "_id").
 * - Values: strings, bin and ext quoted and escaped; booleans as the
 *   strings "true"/"false"; integers as they are; floats with six
 *   decimals ("%f"); nil members left out.
 * - level: an integer as it is; "0".."7" or a syslog keyword (emerg,
 *   alert, crit, err, warning, notice, info, debug) as its number; another
 *   string stays a string; any other type makes the record fail.
 * - timestamp: when the record has none, the record's time in seconds
 *   with milliseconds.
 * - A record without short_message fails (Fluent Bit: "missing
 *   short_message key").
 * - Difference from Fluent Bit: a nested map or array is written as its
 *   JSON text in a string ("_k":"{\"a\":1}"); Fluent Bit flattens maps
 *   into "_k_a" members and arrays into space-separated text.
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
