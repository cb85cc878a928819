/*
 * dp_prom.c — Prometheus and cmetrics text from the counter tables (see
 * dp_prom.h). Every family is written whole (HELP, TYPE, then one sample
 * per instance), so a family appears once however many instances there
 * are; histograms as _bucket (cumulative, to le="+Inf"), _sum and _count.
 * Runs on the HTTP server's thread per scrape: the sums come from
 * relaxed loads of per-thread counters (dp_stats.c), never a lock.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "dp_prom.h"
#include "dp_stats.h"
#include "out_worker.h"
#include "shard_pkt.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "0.1.0"
#endif

/* Fluent Bit's HELP text for the counters it has, by section and name:
 * src/flb_input.c, src/flb_filter.c, src/flb_output.c (cmt_counter_create). */
static const struct {
	const char *kind, *fb, *help;
} fb_help[] = {
	{ "input", "records", "Number of input records." },
	{ "input", "bytes", "Number of input bytes." },
	{ "filter", "add_records", "Total number of new added records." },
	{ "filter", "drop_records", "Total number of dropped records." },
	{ "output", "proc_records", "Number of processed output records." },
	{ "output", "proc_bytes", "Number of processed output bytes." },
	{ "output", "errors", "Number of output errors." },
	{ "output", "retries", "Number of output retries." },
	{ "output", "retries_failed", "Number of abandoned batches because the maximum number of re-tries "
	  "was reached." },
	{ "output", "dropped_records", "Number of dropped records." },
	{ "output", "retried_records", "Number of retried records." },
};

/* Fluent Bit's order of its output counters (flb_output.c). */
static const char *const fb_out_order[] = { "proc_records", "proc_bytes", "errors", "retries",
	"retries_failed", "dropped_records", "retried_records" };
static const char *const fb_in_order[] = { "bytes", "records" };
static const char *const fb_flt_order[] = { "add_records", "drop_records" };

static const char *fb_help_of(const char *kind, const char *fb)
{
	for (unsigned k = 0; k < sizeof(fb_help) / sizeof(fb_help[0]); k++)
		if (!strcmp(fb_help[k].kind, kind) && !strcmp(fb_help[k].fb, fb))
			return fb_help[k].help;
	return "";
}

struct prom_w {
	FILE *f;
	enum dp_prom_fmt fmt;
	char ts[48];     /* cmetrics text: the time of the scrape */
};

struct lbl {
	const char *k, *v;
};

void dp_prom_label_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* HELP text: the format escapes \ and newline there (not "). */
static void help_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void fam_head_type(struct prom_w *w, const char *name, const char *help, const char *type)
{
	if (w->fmt != DP_PROM_TEXT)
		return;
	fprintf(w->f, "# HELP %s ", name);
	help_escape(w->f, help);
	fprintf(w->f, "\n# TYPE %s %s\n", name, type);
}

static void fam_head(struct prom_w *w, const char *name, const char *help, bool gauge)
{
	fam_head_type(w, name, help, gauge ? "gauge" : "counter");
}

/* One sample whose value is already text. */
static void sample_s(struct prom_w *w, const char *name, const struct lbl *l, unsigned nl, const char *v)
{
	if (w->fmt == DP_PROM_CMT)
		fprintf(w->f, "%s ", w->ts);
	fputs(name, w->f);
	for (unsigned k = 0; k < nl; k++) {
		fprintf(w->f, "%s%s=\"", k ? "," : "{", l[k].k);
		dp_prom_label_escape(w->f, l[k].v);
		fputc('"', w->f);
	}
	if (nl)
		fputc('}', w->f);
	fprintf(w->f, w->fmt == DP_PROM_CMT ? " = %s\n" : " %s\n", v);
}

static void sample(struct prom_w *w, const char *name, const struct lbl *l, unsigned nl, uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	sample_s(w, name, l, nl, buf);
}

/* sluice_<kind>_<row>[_total] */
static void metric_name(char *buf, size_t size, const char *prefix, const char *kind,
			const struct dp_stats_field *row, const char *fbname)
{
	const char *base = fbname ? fbname : row->name;
	bool gauge = !fbname && (row->flags & DP_SF_GAUGE);
	snprintf(buf, size, "%s_%s%s%s%s", prefix, kind, *kind ? "_" : "", base, gauge ? "" : "_total");
}

static const struct dp_stats_field *row_by_fb(const struct dp_stats_field *t, unsigned n, const char *fb)
{
	for (unsigned k = 0; k < n; k++)
		if (t[k].fb && !strcmp(t[k].fb, fb))
			return &t[k];
	return NULL;
}

/* One family of Fluent Bit's per-instance counters: {name="<instance>"}. */
static void fb_family(struct prom_w *w, const char *kind, const char *fb, const struct dp_stats_field *t,
		      unsigned nt, const void *sums, size_t stride, const char *const *names, unsigned n)
{
	const struct dp_stats_field *row = row_by_fb(t, nt, fb);
	if (!row)
		return;
	char name[96];
	metric_name(name, sizeof(name), "fluentbit", kind, row, fb);
	fam_head(w, name, fb_help_of(kind, fb), false);
	for (unsigned i = 0; i < n; i++) {
		struct lbl l = { "name", names[i] };
		sample(w, name, &l, 1, dp_stats_get((const char *)sums + i * stride, row));
	}
}

/* Every row of t as sluice_<kind>_<row>{name=...}; rx rows only for the
 * instances that poll (has[i]). */
static void sluice_families(struct prom_w *w, const char *kind, const struct dp_stats_field *t, unsigned nt,
			    const void *sums, size_t stride, const char *const *names, unsigned n,
			    const bool *has_rx)
{
	char name[128];
	for (unsigned k = 0; k < nt; k++) {
		bool any = false;
		for (unsigned i = 0; i < n && !any; i++)
			any = !(t[k].flags & DP_SF_RX) || (has_rx && has_rx[i]);
		if (!any)
			continue;
		metric_name(name, sizeof(name), "sluice", kind, &t[k], NULL);
		fam_head(w, name, t[k].help, t[k].flags & DP_SF_GAUGE);
		for (unsigned i = 0; i < n; i++) {
			if ((t[k].flags & DP_SF_RX) && !(has_rx && has_rx[i]))
				continue;
			struct lbl l = { "name", names[i] };
			sample(w, name, &l, 1, dp_stats_get((const char *)sums + i * stride, &t[k]));
		}
	}
}

static void write_global(struct prom_w *w, const struct dp_pipeline *pl, uint64_t start_unix)
{
	char host[256];
	if (gethostname(host, sizeof(host) - 1))
		strcpy(host, "unknown");
	host[sizeof(host) - 1] = 0;
	uint64_t now = (uint64_t)time(NULL);
	struct lbl h = { "hostname", host };
	/* src/flb_metrics.c: uptime is a counter without _total there, and
	 * build_info's value is the start time; kept as Fluent Bit has them
	 * so its dashboards work. */
	fam_head(w, "fluentbit_uptime", "Number of seconds that Fluent Bit has been running.", false);
	sample(w, "fluentbit_uptime", &h, 1, now > start_unix ? now - start_unix : 0);
	fam_head(w, "fluentbit_process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
		 true);
	sample(w, "fluentbit_process_start_time_seconds", &h, 1, start_unix);
	fam_head(w, "fluentbit_build_info", "Build version information.", true);
	struct lbl b[3] = { { "hostname", host }, { "version", SLUICE_VERSION }, { "os", "linux" } };
	sample(w, "fluentbit_build_info", b, 3, start_unix);
	fam_head(w, "sluice_shards", "Shard threads running.", true);
	sample(w, "sluice_shards", NULL, 0, pl->nshards);
	fam_head(w, "sluice_workers", "Output worker threads running.", true);
	sample(w, "sluice_workers", NULL, 0, pl->nworkers);
}

/* The outputs' distributions (dp_hist.h): sluice_output_<name>. */
static const struct {
	const char *name, *help;
	const struct dp_hist_spec *spec;
	size_t off;
} out_hists[] = {
	{ "latency_seconds", "Seconds from a burst's first flush call (retries included) to its "
	  "confirmation; asynchronous outputs (kafka): from the hand-over of each chunk to the poll "
	  "that settled it.", &dp_hist_seconds, offsetof(struct dp_stats_out_hist, latency) },
	{ "batch_records", "Records per burst handed to the output's flush.", &dp_hist_records,
	  offsetof(struct dp_stats_out_hist, batch) },
	{ "input_lag_seconds", "Seconds from the event time of a chunk's first record to the chunk's "
	  "confirmation, once per chunk confirmed.", &dp_hist_seconds,
	  offsetof(struct dp_stats_out_hist, lag) },
};

/* A value in the exposed unit: integers as such, the rest to 9 digits. */
static void fmt_scaled(char *buf, size_t size, uint64_t v, double scale)
{
	if (scale == 1)
		snprintf(buf, size, "%llu", (unsigned long long)v);
	else
		snprintf(buf, size, "%.9f", (double)v / scale);
}

/* name_bucket{name,le} (cumulative, ending at +Inf), name_sum, name_count. */
static void hist_family(struct prom_w *w, const char *name, const char *help, const struct dp_hist_spec *spec,
			const struct dp_stats_out_hist *h, size_t off, const char *const *names, unsigned n)
{
	char bname[128], sname[128], cname[128], le[32], v[40];
	snprintf(bname, sizeof(bname), "%s_bucket", name);
	snprintf(sname, sizeof(sname), "%s_sum", name);
	snprintf(cname, sizeof(cname), "%s_count", name);
	fam_head_type(w, name, help, "histogram");
	for (unsigned i = 0; i < n; i++) {
		const struct dp_hist *hi = (const struct dp_hist *)((const char *)&h[i] + off);
		uint64_t cum = 0;
		for (unsigned b = 0; b <= spec->nb; b++) {
			cum += hi->b[b];
			if (b < spec->nb)
				snprintf(le, sizeof(le), "%g", (double)spec->le[b] / spec->scale);
			else
				strcpy(le, "+Inf");
			struct lbl l[2] = { { "name", names[i] }, { "le", le } };
			sample(w, bname, l, 2, cum);
		}
		struct lbl l = { "name", names[i] };
		fmt_scaled(v, sizeof(v), hi->sum, spec->scale);
		sample_s(w, sname, &l, 1, v);
		sample(w, cname, &l, 1, cum);   /* = +Inf by construction (dp_hist.h) */
	}
}

/* Prometheus text only: cmetrics' text writes a histogram in a shape of
 * its own, which its readers do not need from us; the counters are there. */
static void write_out_hists(struct prom_w *w, const struct dp_pipeline *pl, const char *const *out_names)
{
	if (w->fmt != DP_PROM_TEXT)
		return;
	struct dp_stats_out_hist h[DP_MAX_OUTPUTS];
	dp_stats_collect_hist(pl, h);
	char name[96];
	for (unsigned k = 0; k < sizeof(out_hists) / sizeof(out_hists[0]); k++) {
		snprintf(name, sizeof(name), "sluice_output_%s", out_hists[k].name);
		hist_family(w, name, out_hists[k].help, out_hists[k].spec, h, out_hists[k].off, out_names, pl->nout);
	}
}

/* Per shard and per worker: where the load goes. */
static void write_threads(struct prom_w *w, const struct dp_pipeline *pl, const char *const *in_names,
			  const char *const *out_names)
{
	static const char *const in_rows[] = { "records", "bytes" };
	for (unsigned r = 0; r < 2; r++) {
		const struct dp_stats_field *row = NULL;
		for (unsigned k = 0; k < dp_stats_in_nfields && !row; k++)
			if (!strcmp(dp_stats_in_fields[k].name, in_rows[r]))
				row = &dp_stats_in_fields[k];
		char name[96];
		snprintf(name, sizeof(name), "sluice_input_shard_%s_total", in_rows[r]);
		fam_head(w, name, row->help, false);
		for (unsigned s = 0; pl->shards && s < pl->nshards; s++) {
			char sid[16];
			snprintf(sid, sizeof(sid), "%u", s);
			for (unsigned i = 0; i < pl->nin; i++) {
				struct dp_stats_in in;
				dp_stats_collect_shard_in(pl, s, i, &in);
				struct lbl l[2] = { { "name", in_names[i] }, { "shard", sid } };
				sample(w, name, l, 2, dp_stats_get(&in, row));
			}
		}
	}
	for (unsigned k = 0; k < dp_stats_out_nfields; k++) {
		const struct dp_stats_field *row = &dp_stats_out_fields[k];
		if (strcmp(row->name, "records") && strcmp(row->name, "bytes") && strcmp(row->name, "errors"))
			continue;
		char name[96];
		snprintf(name, sizeof(name), "sluice_output_worker_%s_total", row->name);
		fam_head(w, name, row->help, false);
		for (unsigned wi = 0; pl->workers && wi < pl->nworkers; wi++) {
			const struct out_worker *wk = pl->workers[wi];
			if (!wk)
				continue;
			char wid[16];
			snprintf(wid, sizeof(wid), "%u", wk->nth);
			struct dp_stats_out o;
			dp_stats_collect_worker(pl, wi, &o);
			struct lbl l[2] = { { "name", out_names[wk->o->id] }, { "worker", wid } };
			sample(w, name, l, 2, dp_stats_get(&o, row));
		}
	}
}

static void write_rx_drops(struct prom_w *w, const struct dp_stats_in *in, const char *const *names,
			   unsigned n, const bool *has_rx)
{
	bool any = false;
	for (unsigned i = 0; i < n; i++)
		any |= has_rx[i];
	if (!any)
		return;
	fam_head(w, "sluice_input_rx_drops_total", "Polling backends: frames dropped, by reason.", false);
	for (unsigned i = 0; i < n; i++)
		for (int r = 1; has_rx[i] && r < SHARD_PKT_NVERDICTS; r++) {
			struct lbl l[2] = { { "name", names[i] }, { "reason", shard_pkt_verdict_name(r) } };
			sample(w, "sluice_input_rx_drops_total", l, 2, in[i].rx_drop[r]);
		}
}

static void write_store_sp(struct prom_w *w, const struct dp_pipeline *pl)
{
	struct dp_stats_store st;
	if (dp_stats_collect_store(pl, &st)) {
		char name[128];
		for (unsigned k = 0; k < dp_stats_store_nfields; k++) {
			const struct dp_stats_field *row = &dp_stats_store_fields[k];
			metric_name(name, sizeof(name), "sluice", "storage", row, NULL);
			fam_head(w, name, row->help, row->flags & DP_SF_GAUGE);
			sample(w, name, NULL, 0, dp_stats_get(&st, row));
		}
	}
	if (!pl->sp)
		return;
	char name[128];
	for (unsigned k = 0; k < dp_stats_sp_nfields; k++) {
		const struct dp_stats_field *row = &dp_stats_sp_fields[k];
		metric_name(name, sizeof(name), "sluice", "stream_task", row, NULL);
		fam_head(w, name, row->help, false);
		struct dp_stats_sp sp;
		const char *task;
		for (unsigned i = 0; dp_stats_collect_sp(pl, i, &sp, &task); i++) {
			struct lbl l = { "name", task };
			sample(w, name, &l, 1, dp_stats_get(&sp, row));
		}
	}
}

void dp_prom_write(const struct dp_pipeline *pl, FILE *f, enum dp_prom_fmt fmt, uint64_t start_unix)
{
	struct prom_w w = { .f = f, .fmt = fmt };
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	size_t len = strftime(w.ts, sizeof(w.ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(w.ts + len, sizeof(w.ts) - len, ".%09ldZ", now.tv_nsec);

	struct dp_stats_in in[DP_MAX_INPUTS];
	struct dp_stats_out out[DP_MAX_OUTPUTS];
	struct dp_stats_flt flt[DP_MAX_FILTERS];
	dp_stats_collect(pl, in, out);
	dp_stats_collect_flt(pl, flt);
	const char *in_names[DP_MAX_INPUTS], *out_names[DP_MAX_OUTPUTS], *flt_names[DP_MAX_FILTERS];
	bool has_rx[DP_MAX_INPUTS];
	for (unsigned i = 0; i < pl->nin; i++) {
		in_names[i] = dp_stats_in_name(pl->in[i]);
		has_rx[i] = in[i].rx_polls != 0;
	}
	for (unsigned o = 0; o < pl->nout; o++)
		out_names[o] = dp_stats_out_name(pl->out[o]);
	for (unsigned i = 0; i < pl->nflt; i++)
		flt_names[i] = dp_stats_flt_name(pl->flt[i]);

	write_global(&w, pl, start_unix);
	for (unsigned k = 0; k < sizeof(fb_in_order) / sizeof(fb_in_order[0]); k++)
		fb_family(&w, "input", fb_in_order[k], dp_stats_in_fields, dp_stats_in_nfields, in, sizeof(in[0]),
			  in_names, pl->nin);
	for (unsigned k = 0; pl->nflt && k < sizeof(fb_flt_order) / sizeof(fb_flt_order[0]); k++)
		fb_family(&w, "filter", fb_flt_order[k], dp_stats_flt_fields, dp_stats_flt_nfields, flt,
			  sizeof(flt[0]), flt_names, pl->nflt);
	for (unsigned k = 0; k < sizeof(fb_out_order) / sizeof(fb_out_order[0]); k++)
		fb_family(&w, "output", fb_out_order[k], dp_stats_out_fields, dp_stats_out_nfields, out,
			  sizeof(out[0]), out_names, pl->nout);
	sluice_families(&w, "input", dp_stats_in_fields, dp_stats_in_nfields, in, sizeof(in[0]), in_names, pl->nin,
			has_rx);
	write_rx_drops(&w, in, in_names, pl->nin, has_rx);
	sluice_families(&w, "output", dp_stats_out_fields, dp_stats_out_nfields, out, sizeof(out[0]), out_names,
			pl->nout, NULL);
	if (pl->nflt)
		sluice_families(&w, "filter", dp_stats_flt_fields, dp_stats_flt_nfields, flt, sizeof(flt[0]),
				flt_names, pl->nflt, NULL);
	write_out_hists(&w, pl, out_names);
	write_threads(&w, pl, in_names, out_names);
	write_store_sp(&w, pl);
}

/* One Markdown row per family of a table. */
static void doc_rows(FILE *f, const char *kind, const struct dp_stats_field *t, unsigned n, const char *labels)
{
	char name[128];
	for (unsigned k = 0; k < n; k++) {
		metric_name(name, sizeof(name), "sluice", kind, &t[k], NULL);
		char fb[128] = "";
		if (t[k].fb) {
			metric_name(fb, sizeof(fb) - 2, "fluentbit", kind, &t[k], t[k].fb);
			fprintf(f, "| `%s` | %s | %s | `%s` (`%s` in /api/v1/metrics) | %s |\n", name,
				t[k].flags & DP_SF_GAUGE ? "gauge" : "counter", labels, fb, t[k].fb, t[k].help);
		} else {
			fprintf(f, "| `%s` | %s | %s | | %s |\n", name, t[k].flags & DP_SF_GAUGE ? "gauge" : "counter",
				labels, t[k].help);
		}
	}
}

void dp_prom_doc(FILE *f)
{
	fprintf(f, "<!-- Generated by `sluice --doc-metrics` from the counter tables (runtime/dp_stats.c, "
		"runtime/dp_prom.c); do not edit by hand. -->\n\n");
	fprintf(f, "Fluent Bit's families, under its names, labels and HELP text:\n\n"
		"| Metric | Type | Labels | sluice counter | Meaning |\n|---|---|---|---|---|\n");
	fprintf(f, "| `fluentbit_uptime` | counter | hostname | | Seconds since start (Fluent Bit's name: no "
		"`_total`). |\n");
	fprintf(f, "| `fluentbit_process_start_time_seconds` | gauge | hostname | | Start time, seconds since "
		"the epoch. |\n");
	fprintf(f, "| `fluentbit_build_info` | gauge | hostname, version, os | | sluice's version; the value "
		"is the start time, as Fluent Bit's. |\n");
	struct {
		const char *kind;
		const struct dp_stats_field *t;
		unsigned n;
		const char *const *order;
		unsigned norder;
	} fbk[] = {
		{ "input", dp_stats_in_fields, dp_stats_in_nfields, fb_in_order, 2 },
		{ "filter", dp_stats_flt_fields, dp_stats_flt_nfields, fb_flt_order, 2 },
		{ "output", dp_stats_out_fields, dp_stats_out_nfields, fb_out_order, 7 },
	};
	char name[128], sl[128];
	for (unsigned g = 0; g < 3; g++)
		for (unsigned k = 0; k < fbk[g].norder; k++) {
			const struct dp_stats_field *row = row_by_fb(fbk[g].t, fbk[g].n, fbk[g].order[k]);
			metric_name(name, sizeof(name), "fluentbit", fbk[g].kind, row, row->fb);
			metric_name(sl, sizeof(sl), "sluice", fbk[g].kind, row, NULL);
			fprintf(f, "| `%s` | counter | name | `%s` | %s |\n", name, sl, row->help);
		}
	fprintf(f, "\nsluice's own families (every Stats_File counter, from the same tables):\n\n"
		"| Metric | Type | Labels | Fluent Bit | Meaning |\n|---|---|---|---|---|\n");
	fprintf(f, "| `sluice_shards` | gauge | | | Shard threads running. |\n");
	fprintf(f, "| `sluice_workers` | gauge | | | Output worker threads running. |\n");
	doc_rows(f, "input", dp_stats_in_fields, dp_stats_in_nfields, "name");
	fprintf(f, "| `sluice_input_rx_drops_total` | counter | name, reason | | Polling backends: frames "
		"dropped, by reason. |\n");
	doc_rows(f, "output", dp_stats_out_fields, dp_stats_out_nfields, "name");
	for (unsigned k = 0; k < sizeof(out_hists) / sizeof(out_hists[0]); k++) {
		const struct dp_hist_spec *sp = out_hists[k].spec;
		fprintf(f, "| `sluice_output_%s` | histogram | name, le | | %s Buckets (le): ", out_hists[k].name,
			out_hists[k].help);
		for (unsigned b = 0; b < sp->nb; b++)
			fprintf(f, "%s%g", b ? ", " : "", (double)sp->le[b] / sp->scale);
		fprintf(f, ", +Inf. |\n");
	}
	doc_rows(f, "filter", dp_stats_flt_fields, dp_stats_flt_nfields, "name");
	fprintf(f, "| `sluice_input_shard_records_total` | counter | name, shard | | Input records, per shard. |\n");
	fprintf(f, "| `sluice_input_shard_bytes_total` | counter | name, shard | | Input bytes, per shard. |\n");
	fprintf(f, "| `sluice_output_worker_records_total` | counter | name, worker | | Output records confirmed, "
		"per worker. |\n");
	fprintf(f, "| `sluice_output_worker_bytes_total` | counter | name, worker | | Output bytes confirmed, per "
		"worker. |\n");
	fprintf(f, "| `sluice_output_worker_errors_total` | counter | name, worker | | Output records given up, "
		"per worker. |\n");
	doc_rows(f, "storage", dp_stats_store_fields, dp_stats_store_nfields, "");
	doc_rows(f, "stream_task", dp_stats_sp_fields, dp_stats_sp_nfields, "name");
	fprintf(f, "\nThe storage families are present when `storage.path` is set; the stream task families when "
		"a Streams_File (or -T) is given; the `rx` families for inputs with a polling backend.\n");
}
