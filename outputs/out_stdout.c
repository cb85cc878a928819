/*
 * out_stdout.c — Fluent Bit's `stdout` output. Formats json_lines, json,
 * json_stream, and msgpack; msgpack writes the events as they are
 * ([time, map] per event, concatenated), which Fluent Bit's tools and any
 * msgpack reader decode. Fluent Bit's own `msgpack` format prints a
 * human-readable dump instead; see docs/CONFIG.md.
 *
 * Threads: setup on the control thread; writes on the output worker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "out_buf.h"
#include "dp_pipeline.h"

struct out_stdout_cfg {
	int format;
	char *date_key;
	char *date_format;
};

#define C(f) offsetof(struct out_stdout_cfg, f)

static const struct dp_opt stdout_opts[] = {
	{ "Format", DP_OPT_ENUM, "msgpack", C(format), "msgpack|json|json_lines|json_stream", 0, 0, 0,
	  "msgpack: raw events; json_lines: one JSON object per line; json: an array per flush; "
	  "json_stream: objects back to back." },
	{ "json_date_key", DP_OPT_STR, "date", C(date_key), NULL, 0, 0, 0,
	  "Key of the time in JSON formats; 'false' leaves it out." },
	{ "json_date_format", DP_OPT_STR, "double", C(date_format), NULL, 0, 0, 0,
	  "double, epoch, epoch_ms, iso8601 or java_sql_timestamp." },
	{ NULL },
};

static const enum out_fmt fmt_map[] = { OUT_FMT_MSGPACK, OUT_FMT_JSON, OUT_FMT_JSON_LINES, OUT_FMT_JSON_STREAM };

struct stdout_worker {
	struct dp_output *o;
	struct out_fmt_opts fo;
	struct out_buf b;
};

static int setup(struct dp_output *o, struct dp_err *err)
{
	struct out_stdout_cfg *cfg = o->cfg;
	err->key = "json_date_format";
	if (out_json_date_format_parse(cfg->date_format) < 0)
		return dp_err_set(err, -EINVAL, "invalid value '%s' for 'json_date_format': expected double, "
				  "epoch, epoch_ms, iso8601 or java_sql_timestamp", cfg->date_format);
	return 0;
}

static void *worker_create(struct dp_output *o, unsigned worker, struct dp_err *err)
{
	(void)worker;
	struct out_stdout_cfg *cfg = o->cfg;
	struct stdout_worker *w = calloc(1, sizeof(*w));
	if (!w || out_buf_init(&w->b, OUT_BUF_SIZE)) {
		free(w);
		dp_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	w->o = o;
	w->fo.fmt = fmt_map[cfg->format];
	w->fo.json.date_key = strcasecmp(cfg->date_key, "false") ? cfg->date_key : NULL;
	w->fo.json.date_format = out_json_date_format_parse(cfg->date_format);
	return w;
}

static int flush(void *wctx, struct dp_chunk *const *c, unsigned n)
{
	struct stdout_worker *w = wctx;
	uint64_t skipped = 0;
	w->b.len = 0;
	int rc = out_buf_begin(&w->b, 1, &w->fo);
	for (unsigned i = 0; !rc && i < n; i++) {
		size_t taglen;
		const char *tag = dp_chunk_tag(w->o->pl, c[i], &taglen);
		rc = out_buf_add_chunk(&w->b, 1, &w->fo, c[i], tag, taglen, &skipped);
	}
	return rc ? rc : out_buf_end(&w->b, 1, &w->fo);
}

static void worker_destroy(void *wctx)
{
	struct stdout_worker *w = wctx;
	out_buf_fini(&w->b);
	free(w);
}

const struct dp_output_ops out_stdout_ops = {
	.name = "stdout",
	.desc = "Writes records to standard output",
	.opts = stdout_opts,
	.cfg_size = sizeof(struct out_stdout_cfg),
	.setup = setup,
	.worker_create = worker_create,
	.flush = flush,
	.worker_destroy = worker_destroy,
};
