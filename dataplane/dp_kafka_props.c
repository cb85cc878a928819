/*
 * dp_kafka_props.c — rdkafka.* pass-through (dp_kafka_props.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_kafka_props.h"

int dp_kafka_props_collect(struct dp_kafka_props *p, const struct dp_conf_section *s,
			    struct dp_err *err)
{
	p->key = calloc(s->nkv + 1, sizeof(char *));
	p->val = calloc(s->nkv + 1, sizeof(char *));
	if (!p->key || !p->val)
		return dp_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < s->nkv; i++) {
		if (strncasecmp(s->kv[i].key, "rdkafka.", 8))
			continue;
		p->key[p->n] = strdup(s->kv[i].key + 8);
		p->val[p->n] = strdup(s->kv[i].val);
		if (!p->key[p->n] || !p->val[p->n]) {
			p->n++;
			return dp_err_set(err, -ENOMEM, "out of memory");
		}
		p->n++;
	}
	return 0;
}

int dp_kafka_props_apply(const struct dp_kafka_props *p, rd_kafka_conf_t *kc, struct dp_err *err)
{
	char errstr[512];
	for (unsigned i = 0; i < p->n; i++) {
		if (rd_kafka_conf_set(kc, p->key[i], p->val[i], errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK)
			continue;
		/* err->key must outlive this call. */
		static __thread char key[128];
		snprintf(key, sizeof(key), "rdkafka.%s", p->key[i]);
		err->key = key;
		return dp_err_set(err, -EINVAL, "rdkafka.%s: %s", p->key[i], errstr);
	}
	return 0;
}

void dp_kafka_props_free(struct dp_kafka_props *p)
{
	for (unsigned i = 0; i < p->n; i++) {
		free(p->key[i]);
		free(p->val[i]);
	}
	free(p->key);
	free(p->val);
	memset(p, 0, sizeof(*p));
}
