/*
 * out_kafka.h — shared by the kafka output's two files: out_kafka_conf.c
 * (options, checks, the librdkafka configuration; control thread) and
 * out_kafka.c (the producer of each output worker).
 */
#ifndef OUT_KAFKA_H
#define OUT_KAFKA_H

#include <librdkafka/rdkafka.h>
#include "dp_kafka_props.h"
#include "dp_plugin.h"

#define OUT_KAFKA_MAX_TOPICS 256  /* Topics plus those Dynamic_Topic adds, per worker */

enum out_kafka_fmt { OUT_KAFKA_JSON, OUT_KAFKA_MSGPACK, OUT_KAFKA_AVRO, OUT_KAFKA_RAW, OUT_KAFKA_GELF };
enum out_kafka_ts { OUT_KAFKA_TS_DOUBLE, OUT_KAFKA_TS_ISO8601, OUT_KAFKA_TS_ISO8601_NS };

struct out_kafka_cfg {
	/* options */
	char *brokers;
	char *client_id;
	char *topics;
	char *topic_key;
	bool dynamic_topic;
	char *message_key;
	char *message_key_field;
	char *timestamp_key;
	int timestamp_format;   /* enum out_kafka_ts */
	int format;             /* enum out_kafka_fmt */
	int64_t queue_full_retries;
	char *schema_str;
	int64_t schema_id;
	char *raw_log_key;
	char *gelf_short_message_key, *gelf_full_message_key, *gelf_level_key, *gelf_host_key,
	     *gelf_timestamp_key;
	char *rdkafka_doc;      /* the documentation row of rdkafka.*, never set */
	/* filled by setup */
	char **topic;           /* Topics split; topic[0] the default */
	unsigned ntopics;
	struct dp_kafka_props props; /* rdkafka.* */
	size_t message_key_len, message_key_field_len, topic_key_len, raw_log_key_len;
};

/* Queue_Full_Retries: how long a worker has been held back by a full
 * librdkafka queue with nothing produced (out_kafka_conf.c). */
struct out_kafka_qfull {
	uint64_t since_ns;      /* first poll of this stall; 0: not stalled */
	bool warned;
};

/* Called by the worker at every poll: blocked when records wait for room
 * in the queue, progress when any record was produced since the last
 * call. Warns once a stall lasts Queue_Full_Retries seconds, and says
 * when it ends. Worker thread; no allocation, at most two log lines per
 * stall. */
void out_kafka_qfull_note(struct out_kafka_qfull *q, const struct dp_output *o, bool blocked, bool progress,
			  int64_t depth);

/* A librdkafka configuration from cfg (defaults, then every rdkafka.*),
 * or NULL with err naming the property and librdkafka's message. */
rd_kafka_conf_t *out_kafka_conf_build(const struct dp_output *o, struct dp_err *err);

/* Kafka's rule for topic names: 1..249 of [a-zA-Z0-9._-], not "." or "..". */
bool out_kafka_topic_is_valid(const char *s, size_t n);

extern const struct dp_opt out_kafka_opts[];
int out_kafka_setup(struct dp_output *o, struct dp_err *err);
void out_kafka_teardown(struct dp_output *o);

#endif
