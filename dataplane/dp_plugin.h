/*
 * dp_plugin.h — what an input or output plugin is: one const struct of
 * operations with designated initializers, an option table, and the
 * instances the configuration creates from it. Control operations (setup,
 * teardown) are apart from the data operations (parse on shards, flush on
 * output workers). The registry is one static array (dp_registry.c).
 */
#ifndef DP_PLUGIN_H
#define DP_PLUGIN_H

#include <stdbool.h>
#include <stdint.h>
#include "dp_chunk.h"
#include "dp_log.h"
#include "dp_opt.h"
#include "dp_route.h"

/* Fluent Bit's levels, the order of enum dp_log_level (dp_log.h). */
#define DP_PLUGIN_LOG_LEVELS "off|error|warn|info|debug|trace"

struct dp_input;
struct dp_output;
struct dp_pipeline;
struct shard;
struct shard_rx_cfg;
struct dp_tls;

/* Turn one frame into the fields of the open record (see psr_*): 0, or
 * -EINVAL when malformed (the frame is skipped), or DP_PARSE_UNPARSED when
 * the record holds the raw frame because the parser did not match it.
 * ctx is the input's per-shard context. */
#define DP_PARSE_UNPARSED 1
typedef int (*dp_parse_fn)(struct dp_chunk *c, const char *p, size_t len, void *ctx);

enum dp_transport {
	DP_NET_NONE,
	DP_NET_TCP,     /* stream listener, one framer per connection */
	DP_NET_UDP,     /* one datagram, one frame */
	DP_NET_TIMER,   /* a generator ticking on one shard (dummy) */
	DP_NET_UNIX_TCP, /* stream listener on a Unix socket path (shard 0 only) */
	DP_NET_UNIX_UDP, /* datagram Unix socket (shard 0 only) */
};

static inline bool dp_net_is_stream(enum dp_transport t)
{
	return t == DP_NET_TCP || t == DP_NET_UNIX_TCP;
}

static inline bool dp_net_is_dgram(enum dp_transport t)
{
	return t == DP_NET_UDP || t == DP_NET_UNIX_UDP;
}

static inline bool dp_net_is_unix(enum dp_transport t)
{
	return t == DP_NET_UNIX_TCP || t == DP_NET_UNIX_UDP;
}

struct dp_input_ops {
	const char *name;
	const char *desc;
	const struct dp_opt *opts;
	size_t cfg_size;
	/* Control thread, before any socket opens: check the configuration and
	 * fill the transport fields of the instance. */
	int (*setup)(struct dp_input *in, struct dp_err *err);
	/* Shard thread, once at start: the per-shard context given to parse. */
	void *(*shard_ctx_create)(struct dp_input *in, unsigned shard);
	void (*shard_ctx_destroy)(void *ctx);
	/* Called once per burst of frames with the burst's receive time, so
	 * contexts can refresh clocks and caches outside the per-event loop. */
	void (*burst_begin)(void *ctx, uint64_t now_real_ns);
	dp_parse_fn parse;
	/* Optional, shard thread: a stream frame that holds several records,
	 * each with its own tag and time (forward): the input emits them
	 * itself (shard_emit_tagged, whose parse writes one record) instead
	 * of parse taking the frame as one record. *done: in, how many of the
	 * frame's records an earlier call that ran out of memory emitted
	 * (skip them); out, how many are emitted now. 0, or -EAGAIN (memory
	 * exhausted: the frame comes again with *done). conn: the connection
	 * it came on (shards/shard_conn.h), for replies. */
	int (*frame)(struct dp_input *in, struct shard *sh, void *ctx, void *conn, const char *p,
		     size_t len, uint32_t *done);
	/* Optional, shard thread: a connection of a stream input can carry
	 * data (accepted; for tls, its handshake done): e.g. send a greeting
	 * (forward's HELO). */
	void (*conn_open)(struct dp_input *in, struct shard *sh, void *ctx, void *conn);
	/* DP_NET_TIMER: called on each timer expiry on shard 0; emits its
	 * records with shard_emit (which says when memory is exhausted). */
	void (*tick)(struct dp_input *in, struct shard *sh, void *ctx, uint64_t now_real_ns);
	/* Optional, shard thread: a chunk of this input came back from every
	 * output it was routed to (all of it delivered), before it is reused:
	 * e.g. commit the Kafka offsets kept in c->in_meta. */
	void (*chunk_released)(struct dp_input *in, void *ctx, struct dp_chunk *c);
	void (*teardown)(struct dp_input *in);
	/* Keys starting with it ("rdkafka.") are not in opts: setup reads
	 * them from the section (dp_input.sec). */
	const char *key_prefix;
	/* Optional, shard thread: sluice stops, or a reload lets the input go.
	 * Take in what the input holds that no one else will give again (a
	 * Go input's buffers, handed over by its plugin) before the shard's
	 * last flush. Called again while it answers true (more to come, or
	 * memory exhausted: chunk_released follows) and the Grace lasts. */
	bool (*drain)(struct dp_input *in, struct shard *sh, void *ctx);
};

#define DP_EMITTER_SP 1000

/* [INPUT] storage.type, in the order of its choices. */
enum dp_storage_type { DP_STORAGE_MEMORY, DP_STORAGE_FILESYSTEM, DP_STORAGE_MEMRB };

struct dp_input {
	unsigned id;
	char name[48];            /* "syslog.0", as Fluent Bit names instances */
	char *tag;
	size_t tag_len;
	const struct dp_input_ops *ops;
	void *cfg;                /* the plugin's option struct */
	const char *file;         /* where the section was written */
	int line;
	struct dp_pipeline *pl;   /* its parsers ([PARSER]) */
	/* common keys */
	char *tag_opt;
	char *alias;
	int64_t mem_buf_limit;
	bool threaded;
	int log_level;            /* enum dp_log_level, -1: the service's */
	struct dp_log_supp log_supp;   /* Log_Suppress_Interval (dp_log.h) */
	int storage_type;         /* enum dp_storage_type */
	bool storage_pause;
	bool routable;            /* Routable: off, its records reach the filters and the
	                             stream processor but no output (route stays 0);
	                             emitters are always routed */
	/* routing: bit i set when output i matches this tag */
	uint64_t route;
	/* bit f set when filter f's Match covers this tag (the chain) */
	uint64_t filters;
	/* an emitter (dp_filter.h): the filter it serves, DP_EMITTER_SP for
	 * the stream processor's results, else -1; its chunks carry their
	 * own tag */
	int emitter_of;
	/* transport, filled by setup */
	enum dp_transport net;
	char *listen;
	int port;
	char *path;               /* Unix socket path */
	const char *src_key;      /* Source_Address_Key, or NULL */
	size_t src_key_len;
	unsigned unix_perm;       /* its mode bits */
	int framing;              /* PSR_FRAME_* */
	bool dgram_frames;        /* UDP: cut each datagram into frames by `framing`
	                             (the udp input); else one datagram, one frame */
	char *sep;                /* custom separator, or NULL */
	size_t sep_len;
	uint32_t max_frame;       /* Buffer_Max_Size */
	uint32_t read_size;       /* Buffer_Chunk_Size */
	uint64_t tick_ns;         /* DP_NET_TIMER interval */
	bool tick_all_shards;     /* DP_NET_TIMER: tick on every shard, not shard 0 only */
	bool tag_per_record;      /* its records carry their own tag (systemd: Tag's '*'
	                             expanded, shard_emit_tagged): no warning when
	                             no output matches the tag as written */
	int rcvbuf;               /* SO_RCVBUF, 0 = kernel default */
	struct dp_tls *tls;       /* tls on: the server context (dp_tls.h), else NULL */
	/* per shard, set when the pipeline is built */
	unsigned pool_chunks;
	/* receive backend keys of UDP inputs (shards/shard_rx.h), or NULL */
	const struct shard_rx_cfg *rx;
	/* its configuration section; valid during setup only */
	const struct dp_conf_section *sec;
	uint64_t sig;             /* dp_conf_section_sig of it: a reload keeps the input when equal */
};

#define DP_FLUSH_PENDING 1
#define DP_FLUSH_BUSY    2
/* flush only: the destination refused the whole burst for good (an HTTP
 * 4xx other than 408 and 429): its records are counted failed (and kept in
 * the dead-letter queue when one is configured), never retried. The output
 * logs the cause itself (rate-limited), so the worker does not. */
#define DP_FLUSH_FAILED  3

/* A chunk an asynchronous output has settled: its records delivered,
 * or given up on (failed). */
struct dp_out_done {
	struct dp_chunk *c;
	uint32_t delivered;
	uint32_t failed;
	uint64_t bytes;           /* msgpack bytes of the delivered records */
};

/* Counters only an asynchronous output knows, added by its poll. */
struct dp_out_counters {
	uint64_t produced;        /* records handed to the client library */
	uint64_t produced_bytes;  /* bytes of their encoded values */
	uint64_t retried;         /* records produced again after a retriable error */
	uint64_t queued;          /* gauge: records in the library's queue */
};

struct dp_output_ops {
	const char *name;
	const char *desc;
	const struct dp_opt *opts;
	size_t cfg_size;
	int (*setup)(struct dp_output *o, struct dp_err *err);
	/* Output worker thread: its private context. */
	void *(*worker_create)(struct dp_output *o, unsigned worker, struct dp_err *err);
	/* Deliver a burst of chunks; 0 when all of it is confirmed (written),
	 * -errno to retry the whole burst later (same chunks, same order),
	 * DP_FLUSH_FAILED when retrying cannot help. Records flagged
	 * DP_REC_DROPPED are skipped. */
	int (*flush)(void *wctx, struct dp_chunk *const *c, unsigned n);
	/* Optional, for outputs confirmed later (kafka: delivery reports).
	 * With poll set, flush may also return DP_FLUSH_PENDING (it keeps the
	 * whole burst; it is not confirmed yet) or DP_FLUSH_BUSY (the same,
	 * and its queue is full: give it nothing more until poll returns
	 * DP_FLUSH_PENDING again). poll waits up to timeout_ms for progress,
	 * lists in done[0..*ndone) the chunks now settled, in the order flush
	 * took them, and adds its counters to cnt. It owns retries and
	 * Retry_Limit of the chunks it holds. */
	int (*poll)(void *wctx, int timeout_ms, struct dp_out_done *done, unsigned max,
		    unsigned *ndone, struct dp_out_counters *cnt);
	/* Optional, for synchronous outputs whose destination answers per
	 * record (es/opensearch _bulk): called on the worker once it is done
	 * with a burst (flush returned 0 or DP_FLUSH_FAILED, or Retry_Limit
	 * gave up on it), before its chunks are released. Sets in sel[i]
	 * (zeroed by the caller; bit r of word r / 64) the records of c[i]
	 * the destination did not accept, and returns how many. The worker
	 * counts those failed (and keeps them in the dead-letter queue) and
	 * the others delivered, instead of counting the whole burst one way.
	 * Without it: all delivered on 0, all failed otherwise. */
	uint32_t (*burst_failed)(void *wctx, struct dp_chunk *const *c, unsigned n,
				 uint64_t (*sel)[DP_CHUNK_RECS / 64]);
	void (*worker_destroy)(void *wctx);
	void (*teardown)(struct dp_output *o);
	/* As dp_input_ops.key_prefix. */
	const char *key_prefix;
};

struct dp_output {
	unsigned id;
	char name[48];            /* "file.0" */
	const struct dp_output_ops *ops;
	void *cfg;
	const char *file;
	int line;
	struct dp_pipeline *pl;   /* to find a chunk's tag */
	/* common keys */
	char *match_opt;
	char *match_regex_opt;
	char *alias;
	char *retry_limit_opt;
	int64_t workers;
	int log_level;            /* enum dp_log_level, -1: the service's */
	struct dp_log_supp log_supp;   /* Log_Suppress_Interval (dp_log.h) */
	int64_t storage_total_limit; /* storage.total_limit_size, 0: none */
	struct dp_match match;
	int retry_limit;          /* -1: no limit */
	unsigned worker_base;     /* index of its first worker in the pipeline */
	/* Set by setup: every worker gets every chunk and takes its share of
	 * the records (kafka: by key hash, so a key has one worker). Else a
	 * shard feeds one worker of the output. */
	bool fanout;
	/* its configuration section; valid during setup only */
	const struct dp_conf_section *sec;
	uint64_t sig;             /* dp_conf_section_sig of it (runtime/dp_reload.c) */
};


/* The tag of the input a chunk came from. */
const char *dp_chunk_tag(const struct dp_pipeline *pl, const struct dp_chunk *c, size_t *len);

#endif
