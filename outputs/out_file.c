/*
 * out_file.c — Fluent Bit's `file` output: records appended to Path/File,
 * File defaulting to the record's tag. A burst is confirmed once write(2)
 * returned for all of it (no fsync per burst).
 *
 * Files are opened by the worker, lazily, one per input (a tag belongs to
 * one input), and kept open. Opening a FIFO blocks until a reader comes,
 * which stalls this output only: its rings fill, then the shards pause.
 *
 * Threads: setup on the control thread; everything else on the output
 * worker that owns the context.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "out_buf.h"
#include "dp_fs.h"
#include "dp_pipeline.h"

struct out_file_cfg {
	char *path;
	char *file;
	int format;
	char *delimiter;
	char *label_delimiter;
	bool mkdir;
	char *template;
	bool csv_column_names;
};

#define C(f) offsetof(struct out_file_cfg, f)

static const struct dp_opt file_opts[] = {
	{ "Path", DP_OPT_STR, NULL, C(path), NULL, 0, 0, 0, "Directory of the file; default: the working directory." },
	{ "File", DP_OPT_STR, NULL, C(file), NULL, 0, 0, 0, "File name; default: the record's tag." },
	{ "Format", DP_OPT_ENUM, "out_file", C(format), "out_file|plain|csv|ltsv|msgpack|json_lines", 0, 0, 0,
	  "out_file: TAG: [time, {record}]; plain: the record as JSON; csv; ltsv; msgpack: raw events "
	  "(sluice); json_lines: JSON with a date key (sluice)." },
	{ "Delimiter", DP_OPT_STR, NULL, C(delimiter), NULL, 0, 0, 0,
	  "Separator of the fields (csv, default comma) or of the pairs (ltsv, default tab): a string, "
	  "or tab, space, comma." },
	{ "Label_Delimiter", DP_OPT_STR, ":", C(label_delimiter), NULL, 0, 0, 0,
	  "Separator of label and value in ltsv: a string, or tab, space, comma." },
	{ "Mkdir", DP_OPT_BOOL, "off", C(mkdir), NULL, 0, 0, 0, "Create Path if it does not exist." },
	{ "csv_column_names", DP_OPT_BOOL, "false", C(csv_column_names), NULL, 0, 0, 0,
	  "Format csv: a file that is empty when opened starts with a line of column names, "
	  "timestamp then the keys of its first record (quoted as values are)." },
	{ "Template", DP_OPT_STR, NULL, C(template), NULL, 0, 0, DP_OPT_NOT_YET,
	  "Format template. Not supported yet." },
	{ NULL },
};

static const enum out_fmt fmt_map[] = {
	OUT_FMT_OUT_FILE, OUT_FMT_PLAIN, OUT_FMT_CSV, OUT_FMT_LTSV, OUT_FMT_MSGPACK, OUT_FMT_JSON_LINES,
};

struct file_worker {
	struct dp_output *o;
	struct out_fmt_opts fo;
	struct out_buf b;
	int fd[DP_MAX_INPUTS];
	bool header_due[DP_MAX_INPUTS];   /* csv_column_names: file was empty */
};

/* Fluent Bit's names for delimiters; anything else is taken as written. */
static const char *delimiter(const char *v, const char *def)
{
	if (!v)
		return def;
	if (!strcasecmp(v, "tab") || !strcmp(v, "\\t"))
		return "\t";
	if (!strcasecmp(v, "space"))
		return " ";
	if (!strcasecmp(v, "comma"))
		return ",";
	return v;
}

static int setup(struct dp_output *o, struct dp_err *err)
{
	struct out_file_cfg *cfg = o->cfg;
	err->key = cfg->delimiter && strlen(cfg->delimiter) >= 8 ? "Delimiter" : "Label_Delimiter";
	if ((cfg->delimiter && strlen(cfg->delimiter) >= 8) || strlen(cfg->label_delimiter) >= 8)
		return dp_err_set(err, -EINVAL, "Delimiter and Label_Delimiter take at most 7 bytes");
	err->key = "Path";
	if (cfg->path && !cfg->mkdir) {
		struct stat st;
		if (stat(cfg->path, &st) || !S_ISDIR(st.st_mode))
			return dp_err_set(err, -ENOENT, "Path '%s' is not a directory (set Mkdir on to create it)",
					  cfg->path);
	}
	return 0;
}

static void *worker_create(struct dp_output *o, unsigned worker, struct dp_err *err)
{
	(void)worker;
	struct out_file_cfg *cfg = o->cfg;
	struct file_worker *w = calloc(1, sizeof(*w));
	if (!w || out_buf_init(&w->b, OUT_BUF_SIZE)) {
		free(w);
		dp_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	int rc = cfg->path && cfg->mkdir ? dp_mkdir_p(cfg->path, 0755) : 0;
	if (rc) {
		dp_err_set(err, rc, "cannot create Path '%s': %s", cfg->path, strerror(-rc));
		out_buf_fini(&w->b);
		free(w);
		return NULL;
	}
	w->o = o;
	w->fo.fmt = fmt_map[cfg->format];
	w->fo.json.date_key = "date";
	snprintf(w->fo.delim, sizeof(w->fo.delim), "%s",
		 delimiter(cfg->delimiter, w->fo.fmt == OUT_FMT_LTSV ? "\t" : ","));
	snprintf(w->fo.label_delim, sizeof(w->fo.label_delim), "%s", delimiter(cfg->label_delimiter, ":"));
	for (unsigned i = 0; i < DP_MAX_INPUTS; i++)
		w->fd[i] = -1;
	return w;
}

static int file_fd(struct file_worker *w, const struct dp_chunk *c)
{
	if (w->fd[c->input] >= 0)
		return w->fd[c->input];
	struct out_file_cfg *cfg = w->o->cfg;
	size_t taglen;
	const char *tag = dp_chunk_tag(w->o->pl, c, &taglen);
	char path[4096];
	snprintf(path, sizeof(path), "%s%s%s", cfg->path ? cfg->path : "", cfg->path ? "/" : "",
		 cfg->file ? cfg->file : tag);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	w->fd[c->input] = fd;
	struct stat st;
	bool stat_ok = !fstat(fd, &st);
	w->header_due[c->input] = cfg->csv_column_names && w->fo.fmt == OUT_FMT_CSV && stat_ok &&
				  st.st_size == 0;
	/* A line cut short by a crash (kill -9 during a write) is ended
	 * first, so the next record starts a line of its own: the cut one is
	 * sent again whole (it was never confirmed), and the new line is not
	 * glued to the fragment. Only with one worker: with several, another
	 * worker's write may be under way in the same file. */
	if (stat_ok && S_ISREG(st.st_mode) && st.st_size > 0 && w->fo.fmt != OUT_FMT_MSGPACK &&
	    w->o->workers == 1) {
		char last = '\n';
		int rfd = open(path, O_RDONLY | O_CLOEXEC);
		if (rfd >= 0) {
			if (pread(rfd, &last, 1, st.st_size - 1) != 1)
				last = '\n';
			close(rfd);
		}
		if (last != '\n' && write(fd, "\n", 1) != 1)
			return -errno;
	}
	return fd;
}

/* Fluent Bit's csv header: timestamp, then the keys of the first record
 * written to the file, quoted like string values, on a line of their own.
 * A header longer than the buffer is left out. */
static int csv_header(struct file_worker *w, int fd, const struct dp_chunk *c)
{
	const struct dp_rec *r = NULL;
	for (uint32_t i = 0; i < c->nrecs && !r; i++)
		if (!(c->recs[i].flags & DP_REC_DROPPED))
			r = &c->recs[i];
	if (!r)
		return 0;
	w->header_due[c->input] = false;
	size_t dl = strlen(w->fo.delim), need = 10;
	const struct dp_field *f = dp_rec_fields(c, r);
	for (unsigned i = 0; i < r->nfields; i++)
		need += dl + 2 + 2 * (size_t)f[i].key_len;
	if (need > w->b.cap)
		return 0;
	int rc;
	if (w->b.cap - w->b.len < need && (rc = out_buf_flush(&w->b, fd)))
		return rc;
	char *d = w->b.p + w->b.len;
	memcpy(d, "timestamp", 9);
	d += 9;
	for (unsigned i = 0; i < r->nfields; i++) {
		const char *k = dp_field_key(c, &f[i]);
		memcpy(d, w->fo.delim, dl);
		d += dl;
		*d++ = '"';
		for (uint32_t j = 0; j < f[i].key_len; j++) {
			if (k[j] == '"')
				*d++ = '"';
			*d++ = k[j];
		}
		*d++ = '"';
	}
	*d++ = '\n';
	w->b.len = (size_t)(d - w->b.p);
	return 0;
}

static int flush(void *wctx, struct dp_chunk *const *c, unsigned n)
{
	struct file_worker *w = wctx;
	uint64_t skipped = 0;
	int cur = -1, rc = 0;
	/* Consecutive chunks for the same file share the buffer: one write
	 * per file per burst in the common case. A failed burst is written
	 * again whole on retry (at least once). */
	w->b.len = 0;
	for (unsigned i = 0; !rc && i < n; i++) {
		int fd = file_fd(w, c[i]);
		if (fd < 0)
			return fd;
		if (cur >= 0 && fd != cur && (rc = out_buf_flush(&w->b, cur)))
			break;
		cur = fd;
		if (w->header_due[c[i]->input] && (rc = csv_header(w, fd, c[i])))
			break;
		size_t taglen;
		const char *tag = dp_chunk_tag(w->o->pl, c[i], &taglen);
		rc = out_buf_add_chunk(&w->b, fd, &w->fo, c[i], tag, taglen, &skipped);
	}
	if (!rc && cur >= 0)
		rc = out_buf_flush(&w->b, cur);
	return rc;
}

static void worker_destroy(void *wctx)
{
	struct file_worker *w = wctx;
	for (unsigned i = 0; i < DP_MAX_INPUTS; i++)
		if (w->fd[i] >= 0)
			close(w->fd[i]);
	out_buf_fini(&w->b);
	free(w);
}

const struct dp_output_ops out_file_ops = {
	.name = "file",
	.desc = "Appends records to a file per tag",
	.opts = file_opts,
	.cfg_size = sizeof(struct out_file_cfg),
	.setup = setup,
	.worker_create = worker_create,
	.flush = flush,
	.worker_destroy = worker_destroy,
};
