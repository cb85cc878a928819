/*
 * dp_pipeline.c — from a configuration to running threads and back.
 *
 * create: every section and key is checked against the option tables and
 * the plugin registry (errors name file:line) and routes are resolved,
 * once per input tag, into a bitmap of outputs. Nothing is opened.
 * start: pools, rings, sockets (all bound before any thread starts, so a
 * port in use fails cleanly), then workers, then shards.
 * stop: shards stop accepting and drain into the rings; workers drain the
 * rings; both are joined (workers within Grace).
 * Control thread only.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>
#include "dp_log.h"
#include "dp_pipeline.h"
#include "dp_store.h"
#include "dp_pipeline_int.h"
#include "dp_plugin_load.h"
#include "dp_suggest.h"
#include "dp_time.h"
#include "out_json.h"
#include "out_worker.h"
#include "shard.h"

#define SVC(f) offsetof(struct dp_service, f)

const struct dp_opt dp_service_opts[] = {
	{ "Flush", DP_OPT_SECONDS, "1", SVC(flush), NULL, 0, 0, 0,
	  "Longest time a partly filled chunk waits before it is handed to the outputs (seconds)." },
	{ "Grace", DP_OPT_SECONDS, "5", SVC(grace), NULL, 0, 0, 0,
	  "On SIGTERM/SIGINT, how long to wait for outputs to deliver what is in flight (seconds)." },
	{ "Daemon", DP_OPT_BOOL, "off", SVC(daemon), NULL, 0, 0, DP_OPT_NOT_YET,
	  "Run in the background. Not supported yet: run sluice under a service manager." },
	{ "Log_Level", DP_OPT_ENUM, "info", SVC(log_level), "off|error|warn|info|debug|trace", 0, 0, 0,
	  "Verbosity of the log." },
	{ "Log_File", DP_OPT_STR, NULL, SVC(log_file), NULL, 0, 0, 0,
	  "Write the log to this file instead of stderr." },
	{ "Parsers_File", DP_OPT_STR, NULL, SVC(parsers_file), NULL, 0, 0, 0,
	  "Fluent Bit parsers file: [PARSER] and [MULTILINE_PARSER] sections, relative to the file that "
	  "names it. May be given several times." },
	{ "Plugins_File", DP_OPT_STR, NULL, SVC(plugins_file), NULL, 0, 0, 0,
	  "Fluent Bit plugins file: [PLUGINS] sections whose Path keys name plugin shared objects "
	  "(docs/PLUGINS.md), relative to the file that names it. May be given several times. "
	  "Also -e PATH." },
	{ "HTTP_Server", DP_OPT_BOOL, "off", SVC(http_server), NULL, 0, 0, 0,
	  "Built-in HTTP server: Fluent Bit's monitoring endpoints and Prometheus metrics "
	  "(docs/OPERATIONS.md, Monitoring). Also -H." },
	{ "HTTP_Listen", DP_OPT_STR, "0.0.0.0", SVC(http_listen), NULL, 0, 0, 0,
	  "IP address the HTTP server listens on. Also -L." },
	{ "HTTP_Port", DP_OPT_INT, "2020", SVC(http_port), NULL, 1, 65535, 0,
	  "TCP port of the HTTP server. Also -P." },
	{ "Hot_Reload", DP_OPT_BOOL, "off", SVC(hot_reload), NULL, 0, 0, 0,
	  "Let POST or PUT /api/v2/reload reload the configuration, as SIGHUP always does "
	  "(docs/OPERATIONS.md, Reload). Also -Y." },
	{ "Health_Check", DP_OPT_BOOL, "off", SVC(health_check), NULL, 0, 0, 0,
	  "Serve /api/v1/health: 200 \"ok\", or 500 \"error\" once the outputs had more than "
	  "HC_Errors_Count errors or HC_Retry_Failure_Count retry failures in the last HC_Period seconds." },
	{ "HC_Errors_Count", DP_OPT_INT, "5", SVC(hc_errors_count), NULL, 0, 2147483647, 0,
	  "Health_Check: output errors (bursts refused for good) allowed in HC_Period, summed over outputs." },
	{ "HC_Retry_Failure_Count", DP_OPT_INT, "5", SVC(hc_retry_failure_count), NULL, 0, 2147483647, 0,
	  "Health_Check: retry failures (bursts given up after their retries) allowed in HC_Period." },
	{ "HC_Period", DP_OPT_INT, "60", SVC(hc_period), NULL, 1, 86400, 0,
	  "Health_Check: the window, in seconds, in which errors and retry failures are counted." },
	{ "Shards", DP_OPT_INT, "0", SVC(shards), NULL, 0, DP_MAX_SHARDS, 0,
	  "sluice: number of shard threads; 0 = one per CPU in CPUs." },
	{ "CPUs", DP_OPT_STR, NULL, SVC(cpus), NULL, 0, 0, 0,
	  "sluice: CPUs the shards are pinned to, e.g. 0-3,6. Default: the CPUs the process may run on." },
	{ "Stats_File", DP_OPT_STR, NULL, SVC(stats_file), NULL, 0, 0, 0,
	  "sluice: rewrite this file with the counters as JSON every Stats_Interval." },
	{ "Stats_Interval", DP_OPT_SECONDS, "1", SVC(stats_interval), NULL, 0, 0, 0,
	  "sluice: how often Stats_File is rewritten (seconds)." },
	{ "Streams_File", DP_OPT_STR, NULL, SVC(streams_file), NULL, 0, 0, 0,
	  "Fluent Bit stream processor file: [STREAM_TASK] sections (Name, Exec). See docs/SQL.md." },
	{ "SP_Mem_Buf_Limit", DP_OPT_SIZE, "10M", SVC(sp_mem_buf_limit), NULL, 0, 0, 0,
	  "sluice: memory for the stream processor's results, across all shards; past it results are "
	  "counted as dropped." },
	{ "json.convert_nan_to_null", DP_OPT_BOOL, "on", SVC(json_nan_null), NULL, 0, 0, 0,
	  "on: NaN and infinite floats are written as null in JSON output, so it stays JSON; off: as "
	  "nan, inf and -inf, as Fluent Bit writes them by default (its default is off)." },
	{ "sp.convert_from_str_to_num", DP_OPT_BOOL, "true", SVC(sp_str_num), NULL, 0, 0, 0,
	  "Stream processor: SUM, AVG, MIN, MAX, PERCENTILE and TIMESERIES_FORECAST read a string "
	  "that holds a number (\"12\", \"-3.5\", \"1e3\") as that number; false: such strings are "
	  "left out of the aggregate, as other non-numbers are." },
	{ "scheduler.base", DP_OPT_SECONDS, "5", SVC(sched_base), NULL, 0, 86400, 0,
	  "Retry backoff: the shortest wait before a failed flush is retried, and the unit of the "
	  "exponential growth. Retry n waits a random time in [base, min(cap, base * 2^n)] (Fluent "
	  "Bit's backoff with full jitter). Must be more than 0; fractions are a sluice extension." },
	{ "scheduler.cap", DP_OPT_SECONDS, "2000", SVC(sched_cap), NULL, 0, 2147483647, 0,
	  "Retry backoff: the longest wait before a retry (seconds); not less than scheduler.base." },
	{ "storage.path", DP_OPT_STR, NULL, SVC(storage_path), NULL, 0, 0, 0,
	  "Directory of the filesystem store (docs/STORAGE.md): inputs with storage.type filesystem "
	  "keep their chunks there until every output confirmed them, and what is there is replayed "
	  "after a restart. Also -b PATH." },
	{ "storage.sync", DP_OPT_ENUM, "normal", SVC(storage_sync), "normal|full", 0, 0, 0,
	  "normal: a chunk is in the store once written (survives a crash of sluice, not of the "
	  "machine); full: also on disk (fdatasync, one per chunk written, on a thread of its own) "
	  "before its records are counted in." },
	{ "storage.checksum", DP_OPT_BOOL, "off", SVC(storage_checksum), NULL, 0, 0, 0,
	  "Accepted for compatibility: sluice always checks a CRC32C on every chunk it stores." },
	{ "storage.max_chunks_up", DP_OPT_INT, "128", SVC(storage_max_chunks_up), NULL, 1, 1000000, 0,
	  "Chunks of filesystem inputs held in memory at a time, across shards (each input also "
	  "stays within its Mem_Buf_Limit); the rest waits on disk." },
	{ "storage.backlog.mem_limit", DP_OPT_SIZE, "5M", SVC(storage_backlog_mem_limit), NULL, 0, 0, 0,
	  "Memory for chunks read back from the store (replay after a restart, or a backlog while "
	  "outputs are slow), across shards; at least 4 chunks per shard." },
	{ "storage.delete_irrecoverable_chunks", DP_OPT_BOOL, "off", SVC(storage_delete_irrecoverable),
	  NULL, 0, 0, 0,
	  "on: a segment found corrupt in the middle is not copied to the rejected folder (its valid "
	  "frames are replayed either way)." },
	{ "storage.metrics", DP_OPT_BOOL, "off", SVC(storage_metrics), NULL, 0, 0, 0,
	  "Accepted for compatibility: the store's counters are always in Stats_File." },
	{ "storage.keep.rejected", DP_OPT_BOOL, "off", SVC(storage_keep_rejected), NULL, 0, 0, 0,
	  "Dead-letter queue: records an output gives up on (Retry_Limit reached, no_retries, a "
	  "permanent error) are written to storage.rejected.path as msgpack events instead of being "
	  "lost. Needs storage.path." },
	{ "storage.rejected.path", DP_OPT_STR, "rejected", SVC(storage_rejected_path), NULL, 0, 0, 0,
	  "Folder under storage.path for the dead-letter queue and for copies of damaged segments." },
	{ "storage.full_action", DP_OPT_ENUM, "drop_oldest", SVC(storage_full_action), "drop_oldest|pause", 0,
	  0, 0,
	  "sluice: when an output's storage.total_limit_size is reached or the disk is full: drop_oldest "
	  "deletes the oldest chunks waiting on disk (counted, Fluent Bit's rule); pause stops the "
	  "filesystem inputs instead (TCP backpressure, UDP drops counted) until delivered chunks free "
	  "space." },
	{ NULL },
};

#define IN(f) offsetof(struct dp_input, f)

const struct dp_opt dp_input_common_opts[] = {
	{ "Tag", DP_OPT_STR, NULL, IN(tag_opt), NULL, 0, 0, 0,
	  "Tag of the records of this input; default: the instance name, e.g. syslog.0." },
	{ "Alias", DP_OPT_STR, NULL, IN(alias), NULL, 0, 0, 0, "Name of the instance in logs and metrics." },
	{ "Mem_Buf_Limit", DP_OPT_SIZE, "8M", IN(mem_buf_limit), NULL, 0, 0, 0,
	  "Memory this input may hold in chunks, across all shards. When reached, TCP reading pauses "
	  "(backpressure) and UDP datagrams are dropped and counted. sluice always bounds memory: the "
	  "default is 8M (Fluent Bit's default is unlimited)." },
	{ "Threaded", DP_OPT_BOOL, "off", IN(threaded), NULL, 0, 0, 0,
	  "Accepted for compatibility; every input already runs on the shard threads." },
	{ "Log_Level", DP_OPT_ENUM, NULL, IN(log_level), DP_PLUGIN_LOG_LEVELS, 0, 0, 0,
	  "Verbosity of this instance's own log lines; default: the [SERVICE] Log_Level. Checked and "
	  "stored; the log itself still filters on the service level." },
	{ "storage.type", DP_OPT_ENUM, "memory", IN(storage_type), "memory|filesystem|memrb", 0, 0, 0,
	  "Where chunks are buffered: memory, the pools bounded by Mem_Buf_Limit (full: the input "
	  "pauses); memrb, the same but full drops the oldest chunks no output has taken yet (counted "
	  "as dropped) and the input keeps reading; filesystem, also the store under [SERVICE] "
	  "storage.path, which outlives a crash (docs/STORAGE.md)." },
	{ "storage.pause_on_chunks_overlimit", DP_OPT_BOOL, "off", IN(storage_pause), NULL, 0, 0, 0,
	  "storage.type filesystem: on, the input pauses (TCP backpressure; UDP drops counted) when "
	  "its chunks in memory (Mem_Buf_Limit, storage.max_chunks_up) are used up, as a memory input "
	  "does, instead of letting new chunks wait on disk; they are still stored. Memory inputs "
	  "always pause." },
	{ "Log_Suppress_Interval", DP_OPT_SECONDS, "0", IN(log_supp.interval), NULL, 0, 0, 0,
	  "Identical log lines of this instance within this many seconds are written once (Fluent "
	  "Bit's log_suppress_interval); 0: all are written." },
	{ "Routable", DP_OPT_BOOL, "true", IN(routable), NULL, 0, 0, 0,
	  "off: the records go through the filters and the stream processor ([STREAM_TASK], -T) "
	  "but to no output, whatever their Match; the results of the SQL tasks are routed as "
	  "usual (Fluent Bit's routable)." },
	{ NULL },
};

#define OUT(f) offsetof(struct dp_output, f)

const struct dp_opt dp_output_common_opts[] = {
	{ "Match", DP_OPT_STR, NULL, OUT(match_opt), NULL, 0, 0, 0,
	  "Tag pattern with * wildcards selecting the records this output receives." },
	{ "Match_Regex", DP_OPT_STR, NULL, OUT(match_regex_opt), NULL, 0, 0, 0,
	  "Regular expression (PCRE2) on the tag, instead of Match." },
	{ "Alias", DP_OPT_STR, NULL, OUT(alias), NULL, 0, 0, 0, "Name of the instance in logs and metrics." },
	{ "Retry_Limit", DP_OPT_STR, "1", OUT(retry_limit_opt), NULL, 0, 0, 0,
	  "Retries of a failed flush before its records are counted as failed: a number >= 1, "
	  "no_limits / False / off (retry forever) or no_retries (none). Waits between retries: "
	  "[SERVICE] scheduler.base and scheduler.cap." },
	{ "Workers", DP_OPT_INT, "1", OUT(workers), NULL, 1, 64, 0, "Output worker threads." },
	{ "storage.total_limit_size", DP_OPT_SIZE, NULL, OUT(storage_total_limit), NULL, 0, 0, 0,
	  "Most bytes of the filesystem store that may wait on disk for this output (split evenly "
	  "over the shards); then storage.full_action: drop_oldest drops the oldest waiting for this "
	  "output only (other outputs still get them), pause stops the filesystem inputs. Default: "
	  "no limit." },
	{ "Log_Level", DP_OPT_ENUM, NULL, OUT(log_level), DP_PLUGIN_LOG_LEVELS, 0, 0, 0,
	  "Verbosity of this instance's own log lines; default: the [SERVICE] Log_Level. Checked and "
	  "stored; the log itself still filters on the service level." },
	{ "Log_Suppress_Interval", DP_OPT_SECONDS, "0", OUT(log_supp.interval), NULL, 0, 0, 0,
	  "Identical log lines of this instance within this many seconds are written once (Fluent "
	  "Bit's log_suppress_interval); 0: all are written." },
	{ NULL },
};

/* ---- CPUs ---- */

static int parse_cpus(const char *s, int *cpus, unsigned max, unsigned *n)
{
	*n = 0;
	while (*s) {
		char *end;
		long a = strtol(s, &end, 10), b = a;
		if (end == s || a < 0 || a >= CPU_SETSIZE)
			return -EINVAL;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a || b >= CPU_SETSIZE)
				return -EINVAL;
			s = end;
		}
		for (long c = a; c <= b && *n < max; c++)
			cpus[(*n)++] = (int)c;
		if (*s == ',')
			s++;
		else if (*s)
			return -EINVAL;
	}
	return *n ? 0 : -EINVAL;
}

static int place_shards(struct dp_pipeline *pl, const struct dp_conf_section *svc, struct dp_err *err)
{
	int cpus[DP_MAX_SHARDS];
	unsigned ncpu = 0;
	if (pl->svc.cpus) {
		if (parse_cpus(pl->svc.cpus, cpus, DP_MAX_SHARDS, &ncpu)) {
			const struct dp_conf_kv *kv = svc ? dp_conf_kv_get(svc, "CPUs") : NULL;
			return dp_err_set(err, -EINVAL, "%s:%d: [SERVICE] invalid value '%s' for 'CPUs': "
					  "expected a list such as 0-3,6", kv ? kv->file : "?",
					  kv ? kv->line : 0, pl->svc.cpus);
		}
	} else {
		cpu_set_t set;
		CPU_ZERO(&set);
		sched_getaffinity(0, sizeof(set), &set);
		for (int c = 0; c < CPU_SETSIZE && ncpu < DP_MAX_SHARDS; c++)
			if (CPU_ISSET(c, &set))
				cpus[ncpu++] = c;
		if (!ncpu)
			cpus[ncpu++] = -1;
	}
	pl->nshards = pl->svc.shards ? (unsigned)pl->svc.shards : ncpu;
	for (unsigned i = 0; i < pl->nshards; i++)
		pl->cpu[i] = cpus[i % ncpu];
	return 0;
}

/* The retry backoff's keys (dp_sched.h): the range in the table keeps
 * each sane alone, this their relation. Fluent Bit checks neither and
 * divides by zero or draws from an empty range when cap < base. */
static int check_sched(const struct dp_pipeline *pl, const struct dp_conf_section *svc, struct dp_err *err)
{
	const char *key = NULL, *want = NULL;
	if (!(pl->svc.sched_base >= 0.001)) {
		key = "scheduler.base";
		want = "more than 0 seconds (at least 1ms)";
	} else if (pl->svc.sched_cap < pl->svc.sched_base) {
		/* name the key that was written: cap, else base above the
		 * default cap */
		bool cap_set = svc && dp_conf_kv_get(svc, "scheduler.cap");
		key = cap_set ? "scheduler.cap" : "scheduler.base";
		want = cap_set ? "not less than scheduler.base" : "not more than scheduler.cap (2000)";
	}
	if (!key)
		return 0;
	const struct dp_conf_kv *kv = svc ? dp_conf_kv_get(svc, key) : NULL;
	return dp_err_set(err, -EINVAL, "%s:%d: [SERVICE] invalid value '%s' for '%s': expected %s",
			  kv ? kv->file : "?", kv ? kv->line : 0, kv ? kv->val : "?", key, want);
}

/* ---- sections ---- */

/* An instance's Log_Level: the value its table parsed, or -1 (the
 * service's level) when the section does not set it. The ENUM row has no
 * default, which would read as "off". */
int dp_pipeline_log_level(const struct dp_conf_section *s, int parsed)
{
	return dp_conf_kv_get(s, "Log_Level") ? parsed : -1;
}

/* Prefix a plugin's setup error with where it was written: the line of the
 * key it names when that key was set, else the section's line. */
static int place_error(struct dp_err *err, int rc, const struct dp_conf_section *s, const char *what)
{
	const struct dp_conf_kv *kv = err->key ? dp_conf_kv_get(s, err->key) : NULL;
	char msg[sizeof(err->msg)];
	snprintf(msg, sizeof(msg), "%s", err->msg);
	return dp_err_set(err, rc, "%s:%d: %s: %s", kv ? kv->file : s->file, kv ? kv->line : s->line,
			  what, msg);
}

static int add_input(struct dp_pipeline *pl, const struct dp_conf_section *s, struct dp_err *err)
{
	char what[64];
	struct dp_input *in = dp_pipeline_inst_new(pl, DP_INST_INPUT, s, what, sizeof(what), err);
	if (!in)
		return err->code;
	in->tag = strdup(in->tag_opt ? in->tag_opt : in->name);
	if (!in->tag)
		return dp_err_set(err, -ENOMEM, "%s:%d: out of memory", s->file, s->line);
	in->tag_len = strlen(in->tag);
	err->key = NULL;
	int rc = in->ops->setup ? in->ops->setup(in, err) : 0;
	return rc ? place_error(err, rc, s, what) : 0;
}

int dp_pipeline_match_init(struct dp_match *m, const char *match, const char *regex,
			   const struct dp_conf_section *s, const char *what, const char *if_none,
			   struct dp_err *err)
{
	if (match && regex)
		return dp_err_set(err, -EINVAL, "%s:%d: %s: set Match or Match_Regex, not both", s->file,
				  s->line, what);
	if (!match && !regex) {
		dp_warn("%s:%d: %s has no Match or Match_Regex: %s", s->file, s->line, what, if_none);
		return 0;
	}
	int rc = dp_match_init(m, match, regex, err);
	if (rc) {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		const struct dp_conf_kv *kv = dp_conf_kv_get(s, match ? "Match" : "Match_Regex");
		return dp_err_set(err, rc, "%s:%d: %s: %s", kv->file, kv->line, what, msg);
	}
	return 0;
}

/* Retry_Limit as Fluent Bit reads it (flb_output.c, the manual's
 * administration/scheduling-and-retries): N >= 1 retries, no_limits /
 * False / off for no limit, no_retries for none; default 1. Fluent Bit
 * takes 0, a negative number or text it cannot read as 1 with a warning;
 * sluice refuses them (a wrong value is an error with file and line), and
 * its error says which word disables retries. */
static int parse_retry_limit(const char *v, int *out)
{
	if (!strcasecmp(v, "no_limits") || !strcasecmp(v, "false") || !strcasecmp(v, "off")) {
		*out = -1;
		return 0;
	}
	if (!strcasecmp(v, "no_retries")) {
		*out = 0;
		return 0;
	}
	char *end;
	long n = strtol(v, &end, 10);
	if (end == v || *end || n < 1 || n > 1000000)
		return -EINVAL;
	*out = (int)n;
	return 0;
}

static int add_output(struct dp_pipeline *pl, const struct dp_conf_section *s, struct dp_err *err)
{
	char what[64];
	struct dp_output *o = dp_pipeline_inst_new(pl, DP_INST_OUTPUT, s, what, sizeof(what), err);
	if (!o)
		return err->code;
	const struct dp_conf_kv *kv = dp_conf_kv_get(s, "Retry_Limit");
	if (parse_retry_limit(o->retry_limit_opt, &o->retry_limit))
		return dp_err_set(err, -EINVAL, "%s:%d: %s: invalid value '%s' for 'Retry_Limit': expected "
				  "a number of retries >= 1, no_limits (or False) or no_retries", kv ? kv->file : s->file,
				  kv ? kv->line : s->line, what, o->retry_limit_opt);
	int rc = dp_pipeline_match_init(&o->match, o->match_opt, o->match_regex_opt, s, what,
					"it will receive nothing", err);
	if (rc)
		return rc;
	err->key = NULL;
	if (o->ops->setup && (rc = o->ops->setup(o, err)))
		return place_error(err, rc, s, what);
	return 0;
}

static void route(struct dp_pipeline *pl)
{
	for (unsigned i = 0; i < pl->nin; i++) {
		struct dp_input *in = pl->in[i];
		if (in->emitter_of >= 0)
			continue;   /* routed by the tag of each chunk */
		in->route = in->routable ? dp_pipeline_route(pl, in->tag, in->tag_len) : 0;
		in->filters = dp_pipeline_chain(pl, in->tag, in->tag_len, -1);
		if (!in->route && !in->tag_per_record && in->routable)
			dp_warn("%s:%d: no output matches tag '%s' of %s: its records will be dropped",
				in->file, in->line, in->tag, in->name);
	}
}

struct dp_pipeline *dp_pipeline_create(const struct dp_conf *conf, struct dp_err *err)
{
	struct dp_pipeline *pl = calloc(1, sizeof(*pl));
	if (!pl) {
		dp_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	const struct dp_conf_section *svc = NULL;
	pl->sp_input = -1;
	int rc = dp_opt_defaults(dp_service_opts, &pl->svc, err);
	/* Plugin objects first: instances look their plugins up by name;
	 * then parsers: inputs and filters look them up by name. */
	if (!rc)
		rc = dp_plugin_load_conf(conf, err);
	if (!rc)
		rc = dp_pipeline_load_parsers(pl, conf, err);
	for (unsigned i = 0; !rc && i < conf->nsec; i++) {
		const struct dp_conf_section *s = &conf->sec[i];
		if (!strcasecmp(s->name, "SERVICE")) {
			const struct dp_opt *tabs[1] = { dp_service_opts };
			void *cfgs[1] = { &pl->svc };
			dp_opt_free(dp_service_opts, &pl->svc);
			rc = dp_opt_apply(tabs, cfgs, 1, s, "[SERVICE]", NULL, err);
			svc = s;
		} else if (!strcasecmp(s->name, "INPUT")) {
			rc = add_input(pl, s, err);
		} else if (!strcasecmp(s->name, "OUTPUT")) {
			rc = add_output(pl, s, err);
		} else if (!strcasecmp(s->name, "FILTER")) {
			rc = dp_pipeline_add_filter(pl, s, err);
		} else if (!strcasecmp(s->name, "PARSER") || !strcasecmp(s->name, "MULTILINE_PARSER") ||
			   !strcasecmp(s->name, "STREAM_TASK") || !strcasecmp(s->name, "PLUGINS")) {
			/* read by dp_pipeline_load_parsers / _load_sp / dp_plugin_load_conf */
		} else {
			char hint[96];
			rc = dp_err_set(err, -EINVAL, "%s:%d: unknown section [%s]%s", s->file, s->line, s->name,
					dp_suggest_section_hint(s->name, hint, sizeof(hint)));
		}
	}
	if (!rc && pl->svc.stats_file && !*pl->svc.stats_file) {
		/* Stats_File ${UNSET:-} names no file: as not set */
		free(pl->svc.stats_file);
		pl->svc.stats_file = NULL;
	}
	if (!rc)
		rc = place_shards(pl, svc, err);
	if (!rc)
		rc = check_sched(pl, svc, err);
	if (!rc && pl->nin == 0)
		rc = dp_err_set(err, -EINVAL, "no [INPUT] configured");
	if (!rc && pl->nout == 0)
		rc = dp_err_set(err, -EINVAL, "no [OUTPUT] configured");
	if (!rc)
		rc = dp_pipeline_add_emitters(pl, err);
	if (!rc)
		rc = dp_pipeline_load_sp(pl, conf, err);
	if (rc) {
		dp_pipeline_destroy(pl);
		return NULL;
	}
	route(pl);
	size_t fp = dp_pool_chunk_footprint();
	for (unsigned i = 0; i < pl->nin; i++) {
		int64_t per_shard = pl->in[i]->mem_buf_limit / (int64_t)pl->nshards;
		unsigned n = (unsigned)(per_shard / (int64_t)fp);
		/* One chunk being filled, one in flight, one coming back. */
		pl->in[i]->pool_chunks = n < 3 ? 3 : n;
	}
	if ((rc = dp_store_check(pl, err))) {
		dp_pipeline_destroy(pl);
		return NULL;
	}
	for (unsigned o = 0; o < pl->nout; o++) {
		pl->out[o]->worker_base = pl->nworkers;
		pl->nworkers += (unsigned)pl->out[o]->workers;
	}
	return pl;
}

/* Descriptors each shard may spend on connections: the open files limit,
 * less those open now, the listeners to come, and a reserve for output
 * files, the Stats_File and the log, shared out among the shards. */
#define FD_RESERVE 32

static unsigned conn_share(const struct dp_pipeline *pl)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return UINT_MAX;
	unsigned used = 0;
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		while (readdir(d))
			used++;
		closedir(d);
	}
	uint64_t fixed = used + (uint64_t)pl->nin * pl->nshards + FD_RESERVE;
	if (rl.rlim_cur <= fixed)
		return 1;
	uint64_t share = (rl.rlim_cur - fixed) / pl->nshards;
	if (share > UINT_MAX)
		share = UINT_MAX;
	dp_info("open files limit %llu: up to %llu connections per shard", (unsigned long long)rl.rlim_cur,
		(unsigned long long)share);
	return share ? (unsigned)share : 1;
}

int dp_pipeline_workers_create(struct dp_pipeline *pl, struct shard *const *shards, struct dp_chan ***shard_chans,
			       struct dp_err *err)
{
	pl->workers = calloc(pl->nworkers ? pl->nworkers : 1, sizeof(*pl->workers));
	pl->chans = calloc((size_t)pl->nshards * pl->nworkers + 1, sizeof(*pl->chans));
	if (!pl->workers || !pl->chans)
		return dp_err_set(err, -ENOMEM, "out of memory");
	for (unsigned o = 0, w = 0; o < pl->nout; o++) {
		for (unsigned k = 0; k < (unsigned)pl->out[o]->workers; k++, w++) {
			struct out_worker *wk = out_worker_create(pl, pl->out[o], w, k, err);
			if (!wk)
				return err->code ? err->code : -ENOMEM;
			pl->workers[w] = wk;
		}
	}
	/* A channel per shard and worker: the runtime is the one place that
	 * knows both ends (dp_chan.h). */
	unsigned cap = shard_ring_cap(pl);
	for (unsigned s = 0; s < pl->nshards; s++) {
		for (unsigned w = 0; w < pl->nworkers; w++) {
			struct dp_chan *ch = dp_chan_create(cap, &shards[s]->bell, &pl->workers[w]->bell);
			if (!ch)
				return dp_err_set(err, -ENOMEM, "shard %u: cannot allocate rings", s);
			pl->chans[pl->nchans++] = ch;
			shard_chans[s][w] = ch;
			pl->workers[w]->chan[s] = ch;
		}
	}
	return 0;
}

int dp_pipeline_workers_start(struct dp_pipeline *pl, struct dp_err *err)
{
	for (unsigned w = 0; w < pl->nworkers; w++) {
		int rc = out_worker_start(pl->workers[w], err);
		if (rc)
			return rc;
		while (!atomic_load(&pl->workers[w]->started))
			sched_yield();
		if (atomic_load(&pl->workers[w]->started) < 0) {
			*err = pl->workers[w]->err;
			char msg[sizeof(err->msg)];
			snprintf(msg, sizeof(msg), "%s", err->msg);
			return dp_err_set(err, -EIO, "[%s] %s", pl->workers[w]->o->name, msg);
		}
	}
	return 0;
}

int dp_pipeline_workers_stop(struct dp_pipeline *pl)
{
	int rc = 0;
	for (unsigned i = 0; i < pl->nchans; i++)
		dp_chan_close(pl->chans[i]);
	uint64_t deadline = dp_time_mono_ns() + (uint64_t)(pl->svc.grace * 1e9);
	for (unsigned w = 0; pl->workers && w < pl->nworkers; w++)
		if (pl->workers[w] && pl->workers[w]->thread)
			out_worker_request_stop(pl->workers[w]);
	for (unsigned w = 0; pl->workers && w < pl->nworkers; w++) {
		struct out_worker *wk = pl->workers[w];
		if (!wk || !wk->thread)
			continue;
		if (out_worker_join(wk, deadline)) {
			dp_error("[%s] did not finish delivering within Grace (%.1fs)", wk->o->name,
				 pl->svc.grace);
			/* Abandon the backoff and cut the thread loose: its
			 * chunks stay counted as not delivered. */
			atomic_store(&wk->stop, 2);
			pthread_detach(wk->thread);
			wk->thread = 0;
			pl->stuck_workers++;
			rc = -ETIMEDOUT;
		}
	}
	return rc;
}

int dp_pipeline_start(struct dp_pipeline *pl, struct dp_err *err)
{
	pl->start_ns = dp_time_mono_ns();
	out_json_nan_null_set(pl->svc.json_nan_null);
	int src = dp_store_open(pl, err);
	if (src)
		return src;
	pl->shards = calloc(pl->nshards, sizeof(*pl->shards));
	struct dp_chan ***chans = calloc(pl->nshards, sizeof(*chans));
	if (!pl->shards || !chans) {
		free(chans);
		return dp_err_set(err, -ENOMEM, "out of memory");
	}
	for (unsigned s = 0; s < pl->nshards; s++) {
		if (!(pl->shards[s] = shard_create(pl, s, pl->cpu[s], err))) {
			free(chans);
			return err->code ? err->code : -ENOMEM;
		}
		chans[s] = pl->shards[s]->chan;
	}
	int rc = dp_pipeline_workers_create(pl, pl->shards, chans, err);
	free(chans);
	if (rc || (rc = dp_pipeline_workers_start(pl, err)))
		return rc;
	unsigned max_conns = conn_share(pl);
	for (unsigned s = 0; s < pl->nshards; s++) {
		pl->shards[s]->max_conns = max_conns;
		rc = shard_start(pl->shards[s], err);
		if (rc)
			return rc;
	}
	/* Started means every shard has set up its inputs (shard.c, started). */
	for (unsigned s = 0; s < pl->nshards; s++)
		while (!atomic_load_explicit(&pl->shards[s]->started, memory_order_acquire))
			usleep(200);
	return 0;
}

int dp_pipeline_stop(struct dp_pipeline *pl)
{
	if (!pl->shards)
		return 0;
	for (unsigned s = 0; s < pl->nshards; s++)
		if (pl->shards[s] && pl->shards[s]->thread)
			shard_request_stop(pl->shards[s]);
	for (unsigned s = 0; s < pl->nshards; s++)
		if (pl->shards[s] && pl->shards[s]->thread) {
			shard_join(pl->shards[s]);
			pl->shards[s]->thread = 0;
		}
	return dp_pipeline_workers_stop(pl);
}

bool dp_pipeline_has_stuck_worker(const struct dp_pipeline *pl)
{
	return pl->stuck_workers > 0;
}

void dp_pipeline_destroy(struct dp_pipeline *pl)
{
	if (!pl)
		return;
	if (pl->shards && !pl->workers)
		pl->nworkers = 0;
	for (unsigned w = 0; pl->workers && w < pl->nworkers; w++)
		out_worker_destroy(pl->workers[w]);
	for (unsigned s = 0; pl->shards && s < pl->nshards; s++)
		shard_destroy(pl->shards[s]);
	for (unsigned i = 0; i < pl->nchans; i++)
		dp_chan_destroy(pl->chans[i]);
	free(pl->chans);
	free(pl->shards);
	free(pl->workers);
	dp_store_close(pl);
	for (unsigned i = 0; i < pl->nin; i++) {
		struct dp_input *in = pl->in[i];
		if (in->ops->teardown)
			in->ops->teardown(in);
		if (in->ops->opts)
			dp_opt_free(in->ops->opts, in->cfg);
		dp_opt_free(dp_input_common_opts, in);
		free(in->tag);
		free(in->listen);
		free(in->path);
		free(in->sep);
		free(in->cfg);
		free(in);
	}
	for (unsigned o = 0; o < pl->nout; o++) {
		struct dp_output *out = pl->out[o];
		if (out->ops->teardown)
			out->ops->teardown(out);
		if (out->ops->opts)
			dp_opt_free(out->ops->opts, out->cfg);
		dp_opt_free(dp_output_common_opts, out);
		dp_match_fini(&out->match);
		free(out->cfg);
		free(out);
	}
	dp_pipeline_filters_destroy(pl);
	dp_pipeline_sp_destroy(pl);
	dp_pipeline_parsers_destroy(pl);
	dp_opt_free(dp_service_opts, &pl->svc);
	free(pl);
}

const char *dp_chunk_tag(const struct dp_pipeline *pl, const struct dp_chunk *c, size_t *len)
{
	if (c->tag_len) {
		*len = c->tag_len;
		return c->tag;
	}
	const struct dp_input *in = pl->in[c->input];
	*len = in->tag_len;
	return in->tag;
}
