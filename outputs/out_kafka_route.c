/*
 * out_kafka_route.c — where a kafka output record goes: its topic
 * (Topics, Topic_Key, Dynamic_Topic), its key (Message_Key_Field,
 * Message_Key), the worker it belongs to (fanout), and with the default
 * partitioner its partition, computed here so that librdkafka gets one
 * batch per partition.
 *
 * Threads: the output worker owning struct kafka_worker; the partitioner
 * also runs on librdkafka's main thread (see out_kafka_producing).
 */
#include <string.h>
#include "dp_log.h"
#include "dp_time.h"
#include "out_kafka_int.h"

/* Set while this thread is inside rd_kafka_produce_batch: only then is a
 * count the partitioner sees safe to use for partitioning ourselves (when
 * librdkafka's main thread partitions messages that waited for metadata,
 * they may not all be in their partition queues yet). */
__thread bool out_kafka_producing;

/* The murmur2_random partitioner, noting the partition count. */
int32_t out_kafka_partitioner(const rd_kafka_topic_t *rkt, const void *key, size_t keylen, int32_t cnt,
			      void *rkt_opaque, void *msg_opaque)
{
	struct topic_parts *tp = rkt_opaque;
	if (out_kafka_producing && tp)
		atomic_store_explicit(&tp->cnt, cnt, memory_order_relaxed);
	return rd_kafka_msg_partitioner_murmur2_random(rkt, key, keylen, cnt, rkt_opaque, msg_opaque);
}

rd_kafka_topic_t *out_kafka_topic_new(struct kafka_worker *w, const char *name)
{
	rd_kafka_topic_conf_t *tc = rd_kafka_default_topic_conf_dup(w->rk);
	if (!tc)
		return NULL;
	rd_kafka_topic_conf_set_opaque(tc, &w->parts[w->ntopics]);
	rd_kafka_topic_t *t = rd_kafka_topic_new(w->rk, name, tc);
	if (!t)
		return NULL;
	w->topic[w->ntopics++] = t;
	return t;
}

rd_kafka_topic_t *out_kafka_topic_of(struct kafka_worker *w, const struct dp_chunk *c, const struct dp_rec *r)
{
	if (!w->cfg->topic_key)
		return w->topic[0];
	const struct dp_field *f = dp_rec_field_get(c, r, w->cfg->topic_key, w->cfg->topic_key_len);
	if (!f || f->type != DP_T_STR)
		return w->topic[0];
	const char *name = dp_field_val(c, f);
	size_t n = f->val_len;
	for (unsigned i = 0; i < w->ntopics; i++) {
		const char *t = rd_kafka_topic_name(w->topic[i]);
		if (strlen(t) == n && !memcmp(t, name, n))
			return w->topic[i];
	}
	if (!w->cfg->dynamic_topic)
		return w->topic[0];
	if (!out_kafka_topic_is_valid(name, n)) {
		if (!w->bad_topic_logged)
			dp_plg_warn(w->o, "Topic_Key '%s' names '%.*s', not a valid Kafka topic name: records sent "
				"to '%s' (logged once)", w->cfg->topic_key, (int)(n > 64 ? 64 : n),
				name, w->cfg->topic[0]);
		w->bad_topic_logged = true;
		return w->topic[0];
	}
	if (w->ntopics == OUT_KAFKA_MAX_TOPICS) {
		if (!w->topics_full_logged)
			dp_plg_warn(w->o, "more than %d topics: records for new ones sent to '%s' (logged once)",
				    OUT_KAFKA_MAX_TOPICS, w->cfg->topic[0]);
		w->topics_full_logged = true;
		return w->topic[0];
	}
	/* A new topic: rare, so the allocation is acceptable here. */
	char buf[256];
	memcpy(buf, name, n);
	buf[n] = 0;
	rd_kafka_topic_t *t = out_kafka_topic_new(w, buf);
	return t ? t : w->topic[0];
}

/* The message key: Message_Key_Field's value (text; other types as JSON),
 * else Message_Key, else none. */
void out_kafka_key_of(struct kafka_worker *w, const struct dp_chunk *c, const struct dp_rec *r,
		      rd_kafka_message_t *m, char **scratch, char *end)
{
	const struct out_kafka_cfg *cfg = w->cfg;
	m->key = cfg->message_key;
	m->key_len = cfg->message_key_len;
	if (!cfg->message_key_field)
		return;
	const struct dp_field *f = dp_rec_field_get(c, r, cfg->message_key_field, cfg->message_key_field_len);
	if (!f)
		return;
	if (f->type == DP_T_STR || f->type == DP_T_BIN) {
		m->key = (void *)dp_field_val(c, f);
		m->key_len = f->val_len;
		return;
	}
	size_t n = out_json_value(c, f, *scratch, (size_t)(end - *scratch));
	if (n) {
		m->key = *scratch;
		m->key_len = n;
		*scratch += n;
	}
}

/* With Workers > 1 and Message_Key_Field (o->fanout), every worker sees
 * every chunk and produces the records whose key hashes to it (murmur2,
 * as the partition), so all records of a key go through one producer in
 * the order they came; keyless records stay with their shard's worker. */
bool out_kafka_is_mine(const struct kafka_worker *w, const struct dp_chunk *c, const void *key,
		       size_t key_len)
{
	if (!w->o->fanout)
		return true;
	unsigned k = key ? (unsigned)rd_kafka_msg_partitioner_murmur2(w->topic[0], key, key_len,
								      (int32_t)w->nw, NULL, NULL)
			 : c->shard % w->nw;
	return k == w->nth;
}

/* msgs[0..n) for topic t sorted by partition (stable, so a key keeps its
 * order) and produced one rd_kafka_produce_batch per partition: the
 * partition is murmur2(key) mod count, as librdkafka's murmur2_random
 * would pick, and keyless records share one partition per batch. Returns
 * the sorted array, or NULL when librdkafka must partition (count not
 * known yet, or its periodic look at the count is due). */
rd_kafka_message_t *out_kafka_produce_by_partition(struct kafka_worker *w, rd_kafka_topic_t *t, unsigned n,
						   int flags)
{
	struct topic_parts *tp = rd_kafka_topic_opaque(t);
	int32_t cnt = tp ? atomic_load_explicit(&tp->cnt, memory_order_relaxed) : 0;
	if (!w->self_partition || cnt <= 0 || cnt > MAX_PARTS)
		return NULL;
	uint64_t now = dp_time_mono_ns();
	if (now >= w->ua_at) {
		w->ua_at = now + PCNT_REFRESH_NS;
		return NULL;
	}
	uint32_t first[MAX_PARTS + 1];
	memset(first, 0, sizeof(first[0]) * (size_t)(cnt + 1));
	int32_t sticky = (int32_t)(tp->sticky++ % (uint32_t)cnt);
	for (unsigned i = 0; i < n; i++) {
		const rd_kafka_message_t *m = &w->msgs[i];
		w->part[i] = m->key ? rd_kafka_msg_partitioner_murmur2(t, m->key, m->key_len, cnt, NULL, NULL)
				    : sticky;
		first[w->part[i] + 1]++;
	}
	for (int32_t p = 0; p < cnt; p++)
		first[p + 1] += first[p];
	for (unsigned i = 0; i < n; i++)
		w->sorted[first[w->part[i]]++] = w->msgs[i];
	/* first[p] is now the end of partition p's run */
	uint32_t b = 0;
	for (int32_t p = 0; p < cnt; p++) {
		if (first[p] > b)
			rd_kafka_produce_batch(t, p, flags, w->sorted + b, (int)(first[p] - b));
		b = first[p];
	}
	return w->sorted;
}
