/*
 * out_kafka_int.h — the kafka output worker's state, shared by out_kafka.c
 * (flush, poll, delivery reports, life) and out_kafka_route.c (topics,
 * keys, the worker a key belongs to, partitions).
 *
 * Threads: one worker thread owns a struct kafka_worker; topic_parts.cnt
 * is also written by librdkafka's partitioner call (see out_kafka_route.c).
 */
#ifndef OUT_KAFKA_INT_H
#define OUT_KAFKA_INT_H

#include <stdatomic.h>
#include "dp_chunk.h"
#include "out_json.h"
#include "out_kafka.h"
#include "out_kafka_avro.h"

#define FIFO_CAP  4096          /* chunks held per worker (power of two) */
#define REC_BITS  11            /* > log2(DP_CHUNK_RECS) */
#define ENC_BLK   (256u << 10)  /* an encode block: the JSON of ~600 records */
#define ENC_SPARE 64            /* blocks kept for reuse per worker */
#define MAX_LOGGED 64           /* distinct (topic, error) causes logged */
#define MAX_PARTS 1024          /* partitioned by sluice up to this count */
#define PCNT_REFRESH_NS 1000000000ull  /* UA produce this often, to see a new count */

/* Per topic (its rkt opaque): the partition count librdkafka last gave the
 * partitioner while this worker was producing, 0 while unknown. */
struct topic_parts {
	_Atomic int32_t cnt;
	uint32_t sticky;        /* keyless records: one partition per batch */
};

/* Encoded payloads (JSON, Avro) of one held chunk: librdkafka takes them
 * without a copy, so they live until the chunk's last delivery report. */
struct enc_blk {
	struct enc_blk *next;
	size_t cap, used;
	char data[];
};
struct held {
	struct dp_chunk *c;
	struct enc_blk *blk;    /* newest first; NULL for msgpack */
	uint64_t seq;
	uint32_t outstanding;   /* produced, no report yet */
	uint32_t delivered, failed;
	uint64_t bytes;         /* msgpack bytes of the delivered records */
	uint32_t nretry;        /* records waiting to be produced again */
	uint32_t attempts;      /* retry rounds so far (Retry_Limit) */
	uint64_t retry_at;      /* monotonic ns */
	/* per record, cleared together when the slot is reused: waiting to
	 * be produced again; delivered (counted in delivered); failed for
	 * good (counted in failed). See "Order through retries", out_kafka.c. */
	uint64_t retry_bits[DP_CHUNK_RECS / 64];
	uint64_t ok_bits[DP_CHUNK_RECS / 64];
	uint64_t gone_bits[DP_CHUNK_RECS / 64];
};

#define NBUCKET   4096          /* key hash buckets held back through retries */
#define POS_NONE  UINT64_MAX

struct kafka_worker {
	struct dp_output *o;
	struct out_kafka_cfg *cfg;
	unsigned nth, nw;           /* this worker, of nw (fanout: its share) */
	rd_kafka_t *rk;
	rd_kafka_topic_t *topic[OUT_KAFKA_MAX_TOPICS];
	struct topic_parts parts[OUT_KAFKA_MAX_TOPICS];
	unsigned ntopics;
	bool self_partition;        /* partitioner murmur2_random: sluice may */
	uint64_t ua_at;             /* next UA produce (monotonic ns) */
	int32_t *part;              /* the partition of msgs[i] */
	rd_kafka_message_t *sorted; /* msgs by partition */
	int64_t max_msgs;           /* queue.buffering.max.messages */
	struct out_json_opts jo;
	struct out_kafka_avro *avro;    /* Format avro: this worker's encoder */
	struct out_kafka_qfull qfull;   /* Queue_Full_Retries */
	uint64_t head, cur, tail;
	uint32_t cur_rec;
	uint64_t nretry;            /* records waiting for a retry, all chunks */
	/* Order through retries (out_kafka.c): per key hash bucket, the keyed
	 * records waiting for a retry, and the position (seq << REC_BITS |
	 * record) after which produced records of the bucket are still to be
	 * taken back (POS_NONE: none); scan_min the least such position. */
	uint32_t *bk_flag;
	uint64_t *bk_from;
	uint64_t nkeyflag, scan_min;
	struct held *fifo;
	rd_kafka_message_t *msgs;   /* one produce batch */
	struct enc_blk *spare;      /* ENC_BLK blocks for reuse */
	unsigned nspare;
	/* counters not yet added to the worker's */
	uint64_t produced, produced_bytes, retried;
	/* causes already logged */
	struct { const rd_kafka_topic_t *t; rd_kafka_resp_err_t e; } logged[MAX_LOGGED];
	unsigned nlogged;
	bool bad_topic_logged, topics_full_logged;
};

static inline struct held *slot(struct kafka_worker *w, uint64_t seq)
{
	return &w->fifo[seq & (FIFO_CAP - 1)];
}

/* out_kafka_route.c */
extern __thread bool out_kafka_producing;
int32_t out_kafka_partitioner(const rd_kafka_topic_t *rkt, const void *key, size_t keylen, int32_t cnt,
			      void *rkt_opaque, void *msg_opaque);
rd_kafka_topic_t *out_kafka_topic_new(struct kafka_worker *w, const char *name);
rd_kafka_topic_t *out_kafka_topic_of(struct kafka_worker *w, const struct dp_chunk *c, const struct dp_rec *r);
void out_kafka_key_of(struct kafka_worker *w, const struct dp_chunk *c, const struct dp_rec *r,
		      rd_kafka_message_t *m, char **scratch, char *end);
/* Whether the record with this key (from out_kafka_key_of) is this
 * worker's to produce. */
bool out_kafka_is_mine(const struct kafka_worker *w, const struct dp_chunk *c, const void *key,
		       size_t key_len);
rd_kafka_message_t *out_kafka_produce_by_partition(struct kafka_worker *w, rd_kafka_topic_t *t, unsigned n,
						   int flags);

#endif
