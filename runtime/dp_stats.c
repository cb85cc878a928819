/*
 * dp_stats.c — summing and printing counters (see dp_stats.h). Counters
 * are plain per-thread integers read with relaxed loads: a reading may be
 * a few events behind, never torn.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "dp_log.h"
#include "dp_pool.h"
#include "dp_stats.h"
#include "sp.h"
#include "dp_time.h"
#include "out_worker.h"
#include "shard.h"
#include "shard_store.h"

void dp_stats_collect(const struct dp_pipeline *pl, struct dp_stats_in *in, struct dp_stats_out *out)
{
	memset(in, 0, sizeof(*in) * pl->nin);
	memset(out, 0, sizeof(*out) * pl->nout);
	for (unsigned s = 0; pl->shards && s < pl->nshards; s++) {
		struct shard *sh = pl->shards[s];
		if (!sh)
			continue;
		for (unsigned i = 0; i < pl->nin; i++) {
			struct shard_in_counters *c = &sh->ins[i].cnt;
			in[i].records += DP_CNT_GET(c->records);
			in[i].bytes += DP_CNT_GET(c->bytes);
			in[i].malformed += DP_CNT_GET(c->malformed);
			in[i].oversize += DP_CNT_GET(c->oversize);
			in[i].dropped += DP_CNT_GET(c->dropped);
			in[i].kernel_dropped += DP_CNT_GET(c->kernel_dropped);
			in[i].connections += DP_CNT_GET(c->connections);
			in[i].rejected += DP_CNT_GET(c->rejected);
			in[i].tls_handshake_failures += DP_CNT_GET(c->tls_handshake_failures);
			in[i].filtered += DP_CNT_GET(c->filtered);
			in[i].unparsed += DP_CNT_GET(c->unparsed);
			in[i].stored += DP_CNT_GET(c->stored);
			in[i].memrb_dropped += DP_CNT_GET(c->memrb_dropped);
			in[i].rx_packets += DP_CNT_GET(c->rx_packets);
			in[i].rx_bytes += DP_CNT_GET(c->rx_bytes);
			in[i].rx_imissed += DP_CNT_GET(c->rx_imissed);
			in[i].rx_nombuf += DP_CNT_GET(c->rx_nombuf);
			in[i].rx_not_for_us += DP_CNT_GET(c->rx_not_for_us);
			in[i].rx_polls += DP_CNT_GET(c->rx_polls);
			in[i].rx_idle_sleeps += DP_CNT_GET(c->rx_idle_sleeps);
			for (int r = 0; r < SHARD_PKT_NVERDICTS; r++)
				in[i].rx_drop[r] += DP_CNT_GET(c->rx_drop[r]);
			in[i].rx_exc[0] += DP_CNT_GET(c->rx_to_kernel);
			in[i].rx_exc[1] += DP_CNT_GET(c->rx_to_kernel_dropped);
			in[i].rx_exc[2] += DP_CNT_GET(c->rx_from_kernel);
			in[i].rx_exc[3] += DP_CNT_GET(c->rx_from_kernel_dropped);
		}
	}
	for (unsigned w = 0; pl->workers && w < pl->nworkers; w++) {
		struct out_worker *wk = pl->workers[w];
		if (!wk)
			continue;
		struct dp_stats_out *o = &out[wk->o->id];
		o->records += DP_CNT_GET(wk->cnt.records);
		o->bytes += DP_CNT_GET(wk->cnt.bytes);
		o->chunks += DP_CNT_GET(wk->cnt.chunks);
		o->retries += DP_CNT_GET(wk->cnt.retries);
		o->failed += DP_CNT_GET(wk->cnt.failed);
		o->retries += DP_CNT_GET(wk->acnt.retried);
		o->produced += DP_CNT_GET(wk->acnt.produced);
		o->produced_bytes += DP_CNT_GET(wk->acnt.produced_bytes);
		o->queued += DP_CNT_GET(wk->acnt.queued);
	}
}

static const char *in_name(const struct dp_input *in)
{
	return in->alias ? in->alias : in->name;
}

static const char *out_name(const struct dp_output *o)
{
	return o->alias ? o->alias : o->name;
}

/* The counters of a polling receive backend, only for inputs that have
 * one ("rx": {...}), then the input's closing brace. */
static void print_rx_json(FILE *f, const struct dp_stats_in *in)
{
	if (in->rx_polls) {
		fprintf(f, ",\"rx\":{\"packets\":%llu,\"bytes\":%llu,\"imissed\":%llu,\"nombuf\":%llu,"
			"\"not_for_us\":%llu,\"polls\":%llu,\"idle_sleeps\":%llu,\"drops\":{",
			(unsigned long long)in->rx_packets, (unsigned long long)in->rx_bytes,
			(unsigned long long)in->rx_imissed, (unsigned long long)in->rx_nombuf,
			(unsigned long long)in->rx_not_for_us, (unsigned long long)in->rx_polls,
			(unsigned long long)in->rx_idle_sleeps);
		for (int r = 1; r < SHARD_PKT_NVERDICTS; r++)
			fprintf(f, "%s\"%s\":%llu", r > 1 ? "," : "", shard_pkt_verdict_name(r),
				(unsigned long long)in->rx_drop[r]);
		fprintf(f, "},\"to_kernel\":%llu,\"to_kernel_dropped\":%llu,\"from_kernel\":%llu,"
			"\"from_kernel_dropped\":%llu}", (unsigned long long)in->rx_exc[0],
			(unsigned long long)in->rx_exc[1], (unsigned long long)in->rx_exc[2],
			(unsigned long long)in->rx_exc[3]);
	}
	fputc('}', f);
}

/* Records each worker of o confirmed ("worker_records": [...]), to see
 * how an output's load is spread; then the output's closing brace. */
static void print_worker_records(FILE *f, const struct dp_pipeline *pl, const struct dp_output *o)
{
	fprintf(f, ",\"worker_records\":[");
	for (unsigned k = 0; pl->workers && k < (unsigned)o->workers; k++) {
		const struct out_worker *wk = pl->workers[o->worker_base + k];
		fprintf(f, "%s%llu", k ? "," : "", wk ? (unsigned long long)DP_CNT_GET(wk->cnt.records) : 0ull);
	}
	fprintf(f, "]}");
}

/* The stream processor's counters per [STREAM_TASK], by Name. */
static void print_sp_json(const struct dp_pipeline *pl, FILE *f)
{
	if (!pl->sp)
		return;
	fprintf(f, ",\"stream_tasks\":{");
	for (unsigned i = 0; i < sp_engine_ntasks(pl->sp); i++) {
		struct sp_stats st;
		sp_engine_stats(pl->sp, i, &st);
		fprintf(f, "%s\"%s\":{\"records\":%llu,\"emitted\":%llu,\"emit_failed\":%llu,"
			"\"dropped\":%llu,\"late\":%llu,\"no_time\":%llu}", i ? "," : "",
			sp_engine_task_name(pl->sp, i), (unsigned long long)st.records_in,
			(unsigned long long)st.emitted, (unsigned long long)st.emit_failed,
			(unsigned long long)st.groups_dropped, (unsigned long long)st.late,
			(unsigned long long)st.no_time);
	}
	fputc('}', f);
}

/* The filesystem store's counters, summed over shards ("storage": {...}). */
#define STORE_COUNTERS(X) X(written_chunks) X(written_records) X(written_bytes) X(write_errors) \
	X(unstored_records) X(spilled_chunks) X(read_chunks) X(read_records) X(replayed_records) \
	X(skipped_chunks) X(corrupt_chunks) X(read_errors) X(segments_deleted) X(torn_bytes) \
	X(torn_records) X(corrupt_bytes) X(quarantined) X(limit_dropped_records) X(limit_dropped_segments) \
	X(limit_pauses) \
	X(backlog_bytes)

static void print_store_json(const struct dp_pipeline *pl, FILE *f)
{
	if (!pl->store)
		return;
	struct shard_store_counters sum;
	memset(&sum, 0, sizeof(sum));
	for (unsigned s = 0; pl->shards && s < pl->nshards; s++) {
		const struct shard_store_counters *c = pl->shards[s] ? shard_store_counters(pl->shards[s]) : NULL;
		if (!c)
			continue;
#define ADD(x) sum.x += DP_CNT_GET(c->x);
		STORE_COUNTERS(ADD)
#undef ADD
	}
	fprintf(f, ",\"storage\":{\"path\":\"%s\"", pl->store->path);
#define PRINT(x) fprintf(f, ",\"" #x "\":%llu", (unsigned long long)sum.x);
	STORE_COUNTERS(PRINT)
#undef PRINT
	fputc('}', f);
}

/* Per filter, Fluent Bit's names (its /api/v1/metrics "filter" section).
 * Hidden filters (emitters' parsers and the like) have names too. */
static void print_filters_json(const struct dp_pipeline *pl, FILE *f)
{
	fprintf(f, ",\"filters\":{");
	for (unsigned i = 0; i < pl->nflt; i++) {
		uint64_t drop = 0, add = 0;
		for (unsigned s = 0; pl->shards && s < pl->nshards; s++) {
			const struct shard *sh = pl->shards[s];
			if (!sh)
				continue;
			drop += DP_CNT_GET(sh->flt_cnt[i].drop_records);
			add += DP_CNT_GET(sh->flt_cnt[i].add_records);
		}
		const struct dp_filter *fl = pl->flt[i];
		fprintf(f, "%s\"%s\":{\"drop_records\":%llu,\"add_records\":%llu}", i ? "," : "",
			fl->alias ? fl->alias : fl->name, (unsigned long long)drop, (unsigned long long)add);
	}
	fputc('}', f);
}

void dp_stats_print_json(const struct dp_pipeline *pl, FILE *f)
{
	struct dp_stats_in in[DP_MAX_INPUTS];
	struct dp_stats_out out[DP_MAX_OUTPUTS];
	dp_stats_collect(pl, in, out);
	uint64_t tin = 0, tout = 0, tmal = 0, tdrop = 0, tfail = 0;
	fprintf(f, "{\"uptime_s\":%.3f,\"shards\":%u,\"chunk_bytes\":%zu,\"inputs\":{",
		(double)(dp_time_mono_ns() - pl->start_ns) / 1e9, pl->nshards, dp_pool_chunk_footprint());
	for (unsigned i = 0; i < pl->nin; i++) {
		fprintf(f, "%s\"%s\":{\"records\":%llu,\"bytes\":%llu,\"malformed\":%llu,\"oversize\":%llu,"
			"\"dropped\":%llu,\"kernel_dropped\":%llu,\"connections\":%llu,\"rejected\":%llu,\"filtered\":%llu,\"unparsed\":%llu,"
			"\"stored\":%llu,\"memrb_dropped\":%llu,\"tls_handshake_failures\":%llu",
			i ? "," : "", in_name(pl->in[i]),
			(unsigned long long)in[i].records, (unsigned long long)in[i].bytes,
			(unsigned long long)in[i].malformed, (unsigned long long)in[i].oversize,
			(unsigned long long)in[i].dropped, (unsigned long long)in[i].kernel_dropped,
			(unsigned long long)in[i].connections, (unsigned long long)in[i].rejected,
			(unsigned long long)in[i].filtered, (unsigned long long)in[i].unparsed,
			(unsigned long long)in[i].stored, (unsigned long long)in[i].memrb_dropped,
			(unsigned long long)in[i].tls_handshake_failures);
		print_rx_json(f, &in[i]);
		tin += in[i].records;
		tmal += in[i].malformed + in[i].oversize;
		tdrop += in[i].dropped + in[i].kernel_dropped;
	}
	fprintf(f, "},\"outputs\":{");
	for (unsigned o = 0; o < pl->nout; o++) {
		fprintf(f, "%s\"%s\":{\"records\":%llu,\"bytes\":%llu,\"chunks\":%llu,\"retries\":%llu,"
			"\"errors\":%llu,\"produced\":%llu,\"produced_bytes\":%llu,\"queued\":%llu",
			o ? "," : "", out_name(pl->out[o]),
			(unsigned long long)out[o].records, (unsigned long long)out[o].bytes,
			(unsigned long long)out[o].chunks, (unsigned long long)out[o].retries,
			(unsigned long long)out[o].failed, (unsigned long long)out[o].produced,
			(unsigned long long)out[o].produced_bytes, (unsigned long long)out[o].queued);
		print_worker_records(f, pl, pl->out[o]);
		tout += out[o].records;
		tfail += out[o].failed;
	}
	fprintf(f, "}");
	print_filters_json(pl, f);
	print_sp_json(pl, f);
	print_store_json(pl, f);
	fprintf(f, ",\"totals\":{\"in\":%llu,\"out\":%llu,\"malformed\":%llu,\"dropped\":%llu,\"failed\":%llu}}\n",
		(unsigned long long)tin, (unsigned long long)tout, (unsigned long long)tmal,
		(unsigned long long)tdrop, (unsigned long long)tfail);
}

int dp_stats_write_file(const struct dp_pipeline *pl, const char *path)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -errno;
	dp_stats_print_json(pl, f);
	if (fclose(f))
		return -errno;
	return rename(tmp, path) ? -errno : 0;
}

void dp_stats_log(const struct dp_pipeline *pl)
{
	struct dp_stats_in in[DP_MAX_INPUTS];
	struct dp_stats_out out[DP_MAX_OUTPUTS];
	dp_stats_collect(pl, in, out);
	for (unsigned i = 0; i < pl->nin; i++)
		dp_info("[%s] records=%llu bytes=%llu malformed=%llu oversize=%llu dropped=%llu "
			"kernel_dropped=%llu connections=%llu rejected=%llu filtered=%llu unparsed=%llu",
			in_name(pl->in[i]),
			(unsigned long long)in[i].records, (unsigned long long)in[i].bytes,
			(unsigned long long)in[i].malformed, (unsigned long long)in[i].oversize,
			(unsigned long long)in[i].dropped, (unsigned long long)in[i].kernel_dropped,
			(unsigned long long)in[i].connections, (unsigned long long)in[i].rejected,
			(unsigned long long)in[i].filtered, (unsigned long long)in[i].unparsed);
	for (unsigned i = 0; i < pl->nin; i++)
		if (in[i].tls_handshake_failures)
			dp_info("[%s] tls_handshake_failures=%llu", in_name(pl->in[i]),
				(unsigned long long)in[i].tls_handshake_failures);
	for (unsigned i = 0; i < pl->nin; i++)
		if (in[i].rx_polls)
			dp_info("[%s] rx packets=%llu bytes=%llu imissed=%llu nombuf=%llu not_for_us=%llu "
				"polls=%llu idle_sleeps=%llu", in_name(pl->in[i]),
				(unsigned long long)in[i].rx_packets, (unsigned long long)in[i].rx_bytes,
				(unsigned long long)in[i].rx_imissed, (unsigned long long)in[i].rx_nombuf,
				(unsigned long long)in[i].rx_not_for_us, (unsigned long long)in[i].rx_polls,
				(unsigned long long)in[i].rx_idle_sleeps);
	for (unsigned o = 0; o < pl->nout; o++)
		dp_info("[%s] records=%llu bytes=%llu retries=%llu failed=%llu", out_name(pl->out[o]),
			(unsigned long long)out[o].records, (unsigned long long)out[o].bytes,
			(unsigned long long)out[o].retries, (unsigned long long)out[o].failed);
}
