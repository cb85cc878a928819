/*
 * out_kafka_avro.h — the kafka output's `Format avro`: one record as an
 * Avro binary body under the schema of Schema_Str, behind the Confluent
 * wire-format header with Schema_Id, through libavro-c (avro-c).
 *
 * Message layout (what Fluent Bit's flb_avro.c writes, less its trailing
 * 0x00 byte, which no Confluent deserializer expects):
 *
 *   byte 0      0x00, the magic byte
 *   bytes 1..4  Schema_Id, 32-bit big-endian
 *   bytes 5..   the record in Avro's binary encoding (no container file
 *               header, no schema)
 *
 * Mapping (record → schema): the schema's top level is a record; each of
 * its fields takes the record's member of the same name (case-sensitive);
 * record members the schema does not name are left out. A schema field
 * the record lacks, or whose value is nil, is null when its type is null
 * or a union with null, and makes the record fail otherwise (libavro-c
 * exposes no field defaults). Values convert without loss only:
 *
 *   schema type   takes msgpack
 *   null          nil
 *   boolean       bool
 *   int / long    integers in range (int32 / int64)
 *   float/double  floats and integers
 *   string/bytes  str and bin
 *   enum          str naming one of its symbols
 *   fixed         str or bin of exactly its size
 *   record        map (nested, by name as above)
 *   map           map with string keys
 *   array         array
 *   union         the first branch above that takes the value
 *
 * A record that cannot be encoded returns 0: the caller counts it failed;
 * the cause is logged once per (top-level field, cause), and its
 * neighbours are unaffected. The record's time is not added (as Fluent
 * Bit, which adds Timestamp_Key only to json and msgpack).
 *
 * Threads: out_kafka_avro_check on the control thread; one encoder per
 * output worker, used by that worker only (each parses its own copy of
 * the schema, so no libavro object is shared between threads).
 */
#ifndef OUT_KAFKA_AVRO_H
#define OUT_KAFKA_AVRO_H

#include <stddef.h>
#include <stdint.h>
#include "dp_chunk.h"
#include "dp_common.h"

#define OUT_KAFKA_AVRO_HDR 5          /* magic byte + schema id */
#define OUT_KAFKA_AVRO_MAX_FIELDS 1024 /* per record schema */
#define OUT_KAFKA_AVRO_MAX_DEPTH 32    /* nesting of values and schemas ("nested too deep") */

struct out_kafka_avro;

/* Parse and check a schema (Schema_Str) for use here: 0, or -EINVAL with
 * err->msg holding libavro's words (avro_strerror) or what is not
 * supported. Control path. */
int out_kafka_avro_check(const char *json, struct dp_err *err);

struct dp_output;

/* An encoder for one worker of output o, whose name and Log_Level its
 * log lines follow (dp_plg_*; o NULL: "kafka" at the service's level).
 * NULL with err filled on a bad schema or no memory. */
struct out_kafka_avro *out_kafka_avro_create(const char *json, uint32_t schema_id,
					     const struct dp_output *o, struct dp_err *err);
void out_kafka_avro_destroy(struct out_kafka_avro *a);

/* Encode record r of c (header and body) into dst; bytes written, or 0
 * when it cannot be encoded under the schema or does not fit in cap. */
size_t out_kafka_avro_encode(struct out_kafka_avro *a, const struct dp_chunk *c, const struct dp_rec *r,
			     char *dst, size_t cap);

/* Why the last call returned 0 ("field 'n': expected int, got str"). */
const char *out_kafka_avro_why(const struct out_kafka_avro *a);

#endif
