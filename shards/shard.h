/*
 * shard.h — the per-core runtime. A shard is one pinned thread that owns
 * its sockets (SO_REUSEPORT listeners, accepted connections, UDP sockets),
 * its epoll instance, one chunk pool per input and the open chunk per
 * input. It frames and parses what it receives into chunks and hands full
 * (or old enough) chunks to output workers through SPSC rings; the workers
 * hand them back through return rings. Nothing here is shared with another
 * shard.
 *
 * Threads: everything in struct shard belongs to its thread, except the
 * fields marked "shared", which workers and the control thread touch.
 */
#ifndef SHARD_H
#define SHARD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include "dp_log.h"
#include "dp_pipeline.h"
#include "dp_pool.h"
#include "dp_chan.h"
#include "dp_ring.h"
#include "shard_pkt.h"

/* Counters of one input on one shard: written by the shard only, read by
 * anyone with relaxed loads (summed across shards by dp_stats). */
/* A filter's counters on one shard, Fluent Bit's per-filter metrics
 * (drop_records, add_records in /api/v1/metrics). */
struct shard_flt_counters {
	uint64_t drop_records;  /* records the filter dropped */
	uint64_t add_records;   /* records it emitted (through its emitter) */
};

struct shard_in_counters {
	uint64_t records;     /* records handed on (routed or not); storage.type filesystem:
	                         once in the store (synced with storage.sync full) */
	uint64_t bytes;       /* bytes received */
	uint64_t malformed;   /* frames the parser rejected */
	uint64_t oversize;    /* frames over Buffer_Max_Size or a chunk */
	uint64_t dropped;     /* UDP datagrams (udp input: records) dropped while out of memory,
	                         records with no matching output */
	uint64_t kernel_dropped; /* UDP datagrams the kernel dropped (socket buffer full) */
	uint64_t connections; /* TCP connections accepted */
	uint64_t rejected;    /* connections closed at once: no fd or memory left */
	uint64_t tls_handshake_failures; /* tls on: connections closed before their handshake
	                         finished (refused certificate, not TLS, closed, too slow) */
	uint64_t auth_failed; /* http: requests refused 401 (no, bad or expired bearer token) */
	uint64_t limited;     /* http: requests refused 413 (Max_Batch_Records) or 429 (Rate_Limit) */
	uint64_t deduplicated; /* http: requests answered as copies of accepted ones (Dedupe_Window) */
	uint64_t filtered;    /* records a filter removed (grep, throttle, ...) */
	uint64_t unparsed;    /* records kept raw: their [PARSER] did not match */
	uint64_t memrb_dropped; /* storage.type memrb: records of the oldest chunks dropped for
	                         room (also in dropped) */
	uint64_t stored;      /* storage.type filesystem: records in the store (storage.sync
	                         full: on disk), which a crash of sluice does not lose */
	/* Polling backends (shard_rx.h), zero for epoll inputs: */
	uint64_t rx_packets, rx_bytes; /* frames received on the queue */
	uint64_t rx_imissed;  /* port: dropped by the NIC, rings full (written by shard 0) */
	uint64_t rx_nombuf;   /* port: RX mbuf allocation failures (written by shard 0) */
	uint64_t rx_not_for_us; /* ARP, other protocols, other ports */
	uint64_t rx_drop[SHARD_PKT_NVERDICTS]; /* by reason (shard_pkt.h) */
	uint64_t rx_polls;    /* loop iterations that polled */
	uint64_t rx_idle_sleeps; /* sleeps when idle (Rx_Idle_Sleep) */
	uint64_t rx_to_kernel, rx_to_kernel_dropped; /* Dpdk_Exception_Port: sent, TX ring full */
	uint64_t rx_from_kernel, rx_from_kernel_dropped; /* ... and back out of Dpdk_Port */
} dp_cache_aligned;

struct shard_conn;
struct sp_shard;
struct shard_rx_q;
struct shard_store;

struct shard_in {
	struct dp_input *in;
	void *ctx;                  /* the input's per-shard parser context */
	struct dp_pool pool;
	struct dp_chunk *open;      /* the chunk being filled */
	uint64_t open_route;        /* where it goes (emitters: by its tag) */
	uint64_t open_chain;        /* emitters: the filters its records go on to */
	bool starved;               /* pool empty: reading is paused */
	bool count_stored;          /* storage.type filesystem: records counted once stored */
	struct shard_memrb *rb;     /* storage.type memrb: full chunks not yet handed on */
	int fd;                     /* listener or UDP socket, -1 if none */
	uint32_t kernel_drops_seen; /* last SO_RXQ_OVFL count */
	struct dp_ratelimit accept_rl;
	struct dp_ratelimit tls_rl; /* failed handshakes' log lines (shard_tls.c) */
	void *ev;                   /* epoll tag for fd */
	struct shard_in_counters cnt;
	struct shard_rx_q *rx;      /* polling receive queue (shard_rx.h), or NULL */
	/* shard_emit_tagged: the tag of the chunk it may open, NULL otherwise */
	const char *want_tag;
	size_t want_tag_len;
};

struct shard {
	unsigned id;
	int cpu;
	struct dp_pipeline *pl;
	pthread_t thread;
	int epfd;
	int spare_fd;               /* given up to shed a connection at EMFILE */
	unsigned nconns, max_conns; /* open connections, and this shard's share of
	                               the descriptor limit */
	struct shard_in *ins;       /* indexed by input id */
	void **flt_ctx;             /* [filter] per-shard filter contexts */
	struct shard_flt_counters *flt_cnt; /* [filter] */
	uint64_t flt_tick_ns;       /* last filter tick */
	bool flt_ticks;             /* some filter or the SQL engine has a tick */
	struct sp_shard *sp;        /* this shard's part of the SQL engine */
	struct shard_store *store;  /* filesystem store (shard_store.h), or NULL */
	unsigned nin;
	struct dp_chan **chan;        /* [worker], set by the runtime (dp_chan.h) */
	unsigned ring_cap;            /* chunks a channel's rings must hold */
	struct shard_conn *ready;     /* connections with work to do */
	struct shard_conn *conns;     /* all connections */
	unsigned acks_owed;           /* replies waiting for chunks to come back
	                                 (shard_conn_ack_add): returns wake the shard */
	unsigned tls_hs;              /* TLS connections whose handshake is under way */
	uint64_t tls_tick_ns;         /* last look for handshakes past their deadline */
	uint64_t now_ns;              /* CLOCK_MONOTONIC, per loop */
	uint64_t now_real_ns;         /* CLOCK_REALTIME, per loop */
	uint32_t now_sec, now_nsec;   /* the same, as record times take it */
	uint64_t flush_ns;
	void *udp;                    /* recvmmsg buffers */
	char *rbuf;                   /* TCP reads, shared by the connections */
	uint32_t rbuf_cap;
	int start_err;
	/* Workers found asleep whose wake-up is put off (shard_chunk_push):
	 * woken together at wake_due_ns, before the shard blocks, or at once
	 * when their ring or the input's pool says so. */
	unsigned *wake_pend;          /* [nwake_pend] worker ids */
	unsigned nwake_pend;
	uint8_t *wake_is_pend;        /* [worker] */
	uint64_t wake_due_ns;
	uint64_t epoll_ns;            /* last epoll_wait while polling a receive queue */
	bool rx_polling;              /* some input has a polling receive queue */
	/* shared */
	struct dp_bell bell;          /* returns arrived, or stop */
	_Atomic int stop;
	_Atomic int started;          /* the thread has set up and served what was due at once */
	/* Reload (shard_park.c): park is set by the control thread, parked by
	 * the shard; rebind is written by the control thread before it asks
	 * for SHARD_PARK_REBIND, and read by the shard after. */
	_Atomic int park;             /* enum shard_park */
	_Atomic int parked;           /* 0 running, 1 parked with every chunk home, 2 parked */
	uint64_t retire;              /* SHARD_PARK_RETIRE: bit i, input i goes */
	struct shard_rebind *rebind;
};

enum shard_park { SHARD_PARK_NONE, SHARD_PARK_HOLD, SHARD_PARK_RETIRE, SHARD_PARK_REBIND };

/* What a parked shard takes on (shard_park.c): the new pipeline and, for
 * each of its inputs, the index the shard runs it at now (from[i] >= 0:
 * the same object, kept with its sockets, connections, context and
 * counters, moved to index i) or -1 (a new input, opened by the shard);
 * and the channels to the new pipeline's workers ([worker], made by the
 * runtime). Inputs of the old pipeline no from[] names are let go. */
struct shard_rebind {
	struct dp_pipeline *pl;
	const int *from;              /* [pl->nin] */
	struct dp_chan **chan;
	unsigned ring_cap;
	int rc;                       /* the shard's answer: 0, or -ENOMEM */
};

struct shard *shard_create(struct dp_pipeline *pl, unsigned id, int cpu, struct dp_err *err);
/* Chunks a channel's rings must hold for a shard of pl: every chunk of
 * its pools (and the store's read-back pool). */
unsigned shard_ring_cap(const struct dp_pipeline *pl);
int shard_start(struct shard *sh, struct dp_err *err);
void shard_request_stop(struct shard *sh);
void shard_join(struct shard *sh);
void shard_destroy(struct shard *sh);

/* Tell the workers that the shard will send nothing more: its thread at
 * its end, or the runtime for a shard that never ran. */
void shard_close_chans(struct shard *sh);

/* Parse one frame of text for input `in` on this shard, as if it had been
 * received (used by generators such as dummy). 0, or -EAGAIN when the
 * input's memory is exhausted. */
int shard_emit(struct shard *sh, unsigned input, const char *p, size_t len);
/* The same for a record with its own tag (an input whose Tag has '*', as
 * systemd's, expanded per record): a chunk holds one tag, routed and
 * filtered by it, so a record of another tag closes the open chunk. */
int shard_emit_tagged(struct shard *sh, unsigned input, const char *tag, size_t tag_len,
		      const char *p, size_t len);

/* internal to shards/: shard.c <-> shard_net.c */
/* src: the sender as Fluent Bit writes it ("tcp://10.0.0.1:5140"), added
 * under the input's Source_Address_Key when it has one; may be NULL.
 * 0, or -EAGAIN when the input's memory is exhausted; a JSON frame of
 * several objects may stop part way: *used (when not NULL) then says how
 * many of its bytes were taken, the rest is to be emitted again. */
int shard_emit_frame(struct shard *sh, struct shard_in *si, const char *p, size_t len,
		     const char *src, size_t srclen, size_t *used);
/* One UDP datagram's payload (shard_net.c, shard_rx.c): trailing LF, CR
 * and NUL dropped, then one frame, or (dp_input.dgram_frames) the frames
 * `framing` cuts it into; what cannot be kept for lack of memory is
 * counted as dropped, one per frame. */
void shard_emit_dgram(struct shard *sh, struct shard_in *si, const char *p, size_t len,
		      const char *src, size_t srclen);
struct dp_chunk *shard_chunk_open(struct shard *sh, struct shard_in *si);
/* storage.type memrb (shard_memrb.c). */
int shard_memrb_init(struct shard_in *si);
void shard_memrb_fini(struct shard_in *si);
void shard_memrb_push(struct shard *sh, struct shard_in *si, struct dp_chunk *c, uint64_t route);
/* Hand queued chunks on while fewer than half of an input's chunks are
 * with the workers (all: every one, at shutdown); true when it did. */
bool shard_memrb_pump(struct shard *sh, bool all);
/* The pool is empty: the oldest queued chunk, dropped (counted) and reset,
 * or NULL. */
struct dp_chunk *shard_memrb_steal(struct shard_in *si);
/* Chunks wait in some input's queue for a worker to return one. */
bool shard_memrb_waiting(const struct shard *sh);
/* Wake the workers whose wake-up shard_chunk_push put off; before the
 * shard blocks or sleeps. */
void shard_wake_flush(struct shard *sh);
void shard_chunk_push(struct shard *sh, struct shard_in *si);
/* Hand c to the workers of every output in route (refs set here); pool:
 * the one it came from, whose fill level hurries the wake-ups. */
void shard_chunk_send(struct shard *sh, struct dp_chunk *c, uint64_t route, const struct dp_pool *pool);
/* shard.c <-> shard_park.c: take back returned chunks (true when some
 * came), push open chunks due (all: every one), read the clocks. */
bool shard_reclaim(struct shard *sh);
int shard_flush_due(struct shard *sh, bool all);
void shard_clocks(struct shard *sh);
/* shard.c <-> shard_filter.c */
int shard_filters_init(struct shard *sh);
void shard_filters_fini(struct shard *sh);
/* Run the filters of `chain` over the tail record of c (which belongs to
 * si); false when the record was removed. */
bool shard_filter_run(struct shard *sh, struct shard_in *si, struct dp_chunk *c, const char *tag,
		      size_t tag_len, uint64_t chain, unsigned depth);
/* Offer a record (the tail of c) to the SQL queries; origin: -1, or the
 * task that emitted it. */
void shard_sp_record(struct shard *sh, struct shard_in *si, struct dp_chunk *c, const char *tag,
		     size_t tag_len, int origin, unsigned depth);
/* Filter and SQL timeouts, about every 50 ms; final at shutdown. */
void shard_filters_tick(struct shard *sh, bool final);
/* Is the open chunk too full to let filters grow the record just parsed? */
static inline bool shard_filter_headroom_low(const struct dp_chunk *c)
{
	return DP_CHUNK_DATA - c->data_len < 8192 || DP_CHUNK_FIELDS - c->nfields < 64;
}
int shard_net_open(struct shard *sh, struct shard_in *si, struct dp_err *err);
/* Can in's address be bound (the check shard 0 makes at start-up)? Any
 * thread. A reload asks it before it changes anything. */
int shard_net_check_bind(const struct dp_input *in, struct dp_err *err);
/* Reload: read the connections of the inputs in mask to the end of what
 * arrived (until ns deadline), then close them and the inputs' sockets. */
void shard_net_retire(struct shard *sh, uint64_t mask, uint64_t deadline_ns);
/* dp_input_ops.drain of the inputs in mask (bit i: input i): whether one
 * has more to take (shard.c). */
bool shard_inputs_drain(struct shard *sh, uint64_t mask);
/* Reload: close si's connections and sockets (a rebind lets it go). */
void shard_net_close_input(struct shard *sh, struct shard_in *si);
void shard_net_event(struct shard *sh, void *tag, uint32_t events);
bool shard_net_service_ready(struct shard *sh, bool drain);
bool shard_net_has_work(struct shard *sh);
void shard_net_stop_accepting(struct shard *sh);
void shard_net_close_all(struct shard *sh);
void shard_net_mark_all_ready(struct shard *sh);

/* epoll tags: the first byte of what epoll_event.data.ptr points at */
enum shard_ev_kind { SHARD_EV_LISTEN, SHARD_EV_CONN, SHARD_EV_UDP, SHARD_EV_TIMER, SHARD_EV_WAKE,
		     SHARD_EV_INPUT };

/* An input's own descriptor in its shard's epoll (tail: its inotify fd):
 * when it is readable the input's tick runs (the input drains it). The
 * tag lives in the input's context; shard thread only. */
struct shard_ev_input {
	uint8_t kind;
	const struct dp_input *in;    /* by object: a reload may move its index */
};
/* Fire input `input`'s tick timer (DP_NET_TIMER inputs) in ns nanoseconds
 * (0: at once), then every tick_ns again: an input with more to read asks
 * for its next turn after the shard's other work. The owning shard. */
void shard_in_timer_in(struct shard *sh, unsigned input, uint64_t ns);

/* Reload, control thread (shard_park.c). Park: the shard stops reading,
 * hands on every open chunk and what filters hold, and waits, still
 * taking returns, until every chunk is home (parked == 1). Retire (from a
 * park, with sh->retire set): the inputs it names stop accepting, their
 * connections are read to the end of what arrived and closed, what was
 * read goes on; the shard parks again. Resume: it goes on as before.
 * Rebind: with sh->rebind set, it lets go of the inputs the new pipeline
 * does not keep, its filter contexts and channels, moves the kept inputs
 * to their new index, opens the new ones, and takes on the new pipeline;
 * parked drops to 0 when done. */
void shard_park(struct shard *sh, enum shard_park how);
/* Shard thread, at the top of its loop. */
void shard_park_run(struct shard *sh);
/* internal to shards/: an input's per-shard state, made and let go
 * (shard.c), also by a rebind (shard_park.c). */
int shard_in_init(struct shard *sh, unsigned i, struct dp_err *err);
/* Open input i's receive side (sockets, timer) as shard_start does. */
int shard_in_open(struct shard *sh, struct shard_in *si, struct dp_err *err);
void shard_in_fini(struct shard *sh, struct shard_in *si);
int shard_in_watch_fd(struct shard *sh, int fd, struct shard_ev_input *tag);

#endif
