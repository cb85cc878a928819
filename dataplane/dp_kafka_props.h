/*
 * dp_kafka_props.h — the `rdkafka.<property>` keys of a Kafka output or
 * input, kept from the configuration section (readable during setup only)
 * and handed to librdkafka unchanged. Control thread, and the threads that
 * build a producer or consumer from them (read only).
 */
#ifndef DP_KAFKA_PROPS_H
#define DP_KAFKA_PROPS_H

#include <librdkafka/rdkafka.h>
#include "dp_conf.h"

struct dp_kafka_props {
	char **key;   /* with the "rdkafka." prefix removed */
	char **val;
	unsigned n;
};

/* Copy every rdkafka.* pair of s. 0 or -ENOMEM. */
int dp_kafka_props_collect(struct dp_kafka_props *p, const struct dp_conf_section *s,
			    struct dp_err *err);
/* Set them on kc; -EINVAL with err naming the key (err->key points at it,
 * for the caller's file:line) and librdkafka's message. */
int dp_kafka_props_apply(const struct dp_kafka_props *p, rd_kafka_conf_t *kc, struct dp_err *err);
void dp_kafka_props_free(struct dp_kafka_props *p);

#endif
