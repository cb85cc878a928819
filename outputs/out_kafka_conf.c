/*
 * out_kafka_conf.c — the kafka output's options (Fluent Bit's names and
 * defaults), their checks and the librdkafka configuration they make.
 * Every `rdkafka.<property>` key is passed to rd_kafka_conf_set unchanged;
 * the ones librdkafka rejects stop sluice at start-up with its message.
 *
 * Threads: control thread (setup, teardown); out_kafka_conf_build is also
 * called by each output worker as it starts, on options no longer written.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_conf.h"
#include "dp_log.h"
#include "dp_time.h"
#include "out_kafka.h"
#include "out_kafka_avro.h"

#define C(f) offsetof(struct out_kafka_cfg, f)

const struct dp_opt out_kafka_opts[] = {
	{ "Brokers", DP_OPT_STR, NULL, C(brokers), NULL, 0, 0, DP_OPT_REQUIRED,
	  "Kafka brokers, comma separated (host:port,...): librdkafka's bootstrap.servers." },
	{ "Client_Id", DP_OPT_STR, NULL, C(client_id), NULL, 0, 0, 0,
	  "Client id passed to librdkafka (client.id; an rdkafka.client.id key wins)." },
	{ "Topics", DP_OPT_STR, "fluent-bit", C(topics), NULL, 0, 0, 0,
	  "Topics, comma separated; the first is the default: the one used when Topic_Key is not set, "
	  "not in the record, or names a topic not listed (and Dynamic_Topic is off)." },
	{ "Topic_Key", DP_OPT_STR, NULL, C(topic_key), NULL, 0, 0, 0,
	  "Record key whose value names the topic of the record." },
	{ "Dynamic_Topic", DP_OPT_BOOL, "off", C(dynamic_topic), NULL, 0, 0, 0,
	  "Topics named by Topic_Key that are not in Topics are used too (names Kafka allows only; "
	  "others go to the default topic, logged once)." },
	{ "Message_Key", DP_OPT_STR, NULL, C(message_key), NULL, 0, 0, 0,
	  "Key of every message (picks its partition), when Message_Key_Field is not set or not in "
	  "the record." },
	{ "Message_Key_Field", DP_OPT_STR, NULL, C(message_key_field), NULL, 0, 0, 0,
	  "Record key whose value is the message key: records with the same key go to the same "
	  "partition, in order (murmur2, as the Java client)." },
	{ "Timestamp_Key", DP_OPT_STR, "@timestamp", C(timestamp_key), NULL, 0, 0, 0,
	  "Name of the member holding the record's time, first in each JSON message." },
	{ "Timestamp_Format", DP_OPT_ENUM, "double", C(timestamp_format), "double|iso8601|iso8601_ns", 0, 0, 0,
	  "double: seconds since the epoch with microseconds; iso8601: \"2023-11-14T22:13:20.123456Z\"; "
	  "iso8601_ns: the same with nanoseconds." },
	{ "Format", DP_OPT_ENUM, "json", C(format), "json|msgpack|avro|raw|gelf", 0, 0, 0,
	  "json: one JSON object per message; msgpack: the event [time, {record}] as sluice holds it "
	  "(Fluent Bit's event encoding); avro: the record under Schema_Str in Avro's binary encoding, "
	  "after the Confluent header (byte 0, then Schema_Id as 4 bytes big-endian). Avro messages "
	  "carry the record's fields only, without the time (as Fluent Bit). raw: the string value of "
	  "Raw_Log_Key as it is; a record without it, or where it is not a string, is counted failed "
	  "(logged once)." },
	{ "Raw_Log_Key", DP_OPT_STR, NULL, C(raw_log_key), NULL, 0, 0, 0,
	  "Format raw: the record key whose string value is the message." },
	{ "Gelf_Short_Message_Key", DP_OPT_STR, NULL, C(gelf_short_message_key), NULL, 0, 0, 0,
	  "Format gelf: record key of short_message (default short_message); a record without it "
	  "fails. GELF as Fluent Bit writes it, see outputs/out_gelf.h." },
	{ "Gelf_Full_Message_Key", DP_OPT_STR, NULL, C(gelf_full_message_key), NULL, 0, 0, 0,
	  "Format gelf: record key of full_message (default full_message)." },
	{ "Gelf_Level_Key", DP_OPT_STR, NULL, C(gelf_level_key), NULL, 0, 0, 0,
	  "Format gelf: record key of level (default level); syslog keywords become numbers." },
	{ "Gelf_Host_Key", DP_OPT_STR, NULL, C(gelf_host_key), NULL, 0, 0, 0,
	  "Format gelf: record key of host (default host)." },
	{ "Gelf_Timestamp_Key", DP_OPT_STR, NULL, C(gelf_timestamp_key), NULL, 0, 0, 0,
	  "Format gelf: record key of timestamp (default timestamp); without it, the record's time "
	  "with milliseconds." },
	{ "Queue_Full_Retries", DP_OPT_INT, "10", C(queue_full_retries), NULL, 0, 1000000, 0,
	  "Seconds a worker may stay blocked on a full librdkafka queue with nothing produced before "
	  "sluice logs a warning (once per stall, and again when it ends); 0: never warn. Fluent Bit "
	  "retries that many times, 1 s apart, then hands the chunk back; sluice never sleeps or "
	  "drops: the worker stops taking chunks until the queue has room (backpressure), however "
	  "long that takes." },
	{ "Schema_Str", DP_OPT_STR, NULL, C(schema_str), NULL, 0, 0, 0,
	  "Avro schema (JSON) for Format avro; its top level must be a record. Its fields take the "
	  "record's members of the same name (others are left out); a field the record lacks is null "
	  "if its type allows null, else the record is counted failed (logged once per field and "
	  "cause)." },
	{ "Schema_Id", DP_OPT_INT, "0", C(schema_id), NULL, 0, 2147483647, 0,
	  "Schema registry id of Schema_Str, written in every Avro message's header." },
	{ "rdkafka.<property>", DP_OPT_STR, NULL, C(rdkafka_doc), NULL, 0, 0, 0,
	  "Any librdkafka property, passed unchanged (rdkafka.compression.codec lz4, rdkafka.acks all, "
	  "rdkafka.security.protocol, rdkafka.sasl.*, rdkafka.ssl.*, rdkafka.linger.ms ...). sluice sets "
	  "enable.idempotence=true and partitioner=murmur2_random unless given." },
	{ NULL },
};

bool out_kafka_topic_is_valid(const char *s, size_t n)
{
	if (n == 0 || n > 249 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Split a comma list, trimming blanks. */
static int split_topics(struct out_kafka_cfg *cfg, struct dp_err *err)
{
	err->key = "Topics";
	for (const char *p = cfg->topics; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		const char *t = e;
		while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if (t > p) {
			if (!out_kafka_topic_is_valid(p, (size_t)(t - p)))
				return dp_err_set(err, -EINVAL, "'%.*s' is not a valid Kafka topic name "
						  "(1..249 of a-z A-Z 0-9 . _ -)", (int)(t - p), p);
			if (cfg->ntopics == OUT_KAFKA_MAX_TOPICS)
				return dp_err_set(err, -E2BIG, "more than %d topics", OUT_KAFKA_MAX_TOPICS);
			cfg->topic[cfg->ntopics++] = strndup(p, (size_t)(t - p));
		}
		p = e;
	}
	if (!cfg->ntopics)
		return dp_err_set(err, -EINVAL, "no topic given");
	return 0;
}

int out_kafka_setup(struct dp_output *o, struct dp_err *err)
{
	struct out_kafka_cfg *cfg = o->cfg;
	if (cfg->format == OUT_KAFKA_AVRO) {
		if (!cfg->schema_str) {
			err->key = "Format";
			return dp_err_set(err, -EINVAL, "Format avro needs Schema_Str (the Avro schema, JSON)");
		}
		/* Each worker parses its own copy; this one only judges it. */
		err->key = "Schema_Str";
		int rc = out_kafka_avro_check(cfg->schema_str, err);
		if (rc) {
			char m[sizeof(err->msg)];
			snprintf(m, sizeof(m), "%s", err->msg);
			return dp_err_set(err, rc, "Schema_Str: %s", m);
		}
		err->key = NULL;
	}
	if (cfg->format == OUT_KAFKA_RAW && !cfg->raw_log_key) {
		err->key = "Format";
		return dp_err_set(err, -EINVAL, "Format raw needs Raw_Log_Key (the key holding the message)");
	}
	cfg->raw_log_key_len = cfg->raw_log_key ? strlen(cfg->raw_log_key) : 0;
	if (!cfg->brokers || !*cfg->brokers) {
		err->key = NULL;
		return dp_err_set(err, -EINVAL, "missing required key 'Brokers'");
	}
	cfg->topic = calloc(OUT_KAFKA_MAX_TOPICS, sizeof(*cfg->topic));
	if (!cfg->topic)
		return dp_err_set(err, -ENOMEM, "out of memory");
	int rc = split_topics(cfg, err);
	if (rc)
		return rc;
	cfg->message_key_len = cfg->message_key ? strlen(cfg->message_key) : 0;
	cfg->message_key_field_len = cfg->message_key_field ? strlen(cfg->message_key_field) : 0;
	cfg->topic_key_len = cfg->topic_key ? strlen(cfg->topic_key) : 0;
	/* The section is readable during setup only: keep the rdkafka.* pairs. */
	if ((rc = dp_kafka_props_collect(&cfg->props, o->sec, err)))
		return rc;
	/* Let librdkafka judge every property now, not when a worker starts. */
	rd_kafka_conf_t *kc = out_kafka_conf_build(o, err);
	if (!kc)
		return err->code;
	rd_kafka_conf_destroy(kc);
	/* A key picks the worker (out_kafka.c, is_mine). */
	o->fanout = o->workers > 1 && cfg->message_key_field;
	return 0;
}

rd_kafka_conf_t *out_kafka_conf_build(const struct dp_output *o, struct dp_err *err)
{
	const struct out_kafka_cfg *cfg = o->cfg;
	char errstr[512];
	rd_kafka_conf_t *kc = rd_kafka_conf_new();
	static const char *const defaults[][2] = {
		/* Retries inside librdkafka never reorder or duplicate. */
		{ "enable.idempotence", "true" },
		/* Keyed messages partitioned as the Java client does. */
		{ "partitioner", "murmur2_random" },
	};
	for (unsigned i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (rd_kafka_conf_set(kc, defaults[i][0], defaults[i][1], errstr, sizeof(errstr)) !=
		    RD_KAFKA_CONF_OK) {
			dp_err_set(err, -EINVAL, "librdkafka: %s", errstr);
			rd_kafka_conf_destroy(kc);
			return NULL;
		}
	if (rd_kafka_conf_set(kc, "bootstrap.servers", cfg->brokers, errstr, sizeof(errstr)) !=
	    RD_KAFKA_CONF_OK) {
		err->key = "Brokers";
		dp_err_set(err, -EINVAL, "Brokers: %s", errstr);
		rd_kafka_conf_destroy(kc);
		return NULL;
	}
	if (cfg->client_id &&
	    rd_kafka_conf_set(kc, "client.id", cfg->client_id, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		err->key = "Client_Id";
		dp_err_set(err, -EINVAL, "Client_Id: %s", errstr);
		rd_kafka_conf_destroy(kc);
		return NULL;
	}
	if (dp_kafka_props_apply(&cfg->props, kc, err)) {
		rd_kafka_conf_destroy(kc);
		return NULL;
	}
	return kc;
}

void out_kafka_qfull_note(struct out_kafka_qfull *q, const struct dp_output *o, bool blocked, bool progress,
			  int64_t depth)
{
	const struct out_kafka_cfg *cfg = o->cfg;
	if (!blocked || progress) {
		if (q->warned)
			dp_plg_info(o, "librdkafka's queue has room again after %.0f s",
				(double)(dp_time_mono_ns() - q->since_ns) / 1e9);
		q->since_ns = 0;
		q->warned = false;
		/* Still blocked but moving: a new stall may start now. */
		if (blocked)
			q->since_ns = dp_time_mono_ns();
		return;
	}
	uint64_t now = dp_time_mono_ns();
	if (!q->since_ns) {
		q->since_ns = now;
		return;
	}
	if (q->warned || cfg->queue_full_retries <= 0 ||
	    now - q->since_ns < (uint64_t)cfg->queue_full_retries * 1000000000ull)
		return;
	q->warned = true;
	dp_plg_warn(o, "librdkafka's queue has been full for %.0f s with nothing produced (%lld messages "
		"waiting for the brokers): the output holds its input back (backpressure), nothing is "
		"dropped (Queue_Full_Retries %lld)", (double)(now - q->since_ns) / 1e9,
		(long long)depth, (long long)cfg->queue_full_retries);
}

void out_kafka_teardown(struct dp_output *o)
{
	struct out_kafka_cfg *cfg = o->cfg;
	for (unsigned i = 0; cfg->topic && i < cfg->ntopics; i++)
		free(cfg->topic[i]);
	free(cfg->topic);
	dp_kafka_props_free(&cfg->props);
	cfg->topic = NULL;
	cfg->ntopics = 0;
}
