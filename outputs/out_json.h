/*
 * out_json.h — records to JSON text, for the outputs that speak JSON
 * (stdout, file, http, kafka, ...). Reads a record through its field index;
 * nested maps and arrays are walked from their msgpack bytes, never decoded
 * into objects. Stateless: any output worker may call it on a chunk it holds.
 *
 * Text produced (Fluent Bit's json_lines layout, no trailing newline):
 *
 *   {"date":1700000000.123456,"key":"value","n":42,"nested":{"a":[1,2]}}
 *
 * with the date member first when a date key is set, and only the record's
 * members otherwise (Fluent Bit's json_date_key false).
 *
 *   - strings: RFC 8259 escaping (\" \\ \b \f \n \r \t, other control
 *     characters as \u00XX); bytes >= 0x80 are copied unchanged, so text
 *     that was UTF-8 stays UTF-8 and anything else passes through as is;
 *   - msgpack bin and ext values: their bytes as an escaped JSON string
 *     (Fluent Bit writes bin the same way; the ext type byte is dropped);
 *   - integers in full (uint64 and int64);
 *   - doubles in the shortest form that reads back to the same double,
 *     always with a '.' or an exponent so they stay floats ("3.0", "0.1",
 *     "1e+300"); NaN and infinities as null, or, after
 *     out_json_nan_null_set(false) (json.convert_nan_to_null off), as
 *     Fluent Bit writes them without it: nan, inf, -inf (not JSON);
 *   - map keys that are not strings: numbers, booleans and nil are quoted
 *     ("1": ...); a map or array used as a key makes the record fail;
 *   - nesting is limited to OUT_JSON_MAX_DEPTH levels below a field.
 *
 * A record that does not fit in cap, has malformed msgpack or one of the
 * two cases above returns 0: the caller flushes its buffer and retries
 * with an empty one, and counts the record as failed if that returns 0 too.
 */
#ifndef OUT_JSON_H
#define OUT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include "dp_chunk.h"

#define OUT_JSON_MAX_DEPTH 128

/* Fluent Bit's json_date_format values. */
enum out_json_date {
	OUT_JSON_DATE_DOUBLE = 0,        /* 1700000000.123456 (rounded to µs) */
	OUT_JSON_DATE_EPOCH,             /* 1700000000 */
	OUT_JSON_DATE_EPOCH_MS,          /* 1700000000123 */
	OUT_JSON_DATE_ISO8601,           /* "2023-11-14T22:13:20.123456Z" */
	OUT_JSON_DATE_JAVA_SQL_TIMESTAMP,/* "2023-11-14 22:13:20.123456" */
};

struct out_json_opts {
	const char *date_key;  /* NULL: no date member */
	int date_format;       /* enum out_json_date */
};

/* [SERVICE] json.convert_nan_to_null: on (sluice's default), NaN and
 * infinities are written as null; off, as "%.16g" prints them (Fluent
 * Bit's src/flb_pack.c). Process-wide; set by the control thread when a
 * pipeline starts, read by any worker (atomic, read only for a value that
 * is not finite). */
void out_json_nan_null_set(bool on);

/* Parse a json_date_format value ("double", "epoch", "epoch_ms",
 * "iso8601", "java_sql_timestamp"; case-insensitive): the enum value, or
 * -EINVAL. Control path. */
int out_json_date_format_parse(const char *s);

/* Encode one record as a JSON object. Returns the bytes written to dst, or
 * 0 when it did not fit in cap (or could not be encoded; see above). */
size_t out_json_rec(const struct dp_chunk *c, const struct dp_rec *r,
		    const struct out_json_opts *o, char *dst, size_t cap);

/* Fluent Bit's out_file default line, without the newline:
 *   TAG: [1700000000.123456789, {"k":"v"}]
 * The tag is copied as it is. Returns bytes written or 0 as above. */
size_t out_json_file_line(const struct dp_chunk *c, const struct dp_rec *r,
			  const char *tag, size_t taglen, char *dst, size_t cap);

/* "1700000000.123456789": the time with all nine fraction digits, as
 * Fluent Bit's out_file and csv formats write it. b holds at least 24
 * bytes; returns the length (no terminator). */
size_t out_json_fmt_sec_nsec(char *b, uint32_t sec, uint32_t nsec);

/* One field's value as JSON (strings quoted and escaped), for formats
 * that lay out fields themselves (csv, ltsv). Bytes written or 0. */
size_t out_json_value(const struct dp_chunk *c, const struct dp_field *f, char *dst, size_t cap);

#endif
