/*
 * test_kafka_conf.c — the kafka output's and input's configuration, through
 * the real pipeline builder: rdkafka.* keys pass through to librdkafka and
 * its refusals name file:line, the output and the key; Fluent Bit's
 * defaults; Topics split and checked; Format avro without a schema refused; topic names
 * checked as Kafka does. No broker is contacted (setup only).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "dp_conf.h"
#include "dp_pipeline.h"
#include "out_kafka.h"

static struct dp_err err;

/* Build a pipeline from config text; NULL on error (err filled). */
static struct dp_pipeline *build(const char *text)
{
	memset(&err, 0, sizeof(err));
	struct dp_conf *c = dp_conf_load_buffer(text, strlen(text), "k.conf", &err);
	assert_non_null(c);
	struct dp_pipeline *pl = dp_pipeline_create(c, &err);
	if (pl)
		dp_pipeline_destroy(pl);
	dp_conf_destroy(c);
	return pl;
}

#define OUT(extra) "[INPUT]\n    Name dummy\n[OUTPUT]\n    Name kafka\n    Match *\n" \
	"    Brokers 127.0.0.1:1\n" extra

static void test_passthrough_ok(void **state)
{
	(void)state;
	assert_non_null(build(OUT("    rdkafka.compression.codec lz4\n    rdkafka.acks all\n"
				  "    rdkafka.linger.ms 5\n")));
}

static void test_unknown_property(void **state)
{
	(void)state;
	assert_null(build(OUT("    rdkafka.acks all\n    rdkafka.no.such.thing 1\n")));
	/* file:line of the key, the output, the key, librdkafka's words */
	assert_non_null(strstr(err.msg, "k.conf:8: [OUTPUT] kafka: rdkafka.no.such.thing:"));
	assert_non_null(strstr(err.msg, "No such configuration property"));
}

static void test_bad_value(void **state)
{
	(void)state;
	assert_null(build(OUT("    rdkafka.compression.codec zip\n")));
	assert_non_null(strstr(err.msg, "k.conf:7: [OUTPUT] kafka: rdkafka.compression.codec:"));
}

static void test_avro_needs_schema(void **state)
{
	(void)state;
	/* Format avro and its schema: tests/unit/outputs/test_kafka_avro.c */
	assert_null(build(OUT("    Format avro\n")));
	assert_non_null(strstr(err.msg, "k.conf:7: [OUTPUT] kafka: Format avro needs Schema_Str"));
}

static void test_unknown_key_still_refused(void **state)
{
	(void)state;
	/* The pass-through is for rdkafka.* only. */
	assert_null(build(OUT("    Brokerz x\n")));
	assert_non_null(strstr(err.msg, "unknown key 'Brokerz'"));
	/* and only for the plugins that declare it */
	assert_null(build("[INPUT]\n    Name dummy\n    rdkafka.acks 1\n"));
	assert_non_null(strstr(err.msg, "rdkafka.acks"));
}

static void test_topics(void **state)
{
	(void)state;
	assert_null(build(OUT("    Topics a, b c\n")));
	assert_non_null(strstr(err.msg, "k.conf:7: [OUTPUT] kafka: 'b c' is not a valid Kafka topic name"));
	assert_null(build(OUT("    Topics , ,\n")));
	assert_non_null(strstr(err.msg, "no topic given"));
	assert_non_null(build(OUT("    Topics logs , audit.v1,x_y-z\n")));
}

static void test_topic_names(void **state)
{
	(void)state;
	assert_true(out_kafka_topic_is_valid("logs", 4));
	assert_true(out_kafka_topic_is_valid("a.b_c-D9", 8));
	assert_false(out_kafka_topic_is_valid("", 0));
	assert_false(out_kafka_topic_is_valid(".", 1));
	assert_false(out_kafka_topic_is_valid("..", 2));
	assert_false(out_kafka_topic_is_valid("a b", 3));
	assert_false(out_kafka_topic_is_valid("a/b", 3));
	char long_name[251];
	memset(long_name, 'a', sizeof(long_name));
	assert_true(out_kafka_topic_is_valid(long_name, 249));
	assert_false(out_kafka_topic_is_valid(long_name, 250));
}

static void test_input(void **state)
{
	(void)state;
	const char *base = "[INPUT]\n    Name kafka\n    Brokers 127.0.0.1:1\n    Topics t\n";
	char buf[512];
	snprintf(buf, sizeof(buf), "%s    rdkafka.auto.offset.reset earliest\n[OUTPUT]\n    Name null\n"
		 "    Match *\n", base);
	if (!build(buf))
		fail_msg("%s", err.msg);
	snprintf(buf, sizeof(buf), "%s    rdkafka.bogus 1\n", base);
	assert_null(build(buf));
	assert_non_null(strstr(err.msg, "k.conf:5: [INPUT] kafka: rdkafka.bogus:"));
	assert_null(build("[INPUT]\n    Name kafka\n    Brokers 127.0.0.1:1\n"));
	assert_non_null(strstr(err.msg, "Topics"));
	snprintf(buf, sizeof(buf), "%s    Format xml\n", base);
	assert_null(build(buf));
	assert_non_null(strstr(err.msg, "'Format'"));
}

/* https://docs.fluentbit.io/manual/5.0/data-pipeline/outputs/kafka: client_id
 * is passed to librdkafka (client.id). */
static void test_client_id(void **state)
{
	(void)state;
	const char *text = OUT("    Client_Id my-shipper\n");
	memset(&err, 0, sizeof(err));
	struct dp_conf *c = dp_conf_load_buffer(text, strlen(text), "k.conf", &err);
	assert_non_null(c);
	struct dp_pipeline *pl = dp_pipeline_create(c, &err);
	if (!pl)
		fail_msg("%s", err.msg);
	rd_kafka_conf_t *kc = out_kafka_conf_build(pl->out[0], &err);
	assert_non_null(kc);
	char v[64];
	size_t n = sizeof(v);
	assert_int_equal(rd_kafka_conf_get(kc, "client.id", v, &n), RD_KAFKA_CONF_OK);
	assert_string_equal(v, "my-shipper");
	rd_kafka_conf_destroy(kc);
	dp_pipeline_destroy(pl);
	dp_conf_destroy(c);
}

/* Format raw (Fluent Bit's out_kafka) needs raw_log_key. */
static void test_raw_needs_key(void **state)
{
	(void)state;
	assert_null(build(OUT("    Format raw\n")));
	assert_non_null(strstr(err.msg, "k.conf:7: [OUTPUT] kafka: Format raw needs Raw_Log_Key"));
	assert_non_null(build(OUT("    Format raw\n    raw_log_key log\n")));
}

/* The kafka input's keys of https://docs.fluentbit.io/manual/5.0/data-pipeline/inputs/kafka
 * (enable_auto_commit, buffer_max_size, poll_timeout_ms) and the common
 * keys log_level and storage.type of every plugin. */
static void test_input_keys_and_common_keys(void **state)
{
	(void)state;
	const char *in = "[INPUT]\n    Name kafka\n    Brokers 127.0.0.1:1\n    Topics t\n";
	char buf[768];
	snprintf(buf, sizeof(buf), "%s    enable_auto_commit true\n    buffer_max_size 8M\n"
		 "    poll_timeout_ms 5\n    log_level debug\n    storage.type memory\n"
		 "[FILTER]\n    Name grep\n    Match *\n    Regex a b\n    Log_Level error\n"
		 "[OUTPUT]\n    Name null\n    Match *\n    log_level off\n", in);
	if (!build(buf))
		fail_msg("%s", err.msg);
	snprintf(buf, sizeof(buf), "%s    buffer_max_size 0\n", in);
	assert_null(build(buf));
	assert_non_null(strstr(err.msg, "buffer_max_size"));
	snprintf(buf, sizeof(buf), "%s    log_level loud\n", in);
	assert_null(build(buf));
	assert_non_null(strstr(err.msg, "k.conf:5: [INPUT] kafka: invalid value 'loud' for 'Log_Level'"));
	/* The filesystem store: its offsets are committed once a chunk is
	 * stored; it needs storage.path. */
	snprintf(buf, sizeof(buf), "[SERVICE]\n    storage.path /nonexistent\n%s    storage.type filesystem\n"
		 "[OUTPUT]\n    Name null\n    Match *\n", in);
	if (!build(buf))
		fail_msg("%s", err.msg);
	snprintf(buf, sizeof(buf), "%s    storage.type filesystem\n[OUTPUT]\n    Name null\n    Match *\n", in);
	assert_null(build(buf));
	assert_non_null(strstr(err.msg, "k.conf:5: [INPUT] kafka: 'storage.type filesystem' needs [SERVICE] storage.path"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passthrough_ok),
		cmocka_unit_test(test_unknown_property),
		cmocka_unit_test(test_bad_value),
		cmocka_unit_test(test_avro_needs_schema),
		cmocka_unit_test(test_unknown_key_still_refused),
		cmocka_unit_test(test_topics),
		cmocka_unit_test(test_topic_names),
		cmocka_unit_test(test_input),
		cmocka_unit_test(test_client_id),
		cmocka_unit_test(test_raw_needs_key),
		cmocka_unit_test(test_input_keys_and_common_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
