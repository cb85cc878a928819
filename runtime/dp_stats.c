/*
 * dp_stats.c — the counter tables and their summing and printing (see
 * dp_stats.h). Counters are plain per-thread integers read with relaxed
 * loads: a reading may be a few events behind, never torn, and a reader
 * never takes a lock the data path could wait on. Control thread and the
 * HTTP server's thread, both only reading.
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

/*
 * Per input: X(member, flags, Fluent Bit name, help). The member has the
 * same name in struct shard_in_counters (the per-shard source) and in
 * struct dp_stats_in (the sum). Stats_File prints them in this order.
 */
#define IN_FIELDS(X) \
	X(records, DP_SF_LOG, "records", "Records read and handed on (routed or not); storage.type " \
	  "filesystem: once in the store.") \
	X(bytes, DP_SF_LOG, "bytes", "Bytes received (before parsing; Fluent Bit counts the encoded " \
	  "records).") \
	X(malformed, DP_SF_LOG, NULL, "Frames the parser rejected.") \
	X(oversize, DP_SF_LOG, NULL, "Frames over Buffer_Max_Size or a chunk.") \
	X(dropped, DP_SF_LOG, NULL, "Datagrams or records dropped: out of memory, memrb, or no " \
	  "matching output.") \
	X(kernel_dropped, DP_SF_LOG, NULL, "UDP datagrams the kernel dropped (socket buffer full).") \
	X(connections, DP_SF_LOG, NULL, "TCP connections accepted.") \
	X(rejected, DP_SF_LOG, NULL, "Connections closed at once: no descriptor or memory left.") \
	X(filtered, DP_SF_LOG, NULL, "Records a filter removed.") \
	X(unparsed, DP_SF_LOG, NULL, "Records kept raw: their parser did not match.") \
	X(stored, 0, NULL, "storage.type filesystem: records in the store.") \
	X(memrb_dropped, 0, NULL, "storage.type memrb: records of the oldest chunks dropped for room.") \
	X(tls_handshake_failures, 0, NULL, "Connections closed before their TLS handshake finished.") \
	X(auth_failed, 0, NULL, "http: requests refused 401 for their bearer token.") \
	X(limited, 0, NULL, "http: requests refused 413 past Max_Batch_Records or 429 past Rate_Limit.") \
	X(deduplicated, 0, NULL, "http: requests answered as copies of accepted ones (Dedupe_Window), not kept again.") \
	X(rx_packets, DP_SF_RX, NULL, "Polling backends: frames received on the queue.") \
	X(rx_bytes, DP_SF_RX, NULL, "Polling backends: bytes of those frames.") \
	X(rx_imissed, DP_SF_RX, NULL, "Polling backends: frames the NIC dropped, rings full.") \
	X(rx_nombuf, DP_SF_RX, NULL, "Polling backends: receive buffer allocation failures.") \
	X(rx_not_for_us, DP_SF_RX, NULL, "Polling backends: frames for other protocols or ports.") \
	X(rx_polls, DP_SF_RX, NULL, "Polling backends: loop iterations that polled.") \
	X(rx_idle_sleeps, DP_SF_RX, NULL, "Polling backends: sleeps while idle.") \
	X(rx_to_kernel, DP_SF_RX, NULL, "Dpdk_Exception_Port: frames sent to the kernel.") \
	X(rx_to_kernel_dropped, DP_SF_RX, NULL, "Dpdk_Exception_Port: frames to the kernel dropped.") \
	X(rx_from_kernel, DP_SF_RX, NULL, "Dpdk_Exception_Port: frames sent back out.") \
	X(rx_from_kernel_dropped, DP_SF_RX, NULL, "Dpdk_Exception_Port: frames back out dropped.")

/* Per input, levels read from the shards' chunk pools (not counters of
 * struct shard_in_counters): the same X. */
#define IN_LEVELS(X) \
	X(pool_chunks_in_use, DP_SF_GAUGE | DP_SF_NOLOG, NULL, "Chunks out of the input's pools (open, " \
	  "queued for outputs or being sent), summed over shards.") \
	X(pool_chunks, DP_SF_GAUGE | DP_SF_NOLOG, NULL, "Chunks in the input's pools (Mem_Buf_Limit), " \
	  "summed over shards.") \
	X(pool_in_use_bytes, DP_SF_GAUGE | DP_SF_NOLOG, NULL, "Memory of the chunks in use: " \
	  "pool_chunks_in_use times the bytes of a chunk.")

/*
 * Per output: X(member, Stats_File name, flags, Fluent Bit name, help).
 * The sources are below (OUT_FROM_*): two per-worker structs feed them.
 */
#define OUT_FIELDS(X) \
	X(records, "records", DP_SF_LOG, "proc_records", "Records the destination confirmed.") \
	X(bytes, "bytes", DP_SF_LOG, "proc_bytes", "Bytes (msgpack) of the records confirmed.") \
	X(chunks, "chunks", 0, NULL, "Chunks settled (delivered or given up).") \
	X(retries, "retries", DP_SF_LOG, "retries", "Bursts retried; asynchronous outputs: records " \
	  "produced again.") \
	X(failed, "errors", DP_SF_LOG, "dropped_records", "Records given up: Retry_Limit reached, " \
	  "no_retries, or refused for good.") \
	X(produced, "produced", 0, NULL, "Asynchronous outputs: records handed to the client library.") \
	X(produced_bytes, "produced_bytes", 0, NULL, "Asynchronous outputs: bytes of those records.") \
	X(queued, "queued", DP_SF_GAUGE, NULL, "Asynchronous outputs: records in the library's queue now.") \
	X(rejected_bursts, "rejected_bursts", 0, "errors", "Bursts the destination refused for good " \
	  "(in part or whole).") \
	X(retries_failed, "retries_failed", 0, "retries_failed", "Bursts given up after their " \
	  "retries (Retry_Limit, no_retries) or the client library's timeout.") \
	X(retried_records, "retried_records", 0, "retried_records", "Records of the bursts retried.") \
	X(ring_depth, "ring_depth", DP_SF_GAUGE | DP_SF_NOLOG, NULL, "Chunks waiting in the shard-to-" \
	  "worker rings of its workers, summed over shards and workers.")

/* Where each output counter comes from: (sum member, worker member). */
#define OUT_FROM_CNT(Y) Y(records, records) Y(bytes, bytes) Y(chunks, chunks) Y(retries, retries) \
	Y(failed, failed) Y(rejected_bursts, rejected_bursts) Y(retries_failed, retries_failed) \
	Y(retried_records, retried_records)
#define OUT_FROM_ACNT(Y) Y(retries, retried) Y(retried_records, retried) Y(produced, produced) \
	Y(produced_bytes, produced_bytes) Y(queued, queued)

#define FLT_FIELDS(X) \
	X(drop_records, 0, "drop_records", "Records the filter dropped.") \
	X(add_records, 0, "add_records", "Records the filter emitted (through its emitter).")

/* The store: X(member, flags, help); the same member in struct shard_store_counters. */
#define STORE_FIELDS(X) \
	X(written_chunks, 0, "Chunks written to the store.") \
	X(written_records, 0, "Records written to the store.") \
	X(written_bytes, 0, "Bytes written to the store.") \
	X(write_errors, 0, "Appends that failed (disk full, I/O error).") \
	X(unstored_records, 0, "Records that went on in memory only, after a failed append.") \
	X(spilled_chunks, 0, "Chunks written and not kept in memory: outputs behind.") \
	X(read_chunks, 0, "Chunks read back (backlog and replay).") \
	X(read_records, 0, "Records read back.") \
	X(replayed_records, 0, "Records read back after a restart (may be sent twice).") \
	X(skipped_chunks, 0, "Chunks read back that every output had confirmed.") \
	X(corrupt_chunks, 0, "Chunks read back that were not events: skipped.") \
	X(read_errors, 0, "Reads that failed.") \
	X(segments_deleted, 0, "Segment files deleted once delivered.") \
	X(torn_bytes, 0, "Bytes of torn writes found at start.") \
	X(torn_records, 0, "Records of torn writes found at start.") \
	X(corrupt_bytes, 0, "Bytes of corrupt frames found at start.") \
	X(quarantined, 0, "Segments copied to the rejected folder at start.") \
	X(limit_dropped_records, 0, "Records dropped for storage.total_limit_size or a full disk.") \
	X(limit_dropped_segments, 0, "Segments dropped for storage.total_limit_size or a full disk.") \
	X(limit_pauses, 0, "Times a filesystem input was paused for a limit or a full disk.") \
	X(backlog_bytes, DP_SF_GAUGE, "Segment bytes not yet deleted.")

#define SP_FIELDS(X) \
	X(records, records_in, "Records a query looked at (matched FROM).") \
	X(emitted, emitted, "Results emitted.") \
	X(emit_failed, emit_failed, "Results the emitter refused.") \
	X(dropped, groups_dropped, "Records refused: group limit or key too long.") \
	X(late, late, "Records or partials for an already closed window.") \
	X(no_time, no_time, "Event time: records whose time key is not a time.")

#define IN_ROW(m, fl, fb, help) { #m, offsetof(struct dp_stats_in, m), fl, fb, help },
#define OUT_ROW(m, key, fl, fb, help) { key, offsetof(struct dp_stats_out, m), fl, fb, help },
#define FLT_ROW(m, fl, fb, help) { #m, offsetof(struct dp_stats_flt, m), fl, fb, help },
#define STORE_ROW(m, fl, help) { #m, offsetof(struct dp_stats_store, m), fl, NULL, help },
#define SP_ROW(m, src, help) { #m, offsetof(struct dp_stats_sp, m), 0, NULL, help },

const struct dp_stats_field dp_stats_in_fields[] = { IN_FIELDS(IN_ROW) IN_LEVELS(IN_ROW) };
const struct dp_stats_field dp_stats_out_fields[] = { OUT_FIELDS(OUT_ROW) };
const struct dp_stats_field dp_stats_flt_fields[] = { FLT_FIELDS(FLT_ROW) };
const struct dp_stats_field dp_stats_store_fields[] = { STORE_FIELDS(STORE_ROW) };
const struct dp_stats_field dp_stats_sp_fields[] = { SP_FIELDS(SP_ROW) };
#define NROWS(t) (unsigned)(sizeof(t) / sizeof(t[0]))
const unsigned dp_stats_in_nfields = NROWS(dp_stats_in_fields);
const unsigned dp_stats_out_nfields = NROWS(dp_stats_out_fields);
const unsigned dp_stats_flt_nfields = NROWS(dp_stats_flt_fields);
const unsigned dp_stats_store_nfields = NROWS(dp_stats_store_fields);
const unsigned dp_stats_sp_nfields = NROWS(dp_stats_sp_fields);

/* (sum offset, source offset) pairs the collectors walk. */
struct src_map {
	size_t dst, src;
};
#define IN_SRC(m, fl, fb, help) { offsetof(struct dp_stats_in, m), offsetof(struct shard_in_counters, m) },
#define CNT_SRC(d, s) { offsetof(struct dp_stats_out, d), offsetof(struct out_worker_counters, s) },
#define ACNT_SRC(d, s) { offsetof(struct dp_stats_out, d), offsetof(struct dp_out_counters, s) },
#define STORE_SRC(m, fl, help) { offsetof(struct dp_stats_store, m), offsetof(struct shard_store_counters, m) },
static const struct src_map in_src[] = { IN_FIELDS(IN_SRC) };
static const struct src_map cnt_src[] = { OUT_FROM_CNT(CNT_SRC) };
static const struct src_map acnt_src[] = { OUT_FROM_ACNT(ACNT_SRC) };
static const struct src_map store_src[] = { STORE_FIELDS(STORE_SRC) };

/* sum += every mapped counter of src, each read with a relaxed load. */
static void add_mapped(void *sum, const void *src, const struct src_map *map, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		uint64_t *d = (uint64_t *)((char *)sum + map[k].dst);
		*d += DP_CNT_GET(*(const uint64_t *)((const char *)src + map[k].src));
	}
}

void dp_stats_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

const char *dp_stats_in_name(const struct dp_input *in)
{
	return in->alias ? in->alias : in->name;
}

const char *dp_stats_out_name(const struct dp_output *o)
{
	return o->alias ? o->alias : o->name;
}

const char *dp_stats_flt_name(const struct dp_filter *fl)
{
	return fl->alias ? fl->alias : fl->name;
}

static void add_shard_in(const struct shard_in *si, struct dp_stats_in *in)
{
	const struct shard_in_counters *c = &si->cnt;
	add_mapped(in, c, in_src, NROWS(in_src));
	for (int r = 0; r < SHARD_PKT_NVERDICTS; r++)
		in->rx_drop[r] += DP_CNT_GET(c->rx_drop[r]);
	unsigned used = dp_pool_in_use(&si->pool);
	in->pool_chunks_in_use += used;
	in->pool_chunks += si->pool.total;
	in->pool_in_use_bytes += (uint64_t)used * dp_pool_chunk_footprint();
}

static void add_worker(const struct dp_pipeline *pl, const struct out_worker *wk, struct dp_stats_out *o)
{
	add_mapped(o, &wk->cnt, cnt_src, NROWS(cnt_src));
	add_mapped(o, &wk->acnt, acnt_src, NROWS(acnt_src));
	/* The rings' indices, read by a third thread (dp_ring_count). */
	for (unsigned s = 0; wk->chan && s < pl->nshards; s++)
		if (wk->chan[s] && wk->chan[s]->out)
			o->ring_depth += dp_ring_count(wk->chan[s]->out);
}

void dp_stats_collect(const struct dp_pipeline *pl, struct dp_stats_in *in, struct dp_stats_out *out)
{
	memset(in, 0, sizeof(*in) * pl->nin);
	memset(out, 0, sizeof(*out) * pl->nout);
	for (unsigned s = 0; pl->shards && s < pl->nshards; s++) {
		struct shard *sh = pl->shards[s];
		for (unsigned i = 0; sh && i < pl->nin; i++)
			add_shard_in(&sh->ins[i], &in[i]);
	}
	for (unsigned w = 0; pl->workers && w < pl->nworkers; w++) {
		struct out_worker *wk = pl->workers[w];
		if (wk)
			add_worker(pl, wk, &out[wk->o->id]);
	}
}

void dp_stats_collect_shard_in(const struct dp_pipeline *pl, unsigned shard, unsigned i, struct dp_stats_in *in)
{
	memset(in, 0, sizeof(*in));
	if (pl->shards && shard < pl->nshards && pl->shards[shard] && i < pl->nin)
		add_shard_in(&pl->shards[shard]->ins[i], in);
}

void dp_stats_collect_worker(const struct dp_pipeline *pl, unsigned w, struct dp_stats_out *out)
{
	memset(out, 0, sizeof(*out));
	if (pl->workers && w < pl->nworkers && pl->workers[w])
		add_worker(pl, pl->workers[w], out);
}

void dp_stats_collect_hist(const struct dp_pipeline *pl, struct dp_stats_out_hist *hist)
{
	memset(hist, 0, sizeof(*hist) * pl->nout);
	for (unsigned w = 0; pl->workers && w < pl->nworkers; w++) {
		const struct out_worker *wk = pl->workers[w];
		if (!wk)
			continue;
		struct dp_stats_out_hist *h = &hist[wk->o->id];
		dp_hist_add_to(&h->latency, &wk->hist.latency);
		dp_hist_add_to(&h->batch, &wk->hist.batch);
		dp_hist_add_to(&h->lag, &wk->hist.lag);
	}
}

void dp_stats_collect_flt(const struct dp_pipeline *pl, struct dp_stats_flt *flt)
{
	memset(flt, 0, sizeof(*flt) * pl->nflt);
	for (unsigned s = 0; pl->shards && s < pl->nshards; s++) {
		const struct shard *sh = pl->shards[s];
		for (unsigned i = 0; sh && i < pl->nflt; i++) {
			flt[i].drop_records += DP_CNT_GET(sh->flt_cnt[i].drop_records);
			flt[i].add_records += DP_CNT_GET(sh->flt_cnt[i].add_records);
		}
	}
}

bool dp_stats_collect_store(const struct dp_pipeline *pl, struct dp_stats_store *st)
{
	memset(st, 0, sizeof(*st));
	if (!pl->store)
		return false;
	for (unsigned s = 0; pl->shards && s < pl->nshards; s++) {
		const struct shard_store_counters *c = pl->shards[s] ? shard_store_counters(pl->shards[s]) : NULL;
		if (c)
			add_mapped(st, c, store_src, NROWS(store_src));
	}
	return true;
}

bool dp_stats_collect_sp(const struct dp_pipeline *pl, unsigned task, struct dp_stats_sp *st,
			 const char **name)
{
	if (!pl->sp || task >= sp_engine_ntasks(pl->sp))
		return false;
	struct sp_stats s;
	sp_engine_stats(pl->sp, task, &s);
#define SP_COPY(m, src, help) st->m = s.src;
	SP_FIELDS(SP_COPY)
#undef SP_COPY
	*name = sp_engine_task_name(pl->sp, task);
	return true;
}

/* "key":value for each row of t whose flags match (want), after sep. */
static void print_rows(FILE *f, const void *sum, const struct dp_stats_field *t, unsigned n, unsigned mask,
		       unsigned want, const char *sep, size_t skip)
{
	for (unsigned k = 0; k < n; k++) {
		if ((t[k].flags & mask) != want)
			continue;
		fprintf(f, "%s\"%s\":%llu", sep, t[k].name + skip, (unsigned long long)dp_stats_get(sum, &t[k]));
		sep = ",";
	}
}

/* The counters of a polling receive backend, only for inputs that have
 * one ("rx": {...}, keys without "rx_"), then the input's closing brace. */
static void print_rx_json(FILE *f, const struct dp_stats_in *in)
{
	if (in->rx_polls) {
		fprintf(f, ",\"rx\":{");
		print_rows(f, in, dp_stats_in_fields, dp_stats_in_nfields, DP_SF_RX, DP_SF_RX, "", 3);
		fprintf(f, ",\"drops\":{");
		for (int r = 1; r < SHARD_PKT_NVERDICTS; r++)
			fprintf(f, "%s\"%s\":%llu", r > 1 ? "," : "", shard_pkt_verdict_name(r),
				(unsigned long long)in->rx_drop[r]);
		fprintf(f, "}}");
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
	struct dp_stats_sp st;
	const char *name;
	for (unsigned i = 0; dp_stats_collect_sp(pl, i, &st, &name); i++) {
		fputs(i ? "," : "", f);
		dp_stats_json_str(f, name);
		fputs(":{", f);
		print_rows(f, &st, dp_stats_sp_fields, dp_stats_sp_nfields, 0, 0, "", 0);
		fputc('}', f);
	}
	fputc('}', f);
}

/* The filesystem store's counters, summed over shards ("storage": {...}). */
static void print_store_json(const struct dp_pipeline *pl, FILE *f)
{
	struct dp_stats_store st;
	if (!dp_stats_collect_store(pl, &st))
		return;
	fprintf(f, ",\"storage\":{\"path\":\"%s\"", pl->store->path);
	print_rows(f, &st, dp_stats_store_fields, dp_stats_store_nfields, 0, 0, ",", 0);
	fputc('}', f);
}

/* Per filter, Fluent Bit's names (its /api/v1/metrics "filter" section).
 * Hidden filters (emitters' parsers and the like) have names too. */
static void print_filters_json(const struct dp_pipeline *pl, FILE *f)
{
	struct dp_stats_flt flt[DP_MAX_FILTERS];
	dp_stats_collect_flt(pl, flt);
	fprintf(f, ",\"filters\":{");
	for (unsigned i = 0; i < pl->nflt; i++) {
		fputs(i ? "," : "", f);
		dp_stats_json_str(f, dp_stats_flt_name(pl->flt[i]));
		fputs(":{", f);
		print_rows(f, &flt[i], dp_stats_flt_fields, dp_stats_flt_nfields, 0, 0, "", 0);
		fputc('}', f);
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
		fputs(i ? "," : "", f);
		dp_stats_json_str(f, dp_stats_in_name(pl->in[i]));
		fputs(":{", f);
		print_rows(f, &in[i], dp_stats_in_fields, dp_stats_in_nfields, DP_SF_RX, 0, "", 0);
		print_rx_json(f, &in[i]);
		tin += in[i].records;
		tmal += in[i].malformed + in[i].oversize;
		tdrop += in[i].dropped + in[i].kernel_dropped;
	}
	fprintf(f, "},\"outputs\":{");
	for (unsigned o = 0; o < pl->nout; o++) {
		fputs(o ? "," : "", f);
		dp_stats_json_str(f, dp_stats_out_name(pl->out[o]));
		fputs(":{", f);
		print_rows(f, &out[o], dp_stats_out_fields, dp_stats_out_nfields, 0, 0, "", 0);
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

/* " key=value" into buf for the rows of t: rx false, those outside
 * Stats_File's "rx" object (DP_SF_LOG ones always, the others when not
 * zero); rx true, the "rx" ones without their prefix. */
static void log_rows(char *buf, size_t size, const void *sum, const struct dp_stats_field *t, unsigned n, bool rx)
{
	size_t len = 0;
	buf[0] = 0;
	for (unsigned k = 0; k < n && len < size; k++) {
		uint64_t v = dp_stats_get(sum, &t[k]);
		if (!!(t[k].flags & DP_SF_RX) != rx || (t[k].flags & DP_SF_NOLOG) ||
		    (!rx && !(t[k].flags & DP_SF_LOG) && !v))
			continue;
		int w = snprintf(buf + len, size - len, " %s=%llu", t[k].name + (rx ? 3 : 0), (unsigned long long)v);
		if (w > 0)
			len += (size_t)w;
	}
}

/* One line per instance: "[name] records=.. bytes=.." (tests/e2e read
 * it), the DP_SF_LOG rows always and the others when not zero; polling
 * inputs add a line "[name] rx packets=..". */
void dp_stats_log(const struct dp_pipeline *pl)
{
	struct dp_stats_in in[DP_MAX_INPUTS];
	struct dp_stats_out out[DP_MAX_OUTPUTS];
	dp_stats_collect(pl, in, out);
	char line[1024];
	for (unsigned i = 0; i < pl->nin; i++) {
		log_rows(line, sizeof(line), &in[i], dp_stats_in_fields, dp_stats_in_nfields, false);
		dp_info("[%s]%s", dp_stats_in_name(pl->in[i]), line);
	}
	for (unsigned i = 0; i < pl->nin; i++) {
		if (!in[i].rx_polls)
			continue;
		log_rows(line, sizeof(line), &in[i], dp_stats_in_fields, dp_stats_in_nfields, true);
		dp_info("[%s] rx%s", dp_stats_in_name(pl->in[i]), line);
	}
	for (unsigned o = 0; o < pl->nout; o++) {
		log_rows(line, sizeof(line), &out[o], dp_stats_out_fields, dp_stats_out_nfields, false);
		dp_info("[%s]%s", dp_stats_out_name(pl->out[o]), line);
	}
}
