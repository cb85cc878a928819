/*
 * shard_store.h — a shard's part of the filesystem store (dp_store.h):
 * chunks of its filesystem inputs are written to its directory before they
 * go to the outputs; what the outputs cannot take yet waits on disk instead
 * of in memory (the backlog), and what an earlier run left is replayed
 * before new data. docs/STORAGE.md says what is guaranteed.
 *
 * Threads: the owning shard, except shard_store_open/close (control thread,
 * before the shard runs or after it stopped) and the syncer thread of
 * storage.sync full, which only reads `want` and writes `synced`.
 */
#ifndef SHARD_STORE_H
#define SHARD_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include "dp_chunk.h"
#include "dp_common.h"

struct shard;
struct shard_in;
struct shard_store;

/* Counters: written by the shard, read by anyone (relaxed). */
struct shard_store_counters {
	uint64_t written_chunks, written_records, written_bytes;
	uint64_t write_errors;      /* appends that failed (disk full, I/O error) */
	uint64_t unstored_records;  /* records that went on in memory only, after a failed append */
	uint64_t spilled_chunks;    /* written and not kept in memory: outputs behind */
	uint64_t read_chunks, read_records;   /* read back: backlog and replay */
	uint64_t replayed_records;  /* read back after a restart: sent again, may be duplicates */
	uint64_t skipped_chunks;    /* read back, every output had confirmed them already */
	uint64_t corrupt_chunks;    /* read back and not events: skipped */
	uint64_t read_errors;
	uint64_t segments_deleted;
	uint64_t torn_bytes, torn_records, corrupt_bytes, quarantined; /* found at start */
	uint64_t limit_dropped_records;  /* waiting on disk, dropped for storage.total_limit_size
	                                    or a full disk (storage.full_action drop_oldest) */
	uint64_t limit_dropped_segments;
	uint64_t limit_pauses;      /* storage.full_action pause: times a filesystem input was
	                               stopped for a limit or a full disk */
	uint64_t backlog_bytes;     /* gauge: segment bytes not yet deleted */
	uint64_t synced_seq;        /* storage.sync full: on disk up to here */
} dp_cache_aligned;

int shard_store_open(struct shard *sh, struct dp_err *err);
void shard_store_close(struct shard *sh);
/* shard_chunk_push, for a chunk of a filesystem input with records routed
 * somewhere: write it. true: push it to the outputs now; false: it waits
 * on disk (the caller gives its memory back to the pool). */
bool shard_store_write(struct shard *sh, struct shard_in *si, struct dp_chunk *c);
/* The loop: read back what waits on disk while there is memory for it.
 * true when it pushed something. */
bool shard_store_pump(struct shard *sh);
/* storage.sync full: has the disk caught up with writes the shard has
 * not settled yet (shard_store_tick settles them)? The sleep's re-check:
 * the syncer rings the shard's bell after it moves. */
bool shard_store_sync_due(const struct shard *sh);
/* Does something wait on disk that the pump could read now? */
bool shard_store_pending(const struct shard *sh);
/* Nothing pending and every chunk read back is home (a reload waits for
 * it: shard_park.c). */
bool shard_store_idle(const struct shard *sh);
/* reclaim: every output is done with c (st_seq != 0). true when the chunk
 * was one read back (it then went back to the store's pool). */
bool shard_store_released(struct shard *sh, struct dp_chunk *c);
/* storage.full_action pause: the store is at its limit or the disk is
 * full; filesystem inputs wait (shard_chunk_open). */
bool shard_store_full(const struct shard *sh);
void shard_store_count_pause(struct shard *sh);
/* storage.sync full: count what the syncer made durable. */
void shard_store_tick(struct shard *sh);
const struct shard_store_counters *shard_store_counters(const struct shard *sh);

#endif
