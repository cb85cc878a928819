/*
 * dp_ra.h — the record accessor: Fluent Bit's way of naming a value inside
 * a record, parsed once at start-up and looked up per record without
 * allocating or decoding anything but the path it names.
 *
 * Syntax (Fluent Bit's "record accessor" page):
 *   $log                       the top-level key "log"
 *   $labels['color']           key "color" of the map under "labels"
 *   $labels['project']['env']  deeper, up to DP_RA_MAX_PARTS parts in all
 *   $items[0]                  element 0 of an array
 *   log                        a plain name is a top-level key, as grep's
 *                              KEY and other plugins accept it
 * Keys between brackets may be quoted with ' or " (no escapes inside); the
 * top-level name runs up to the first '[' (any other byte is part of it,
 * so "@timestamp" and "kubernetes.host" are names). Keys are compared
 * exactly (case-sensitive), as Fluent Bit does; the first key that matches
 * wins when a map repeats one.
 *
 * A lookup walks the record's field index for the top-level key (never the
 * msgpack), then nested msgpack maps and arrays with dp_mp_object_size to
 * skip what it does not want. A path that does not exist, or that goes
 * through something other than a map (an array for an index), is "not
 * found": no error, as in Fluent Bit.
 *
 * Threads: parse on the control thread; a parsed accessor is read-only and
 * looked up from any thread.
 */
#ifndef DP_RA_H
#define DP_RA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dp_chunk.h"

#define DP_RA_MAX_PARTS 8
#define DP_RA_MAX_TEXT  256   /* bytes of all keys together */

struct dp_ra_part {
	uint16_t off, len;   /* key: bytes in dp_ra.text */
	int32_t index;       /* >= 0: an array index; -1: a map key */
};

struct dp_ra {
	unsigned nparts;     /* >= 1; part 0 is the top-level key */
	struct dp_ra_part part[DP_RA_MAX_PARTS];
	char text[DP_RA_MAX_TEXT];
};

/* What a lookup found: f describes it as the chunk's index would (STR and
 * BIN: val_off/val_len are the payload; any other type: the msgpack
 * object), so dp_field_val, dp_field_int, dp_field_double and
 * dp_field_bool work on &out->f with the same chunk. str/len repeat the
 * payload for strings and binaries (NULL/0 otherwise). */
struct dp_ra_val {
	enum dp_type type;
	const char *str;
	size_t len;
	struct dp_field f;
};

/* Parse a whole spec ("$a['b'][0]" or "a"). 0, or -EINVAL with err->msg
 * ("invalid record accessor '$a[': ...") and -E2BIG when the path has more
 * than DP_RA_MAX_PARTS parts or DP_RA_MAX_TEXT bytes of keys. */
int dp_ra_parse(const char *spec, struct dp_ra *ra, struct dp_err *err);

/* Parse one accessor at the start of s[0..len), which must begin with '$',
 * inside a template such as rewrite_tag's "$TAG.$kubernetes['ns'].x": the
 * top-level name is [A-Za-z0-9_-]+ here, so '.' and other punctuation end
 * it. *used gets the bytes consumed. */
int dp_ra_parse_prefix(const char *s, size_t len, size_t *used, struct dp_ra *ra,
		       struct dp_err *err);

/* The top-level key (part 0). */
static inline const char *dp_ra_key(const struct dp_ra *ra, size_t *len)
{
	*len = ra->part[0].len;
	return ra->text + ra->part[0].off;
}

/* Look ra up in the record whose index entries are fields[0..nfields) of
 * chunk c. true and *out filled when found. */
bool dp_ra_get(const struct dp_ra *ra, const struct dp_chunk *c, const struct dp_field *fields,
	       unsigned nfields, struct dp_ra_val *out);

/* The same in the tail record of c (dp_edit.h), closed or open. */
bool dp_ra_get_tail(const struct dp_ra *ra, const struct dp_chunk *c, struct dp_ra_val *out);

#endif
