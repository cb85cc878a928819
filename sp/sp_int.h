/*
 * sp_int.h — the stream processor's internal structures, shared by
 * sp_engine.c (building them) and sp_exec.c (running them).
 *
 * Ownership of a window (struct sp_win): it belongs to its shard while
 * OPEN; at close the shard sets it HANDED and enqueues it on its ring to
 * the merger; the merger (shard 0's tick) reads it and stores FREE with
 * release order, after which the shard may reuse it. Memory never
 * changes threads for good: the shard made it and the shard frees it.
 *
 * Threads: see each struct.
 */
#ifndef SP_INT_H
#define SP_INT_H

#include <stdatomic.h>
#include "dp_log.h"
#include "dp_ring.h"
#include "sp.h"
#include "sp_agg.h"
#include "sp_parse.h"
#include "sp_plan.h"
#include "sp_snap.h"
#include "sp_win.h"

enum { WIN_FREE = 0, WIN_OPEN, WIN_HANDED };

struct sp_win {
	_Atomic int state;
	unsigned q;
	uint64_t start, end;       /* ns, [start, end) */
	struct sp_tab tab;
};

/* Per shard and query counters; the shard writes (SP_CNT_ADD), readers
 * on other threads (Stats_File) sum them with relaxed loads. */
#define SP_CNT_ADD(x, n) __atomic_store_n(&(x), (x) + (n), __ATOMIC_RELAXED)

struct sp_qstat {
	uint64_t in, emitted, emit_failed, dropped, late;
	uint64_t no_time;          /* event time: ON key missing or not a number */
};

struct sp_shard {
	struct sp_engine *e;
	unsigned id;
	struct sp_win **wins;      /* [query][nwin] */
	struct sp_qstat *st;       /* [query] */
	struct dp_ratelimit *rl;   /* [query]: the group-limit warning */
	uint64_t *warned;          /* [query]: dropped count at the last warning */
	struct sp_val *vals;       /* one per slot of the widest query */
	struct sp_val *outv;       /* one per output of the widest query */
	uint64_t closed_upto;      /* windows ending at or before are handed */
	struct sp_wshard *wx;      /* event-time state per query (sp_win.c) */
	uint64_t now_str_sec;
	char now_str[32];
	uint8_t gkey[SP_GKEY_MAX];
	/* The TAG: queries the last tag seen matches, so a tag is matched
	 * against the patterns once per change of tag, not per record
	 * (engines of at most 64 queries; more are matched per record). */
	uint64_t tag_mask;
	uint16_t tag_seen_len;
	bool tag_seen_valid;
	char tag_seen[DP_TAG_MAX];
	struct sp_snap *snaps;     /* [query]: snapshot stores (sp_snap.c) */
};

/* The merger's window: partials of every shard combined. Shard 0 only. */
struct sp_mwin {
	bool used;
	uint64_t start, end;
	uint64_t due_since;        /* event time: when a shard first passed end */
	struct sp_tab tab;
};

struct sp_qmerge {
	struct sp_mwin *w;
	unsigned nw;
	uint64_t emitted_upto;     /* end of the last window emitted */
	struct dp_ratelimit rl;
	uint64_t warned;
	/* event time: min and max of the shards' watermarks, read (acquire)
	 * at the start of each merge, before the rings are drained */
	uint64_t wm_min, wm_max;
	/* sessions: open sessions by group, one table filled from the other
	 * when sessions close (sp_tab cannot delete) */
	struct sp_tab ses[2];
	unsigned ses_cur;
	uint64_t ses_min_close;    /* <= the earliest last + gap of ses[cur] */
	uint64_t ses_upto;         /* end of the last bucket stitched */
};

struct sp_wm {
	dp_cache_aligned _Atomic uint64_t v;
};

struct sp_engine {
	struct sp_query *q;
	struct sp_stmt **st;
	char **names;              /* [query]: task names, copied */
	unsigned nq, nshards;
	unsigned *nwin;            /* [query]: windows per shard */
	unsigned maxslots, maxout;
	struct dp_ring **rings;    /* [shard] -> merger */
	struct sp_wm *wm;          /* [shard]: closed_upto, published */
	struct sp_shard *_Atomic *shards; /* for stats */
	struct sp_qmerge *m;       /* [query] */
	struct sp_snap_ep *snap_ep; /* [query]: snapshot flush epochs (sp_snap.c) */
	struct sp_qwm *qwm;        /* [query * nshards + shard]: event time */
};

/* The start of the k-th newest window (k < q->overlap) that holds time t,
 * or UINT64_MAX when there are no more: windows start every adv_ns and
 * last size_ns (tumbling: one; hopping: up to overlap). last is the
 * newest one's start, t / adv_ns * adv_ns, divided once per record. */
static inline uint64_t sp_win_start(const struct sp_query *q, uint64_t t, uint64_t last, unsigned k)
{
	if (last < (uint64_t)k * q->adv_ns)
		return UINT64_MAX;
	uint64_t start = last - (uint64_t)k * q->adv_ns;
	return start + q->size_ns <= t ? UINT64_MAX : start;
}

/* Helpers of sp_exec.c used by sp_win.c. */
struct sp_win *sp_window_for(struct sp_shard *s, unsigned qi, uint64_t start);
/* Emit one group's result (HAVING applied); false when HAVING refused it. */
bool sp_emit_group(struct sp_shard *s0, struct dp_fx *fx, unsigned qi, const uint8_t *key,
		   uint32_t klen, const union sp_w *w, uint64_t t_ns, uint64_t now_ns);

#endif
