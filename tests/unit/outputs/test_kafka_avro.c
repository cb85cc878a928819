/*
 * test_kafka_avro.c — the kafka output's Avro encoder: records parsed
 * from JSON, encoded, then decoded back with libavro (its reader and its
 * JSON rendering) and compared; the Confluent header; nullable, nested,
 * enum, map and array fields; records that do not match the schema fail
 * alone (the next one encodes); bad schemas refused with libavro's words;
 * the configuration through the real pipeline builder. Single-threaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <avro.h>
#include "dp_chunk.h"
#include "dp_conf.h"
#include "dp_log.h"
#include "dp_pipeline.h"
#include "dp_plugin.h"
#include "out_kafka_avro.h"
#include "psr_json.h"

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];
static struct dp_chunk ch;
static char out[1 << 16];

static const char *const SCHEMA =
	"{\"type\":\"record\",\"name\":\"log\",\"fields\":["
	"{\"name\":\"msg\",\"type\":\"string\"},"
	"{\"name\":\"n\",\"type\":\"int\"},"
	"{\"name\":\"big\",\"type\":\"long\"},"
	"{\"name\":\"f\",\"type\":\"float\"},"
	"{\"name\":\"d\",\"type\":\"double\"},"
	"{\"name\":\"ok\",\"type\":\"boolean\"},"
	"{\"name\":\"z\",\"type\":\"null\"},"
	"{\"name\":\"host\",\"type\":[\"null\",\"string\"]}]}";

static int setup(void **state)
{
	(void)state;
	dp_chunk_init(&ch, recs, fields, data);
	dp_chunk_reset(&ch);
	return 0;
}

/* Append one record parsed from JSON to the chunk; its index. */
static const struct dp_rec *add(const char *json)
{
	dp_chunk_rec_begin(&ch, 1700000000, 5);
	assert_int_equal(psr_json_parse(&ch, json, strlen(json)), 0);
	assert_int_equal(dp_chunk_rec_end(&ch), 0);
	return &ch.recs[ch.nrecs - 1];
}

static struct dp_output out0 = { .name = "kafka.0", .log_level = -1 };

static struct out_kafka_avro *enc(const char *schema, uint32_t id)
{
	struct dp_err err = { 0 };
	struct out_kafka_avro *a = out_kafka_avro_create(schema, id, &out0, &err);
	if (!a)
		fail_msg("create: %s", err.msg);
	return a;
}

/* Decode msg (header + body) under schema with libavro; its JSON, the
 * schema id, and check that the body was read to its last byte. */
static char *decode(const char *schema, const char *msg, size_t len, uint32_t *id)
{
	assert_true(len >= 5);
	assert_int_equal((uint8_t)msg[0], 0);
	*id = (uint32_t)(uint8_t)msg[1] << 24 | (uint32_t)(uint8_t)msg[2] << 16 |
	      (uint32_t)(uint8_t)msg[3] << 8 | (uint8_t)msg[4];
	avro_schema_t s;
	assert_int_equal(avro_schema_from_json_length(schema, strlen(schema), &s), 0);
	avro_value_iface_t *cls = avro_generic_class_from_schema(s);
	avro_value_t v;
	assert_int_equal(avro_generic_value_new(cls, &v), 0);
	avro_reader_t rd = avro_reader_memory(msg + 5, (int64_t)len - 5);
	assert_int_equal(avro_value_read(rd, &v), 0);
	char extra;
	assert_int_not_equal(avro_read(rd, &extra, 1), 0);   /* nothing after the record */
	char *json = NULL;
	assert_int_equal(avro_value_to_json(&v, 1, &json), 0);
	avro_reader_free(rd);
	avro_value_decref(&v);
	avro_value_iface_decref(cls);
	avro_schema_decref(s);
	return json;
}

static void assert_encodes(struct out_kafka_avro *a, const char *schema, const struct dp_rec *r,
			   const char *want)
{
	size_t n = out_kafka_avro_encode(a, &ch, r, out, sizeof(out));
	if (!n)
		fail_msg("not encoded: %s", out_kafka_avro_why(a));
	uint32_t id;
	char *json = decode(schema, out, n, &id);
	assert_string_equal(json, want);
	free(json);
}

static void test_scalars(void **state)
{
	(void)state;
	struct out_kafka_avro *a = enc(SCHEMA, 42);
	const struct dp_rec *r = add("{\"msg\":\"h\\u00e9llo \\\"w\\\"\",\"n\":-7,\"big\":9007199254740993,"
				     "\"f\":1.5,\"d\":-0.25,\"ok\":true,\"z\":null,\"host\":\"web-1\","
				     "\"extra\":{\"ignored\":[1]}}");
	size_t n = out_kafka_avro_encode(a, &ch, r, out, sizeof(out));
	assert_int_not_equal(n, 0);
	/* the Confluent header: magic 0, id 42 big-endian */
	assert_memory_equal(out, "\0\0\0\0\x2a", 5);
	uint32_t id;
	char *json = decode(SCHEMA, out, n, &id);
	assert_int_equal(id, 42);
	assert_string_equal(json, "{\"msg\": \"h\\u00E9llo \\\"w\\\"\", \"n\": -7, \"big\": 9007199254740993, "
			    "\"f\": 1.5, \"d\": -0.25, \"ok\": true, \"z\": null, \"host\": {\"string\": \"web-1\"}}");
	free(json);
	/* The body by hand for a small record: zigzag varints, IEEE LE, the
	 * union's branch index. */
	const struct dp_rec *r2 = add("{\"msg\":\"ab\",\"n\":1,\"big\":-1,\"f\":0,\"d\":2,\"ok\":false,\"host\":null}");
	n = out_kafka_avro_encode(a, &ch, r2, out, sizeof(out));
	static const char body[] = "\x04" "ab" "\x02" "\x01" "\0\0\0\0" "\0\0\0\0\0\0\0\x40" "\0" "\0";
	assert_int_equal(n, 5 + sizeof(body) - 1);
	assert_memory_equal(out + 5, body, sizeof(body) - 1);
	out_kafka_avro_destroy(a);
}

static void test_optional_and_ints(void **state)
{
	(void)state;
	const char *s = "{\"type\":\"record\",\"name\":\"r\",\"fields\":["
			"{\"name\":\"a\",\"type\":[\"null\",\"long\"]},"
			"{\"name\":\"b\",\"type\":[\"int\",\"string\",\"null\"]},"
			"{\"name\":\"c\",\"type\":[\"int\",\"long\"]},"
			"{\"name\":\"d\",\"type\":\"double\"}]}";
	struct out_kafka_avro *a = enc(s, 0);
	/* absent → null; nil → null; a string takes the string branch; an
	 * int too large for int takes long; an integer into a double */
	assert_encodes(a, s, add("{\"b\":null,\"c\":5000000000,\"d\":3}"),
		       "{\"a\": null, \"b\": null, \"c\": {\"long\": 5000000000}, \"d\": 3.0}");
	assert_encodes(a, s, add("{\"a\":-3,\"b\":\"x\",\"c\":-2147483648,\"d\":0.5}"),
		       "{\"a\": {\"long\": -3}, \"b\": {\"string\": \"x\"}, \"c\": {\"int\": -2147483648}, \"d\": 0.5}");
	assert_encodes(a, s, add("{\"b\":7,\"c\":1,\"d\":1048576.5}"),
		       "{\"a\": null, \"b\": {\"int\": 7}, \"c\": {\"int\": 1}, \"d\": 1048576.5}");
	out_kafka_avro_destroy(a);
}

static void test_nested(void **state)
{
	(void)state;
	const char *s = "{\"type\":\"record\",\"name\":\"r\",\"fields\":["
			"{\"name\":\"lvl\",\"type\":{\"type\":\"enum\",\"name\":\"L\",\"symbols\":[\"info\",\"warn\"]}},"
			"{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
			"{\"name\":\"labels\",\"type\":{\"type\":\"map\",\"values\":\"long\"}},"
			"{\"name\":\"src\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"S\",\"fields\":["
			"{\"name\":\"ip\",\"type\":\"string\"},{\"name\":\"port\",\"type\":[\"null\",\"int\"]}]}]},"
			"{\"name\":\"id\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}}]}";
	struct out_kafka_avro *a = enc(s, 7);
	assert_encodes(a, s, add("{\"lvl\":\"warn\",\"tags\":[\"a\",\"b\"],\"labels\":{\"x\":1,\"y\":-2},"
				 "\"src\":{\"ip\":\"10.0.0.1\",\"port\":514,\"other\":true},\"id\":\"abcd\"}"),
		       "{\"lvl\": \"warn\", \"tags\": [\"a\", \"b\"], \"labels\": {\"x\": 1, \"y\": -2}, "
		       "\"src\": {\"S\": {\"ip\": \"10.0.0.1\", \"port\": {\"int\": 514}}}, \"id\": \"abcd\"}");
	/* the same value again (maps and arrays reset between records) */
	assert_encodes(a, s, add("{\"lvl\":\"info\",\"tags\":[],\"labels\":{},\"src\":{\"ip\":\"::1\"},\"id\":\"wxyz\"}"),
		       "{\"lvl\": \"info\", \"tags\": [], \"labels\": {}, "
		       "\"src\": {\"S\": {\"ip\": \"::1\", \"port\": null}}, \"id\": \"wxyz\"}");
	out_kafka_avro_destroy(a);
}

/* r fails with a reason containing want; the record after it encodes. */
static void assert_fails(struct out_kafka_avro *a, const char *json, const char *want)
{
	const struct dp_rec *r = add(json);
	assert_int_equal(out_kafka_avro_encode(a, &ch, r, out, sizeof(out)), 0);
	if (!strstr(out_kafka_avro_why(a), want))
		fail_msg("why '%s' lacks '%s'", out_kafka_avro_why(a), want);
	const struct dp_rec *ok = add("{\"msg\":\"fine\",\"n\":1,\"big\":2,\"f\":3,\"d\":4,\"ok\":false}");
	assert_encodes(a, SCHEMA, ok, "{\"msg\": \"fine\", \"n\": 1, \"big\": 2, \"f\": 3.0, \"d\": 4.0, "
		       "\"ok\": false, \"z\": null, \"host\": null}");
}

static void test_not_matching(void **state)
{
	(void)state;
	struct out_kafka_avro *a = enc(SCHEMA, 1);
	assert_fails(a, "{\"n\":1,\"big\":2,\"f\":3,\"d\":4,\"ok\":false}",
		     "field 'msg': missing or nil, and its type (string) does not take null");
	assert_fails(a, "{\"msg\":\"x\",\"n\":\"1\",\"big\":2,\"f\":3,\"d\":4,\"ok\":false}",
		     "field 'n': expected int, got str");
	assert_fails(a, "{\"msg\":\"x\",\"n\":2147483648,\"big\":2,\"f\":3,\"d\":4,\"ok\":false}",
		     "field 'n': integer out of range for int");
	assert_fails(a, "{\"msg\":\"x\",\"n\":1,\"big\":18446744073709551615,\"f\":3,\"d\":4,\"ok\":false}",
		     "field 'big': integer out of range for long");
	assert_fails(a, "{\"msg\":\"x\",\"n\":1.5,\"big\":2,\"f\":3,\"d\":4,\"ok\":false}",
		     "field 'n': expected int, got float");
	assert_fails(a, "{\"msg\":\"x\",\"n\":1,\"big\":2,\"f\":3,\"d\":4,\"ok\":false,\"host\":1}",
		     "field 'host': expected a union branch that takes it, got int");
	/* nested failures name the top-level field */
	const char *s = "{\"type\":\"record\",\"name\":\"r\",\"fields\":["
			"{\"name\":\"lvl\",\"type\":{\"type\":\"enum\",\"name\":\"L\",\"symbols\":[\"info\"]}},"
			"{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"int\"}}]}";
	struct out_kafka_avro *b = enc(s, 1);
	assert_int_equal(out_kafka_avro_encode(b, &ch, add("{\"lvl\":\"debug\",\"m\":{}}"), out, sizeof(out)), 0);
	assert_non_null(strstr(out_kafka_avro_why(b), "field 'lvl': not a symbol of the enum"));
	assert_int_equal(out_kafka_avro_encode(b, &ch, add("{\"lvl\":\"info\",\"m\":{\"a\":\"b\"}}"), out,
					       sizeof(out)), 0);
	assert_non_null(strstr(out_kafka_avro_why(b), "field 'm': expected int, got str"));
	assert_int_not_equal(out_kafka_avro_encode(b, &ch, add("{\"lvl\":\"info\",\"m\":{\"a\":1}}"), out,
						   sizeof(out)), 0);
	out_kafka_avro_destroy(b);
	out_kafka_avro_destroy(a);
}

/* The log lines of records that do not fit follow the output's own
 * Log_Level, as Fluent Bit's flb_plg_* check ins->log_level: logged at
 * error (once per field and cause), not at off, the service's level when
 * unset. */
static void test_log_level(void **state)
{
	(void)state;
	FILE *f = tmpfile();
	assert_non_null(f);
	dp_log_set_fd(fileno(f));
	const char *bad = "{\"msg\":\"x\",\"n\":\"1\",\"big\":2,\"f\":3,\"d\":4,\"ok\":false}";
	const int levels[] = { DP_LOG_ERROR, DP_LOG_OFF, -1 };
	const int service[] = { DP_LOG_OFF, DP_LOG_INFO, DP_LOG_OFF };
	const long want_lines[] = { 1, 0, 0 };
	int saved = dp_log_level;
	for (unsigned i = 0; i < 3; i++) {
		out0.log_level = levels[i];
		dp_log_level = service[i];
		struct out_kafka_avro *a = enc(SCHEMA, 1);
		for (int k = 0; k < 3; k++)
			assert_int_equal(out_kafka_avro_encode(a, &ch, add(bad), out, sizeof(out)), 0);
		out_kafka_avro_destroy(a);
		fflush(f);
		long lines = 0;
		char line[512];
		rewind(f);
		while (fgets(line, sizeof(line), f))
			lines += strstr(line, "[error] [sluice] [kafka.0] avro: field 'n': expected int") != NULL;
		assert_int_equal(lines, want_lines[i]);
		assert_int_equal(ftruncate(fileno(f), 0), 0);
		rewind(f);
	}
	dp_log_level = saved;
	out0.log_level = -1;
	dp_log_set_fd(2);
	fclose(f);
}

static void test_no_room(void **state)
{
	(void)state;
	struct out_kafka_avro *a = enc(SCHEMA, 1);
	const struct dp_rec *r = add("{\"msg\":\"a long enough message\",\"n\":1,\"big\":2,\"f\":3,\"d\":4,\"ok\":true}");
	assert_int_equal(out_kafka_avro_encode(a, &ch, r, out, 3), 0);
	assert_int_equal(out_kafka_avro_encode(a, &ch, r, out, 20), 0);
	assert_non_null(strstr(out_kafka_avro_why(a), "larger than the room left"));
	size_t n = out_kafka_avro_encode(a, &ch, r, out, sizeof(out));
	assert_int_not_equal(n, 0);
	assert_int_equal(out_kafka_avro_encode(a, &ch, r, out, n), n);
	out_kafka_avro_destroy(a);
}

static void test_bad_schema(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	assert_int_equal(out_kafka_avro_check("{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a\"}]}",
					      &err), -EINVAL);
	assert_non_null(strstr(err.msg, "invalid Avro schema: "));
	assert_true(strlen(err.msg) > strlen("invalid Avro schema: "));
	assert_int_equal(out_kafka_avro_check("{not json", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "invalid Avro schema"));
	assert_int_equal(out_kafka_avro_check("\"string\"", &err), -EINVAL);
	assert_string_equal(err.msg, "the schema's top level must be a record, not string");
	assert_int_equal(out_kafka_avro_check(SCHEMA, &err), 0);
}

/* ---- through the pipeline builder (setup only, no broker) ---- */

static struct dp_err perr;

static bool build(const char *text)
{
	memset(&perr, 0, sizeof(perr));
	struct dp_conf *c = dp_conf_load_buffer(text, strlen(text), "k.conf", &perr);
	assert_non_null(c);
	struct dp_pipeline *pl = dp_pipeline_create(c, &perr);
	if (pl)
		dp_pipeline_destroy(pl);
	dp_conf_destroy(c);
	return pl != NULL;
}

#define OUT(extra) "[INPUT]\n    Name dummy\n[OUTPUT]\n    Name kafka\n    Match *\n" \
	"    Brokers 127.0.0.1:1\n" extra

static void test_config(void **state)
{
	(void)state;
	assert_true(build(OUT("    Format avro\n    Schema_Id 12\n    Schema_Str {\"type\":\"record\",\"name\":\"r\","
			      "\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}\n")));
	assert_false(build(OUT("    Format avro\n")));
	assert_non_null(strstr(perr.msg, "k.conf:7: [OUTPUT] kafka: Format avro needs Schema_Str"));
	assert_false(build(OUT("    Format avro\n    Schema_Str {\"type\":\"record\"}\n")));
	assert_non_null(strstr(perr.msg, "k.conf:8: [OUTPUT] kafka: Schema_Str: invalid Avro schema: "));
	assert_false(build(OUT("    Format avro\n    Schema_Str \"int\"\n")));
	assert_non_null(strstr(perr.msg, "k.conf:8: [OUTPUT] kafka: Schema_Str: the schema's top level must be a record"));
	assert_false(build(OUT("    Schema_Id -1\n")));
	assert_non_null(strstr(perr.msg, "Schema_Id"));
	assert_true(build(OUT("    Queue_Full_Retries 0\n")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_scalars, setup),
		cmocka_unit_test_setup(test_optional_and_ints, setup),
		cmocka_unit_test_setup(test_nested, setup),
		cmocka_unit_test_setup(test_not_matching, setup),
		cmocka_unit_test_setup(test_no_room, setup),
		cmocka_unit_test_setup(test_log_level, setup),
		cmocka_unit_test(test_bad_schema),
		cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
