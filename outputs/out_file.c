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
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "out_buf.h"
#include "out_file_lru.h"
#include "out_file_tmpl.h"
#include "dp_tmpl.h"
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
	int64_t max_open_files;
	struct dp_tmpl *name_tmpl;   /* Path/File with a $: the file per record */
	struct out_file_tmpl line_tmpl;   /* Format template: Template, cut up */
};

#define C(f) offsetof(struct out_file_cfg, f)

static const struct dp_opt file_opts[] = {
	{ "Path", DP_OPT_STR, NULL, C(path), NULL, 0, 0, 0,
	  "Directory of the file; default: the working directory. May hold $TAG, $TAG[n] and record "
	  "accessors ($tenant, $k['a']): one directory per value (sluice)." },
	{ "File", DP_OPT_STR, NULL, C(file), NULL, 0, 0, 0,
	  "File name; default: the record's tag. May hold $TAG, $TAG[n] and record accessors "
	  "(File $tenant.log: one file per tenant; sluice). '/' in a value becomes '_'." },
	{ "Format", DP_OPT_ENUM, "out_file", C(format), "out_file|plain|csv|ltsv|msgpack|json_lines|template", 0,
	  0, 0,
	  "out_file: TAG: [time, {record}]; plain: the record as JSON; csv; ltsv; msgpack: raw events "
	  "(sluice); json_lines: JSON with a date key (sluice); template: a line per record from "
	  "Template." },
	{ "Delimiter", DP_OPT_STR, NULL, C(delimiter), NULL, 0, 0, 0,
	  "Separator of the fields (csv, default comma) or of the pairs (ltsv, default tab): a string, "
	  "or tab, space, comma." },
	{ "Label_Delimiter", DP_OPT_STR, ":", C(label_delimiter), NULL, 0, 0, 0,
	  "Separator of label and value in ltsv: a string, or tab, space, comma." },
	{ "Mkdir", DP_OPT_BOOL, "off", C(mkdir), NULL, 0, 0, 0, "Create Path if it does not exist." },
	{ "csv_column_names", DP_OPT_BOOL, "false", C(csv_column_names), NULL, 0, 0, 0,
	  "Format csv: a file that is empty when opened starts with a line of column names, "
	  "timestamp then the keys of its first record (quoted as values are)." },
	{ "Max_Open_Files", DP_OPT_INT, "256", C(max_open_files), NULL, 1, 65536, 0,
	  "Path or File with a record accessor ($tenant): files kept open at most, the least recently "
	  "written closed first (sluice)." },
	{ "Template", DP_OPT_STR, "{time} {message}", C(template), NULL, 0, 0, 0,
	  "Format template: the line written per record. {key} is the record's top-level key (a "
	  "string as is, numbers, true/false, nil as text; kept as {key} when absent), {time} the "
	  "event time in seconds with 6 decimals (Fluent Bit's out_file)." },
	{ NULL },
};

static const enum out_fmt fmt_map[] = {
	OUT_FMT_OUT_FILE, OUT_FMT_PLAIN, OUT_FMT_CSV, OUT_FMT_LTSV, OUT_FMT_MSGPACK, OUT_FMT_JSON_LINES,
	OUT_FMT_TEMPLATE,
};

struct file_worker {
	struct dp_output *o;
	struct out_fmt_opts fo;
	struct out_buf b;
	int fd[DP_MAX_INPUTS];
	bool header_due[DP_MAX_INPUTS];   /* csv_column_names: file was empty */
	/* Path/File with a template: the files by name, and a chunk's records
	 * grouped by file (out_file_keyed below) */
	struct out_file_lru *lru;
	bool name_by_record;              /* the template reads the record */
	uint64_t epoch;
	int32_t slot[DP_CHUNK_RECS], next[DP_CHUNK_RECS], distinct[DP_CHUNK_RECS];
	int32_t *head, *tail;             /* [Max_Open_Files] */
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
	err->key = "Template";
	if (fmt_map[cfg->format] == OUT_FMT_TEMPLATE && out_file_tmpl_init(&cfg->line_tmpl, cfg->template))
		return dp_err_set(err, -ENOMEM, "out of memory");
	/* File unset is File $TAG: a file per tag, which is not a file per
	 * input when an input's records carry their own tags (forward,
	 * systemd, emitters). */
	bool keyed = !cfg->file || strchr(cfg->file, '$') || (cfg->path && strchr(cfg->path, '$'));
	err->key = cfg->file && strchr(cfg->file, '$') ? "File" : "Path";
	if (keyed) {
		char text[PATH_MAX];
		snprintf(text, sizeof(text), "%s%s%s", cfg->path ? cfg->path : "", cfg->path ? "/" : "",
			 cfg->file ? cfg->file : "$TAG");
		if (!(cfg->name_tmpl = calloc(1, sizeof(*cfg->name_tmpl))))
			return dp_err_set(err, -ENOMEM, "out of memory");
		int rc = dp_tmpl_parse(cfg->name_tmpl, text, 0, err->key, err);
		cfg->name_tmpl->path_safe = true;
		return rc;
	}
	err->key = "Path";
	if (cfg->path && !cfg->mkdir) {
		struct stat st;
		if (stat(cfg->path, &st) || !S_ISDIR(st.st_mode))
			return dp_err_set(err, -ENOENT, "Path '%s' is not a directory (set Mkdir on to create it)",
					  cfg->path);
	}
	return 0;
}

static void teardown(struct dp_output *o)
{
	struct out_file_cfg *cfg = o->cfg;
	out_file_tmpl_fini(&cfg->line_tmpl);
	if (cfg->name_tmpl) {
		dp_tmpl_free(cfg->name_tmpl);
		free(cfg->name_tmpl);
		cfg->name_tmpl = NULL;
	}
}

static int keyed_open(void *arg, const char *path, bool *empty);

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
	w->fo.tmpl = &cfg->line_tmpl;
	snprintf(w->fo.delim, sizeof(w->fo.delim), "%s",
		 delimiter(cfg->delimiter, w->fo.fmt == OUT_FMT_LTSV ? "\t" : ","));
	snprintf(w->fo.label_delim, sizeof(w->fo.label_delim), "%s", delimiter(cfg->label_delimiter, ":"));
	for (unsigned i = 0; i < DP_MAX_INPUTS; i++)
		w->fd[i] = -1;
	if (cfg->name_tmpl) {
		unsigned cap = (unsigned)cfg->max_open_files;
		w->lru = out_file_lru_create(cap, keyed_open, w);
		w->name_by_record = cfg->name_tmpl->uses_record;
		w->head = malloc(sizeof(*w->head) * cap);
		w->tail = malloc(sizeof(*w->tail) * cap);
		if (!w->lru || !w->head || !w->tail) {
			out_file_lru_destroy(w->lru);
			free(w->head);
			free(w->tail);
			out_buf_fini(&w->b);
			free(w);
			dp_err_set(err, -ENOMEM, "out of memory");
			return NULL;
		}
		for (unsigned i = 0; i < cap; i++)
			w->head[i] = -1;
	}
	return w;
}

/* A line cut short by a crash (kill -9 during a write) is ended first, so
 * the next record starts a line of its own: the cut one is sent again
 * whole (it was never confirmed), and the new line is not glued to the
 * fragment. Only with one worker: with several, another worker's write
 * may be under way in the same file. *empty: the file was empty. */
static int end_cut_line(struct file_worker *w, int fd, const char *path, bool *empty)
{
	struct stat st;
	bool stat_ok = !fstat(fd, &st);
	*empty = stat_ok && st.st_size == 0;
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
	return 0;
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
	bool empty;
	int rc = end_cut_line(w, fd, path, &empty);
	w->header_due[c->input] = cfg->csv_column_names && w->fo.fmt == OUT_FMT_CSV && empty;
	return rc ? rc : fd;
}

static int keyed_open(void *arg, const char *path, bool *empty)
{
	struct file_worker *w = arg;
	struct out_file_cfg *cfg = w->o->cfg;
	const char *slash = strrchr(path, '/');
	if (slash && slash != path && cfg->mkdir) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		int rc = dp_mkdir_p(dir, 0755);
		if (rc)
			return rc;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = end_cut_line(w, fd, path, empty);
	*empty = *empty && cfg->csv_column_names && w->fo.fmt == OUT_FMT_CSV;
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

/* Fluent Bit's csv header: timestamp, then the keys of the first record
 * written to the file, quoted like string values, on a line of their own.
 * A header longer than the buffer is left out. */
static int csv_header(struct file_worker *w, int fd, const struct dp_chunk *c, bool *due)
{
	const struct dp_rec *r = NULL;
	for (uint32_t i = 0; i < c->nrecs && !r; i++)
		if (!(c->recs[i].flags & DP_REC_DROPPED))
			r = &c->recs[i];
	if (!r)
		return 0;
	*due = false;
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

/* The file of record r of c (NULL: of the chunk, for a template that
 * reads no record), from the template: its LRU entry, or -errno
 * (-EBUSY: every open file holds a record of this chunk). A name that
 * comes out empty or too long is "_". */
static int keyed_entry(struct file_worker *w, const struct dp_chunk *c, const struct dp_rec *r,
		       const char *tag, size_t taglen, uint64_t pin)
{
	const struct out_file_cfg *cfg = w->o->cfg;
	char name[PATH_MAX];
	ssize_t len = dp_tmpl_expand(cfg->name_tmpl, name, sizeof(name), tag, taglen, r ? c : NULL,
				     r ? dp_rec_fields(c, r) : NULL, r ? r->nfields : 0, NULL);
	if (len < 0 || (size_t)len + 1 >= sizeof(name))
		len = 0;
	if (len == 0 || name[len - 1] == '/')
		name[len++] = '_';   /* an empty file name */
	return out_file_lru_get(w->lru, name, (size_t)len, pin);
}

static int keyed_add(struct file_worker *w, int *cur, int idx, const struct dp_chunk *c,
		     const struct dp_rec *r, const char *tag, size_t taglen, uint64_t *skipped)
{
	int fd = out_file_lru_fd(w->lru, idx), rc;
	if (*cur >= 0 && fd != *cur && (rc = out_buf_flush(&w->b, *cur)))
		return rc;
	*cur = fd;
	bool *due = out_file_lru_header(w->lru, idx);
	if (*due && (rc = csv_header(w, fd, c, due)))
		return rc;
	return out_buf_add_rec(&w->b, fd, &w->fo, c, r, tag, taglen, skipped);
}

/* Path/File with a template: each record to its own file. A chunk's
 * records are grouped by file first (in their order within each file), so
 * records of a few tenants interleaved cost one write per file and burst,
 * not one per record. */
static int flush_keyed(struct file_worker *w, struct dp_chunk *const *c, unsigned n)
{
	uint64_t skipped = 0;
	int cur = -1, rc = 0;
	w->b.len = 0;
	for (unsigned i = 0; !rc && i < n; i++) {
		const struct dp_chunk *ch = c[i];
		size_t taglen;
		const char *tag = dp_chunk_tag(w->o->pl, ch, &taglen);
		/* Finding this chunk's files may close one: what is buffered
		 * for the previous file goes first. */
		if (cur >= 0 && (rc = out_buf_flush(&w->b, cur)))
			break;
		cur = -1;
		uint64_t pin = ++w->epoch;
		if (!w->name_by_record) {
			/* The name does not read the record ($TAG, literals): one
			 * file for the whole chunk. */
			int idx = keyed_entry(w, ch, NULL, tag, taglen, pin);
			if (idx < 0)
				return idx;
			int fd = out_file_lru_fd(w->lru, idx);
			bool *due = out_file_lru_header(w->lru, idx);
			cur = fd;
			if (*due && (rc = csv_header(w, fd, ch, due)))
				break;
			rc = out_buf_add_chunk(&w->b, fd, &w->fo, ch, tag, taglen, &skipped);
			continue;
		}
		unsigned nd = 0;
		bool sequential = false;
		for (uint32_t k = 0; k < ch->nrecs && !sequential; k++) {
			w->slot[k] = -1;
			if (ch->recs[k].flags & DP_REC_DROPPED)
				continue;
			int idx = keyed_entry(w, ch, &ch->recs[k], tag, taglen, pin);
			if (idx == -EBUSY) {
				sequential = true;
				break;
			}
			if (idx < 0)
				return idx;
			w->slot[k] = idx;
			w->next[k] = -1;
			if (w->head[idx] < 0) {
				w->head[idx] = (int32_t)k;
				w->distinct[nd++] = idx;
			} else {
				w->next[w->tail[idx]] = (int32_t)k;
			}
			w->tail[idx] = (int32_t)k;
		}
		for (unsigned d = 0; d < nd; d++) {
			int idx = w->distinct[d];
			for (int32_t k = w->head[idx]; k >= 0 && !rc && !sequential; k = w->next[k])
				rc = keyed_add(w, &cur, idx, ch, &ch->recs[k], tag, taglen, &skipped);
			w->head[idx] = -1;
		}
		/* More files in one chunk than Max_Open_Files: record by record,
		 * closing files as it goes. */
		for (uint32_t k = 0; sequential && !rc && k < ch->nrecs; k++) {
			if (ch->recs[k].flags & DP_REC_DROPPED)
				continue;
			if (cur >= 0 && (rc = out_buf_flush(&w->b, cur)))
				break;
			cur = -1;
			/* a pin of its own: any other file may be closed */
			int idx = keyed_entry(w, ch, &ch->recs[k], tag, taglen, ++w->epoch);
			if (idx < 0)
				return idx;
			rc = keyed_add(w, &cur, idx, ch, &ch->recs[k], tag, taglen, &skipped);
		}
	}
	if (!rc && cur >= 0)
		rc = out_buf_flush(&w->b, cur);
	return rc;
}

static int flush(void *wctx, struct dp_chunk *const *c, unsigned n)
{
	struct file_worker *w = wctx;
	if (w->lru)
		return flush_keyed(w, c, n);
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
		if (w->header_due[c[i]->input] && (rc = csv_header(w, fd, c[i], &w->header_due[c[i]->input])))
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
	out_file_lru_destroy(w->lru);
	free(w->head);
	free(w->tail);
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
	.teardown = teardown,
};
