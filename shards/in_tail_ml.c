/*
 * in_tail_ml.c — the tail input's `multiline.parser`: each file's lines go
 * through a multiline stream (parsers/psr_ml.h: the built-ins java, python,
 * go, ruby, nodejs and [MULTILINE_PARSER] sections), so a stack trace
 * becomes one record {Path_Key, Offset_Key, Key: joined text}, as Fluent
 * Bit's tail_file.c does with ml_flush_callback; its text ends with "\n"
 * as Fluent Bit's does for raw lines (psr_ml.h, "Raw text"), and so does
 * a line that passes alone. As there, `Parser` is not
 * applied to raw lines when multiline.parser is set. docker, cri and
 * [MULTILINE_PARSER]s with a `parser` (alone or together) parse each line
 * first and join per key_group: that is in_tail_mlc.c, behind the same
 * calls (struct tail_ml's `c`); they are not combined with the parsers
 * here (setup refuses it).
 *
 * Delivery: lines held in an open group are not delivered, so the DB mark
 * of a file moves only to the end of what was emitted: the end of a group
 * (the start of the line that closed it) or of a line passed through. A
 * group that completes when memory is out is kept in the file's pending
 * buffer and emitted first when memory is back, so order holds. Groups
 * still open at shutdown are not emitted; with a DB their lines are read
 * again on the next start.
 *
 * Memory: a stream holds up to PSR_ML_GROUP_MAX (64 KiB) per file,
 * allocated only when multiline.parser is set.
 *
 * Threads: the shard that owns the files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_log.h"
#include "dp_pipeline.h"
#include "in_tail.h"
#include "psr_ml.h"

struct tail_ml {
	struct tail_mlc *c;      /* docker / cri (in_tail_mlc.c); NULL: the rest is used */
	struct psr_ml_stream *st;
	struct tail_shard *x;
	struct tail_file *f;
	uint64_t gstart;         /* offset of the open group's first line */
	uint64_t line_off;       /* the line being pushed: its start */
	uint64_t end_off;        /* after the last line pushed */
	bool eagain;             /* a flush found no memory: it is pending */
	char *pend;              /* [PSR_ML_GROUP_MAX + 1] a completed group not emitted yet */
	size_t pend_len;
	uint32_t pend_sec, pend_nsec;
	uint64_t pend_off, pend_mark;
	bool has_pend;
};

int in_tail_ml_setup(struct dp_input *in, struct tail_cfg *cfg, struct dp_err *err)
{
	err->key = "multiline.parser";
	const struct psr_ml_set *set = in->pl ? in->pl->ml_parsers : NULL;
	char *dup = strdup(cfg->multiline_parser);
	if (!dup)
		return dp_err_set(err, -ENOMEM, "out of memory");
	int rc = 0;
	for (char *save = NULL, *t = strtok_r(dup, ", \t", &save); t && !rc;
	     t = strtok_r(NULL, ", \t", &save)) {
		const struct psr_ml_parser *p = set ? psr_ml_set_find(set, t) : NULL;
		if (!p)
			rc = dp_err_set(err, -EINVAL, "'multiline.parser': unknown multiline parser '%s'", t);
		else if (cfg->nml == PSR_ML_MAX_PARSERS)
			rc = dp_err_set(err, -EINVAL, "'multiline.parser': at most %d parsers",
					PSR_ML_MAX_PARSERS);
		else
			cfg->ml[cfg->nml++] = p;
	}
	free(dup);
	if (!rc && !cfg->nml)
		rc = dp_err_set(err, -EINVAL, "'multiline.parser' names no parser");
	/* docker and cri parse each line first (in_tail_mlc.c); the text
	 * parsers join raw lines: one file is read one way or the other. */
	unsigned nc = 0;
	for (unsigned i = 0; !rc && i < cfg->nml; i++)
		nc += psr_ml_parser_line(cfg->ml[i]) != NULL;
	if (nc && nc != cfg->nml)
		rc = dp_err_set(err, -ENOTSUP, "'multiline.parser': docker, cri and parsers with a "
				"'parser' cannot be combined with multiline parsers of raw text on tail; "
				"join the parsed lines here and the rest with a multiline filter after it");
	cfg->ml_container = !rc && nc;
	/* The text's key: the first parser's key_content, else "log" (Fluent
	 * Bit's multiline records, whatever tail's Key says). */
	const char *kc = rc ? NULL : psr_ml_parser_key_content(cfg->ml[0]);
	cfg->ml_key = kc && *kc ? kc : "log";
	cfg->ml_key_len = strlen(cfg->ml_key);
	return rc;
}

/* Emit text as a record of f at offset off; -EAGAIN when out of memory. */
static int emit(struct tail_shard *x, struct tail_file *f, const char *p, size_t len, uint64_t off,
		bool timed, uint32_t sec, uint32_t nsec)
{
	x->cur = f;
	x->cur_off = off;
	x->ml_emit = true;
	x->ml_timed = timed;
	x->ml_sec = sec;
	x->ml_nsec = nsec;
	int rc = in_tail_emit(x, p, len);
	x->ml_emit = false;
	x->cur = NULL;
	return rc;
}

static void on_begin(void *arg)
{
	struct tail_ml *m = arg;
	m->gstart = m->line_off;
}

static void on_flush(void *arg, const struct psr_ml_group *g)
{
	struct tail_ml *m = arg;
	/* From push: the group ended before the line being pushed; from a
	 * tick or a close: at the end of the last line pushed. */
	uint64_t mark = m->x->ml_pushing ? m->line_off : m->end_off;
	if (!m->eagain &&
	    emit(m->x, m->f, g->text, g->len, m->gstart, true, g->sec, g->nsec) == 0) {
		in_tail_mark(m->x, m->f, mark);
		return;
	}
	if (m->has_pend || (!m->pend && !(m->pend = malloc(PSR_ML_GROUP_MAX + 1)))) {
		dp_plg_warn(m->x->in, "%s: a multiline group was lost (no memory)", m->f->name);
		return;   /* cannot happen: reading stops at the first pending group */
	}
	/* + 1: raw text's final "\n" (psr_ml.h) */
	size_t n = g->len < PSR_ML_GROUP_MAX + 1 ? g->len : PSR_ML_GROUP_MAX + 1;
	memcpy(m->pend, g->text, n);
	m->pend_len = n;
	m->pend_sec = g->sec;
	m->pend_nsec = g->nsec;
	m->pend_off = m->gstart;
	m->pend_mark = mark;
	m->has_pend = true;
	m->eagain = true;
}

int in_tail_ml_open(struct tail_shard *x, struct tail_file *f)
{
	struct tail_ml *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->x = x;
	m->f = f;
	if (x->cfg->ml_container) {
		if (!(m->c = in_tail_mlc_open(x, f))) {
			free(m);
			return -ENOMEM;
		}
		f->ml = m;
		return 0;
	}
	if (!(m->st = malloc(sizeof(*m->st))) ||
	    psr_ml_stream_init(m->st, x->cfg->ml, x->cfg->nml, 0, on_begin, on_flush, m)) {
		free(m->st);
		free(m);
		return -ENOMEM;
	}
	psr_ml_stream_set_text(m->st, true);
	f->ml = m;
	return 0;
}

void in_tail_ml_close(struct tail_shard *x, struct tail_file *f, bool emit_open)
{
	struct tail_ml *m = f->ml;
	if (!m)
		return;
	if (m->c) {
		in_tail_mlc_close(x, m->c, emit_open);
		free(m);
		f->ml = NULL;
		return;
	}
	if (emit_open) {
		in_tail_ml_pending(x, f);
		if (!m->has_pend)
			psr_ml_stream_flush(m->st);
	}
	psr_ml_stream_fini(m->st);
	free(m->st);
	free(m->pend);
	free(m);
	f->ml = NULL;
}

int in_tail_ml_pending(struct tail_shard *x, struct tail_file *f)
{
	struct tail_ml *m = f->ml;
	if (m->c)
		return in_tail_mlc_pending(x, m->c);
	if (!m->has_pend)
		return 0;
	if (emit(x, f, m->pend, m->pend_len, m->pend_off, true, m->pend_sec, m->pend_nsec))
		return -EAGAIN;
	in_tail_mark(x, f, m->pend_mark);
	m->has_pend = false;
	m->eagain = false;
	return 0;
}

int in_tail_ml_line(struct tail_shard *x, struct tail_file *f, const char *p, size_t len, uint64_t off,
		 uint64_t end)
{
	struct tail_ml *m = f->ml;
	if (m->c)
		return in_tail_mlc_line(x, m->c, p, len, off, end);
	if (in_tail_ml_pending(x, f))
		return -EAGAIN;
	m->line_off = off;
	x->ml_pushing = true;
	int rc = psr_ml_stream_push(m->st, p, len, x->sh->now_sec, x->sh->now_nsec, x->sh->now_ns);
	x->ml_pushing = false;
	if (rc != PSR_ML_PASS) {
		m->end_off = end;
		return m->eagain ? 1 : 0;   /* the line is in the stream either way */
	}
	/* Alone; after the group its push flushed, which must go first.
	 * Fluent Bit flushes it through a group too, so with its "\n" when
	 * groups get one (psr_ml.h, "Raw text"). The line is in the read
	 * buffer (x->buf, or its UTF-8 copy with an encoding key) and ended by
	 * LF or CR LF (psr_lines.h): the LF follows it, or the CR is
	 * overwritten with one: no copy. The buffer is refilled from the file
	 * for every read, and a line not emitted here is read again. */
	if (psr_ml_stream_pass_nl(m->st)) {
		char *w = (char *)p;
		w[len++] = '\n';
	}
	if (m->eagain || emit(x, f, p, len, off, false, 0, 0))
		return -EAGAIN;          /* pushed again next time: it passes again */
	m->end_off = end;
	in_tail_mark(x, f, end);
	return 0;
}

void in_tail_ml_tick(struct tail_shard *x, uint64_t now_ns)
{
	for (struct tail_file *f = x->files; f && !x->paused; f = f->next) {
		if (!f->ml)
			continue;
		if (f->ml->c) {
			if (in_tail_mlc_tick(x, f->ml->c, now_ns))
				x->paused = true;
			continue;
		}
		if (!in_tail_ml_pending(x, f))
			psr_ml_stream_tick(f->ml->st, now_ns);
		if (f->ml->eagain)
			x->paused = true;
	}
}
