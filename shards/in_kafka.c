/*
 * in_kafka.c — Fluent Bit's `kafka` input: one librdkafka consumer per
 * shard, all in the same group (Group_Id), so the group's partitions are
 * spread over the shards. Each tick (Poll_Ms) a shard takes the messages
 * its consumer has fetched and turns each into a record, as Fluent Bit
 * does:
 *
 *   {"topic": "t", "partition": 0, "offset": 42, "error": null,
 *    "key": "k" | null, "payload": "text" | {parsed JSON with Format json}}
 *
 * At-least-once: offsets are stored (rd_kafka_offsets_store, with
 * enable.auto.offset.store=false) only when the chunk holding the message
 * came back from every output it was routed to (chunk_released), and in
 * chunk order, so librdkafka's auto-commit never commits past a record that
 * is not delivered yet. Records still held when sluice stops are consumed
 * again on the next start.
 *
 * Memory: when the input's pool is empty, the message that did not fit is
 * kept and the shard stops polling; librdkafka then stops fetching once its
 * own queue is full (queued.max.messages.kbytes). A stall longer than
 * max.poll.interval.ms makes the consumer leave the group (its partitions
 * go to the other shards, which consume again from the stored offsets).
 *
 * Threads: setup on the control thread; everything else on the shard that
 * owns the context (librdkafka runs its own threads internally).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <librdkafka/rdkafka.h>
#include "dp_conf.h"
#include "dp_log.h"
#include "dp_pool.h"
#include "dp_kafka_props.h"
#include "psr_json.h"
#include "shard.h"

#define MAX_TP 256          /* topic-partitions one shard tracks */
#define PER_TICK 4096       /* messages taken per tick at most */

struct in_kafka_cfg {
	char *brokers;
	char *topics;
	char *group_id;
	char *client_id;
	int format;             /* 0 none, 1 json */
	int64_t poll_ms;
	int64_t poll_timeout_ms;
	int64_t buffer_max_size;
	bool enable_auto_commit;
	char *rdkafka_doc;
	/* filled by setup */
	struct dp_kafka_props props; /* rdkafka.* */
};

#define C(f) offsetof(struct in_kafka_cfg, f)

static const struct dp_opt kafka_opts[] = {
	{ "Brokers", DP_OPT_STR, NULL, C(brokers), NULL, 0, 0, DP_OPT_REQUIRED,
	  "Kafka brokers, comma separated (host:port,...)." },
	{ "Topics", DP_OPT_STR, NULL, C(topics), NULL, 0, 0, DP_OPT_REQUIRED,
	  "Topics to subscribe to, comma separated." },
	{ "Group_Id", DP_OPT_STR, "fluent-bit", C(group_id), NULL, 0, 0, 0,
	  "Consumer group; every shard's consumer joins it, so partitions are spread over shards." },
	{ "Client_Id", DP_OPT_STR, NULL, C(client_id), NULL, 0, 0, 0, "Client id passed to librdkafka." },
	{ "Format", DP_OPT_ENUM, "none", C(format), "none|json", 0, 0, 0,
	  "none: the payload as a string; json: the payload parsed as a JSON object (a message that "
	  "is not one is counted malformed and skipped)." },
	{ "Poll_Ms", DP_OPT_INT, "500", C(poll_ms), NULL, 1, 3600000, 0,
	  "Longest wait in milliseconds before a shard takes the messages its consumer fetched "
	  "(shards look at least every 10 ms)." },
	{ "poll_timeout_ms", DP_OPT_INT, "1", C(poll_timeout_ms), NULL, 0, 3600000, 0,
	  "Fluent Bit: how long a threaded input's consumer poll may block. Checked and stored: a "
	  "shard never blocks, it takes what its consumer fetched on each tick." },
	{ "buffer_max_size", DP_OPT_SIZE, "4M", C(buffer_max_size), NULL, 1, INT64_MAX, 0,
	  "Most payload bytes a shard takes from its consumer per tick; the rest waits for the next "
	  "tick." },
	{ "enable_auto_commit", DP_OPT_BOOL, "false", C(enable_auto_commit), NULL, 0, 0, 0,
	  "true: librdkafka's auto-commit commits the stored offsets in batches "
	  "(auto.commit.interval.ms). false: sluice commits them itself each time a chunk was "
	  "delivered. Either way an offset is stored only once its record was delivered." },
	{ "rdkafka.<property>", DP_OPT_STR, NULL, C(rdkafka_doc), NULL, 0, 0, 0,
	  "Any librdkafka consumer property, passed unchanged (rdkafka.auto.offset.reset earliest, "
	  "rdkafka.security.protocol ...). enable.auto.offset.store is always false: offsets are "
	  "stored once the records were delivered." },
	{ NULL },
};

/* Offsets of one chunk's messages: the highest per topic-partition. */
struct chunk_offs {
	uint64_t seq;
	bool released;
	int64_t off[MAX_TP];    /* -1: none */
};

struct kafka_ctx {
	struct dp_input *in;
	struct in_kafka_cfg *cfg;
	rd_kafka_t *rk;
	unsigned shard;
	/* topic-partitions seen, by slot */
	struct { char *topic; int32_t partition; } tp[MAX_TP];
	unsigned ntp;
	/* chunks not yet released, oldest first: [head, tail) by seq */
	struct chunk_offs *fifo;
	uint64_t head, tail;
	unsigned cap;
	struct dp_chunk *cur;   /* chunk of fifo entry tail - 1 */
	rd_kafka_message_t *stash;   /* did not fit: first next tick */
	rd_kafka_message_t *msg;     /* the one being parsed */
	/* scratch for Format json: the payload parsed, then copied as a map */
	struct dp_chunk scratch;
	uint64_t errors_logged;
};

static rd_kafka_conf_t *conf_build(const struct dp_input *in, struct dp_err *err)
{
	const struct in_kafka_cfg *cfg = in->cfg;
	char errstr[512];
	rd_kafka_conf_t *kc = rd_kafka_conf_new();
	const char *set[][2] = {
		{ "bootstrap.servers", cfg->brokers },
		{ "group.id", cfg->group_id },
		{ "client.id", cfg->client_id },
		{ "enable.auto.commit", cfg->enable_auto_commit ? "true" : "false" },
	};
	for (unsigned i = 0; i < 4; i++) {
		if (set[i][1] && rd_kafka_conf_set(kc, set[i][0], set[i][1], errstr, sizeof(errstr))) {
			err->key = i == 0 ? "Brokers" : i == 1 ? "Group_Id" : i == 2 ? "Client_Id" :
				   "enable_auto_commit";
			dp_err_set(err, -EINVAL, "%s", errstr);
			rd_kafka_conf_destroy(kc);
			return NULL;
		}
	}
	if (dp_kafka_props_apply(&cfg->props, kc, err)) {
		rd_kafka_conf_destroy(kc);
		return NULL;
	}
	/* At-least-once: offsets are stored by chunk_released only. */
	rd_kafka_conf_set(kc, "enable.auto.offset.store", "false", errstr, sizeof(errstr));
	return kc;
}

static int setup(struct dp_input *in, struct dp_err *err)
{
	struct in_kafka_cfg *cfg = in->cfg;
	int rc = dp_kafka_props_collect(&cfg->props, in->sec, err);
	if (rc)
		return rc;
	rd_kafka_conf_t *kc = conf_build(in, err);
	if (!kc)
		return err->code;
	rd_kafka_conf_destroy(kc);
	in->net = DP_NET_TIMER;
	in->tick_all_shards = true;
	/* Fluent Bit's poll_ms is how long its consumer thread may wait in
	 * rd_kafka_consumer_poll; here a shard looks at its consumer on a
	 * timer, so the same bound is the interval, at most 10 ms so that
	 * throughput is not capped at PER_TICK per Poll_Ms. */
	in->tick_ns = (uint64_t)(cfg->poll_ms < 10 ? cfg->poll_ms : 10) * 1000000ull;
	return 0;
}

static void teardown(struct dp_input *in)
{
	struct in_kafka_cfg *cfg = in->cfg;
	dp_kafka_props_free(&cfg->props);
}

static void ctx_destroy(void *p)
{
	struct kafka_ctx *x = p;
	if (!x)
		return;
	if (x->stash)
		rd_kafka_message_destroy(x->stash);
	if (x->rk) {
		/* Commits what was stored (enable_auto_commit false: here,
		 * synchronously), leaves the group. */
		if (!x->cfg->enable_auto_commit)
			rd_kafka_commit(x->rk, NULL, 0);
		rd_kafka_consumer_close(x->rk);
		rd_kafka_destroy(x->rk);
	}
	for (unsigned i = 0; i < x->ntp; i++)
		free(x->tp[i].topic);
	free(x->fifo);
	free(x->scratch.recs);
	free(x->scratch.fields);
	free(x->scratch.data);
	free(x);
}

static void *ctx_create(struct dp_input *in, unsigned shard)
{
	struct in_kafka_cfg *cfg = in->cfg;
	struct kafka_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->in = in;
	x->cfg = cfg;
	x->shard = shard;
	/* Every chunk of this input on this shard can be waiting at once. */
	x->cap = in->pool_chunks + 2;
	x->fifo = calloc(x->cap, sizeof(*x->fifo));
	struct dp_rec *recs = calloc(4, sizeof(*recs));
	struct dp_field *fields = calloc(DP_CHUNK_FIELDS, sizeof(*fields));
	uint8_t *data = malloc(DP_CHUNK_DATA);
	dp_chunk_init(&x->scratch, recs, fields, data);
	struct dp_err err = { 0 };
	rd_kafka_conf_t *kc = conf_build(in, &err);
	char errstr[512];
	if (!x->fifo || !recs || !fields || !data || !kc ||
	    !(x->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, sizeof(errstr)))) {
		dp_plg_error(in, "shard %u: cannot create the consumer: %s", shard,
			 kc ? errstr : err.msg);
		if (kc)
			rd_kafka_conf_destroy(kc);
		ctx_destroy(x);
		return NULL;
	}
	rd_kafka_poll_set_consumer(x->rk);
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
	char *topics = strdup(cfg->topics);
	for (char *save = NULL, *t = strtok_r(topics, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save))
		rd_kafka_topic_partition_list_add(l, t, RD_KAFKA_PARTITION_UA);
	free(topics);
	rd_kafka_resp_err_t e = rd_kafka_subscribe(x->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (e)
		dp_plg_error(in, "shard %u: subscribe: %s", shard, rd_kafka_err2str(e));
	return x;
}

/* Slot of a topic-partition, or -1 when the table is full. */
static int tp_slot(struct kafka_ctx *x, const rd_kafka_message_t *m)
{
	const char *t = rd_kafka_topic_name(m->rkt);
	for (unsigned i = 0; i < x->ntp; i++)
		if (x->tp[i].partition == m->partition && !strcmp(x->tp[i].topic, t))
			return (int)i;
	if (x->ntp == MAX_TP)
		return -1;
	x->tp[x->ntp].topic = strdup(t);
	x->tp[x->ntp].partition = m->partition;
	return (int)x->ntp++;
}

static void put_strn(struct dp_chunk *c, const char *k, const void *v, size_t n)
{
	dp_chunk_put_str(c, k, strlen(k), v ? v : "", v ? n : 0);
}

/* The record of x->msg (shard_emit calls it with the payload). */
static int parse(struct dp_chunk *c, const char *p, size_t len, void *ctx)
{
	struct kafka_ctx *x = ctx;
	const rd_kafka_message_t *m = x->msg;
	const char *t = rd_kafka_topic_name(m->rkt);
	put_strn(c, "topic", t, strlen(t));
	dp_chunk_put_int(c, "partition", 9, m->partition);
	dp_chunk_put_int(c, "offset", 6, m->offset);
	dp_chunk_put_nil(c, "error", 5);
	if (m->key)
		put_strn(c, "key", m->key, m->key_len);
	else
		dp_chunk_put_nil(c, "key", 3);
	if (x->cfg->format == 0) {
		put_strn(c, "payload", p, len);
		return 0;
	}
	/* Format json: parse into the scratch chunk, then copy its map as
	 * the value of payload (event = 0x92, ext8 time (10 bytes), map). */
	struct dp_chunk *s = &x->scratch;
	dp_chunk_reset(s);
	dp_chunk_rec_begin(s, 0, 0);
	if (psr_json_parse(s, p ? p : "", len) || dp_chunk_rec_end(s)) {
		dp_chunk_rec_abort(s);
		return -EINVAL;
	}
	const struct dp_rec *r = &s->recs[0];
	dp_chunk_field_begin(c, "payload", 7);
	dp_chunk_write(c, s->data + r->off + 11, r->len - 11);
	dp_chunk_field_end(c, DP_T_MAP);
	return 0;
}

/* Note the message's offset in the entry of the chunk it went to. */
static void track(struct kafka_ctx *x, struct dp_chunk *c, const rd_kafka_message_t *m)
{
	if (!c)
		return;
	if (c != x->cur || x->head == x->tail || c->in_meta[0] != x->tail) {
		/* A chunk we have not seen yet: a new entry (in_meta[0] =
		 * seq + 1, so a fresh chunk's 0 never matches). */
		if (x->tail - x->head == x->cap)
			return;   /* cannot happen: cap >= the input's pool */
		struct chunk_offs *e = &x->fifo[x->tail % x->cap];
		e->seq = x->tail;
		e->released = false;
		for (unsigned i = 0; i < MAX_TP; i++)
			e->off[i] = -1;
		c->in_meta[0] = x->tail + 1;
		x->tail++;
		x->cur = c;
	}
	int s = tp_slot(x, m);
	if (s >= 0)
		x->fifo[(x->tail - 1) % x->cap].off[s] = m->offset;
}

/* The oldest released chunks: store their offsets (next to consume). */
static void store_released(struct kafka_ctx *x)
{
	rd_kafka_topic_partition_list_t *l = NULL;
	while (x->head != x->tail && x->fifo[x->head % x->cap].released) {
		struct chunk_offs *e = &x->fifo[x->head % x->cap];
		for (unsigned i = 0; i < x->ntp; i++) {
			if (e->off[i] < 0)
				continue;
			if (!l)
				l = rd_kafka_topic_partition_list_new((int)x->ntp);
			rd_kafka_topic_partition_t *tp =
				rd_kafka_topic_partition_list_find(l, x->tp[i].topic, x->tp[i].partition);
			if (!tp)
				tp = rd_kafka_topic_partition_list_add(l, x->tp[i].topic, x->tp[i].partition);
			tp->offset = e->off[i] + 1;
		}
		x->head++;
	}
	if (!l)
		return;
	/* Partitions revoked meanwhile refuse the store: their new owner
	 * consumes those records again (at-least-once). */
	rd_kafka_offsets_store(x->rk, l);
	/* enable_auto_commit false, Fluent Bit's default: commit the stored offsets now (once
	 * per delivered chunk, asynchronously) rather than in batches. */
	if (!x->cfg->enable_auto_commit)
		rd_kafka_commit(x->rk, NULL, 1);
	rd_kafka_topic_partition_list_destroy(l);
}

static void chunk_released(struct dp_input *in, void *ctx, struct dp_chunk *c)
{
	(void)in;
	struct kafka_ctx *x = ctx;
	if (!x || !c->in_meta[0])
		return;
	uint64_t seq = c->in_meta[0] - 1;
	if (seq < x->head || seq >= x->tail)
		return;
	x->fifo[seq % x->cap].released = true;
	if (c == x->cur)
		x->cur = NULL;   /* it will be reused for other records */
	store_released(x);
}

static void tick(struct dp_input *in, struct shard *sh, void *ctx, uint64_t now_real_ns)
{
	(void)now_real_ns;
	struct kafka_ctx *x = ctx;
	if (!x)
		return;
	struct shard_in *si = &sh->ins[in->id];
	int64_t bytes = 0;
	for (unsigned n = 0; n < PER_TICK && bytes < x->cfg->buffer_max_size; n++) {
		rd_kafka_message_t *m = x->stash;
		x->stash = NULL;
		if (!m && !(m = rd_kafka_consumer_poll(x->rk, 0)))
			return;
		if (m->err) {
			/* End of partition and broker errors: librdkafka
			 * recovers by itself; say so, not for every one. */
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && x->errors_logged++ % 1000 == 0)
				dp_plg_warn(in, "shard %u: %s", x->shard, rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		x->msg = m;
		if (shard_emit(sh, in->id, m->payload, m->len) == -EAGAIN) {
			/* Out of memory: keep it for the next tick. */
			x->stash = m;
			return;
		}
		/* The record, or a malformed one skipped, belongs to the
		 * open chunk: its offset is stored once that chunk is back. */
		track(x, si->open, m);
		bytes += (int64_t)m->len;
		rd_kafka_message_destroy(m);
	}
}

const struct dp_input_ops in_kafka_ops = {
	.name = "kafka",
	.desc = "Consumes Kafka topics in a consumer group; offsets committed after delivery",
	.opts = kafka_opts,
	.cfg_size = sizeof(struct in_kafka_cfg),
	.setup = setup,
	.shard_ctx_create = ctx_create,
	.shard_ctx_destroy = ctx_destroy,
	.parse = parse,
	.tick = tick,
	.chunk_released = chunk_released,
	.teardown = teardown,
	.key_prefix = "rdkafka.",
};
