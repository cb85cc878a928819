/*
 * out_kafka.c — Fluent Bit's `kafka` output: each output worker owns one
 * librdkafka producer and confirms a chunk only when every record in it
 * has a delivery report (not when librdkafka queued it, as Fluent Bit
 * does). The worker uses the asynchronous half of the output API
 * (dp_output_ops.poll): flush keeps the burst and returns
 * DP_FLUSH_PENDING, poll serves the delivery reports and hands back the
 * chunks that are settled, oldest first.
 *
 * State per worker, all on the worker thread (librdkafka calls the
 * delivery report callback from rd_kafka_poll, on this thread too):
 *
 *   fifo   the chunks held, in the order flush took them: [head, tail)
 *          by sequence number, slot seq % FIFO_CAP. [head, cur) are
 *          fully produced; record cur_rec of cur is the next to produce.
 *   msg opaque = seq << 11 | record index: the delivery report finds its
 *          chunk and record without a lookup table.
 *
 * Ordering: records are produced in chunk order (the order they arrived on
 * their connection, since a connection stays on one shard and a shard feeds
 * one worker), keyed messages go to the murmur2 partition of their key, and
 * the producer is idempotent, so librdkafka's own retries neither reorder
 * nor duplicate.
 *
 * Order through retries. librdkafka gives a record back with an error only
 * when it gave up on it: in practice message.timeout.ms ran out (queued or
 * in flight; librdkafka's INTRODUCTION.md, "Message timeout
 * considerations"), and then later records of the same partition may
 * still be written (gaps: 1, 4, 5 when 2 and 3 timed out; an in-flight
 * record that timed out may even have been written). Producing 2 and 3
 * again alone would put them behind 4 and 5. So a retriable failure of a
 * keyed record r takes its key's bucket (a hash of the key, NBUCKET of
 * them; a bucket holds back a few unrelated keys with it, never splits a
 * key) back to r, go-back-N style:
 *
 *   - every record of the bucket produced after r (delivered, in flight or
 *     already produced again) is flagged to be produced again after r; a
 *     delivered one is uncounted, so it is counted once when delivered
 *     again, and the report of one still in flight is ignored when it
 *     comes (retry bit set): the copy produced later decides;
 *   - while the bucket has flagged records, records of it reaching the
 *     cursor are flagged instead of produced (held back);
 *   - the retry pass goes through the held chunks oldest first, record by
 *     record, and stops at the first chunk with flagged records that is
 *     not due yet or still has reports outstanding (so one record never
 *     has two copies in flight, and nothing of a bucket overtakes an older
 *     record of it).
 *
 * So, within a bucket, records are produced in (chunk, record) order, and
 * the last copy of each record in the topic stands in the order sent; the
 * earlier copies are duplicates (at least once), counted in retries. The
 * take-back scan runs once per produce round, from the oldest failure to
 * the cursor, only after failures; without failures the cost is one test
 * per record (nkeyflag, scan_min). Keyless records have no order promise:
 * they are produced again alone, as before.
 *
 * Full queue: at most as many records as librdkafka's queue has room for
 * (queue.buffering.max.messages minus rd_kafka_outq_len) are produced; the
 * rest wait at the cursor and flush/poll answer DP_FLUSH_BUSY, so the worker
 * stops draining its rings and the shards feel the backpressure. Nothing is
 * dropped and nothing sleeps.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "dp_log.h"
#include "dp_pipeline.h"
#include "dp_sched.h"
#include "dp_store.h"
#include "dp_time.h"
#include "out_gelf.h"
#include "out_kafka_int.h"


/* ---- errors ---- */

static void log_cause(struct kafka_worker *w, const rd_kafka_topic_t *t, rd_kafka_resp_err_t e)
{
	for (unsigned i = 0; i < w->nlogged; i++)
		if (w->logged[i].t == t && w->logged[i].e == e)
			return;
	if (w->nlogged < MAX_LOGGED) {
		w->logged[w->nlogged].t = t;
		w->logged[w->nlogged++].e = e;
	}
	dp_plg_error(w->o, "topic %s: %s: records not delivered (logged once per topic and error)",
		     t ? rd_kafka_topic_name(t) : "?", rd_kafka_err2str(e));
}

/* Worth producing again: the broker or the network, not the message. */
static bool retriable(rd_kafka_resp_err_t e)
{
	switch (e) {
	case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
	case RD_KAFKA_RESP_ERR__TIMED_OUT:
	case RD_KAFKA_RESP_ERR__TRANSPORT:
	case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
	case RD_KAFKA_RESP_ERR__QUEUE_FULL:
	case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
	case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
	case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
	case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
	case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
	case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
	case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
	case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
	case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
	case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
		return true;
	default:
		return false;
	}
}

/* The bucket of a record key (see "Order through retries"): the key
 * only, not the topic, so that it is the same every time it is asked. */
static unsigned key_bucket(const void *key, size_t len)
{
	const unsigned char *k = key;
	uint32_t h = 2166136261u;   /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ k[i]) * 16777619u;
	return (h ^ (h >> 16)) & (NBUCKET - 1);
}

/* The bucket of record r of c, -1 when it has no key. */
static int rec_bucket(struct kafka_worker *w, const struct dp_chunk *c, const struct dp_rec *r)
{
	rd_kafka_message_t km;
	char kb[1024], *ks = kb;
	out_kafka_key_of(w, c, r, &km, &ks, kb + sizeof(kb));
	return km.key ? (int)key_bucket(km.key, km.key_len) : -1;
}

static bool bit_has(const uint64_t *b, unsigned rec)
{
	return b[rec / 64] >> (rec % 64) & 1;
}

/* Record rec of h waits to be produced again; b its bucket or -1. */
static void flag(struct kafka_worker *w, struct held *h, unsigned rec, int b)
{
	uint64_t *x = &h->retry_bits[rec / 64];
	if (*x & 1ull << (rec % 64))
		return;
	*x |= 1ull << (rec % 64);
	h->nretry++;
	w->nretry++;
	if (b >= 0) {
		w->bk_flag[b]++;
		w->nkeyflag++;
	}
}

static void record_failed(struct kafka_worker *w, struct held *h, unsigned rec,
			  const rd_kafka_topic_t *t, rd_kafka_resp_err_t e)
{
	int limit = w->o->retry_limit;
	if (retriable(e) && (limit < 0 || h->attempts < (unsigned)limit)) {
		int b = rec_bucket(w, h->c, &h->c->recs[rec]);
		flag(w, h, rec, b);
		if (b >= 0) {
			/* take the bucket back to here before the next round */
			uint64_t pos = h->seq << REC_BITS | rec;
			if (w->bk_from[b] > pos)
				w->bk_from[b] = pos;
			if (w->scan_min > pos)
				w->scan_min = pos;
		}
		/* The chunk's next retry round, Fluent Bit's backoff (round
		 * attempts + 1, dp_sched.h); one draw for the failures of a
		 * round. */
		uint64_t now = dp_time_mono_ns();
		if (h->retry_at <= now) {
			const struct dp_service *svc = &w->o->pl->svc;
			h->retry_at = now + dp_sched_backoff_ms(svc->sched_base, svc->sched_cap,
								h->attempts + 1) * 1000000ull;
		}
		return;
	}
	h->gone_bits[rec / 64] |= 1ull << (rec % 64);
	h->failed++;
	log_cause(w, t, e);
}

/* After failures: flag every record produced after a failure point of its
 * bucket (see "Order through retries"). One pass from the oldest failure
 * to the cursor. */
static void take_back(struct kafka_worker *w)
{
	uint64_t from = w->scan_min;
	w->scan_min = POS_NONE;
	uint64_t s = from >> REC_BITS;
	if (s < w->head)
		s = w->head;
	for (; s != w->tail && (s < w->cur || (s == w->cur && w->cur_rec)); s++) {
		struct held *h = slot(w, s);
		const struct dp_chunk *c = h->c;
		uint32_t end = s == w->cur ? w->cur_rec : c->nrecs;
		for (uint32_t i = s == from >> REC_BITS ? (uint32_t)(from & ((1u << REC_BITS) - 1)) + 1 : 0;
		     i < end; i++) {
			const struct dp_rec *r = &c->recs[i];
			if ((r->flags & DP_REC_DROPPED) || bit_has(h->retry_bits, i) || bit_has(h->gone_bits, i))
				continue;
			rd_kafka_message_t km;
			char kb[1024], *ks = kb;
			out_kafka_key_of(w, c, r, &km, &ks, kb + sizeof(kb));
			if (!km.key)
				continue;
			unsigned b = key_bucket(km.key, km.key_len);
			uint64_t pos = s << REC_BITS | i;
			if (w->bk_from[b] == POS_NONE || pos <= w->bk_from[b] ||
			    !out_kafka_is_mine(w, c, km.key, km.key_len))
				continue;
			if (bit_has(h->ok_bits, i)) {
				h->ok_bits[i / 64] &= ~(1ull << (i % 64));
				h->delivered--;
				h->bytes -= r->len;
			}
			flag(w, h, i, (int)b);
		}
	}
	for (unsigned b = 0; b < NBUCKET; b++)
		w->bk_from[b] = POS_NONE;
}

/* ---- encode blocks ---- */

/* Room for need more bytes in h's newest block, or a new block: a spare
 * one, or malloc'd (one per ~600 records, not per record); NULL when out
 * of memory. */
static struct enc_blk *enc_room(struct kafka_worker *w, struct held *h, size_t need)
{
	struct enc_blk *b = h->blk;
	if (b && b->cap - b->used >= need)
		return b;
	if (need <= ENC_BLK && w->spare) {
		b = w->spare;
		w->spare = b->next;
		w->nspare--;
	} else {
		size_t cap = need > ENC_BLK ? need : ENC_BLK;
		if (!(b = malloc(sizeof(*b) + cap)))
			return NULL;
		b->cap = cap;
	}
	b->used = 0;
	b->next = h->blk;
	h->blk = b;
	return b;
}

/* h's blocks are no longer referenced by librdkafka: keep or free them. */
static void enc_release(struct kafka_worker *w, struct held *h)
{
	struct enc_blk *nx;
	for (struct enc_blk *b = h->blk; b; b = nx) {
		nx = b->next;
		if (b->cap == ENC_BLK && w->nspare < ENC_SPARE) {
			b->next = w->spare;
			w->spare = b;
			w->nspare++;
		} else {
			free(b);
		}
	}
	h->blk = NULL;
}

/* librdkafka, from rd_kafka_poll on the worker thread. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	struct kafka_worker *w = opaque;
	uint64_t id = (uint64_t)(uintptr_t)m->_private;
	struct held *h = slot(w, id >> REC_BITS);
	if (h->seq != id >> REC_BITS || !h->outstanding)
		return;   /* cannot happen: a chunk is held until its last report */
	/* the last report of what was produced: librdkafka holds nothing
	 * of h's blocks any more (what is produced later gets new ones) */
	if (!--h->outstanding)
		enc_release(w, h);
	unsigned rec = (unsigned)(id & ((1u << REC_BITS) - 1));
	/* taken back after it was produced: the copy produced again decides */
	if (bit_has(h->retry_bits, rec))
		return;
	if (!m->err) {
		h->ok_bits[rec / 64] |= 1ull << (rec % 64);
		h->delivered++;
		h->bytes += h->c->recs[rec].len;
	} else
		record_failed(w, h, rec, m->rkt, m->err);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	struct kafka_worker *w = opaque;
	/* Connection errors repeat while a cluster is down and librdkafka
	 * retries them itself; its log callback already said it. */
	if (err == RD_KAFKA_RESP_ERR__TRANSPORT) {
		dp_plg_debug(w->o, "librdkafka: %s", reason);
		return;
	}
	dp_plg_warn(w->o, "librdkafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	struct kafka_worker *w = rd_kafka_opaque(rk);
	if (level <= 4)
		dp_plg_warn(w->o, "librdkafka %s: %s", fac, buf);
	else
		dp_plg_debug(w->o, "librdkafka %s: %s", fac, buf);
}

/* ---- encoding ---- */

static size_t fmt_iso_ns(char *b, uint32_t sec, uint32_t nsec)
{
	time_t t = sec;
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t n = strftime(b, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	return n + (size_t)snprintf(b + n, 16, ".%09uZ", nsec);
}

/* One record as JSON with the timestamp member first; 0 when it does not
 * fit or cannot be encoded. */
static size_t encode_json(struct kafka_worker *w, const struct dp_chunk *c, const struct dp_rec *r,
			  char *dst, size_t cap)
{
	if (w->cfg->timestamp_format != OUT_KAFKA_TS_ISO8601_NS)
		return out_json_rec(c, r, &w->jo, dst, cap);
	/* out_json has no nanosecond date: write {"key":"...", then the
	 * record over the prefix's last byte (its '{'). */
	char pre[384];
	char ts[48];
	size_t tn = fmt_iso_ns(ts, r->ts_sec, r->ts_nsec);
	int p = snprintf(pre, sizeof(pre), "{\"%s\":\"%.*s\",", w->cfg->timestamp_key, (int)tn, ts);
	if (p <= 0 || (size_t)p >= sizeof(pre) || (size_t)p >= cap)
		return 0;
	size_t n = out_json_rec(c, r, &w->jo, dst + p - 1, cap - (size_t)p + 1);
	if (!n)
		return 0;
	memcpy(dst, pre, (size_t)p);
	if (n == 2) {   /* "{}": no members after the timestamp */
		dst[p - 1] = '}';
		return (size_t)p;
	}
	return (size_t)p - 1 + n;
}

/* The message value of a record in the batch buffer (JSON or Avro); 0
 * when it cannot be encoded, its cause logged once. */
static size_t encode(struct kafka_worker *w, const struct dp_chunk *c, const struct dp_rec *r,
		     const rd_kafka_topic_t *t, char *dst, size_t cap)
{
	if (w->avro)
		return out_kafka_avro_encode(w->avro, c, r, dst, cap);
	size_t n;
	if (w->cfg->format == OUT_KAFKA_GELF) {
		const struct out_kafka_cfg *k = w->cfg;
		struct out_gelf_keys g = { k->gelf_host_key, k->gelf_short_message_key,
					   k->gelf_full_message_key, k->gelf_level_key,
					   k->gelf_timestamp_key };
		n = out_gelf_rec(c, r, &g, dst, cap);
	} else {
		n = encode_json(w, c, r, dst, cap);
	}
	if (!n)
		log_cause(w, t, RD_KAFKA_RESP_ERR__BAD_MSG);
	return n;
}

/* ---- producing ---- */

static unsigned queue_room(struct kafka_worker *w)
{
	int64_t room = w->max_msgs - rd_kafka_outq_len(w->rk);
	return room > 0 ? (unsigned)room : 0;
}


/* Hand msgs[0..n) for topic t to librdkafka in one call. Messages it
 * refused go back for a retry (queue full) or fail (too large, ...). */
static void produce_batch(struct kafka_worker *w, rd_kafka_topic_t *t, unsigned n)
{
	if (!n)
		return;
	/* No copy: payloads are in the chunk (msgpack) or in its encode
	 * blocks, both kept until the record's delivery report. */
	int flags = 0;
	rd_kafka_message_t *msgs = out_kafka_produce_by_partition(w, t, n, flags);
	if (!msgs) {
		msgs = w->msgs;
		out_kafka_producing = true;
		rd_kafka_produce_batch(t, RD_KAFKA_PARTITION_UA, flags, msgs, (int)n);
		out_kafka_producing = false;
	}
	for (unsigned i = 0; i < n; i++) {
		rd_kafka_message_t *m = &msgs[i];
		uint64_t id = (uint64_t)(uintptr_t)m->_private;
		struct held *h = slot(w, id >> REC_BITS);
		if (!m->err) {
			h->outstanding++;
			w->produced++;
			w->produced_bytes += m->len;
		} else {
			record_failed(w, h, (unsigned)(id & ((1u << REC_BITS) - 1)), t, m->err);
		}
	}
}

/* Produce records of h: from *rec on (first round), or those flagged for
 * retry (retry round), while the queue has room. Returns false when it
 * stopped for lack of room. */
static bool produce_held(struct kafka_worker *w, struct held *h, uint32_t *rec, bool retry)
{
	const struct dp_chunk *c = h->c;
	unsigned room = queue_room(w);   /* messages it may still take */
	unsigned n = 0;
	rd_kafka_topic_t *cur_t = NULL;
	uint32_t i = retry ? 0 : *rec;
	for (; i < c->nrecs; i++) {
		if (retry) {
			uint64_t *b = &h->retry_bits[i / 64];
			if (!*b) {
				i |= 63;
				continue;
			}
			if (!(*b & 1ull << (i % 64)))
				continue;
		}
		const struct dp_rec *r = &c->recs[i];
		if (r->flags & DP_REC_DROPPED)
			continue;
		/* The key first: with fanout it says whether the record is
		 * this worker's. A key written as JSON lands in kb. */
		rd_kafka_message_t km;
		char kb[1024], *ks = kb;
		out_kafka_key_of(w, c, r, &km, &ks, kb + sizeof(kb));
		if (!retry && !out_kafka_is_mine(w, c, km.key, km.key_len))
			continue;
		int bk = -1;
		if (km.key && (w->nkeyflag || w->scan_min != POS_NONE)) {
			bk = (int)key_bucket(km.key, km.key_len);
			/* held back behind an older record of its bucket */
			if (!retry && (w->bk_flag[bk] || w->bk_from[bk] != POS_NONE)) {
				flag(w, h, i, bk);
				continue;
			}
		}
		if (!room) {
			produce_batch(w, cur_t, n);
			n = 0;
			if (!(room = queue_room(w)))
				break;
		}
		rd_kafka_topic_t *t = out_kafka_topic_of(w, c, r);
		/* a new topic sends the batch so far */
		if (t != cur_t) {
			produce_batch(w, cur_t, n);
			n = 0;
			cur_t = t;
		}
		rd_kafka_message_t *m = &w->msgs[n];
		memset(m, 0, sizeof(*m));
		m->_private = (void *)(uintptr_t)(h->seq << REC_BITS | i);
		if (w->cfg->format == OUT_KAFKA_RAW) {
			/* Fluent Bit's raw: Raw_Log_Key's string, no copy (the
			 * chunk outlives the delivery report). */
			const struct dp_field *f =
				dp_rec_field_get(c, r, w->cfg->raw_log_key, w->cfg->raw_log_key_len);
			if (!f || (f->type != DP_T_STR && f->type != DP_T_BIN)) {
				log_cause(w, t, RD_KAFKA_RESP_ERR__BAD_MSG);
				h->gone_bits[i / 64] |= 1ull << (i % 64);
				h->failed++;
				goto next;
			}
			m->payload = (void *)dp_field_val(c, f);
			m->len = f->val_len;
		} else if (w->cfg->format != OUT_KAFKA_MSGPACK) {
			/* room for the value: JSON escapes grow it at most 6x */
			struct enc_blk *b = enc_room(w, h, r->len * 8 + 1024);
			size_t len = b ? encode(w, c, r, t, b->data + b->used, b->cap - b->used) : 0;
			if (!len) {
				/* Not encodable (see out_json.h, out_kafka_avro.h)
				 * or no memory for it: failed. */
				h->gone_bits[i / 64] |= 1ull << (i % 64);
				h->failed++;
				goto next;
			}
			m->payload = b->data + b->used;
			m->len = len;
			b->used += len;
		} else {
			/* The event as the chunk holds it; the chunk outlives
			 * the delivery report, so no copy. */
			m->payload = c->data + r->off;
			m->len = r->len;
		}
		m->key = km.key;
		m->key_len = km.key_len;
		if (ks != kb) {
			/* A key written as JSON into kb, which is gone when the
			 * batch is produced: into the chunk's blocks too. */
			struct enc_blk *b = enc_room(w, h, km.key_len);
			if (!b) {
				h->gone_bits[i / 64] |= 1ull << (i % 64);
				h->failed++;
				goto next;
			}
			memcpy(b->data + b->used, kb, km.key_len);
			m->key = b->data + b->used;
			b->used += km.key_len;
		}
		n++;
		room--;
next:
		if (retry) {
			h->retry_bits[i / 64] &= ~(1ull << (i % 64));
			h->nretry--;
			w->nretry--;
			w->retried++;
			if (km.key) {
				if (bk < 0)
					bk = (int)key_bucket(km.key, km.key_len);
				w->bk_flag[bk]--;
				w->nkeyflag--;
			}
		}
	}
	produce_batch(w, cur_t, n);
	if (!retry)
		*rec = i;
	return i >= c->nrecs;
}

/* Produce what waits: due retries first (they are older), then from the
 * cursor. false when the queue is full. */
static bool produce_pending(struct kafka_worker *w)
{
	if (w->scan_min != POS_NONE)
		take_back(w);
	if (w->nretry) {
		uint64_t now = dp_time_mono_ns();
		for (uint64_t s = w->head; s != w->tail; s++) {
			struct held *h = slot(w, s);
			if (!h->nretry)
				continue;
			/* oldest first, and nothing overtakes a chunk that is
			 * not due or whose earlier copies are still in flight */
			if (h->retry_at > now || h->outstanding)
				break;
			h->attempts++;
			uint32_t dummy = 0;
			if (!produce_held(w, h, &dummy, true))
				return false;
		}
	}
	while (w->cur != w->tail) {
		if (!produce_held(w, slot(w, w->cur), &w->cur_rec, false))
			return false;
		w->cur++;
		w->cur_rec = 0;
	}
	return true;
}

static int state(struct kafka_worker *w, bool all_produced)
{
	return !all_produced || w->tail - w->head > FIFO_CAP - DP_BURST ? DP_FLUSH_BUSY : DP_FLUSH_PENDING;
}

static int kafka_flush(void *wctx, struct dp_chunk *const *c, unsigned n)
{
	struct kafka_worker *w = wctx;
	for (unsigned i = 0; i < n; i++) {
		struct held *h = slot(w, w->tail);
		memset(h, 0, sizeof(*h));
		h->c = c[i];
		h->seq = w->tail++;
	}
	return state(w, produce_pending(w));
}

static int kafka_poll(void *wctx, int timeout_ms, struct dp_out_done *done, unsigned max,
		      unsigned *ndone, struct dp_out_counters *cnt)
{
	struct kafka_worker *w = wctx;
	rd_kafka_poll(w->rk, timeout_ms);
	bool all = produce_pending(w);
	unsigned n = 0;
	while (n < max && w->head != w->cur) {
		struct held *h = slot(w, w->head);
		if (h->outstanding || h->nretry)
			break;
		enc_release(w, h);
		/* Records given up on: to the dead-letter queue when there is
		 * one (storage.keep.rejected). */
		if (h->failed) {
			int dl = dp_store_dlq_write_sel(w->o->pl, w->o, h->c, h->gone_bits,
							h->attempts ? "retries" : "error");
			if (dl)
				dp_plg_error(w->o, "cannot keep failed records in the dead-letter queue: %s", strerror(-dl));
		}
		done[n].c = h->c;
		done[n].delivered = h->delivered;
		done[n].failed = h->failed;
		done[n].bytes = h->bytes;
		n++;
		w->head++;
	}
	*ndone = n;
	out_kafka_qfull_note(&w->qfull, w->o, !all, w->produced != 0, rd_kafka_outq_len(w->rk));
	DP_CNT_ADD(cnt->produced, w->produced);
	DP_CNT_ADD(cnt->produced_bytes, w->produced_bytes);
	DP_CNT_ADD(cnt->retried, w->retried);
	w->produced = w->produced_bytes = w->retried = 0;
	__atomic_store_n(&cnt->queued, (uint64_t)rd_kafka_outq_len(w->rk), __ATOMIC_RELAXED);
	return state(w, all);
}

/* ---- life ---- */

static void worker_destroy(void *wctx)
{
	struct kafka_worker *w = wctx;
	if (w->rk) {
		/* Only after Grace ran out can anything be left: drop it
		 * (those chunks stay counted as not delivered). */
		rd_kafka_purge(w->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(w->rk, 0);
		for (unsigned i = 0; i < w->ntopics; i++)
			rd_kafka_topic_destroy(w->topic[i]);
		rd_kafka_destroy(w->rk);
	}
	out_kafka_avro_destroy(w->avro);
	/* librdkafka is gone: nothing points into the blocks any more */
	if (w->fifo)
		for (uint64_t s = w->head; s != w->tail; s++)
			enc_release(w, slot(w, s));
	free(w->fifo);
	free(w->msgs);
	free(w->sorted);
	free(w->part);
	free(w->bk_flag);
	free(w->bk_from);
	for (struct enc_blk *b = w->spare, *nx; b; b = nx) {
		nx = b->next;
		free(b);
	}
	free(w);
}

static void *worker_create(struct dp_output *o, unsigned nth, struct dp_err *err)
{
	struct out_kafka_cfg *cfg = o->cfg;
	struct kafka_worker *w = calloc(1, sizeof(*w));
	if (!w || !(w->fifo = calloc(FIFO_CAP, sizeof(*w->fifo))) ||
	    !(w->msgs = calloc(DP_CHUNK_RECS, sizeof(*w->msgs))) ||
	    !(w->sorted = calloc(DP_CHUNK_RECS, sizeof(*w->sorted))) ||
	    !(w->part = calloc(DP_CHUNK_RECS, sizeof(*w->part))) ||
	    !(w->bk_flag = calloc(NBUCKET, sizeof(*w->bk_flag))) ||
	    !(w->bk_from = malloc(NBUCKET * sizeof(*w->bk_from)))) {
		if (w)
			worker_destroy(w);
		dp_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	for (unsigned b = 0; b < NBUCKET; b++)
		w->bk_from[b] = POS_NONE;
	w->scan_min = POS_NONE;
	w->o = o;
	w->cfg = cfg;
	w->nth = nth;
	w->nw = (unsigned)o->workers;
	w->jo.date_key = cfg->timestamp_format == OUT_KAFKA_TS_ISO8601_NS ? NULL : cfg->timestamp_key;
	w->jo.date_format = cfg->timestamp_format == OUT_KAFKA_TS_ISO8601 ? OUT_JSON_DATE_ISO8601
									   : OUT_JSON_DATE_DOUBLE;
	if (cfg->format == OUT_KAFKA_AVRO &&
	    !(w->avro = out_kafka_avro_create(cfg->schema_str, (uint32_t)cfg->schema_id, o, err))) {
		worker_destroy(w);
		return NULL;
	}
	rd_kafka_conf_t *kc = out_kafka_conf_build(o, err);
	if (!kc) {
		worker_destroy(w);
		return NULL;
	}
	char v[64];
	size_t vn = sizeof(v);
	w->max_msgs = rd_kafka_conf_get(kc, "queue.buffering.max.messages", v, &vn) == RD_KAFKA_CONF_OK
			      ? atoll(v) : 100000;
	/* With the default partitioner, sluice partitions keyed records
	 * itself (the same murmur2) and hands librdkafka one batch per
	 * partition: one queue lock and wake-up per batch, not per record. */
	vn = sizeof(v);
	rd_kafka_topic_conf_t *dtc = rd_kafka_conf_get_default_topic_conf(kc);
	if (dtc && rd_kafka_topic_conf_get(dtc, "partitioner", v, &vn) == RD_KAFKA_CONF_OK &&
	    !strcmp(v, "murmur2_random")) {
		w->self_partition = true;
		rd_kafka_topic_conf_set_partitioner_cb(dtc, out_kafka_partitioner);
	}
	rd_kafka_conf_set_opaque(kc, w);
	rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
	rd_kafka_conf_set_error_cb(kc, on_error);
	rd_kafka_conf_set_log_cb(kc, on_log);
	char errstr[512];
	/* Brokers that cannot be reached now are not an error: librdkafka
	 * connects when they come, and sluice buffers meanwhile. */
	w->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof(errstr));
	if (!w->rk) {
		rd_kafka_conf_destroy(kc);
		dp_err_set(err, -EINVAL, "librdkafka: %s", errstr);
		worker_destroy(w);
		return NULL;
	}
	for (unsigned i = 0; i < cfg->ntopics; i++)
		if (!out_kafka_topic_new(w, cfg->topic[i])) {
			dp_err_set(err, -EINVAL, "topic '%s': %s", cfg->topic[i],
				   rd_kafka_err2str(rd_kafka_last_error()));
			worker_destroy(w);
			return NULL;
		}
	return w;
}

const struct dp_output_ops out_kafka_ops = {
	.name = "kafka",
	.desc = "Produces records to Apache Kafka; a chunk is confirmed when the brokers acknowledged "
		"every record in it",
	.opts = out_kafka_opts,
	.cfg_size = sizeof(struct out_kafka_cfg),
	.setup = out_kafka_setup,
	.worker_create = worker_create,
	.flush = kafka_flush,
	.poll = kafka_poll,
	.worker_destroy = worker_destroy,
	.teardown = out_kafka_teardown,
	.key_prefix = "rdkafka.",
};
