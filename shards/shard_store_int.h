/*
 * shard_store_int.h — the state of a shard's part of the filesystem store,
 * shared by shard_store.c (writing, reading back, deleting),
 * shard_store_limits.c and shard_store_sync.c. Not for other files:
 * shard_store.h is the interface.
 */
#ifndef SHARD_STORE_INT_H
#define SHARD_STORE_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include "dp_chan.h"
#include "dp_log.h"
#include "dp_store.h"
#include "dp_store_seg.h"
#include "shard.h"
#include "shard_store.h"

struct seg_acct {
	uint64_t seg;
	uint64_t frames, released;
	uint64_t pushed;             /* frames that went to the outputs */
	uint64_t records;
	uint64_t bytes;
	uint64_t last_seq;           /* of its last frame (this run's writes) */
	uint64_t route;              /* outputs its frames were routed to (this run) */
	uint64_t wbytes[DP_MAX_OUTPUTS]; /* bytes of its frames waiting on disk, per output */
	bool sealed;
};

struct store_dir {
	unsigned k;                  /* shard-<k> */
	char path[PATH_MAX];
	struct seg_acct *segs;       /* not yet deleted, oldest first */
	unsigned nsegs, cap;
	bool replaying;              /* frames from before this run remain to be read */
	uint64_t replay_end;         /* ... up to this seq */
};

/* storage.sync full: a thread that fdatasyncs what the shard wrote. */
struct syncer {
	pthread_t thread;
	int efd;
	struct dp_bell *bell;         /* the shard's: rung when synced moved */
	char dir[PATH_MAX];
	_Atomic uint64_t want_seg, want_seq;
	_Atomic uint64_t synced;
	_Atomic int stop;
};

/* Written, not yet synced: counted stored, and acknowledged to its input
 * (chunk_released with its in_meta), once the syncer passes seq. */
struct pend {
	uint64_t seq;
	uint32_t nrecs;              /* records written */
	uint32_t nall;               /* records read, with those filters dropped */
	uint16_t input;
	bool ack;
	uint64_t in_meta[4];
};

struct shard_store {
	struct dp_store *st;
	struct store_dir *dirs;      /* [0] this shard's own, then adopted ones */
	unsigned ndirs;
	struct dp_seg_writer *wr;
	uint64_t next_seq;
	struct dp_seg_reader *rd;    /* reading dirs[rd_dir] back, or NULL */
	unsigned rd_dir;
	bool backlog;                /* new chunks wait on disk behind older ones */
	bool bpos_set;               /* bpos: the first of them in the own dir */
	struct dp_seg_pos bpos;
	struct dp_pool pool;         /* chunks read back */
	struct dp_seg_meta meta;     /* scratch */
	struct dp_ratelimit err_rl, limit_rl;
	/* storage.total_limit_size, per output: bytes waiting on disk for it,
	 * and the seq up to which the own directory's frames are dropped for
	 * it (the oldest data it would have got). */
	uint64_t wait[DP_MAX_OUTPUTS];
	uint64_t drop_seq[DP_MAX_OUTPUTS];
	bool disk_full;              /* an append failed for space; until a segment goes */
	struct syncer *sync;
	struct pend *pend;           /* written, not yet synced */
	unsigned npend, pend_cap, pend_head;
	struct iovec iov[DP_CHUNK_RECS + 1];
	struct shard_store_counters cnt;
};

/* shard_store_sync.c: start the thread for storage.sync full (ss->sync),
 * and stop it. */
int shard_store_syncer_start(struct shard_store *ss, struct dp_bell *bell, struct dp_err *err);
void shard_store_syncer_stop(struct syncer *y);

/* shard_store_limits.c: a full disk: drop the oldest segment that waits
 * whole on disk (true when one was); make room for len bytes routed to
 * `route` under each output's storage.total_limit_size. */
bool shard_store_make_room(struct shard *sh, struct shard_store *ss);
void shard_store_limit_room(struct shard *sh, struct shard_store *ss, uint64_t route, uint64_t len);

#endif
