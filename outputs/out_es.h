/*
 * out_es.h — the parts of the es / opensearch output (out_es.c) that need
 * no network and are tested on their own: the NDJSON bulk body written
 * from a chunk's records (out_es_bulk.c) and the reading of a _bulk
 * response (out_es_resp.c). Stateless functions over what the caller
 * holds: any output worker may call them.
 */
#ifndef OUT_ES_H
#define OUT_ES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dp_chunk.h"
#include "out_buf.h"

/* Write_Operation, in the order of its choices in the option table. */
enum out_es_op { OUT_ES_CREATE, OUT_ES_INDEX, OUT_ES_UPDATE, OUT_ES_UPSERT };

/* How a record becomes an action line and a document. Strings are
 * NUL-terminated and belong to the output's configuration. */
struct out_es_bulk_opts {
	int op;                      /* enum out_es_op */
	const char *index;
	const char *type;            /* NULL: Suppress_Type_Name */
	bool logstash;
	const char *prefix;
	const char *prefix_key;      /* top-level key, or NULL */
	const char *separator;
	const char *dateformat;      /* strftime */
	bool current_time_index;
	const char *time_key;
	const char *time_key_format; /* strftime */
	bool time_key_nanos;
	const char *tag_key;         /* NULL: Include_Tag_Key off */
	bool generate_id;
	const char *id_key;          /* top-level key, or NULL */
	bool replace_dots;
};

/* Per-worker memo of the last strftime results (one per second), so a
 * record does not pay for gmtime and strftime twice. Zeroed to start. */
struct out_es_bulk_memo {
	int64_t ts_sec, ix_sec;
	bool ts_ok, ix_ok;
	size_t ts_len, ix_len;
	char ts[128];    /* Time_Key_Format of ts_sec */
	char ix[128];    /* Logstash_DateFormat of ix_sec */
};

/* Append record r of chunk c (tag[0..taglen)) to b as an action line and
 * a document line, each ended by '\n'. now_sec: the wall clock, for
 * Current_Time_Index. Returns the bytes appended, or 0 when they do not fit
 * in what is left of b (b unchanged) or the record cannot be encoded. */
size_t out_es_bulk_rec(struct out_buf *b, const struct out_es_bulk_opts *o, struct out_es_bulk_memo *m,
		       const struct dp_chunk *c, const struct dp_rec *r, const char *tag, size_t taglen,
		       int64_t now_sec);

/* The _id Generate_ID gives a record: a 128-bit hash of its tag, time and
 * fields as 36 characters 8-4-4-4-12 (uppercase hex) and a NUL in out[37].
 * The same record gives the same id on every retry. */
void out_es_bulk_gen_id(const struct dp_chunk *c, const struct dp_rec *r, const char *tag, size_t taglen,
			char out[37]);

/* ---- a _bulk response ----
 *
 * {"took":3,"errors":true,"items":[{"create":{"_index":"i","status":201}},
 *   {"create":{"status":429,"error":{"type":"es_rejected_execution_exception",
 *   "reason":"..."}}}, ...]}
 *
 * read from a buffer that may hold only the first bytes of the body
 * (Buffer_Size). The reader is bounded: it looks at each byte at most a
 * few times, keeps no state per nesting level beyond a counter, and never
 * reads past len, whatever the bytes are. */
struct out_es_resp {
	int errors;          /* -1: no "errors" member seen, else 0 or 1 */
	uint32_t nitems;     /* statuses stored in status[] */
	bool items_done;     /* the items array was read to its end */
	bool bad;            /* not a bulk response, or garbled where it was read */
	/* the first refused item, or the first refused for good (not 429,
	 * 5xx) when there is one: its status, error type and reason (raw
	 * JSON string bytes, escapes kept; may be cut) */
	char err_type[64];
	char err_reason[192];
	uint16_t err_status;
};

/* Read p[0..len) into r, storing the first max item statuses in status[]
 * (0 for an item without a readable status). Never fails: what could not
 * be read is told by r. */
void out_es_resp_parse(const char *p, size_t len, uint16_t *status, uint32_t max, struct out_es_resp *r);

/* What an item's status means for its record. */
enum out_es_item { OUT_ES_ITEM_OK, OUT_ES_ITEM_RETRY, OUT_ES_ITEM_FAILED };
enum out_es_item out_es_item_verdict(unsigned status, int op);

#endif
