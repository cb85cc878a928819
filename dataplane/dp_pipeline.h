/*
 * dp_pipeline.h — one running configuration: the service settings, the
 * input and output instances, the shards and output workers, and the rings
 * between them. Built and torn down on the control thread.
 */
#ifndef DP_PIPELINE_H
#define DP_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include "dp_conf.h"
#include "dp_plugin.h"

#define DP_MAX_INPUTS  64
#define DP_MAX_OUTPUTS 64
#define DP_MAX_SHARDS  256

struct dp_service {
	double flush;          /* seconds a partial chunk may wait */
	double grace;          /* seconds to drain at shutdown */
	bool daemon;
	int log_level;
	char *log_file;
	char *parsers_file;
	char *plugins_file;      /* read by dp_plugin_load_conf */
	bool http_server;
	char *http_listen;
	int64_t http_port;
	bool health_check;     /* /api/v1/health (dp_http.h) */
	bool hot_reload;       /* /api/v2/reload may reload (runtime/dp_reload.h) */
	int64_t hc_errors_count, hc_retry_failure_count, hc_period;
	int64_t shards;        /* 0: one per CPU in CPUs */
	char *cpus;            /* "0-3,6"; NULL: the process's affinity */
	char *stats_file;
	double stats_interval;
	char *storage_path;
	int storage_sync;      /* 0 normal, 1 full */
	bool storage_checksum;
	int64_t storage_max_chunks_up;
	int64_t storage_backlog_mem_limit;
	bool storage_delete_irrecoverable;
	bool storage_metrics;
	int storage_full_action;  /* 0 drop_oldest, 1 pause */
	bool storage_keep_rejected;
	char *storage_rejected_path;
	char *streams_file;
	int64_t sp_mem_buf_limit; /* memory for the stream processor's results */
	double sched_base;     /* scheduler.base: retry backoff, seconds (dp_sched.h) */
	double sched_cap;      /* scheduler.cap */
	bool json_nan_null;    /* json.convert_nan_to_null (outputs/out_json.h) */
	bool sp_str_num;       /* sp.convert_from_str_to_num (sp/sp.h) */
};

struct shard;
struct out_worker;
struct dp_filter;
struct psr_parsers;
struct psr_ml_set;
struct sp_engine;
struct dp_store;

#define DP_MAX_FILTERS 64

struct dp_pipeline {
	struct dp_service svc;
	struct dp_input *in[DP_MAX_INPUTS];
	unsigned nin;
	struct dp_output *out[DP_MAX_OUTPUTS];
	unsigned nout;
	struct dp_filter *flt[DP_MAX_FILTERS];
	unsigned nflt;
	struct psr_parsers *parsers;     /* [PARSER] sections, by name */
	struct psr_ml_set *ml_parsers;   /* [MULTILINE_PARSER] and built-ins */
	struct sp_engine *sp;            /* [STREAM_TASK] queries, or NULL */
	int sp_input;                    /* the input carrying their results */
	struct dp_conf *streams_conf;    /* Streams_File, as read */
	unsigned nshards;
	int cpu[DP_MAX_SHARDS];          /* CPU of each shard */
	struct shard **shards;
	struct out_worker **workers;
	struct dp_chan **chans;       /* [shard * nworkers + worker] (dp_chan.h) */
	unsigned nchans;
	unsigned nworkers;
	unsigned stuck_workers;          /* left running after Grace */
	uint64_t start_ns;
	struct dp_store *store;          /* filesystem store (dp_store.h), or NULL */
	/* reload (runtime/dp_reload.c) */
	uint64_t parsers_sig;            /* dp_conf_section_sig of every parser section */
	struct psr_parsers *kept_parsers;   /* the parsers of the inputs a reload kept */
	struct psr_ml_set *kept_ml_parsers;
};

/* The filters whose Match covers tag, after filter `after` (-1: all), as
 * a bitmap of filter ids; and the outputs it routes to. */
uint64_t dp_pipeline_chain(const struct dp_pipeline *pl, const char *tag, size_t len, int after);
uint64_t dp_pipeline_route(const struct dp_pipeline *pl, const char *tag, size_t len);

/* Build from a configuration: checks every section and key, resolves
 * plugins and routes; opens nothing. */
struct dp_pipeline *dp_pipeline_create(const struct dp_conf *conf, struct dp_err *err);
/* Allocate pools and rings, open listeners, start threads. */
int dp_pipeline_start(struct dp_pipeline *pl, struct dp_err *err);
/* Stop accepting, drain everything in flight, join. Returns 0 when all
 * accepted records were delivered within Grace, -ETIMEDOUT otherwise. */
int dp_pipeline_stop(struct dp_pipeline *pl);
/* After a stop that timed out: a worker was left running (blocked in its
 * output); the pipeline must then not be destroyed. */
bool dp_pipeline_has_stuck_worker(const struct dp_pipeline *pl);
void dp_pipeline_destroy(struct dp_pipeline *pl);

extern const struct dp_opt dp_service_opts[];
extern const struct dp_opt dp_input_common_opts[];
extern const struct dp_opt dp_output_common_opts[];

#endif
