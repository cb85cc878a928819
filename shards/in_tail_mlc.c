/*
 * in_tail_mlc.c — the tail input's multiline parsers that parse each raw
 * line first: `docker`, `cri` (the log files container runtimes write,
 * /var/log/containers/NAME.log, where a line longer than the runtime's
 * limit, 16 KiB, is cut into pieces) and any [MULTILINE_PARSER] with a
 * `parser`, e.g. JSON lines whose "log" holds a stack trace line by line.
 * As Fluent Bit does it (src/multiline/flb_ml.c, flb_ml_append_text,
 * ml_append_try_parser, package_content; flb_ml_parser_docker.c,
 * flb_ml_parser_cri.c; plugins/in_tail/tail_file.c, ml_flush_callback):
 *
 *   - each raw line is parsed by the multiline parser's line parser
 *     (psr_ml.h, psr_ml_parser_line: docker JSON, cri a regex, "time"
 *     read and kept; or the [PARSER] its `parser` names). The parser that
 *     took the file's last line is tried first, then the others in the
 *     order listed. A parser takes a line when it parses, has a string
 *     key_content ("log" for docker, cri; docker: not empty, as Fluent
 *     Bit's endswith test needs a byte) and, for a regex parser, a rule
 *     matches its key_content (or key_pattern);
 *   - lines are joined per (parser, value of key_group): docker and cri's
 *     "stream", so stdout and stderr interleave and join apart; without
 *     key_group, one group per parser. docker: a piece whose "log" does
 *     not end with "\n" is continued; cri: "_p" "P" is continued, "F"
 *     ends it; a regex parser: its rules (psr_ml_stream.c does the
 *     joining, one stream, so one rule state, per group);
 *   - the record is the FIRST line's record (its fields in their order,
 *     its time, "_p" included) with key_content replaced by the joined
 *     text, then Path_Key and Offset_Key (the first line's offset), as for
 *     every tail record. A whole docker / cri line that opens no group
 *     goes out as parsed, without being copied into a group;
 *   - a line no parser takes ends every open group of its file (they go
 *     out first) and goes out alone as {key_content: line} (the raw line,
 *     under the first parser's key_content) with the time it was read,
 *     counted as unparsed;
 *   - an open group goes out when no piece continued it for the parser's
 *     flush timeout (4 s, Fluent Bit's FLB_ML_FLUSH_TIMEOUT).
 * A line too long for the per-shard scratch chunk (128 KiB) does not
 * parse: it is unparsed (Fluent Bit's JSON line parser fails there too;
 * runtimes never write one that long).
 *
 * Delivery (DB): a file's mark moves to the end of what was emitted but
 * never past the first line of a group still open, so a restart reads an
 * open group again whole: nothing is lost. Records of the other stream
 * emitted while a group was open are then read and emitted again (at
 * least once); a single stream repeats nothing. Memory out: as in
 * in_tail_ml.c, a completed group waits in the file's pending slot and
 * reading stops until it is out.
 *
 * Memory: per shard one scratch chunk (about 220 KiB) and parser states,
 * allocated when the first file opens; per file a group (64 KiB of text
 * and 4 KiB of the first piece's other fields) only once a piece of that
 * stream is cut, at most MLC_GROUPS, and the pending slot when memory
 * first runs out. Nothing is allocated per line.
 *
 * Threads: the shard that owns the files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "dp_edit.h"
#include "dp_log.h"
#include "dp_pipeline.h"
#include "in_tail.h"
#include "psr_ml.h"
#include "psr_parser.h"

#define MLC_GROUPS     8      /* per file: (parser, key_group value) pairs */
#define MLC_KEY_MAX    32     /* bytes of a key_group value told apart */

struct tail_mlc_shard {
	struct dp_chunk sc;       /* the line being parsed, one record */
	struct psr_parser_state *pst[PSR_ML_MAX_PARSERS];
	struct dp_rec recs[DP_CHUNK_RECS];
	struct dp_field fields[DP_CHUNK_FIELDS];
	uint8_t data[DP_CHUNK_DATA];
};

/* The parsed line. */
struct mlc_piece {
	int parser;
	int content;              /* its field "log" */
	const char *text, *pat, *grp;
	size_t tlen, plen, glen;
	bool has_grp;
	uint32_t sec, nsec;
};


enum { OUT_LINE, OUT_GROUP, OUT_RAW };

struct tail_mlc_out {
	int kind;
	const struct psr_ml_kept *ctx;  /* OUT_GROUP */
	const char *text;           /* OUT_GROUP, OUT_RAW */
	size_t len;
};

struct mlc_group {
	struct tail_mlc *m;
	int parser;
	bool has_key;
	uint8_t klen;
	char key[MLC_KEY_MAX];
	uint64_t gstart;          /* offset of its open group's first piece */
	struct psr_ml_kept ctx;
	struct psr_ml_stream st;  /* last: its buffer is most of the group */
};

struct mlc_pend {
	struct psr_ml_kept ctx;
	uint32_t sec, nsec;
	uint64_t off, mark;
	size_t len;
	char text[PSR_ML_GROUP_MAX];
};

struct tail_mlc {
	struct tail_shard *x;
	struct tail_file *f;
	struct mlc_group *g[MLC_GROUPS];
	unsigned ng;
	int lru;                  /* the parser of the last line: tried first */
	const struct mlc_piece *pc; /* the piece being pushed */
	uint64_t line_off, line_end;
	uint64_t end_off;         /* after the last line taken */
	bool pushing, eagain, warned;
	struct mlc_pend *pend;
	bool has_pend;
};

/* ---- per shard ---- */

static struct tail_mlc_shard *shard_get(struct tail_shard *x)
{
	if (x->mlcs)
		return x->mlcs;
	struct tail_mlc_shard *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	dp_chunk_init(&s->sc, s->recs, s->fields, s->data);
	x->mlcs = s;
	for (unsigned i = 0; i < x->cfg->nml; i++) {
		if (!(s->pst[i] = psr_parser_state_create(psr_ml_parser_line(x->cfg->ml[i])))) {
			in_tail_mlc_shard_free(x);
			return NULL;
		}
	}
	return s;
}

void in_tail_mlc_shard_free(struct tail_shard *x)
{
	struct tail_mlc_shard *s = x->mlcs;
	if (!s)
		return;
	for (unsigned i = 0; i < PSR_ML_MAX_PARSERS; i++)
		if (s->pst[i])
			psr_parser_state_destroy(s->pst[i]);
	free(s);
	x->mlcs = NULL;
}

/* ---- a line ---- */

/* Parser i's take on the line (Fluent Bit's get_key_id: the first key of
 * that name with a string value). */
static bool try_parser(struct tail_shard *x, int i, const char *p, size_t len, struct mlc_piece *pc)
{
	const struct psr_ml_parser *mp = x->cfg->ml[i];
	struct dp_chunk *c = &x->mlcs->sc;
	dp_chunk_reset(c);
	dp_chunk_rec_begin(c, 0, 0);
	if (psr_parser_exec(psr_ml_parser_line(mp), x->mlcs->pst[i], c, p, len) ||
	    dp_chunk_rec_end(c))
		return false;
	const char *kc = psr_ml_parser_key_content(mp), *kp = psr_ml_parser_key_pattern(mp),
		   *kg = psr_ml_parser_key_group(mp);
	int ci = dp_tail_find_str(c, kc, strlen(kc));
	if (ci < 0)
		return false;
	int pi = kp ? dp_tail_find_str(c, kp, strlen(kp)) : -1;
	int gi = kg ? dp_tail_find_str(c, kg, strlen(kg)) : -1;
	const struct dp_field *cf = dp_tail_field(c, (unsigned)ci);
	const struct dp_field *pf = pi >= 0 ? dp_tail_field(c, (unsigned)pi) : cf;
	pc->parser = i;
	pc->content = ci;
	pc->text = dp_field_val(c, cf);
	pc->tlen = cf->val_len;
	pc->pat = dp_field_val(c, pf);
	pc->plen = pf->val_len;
	/* endswith / equal; a regex parser takes the line when a rule
	 * matches it, which its group's stream tells (in_tail_mlc_line) */
	if (!psr_ml_parser_is_regex(mp) && psr_ml_parser_match(mp, pc->pat, pc->plen) < 0)
		return false;
	pc->has_grp = gi >= 0;
	if (pc->has_grp) {
		const struct dp_field *gf = dp_tail_field(c, (unsigned)gi);
		pc->grp = dp_field_val(c, gf);
		pc->glen = gf->val_len;
	}
	const struct dp_rec *r = dp_tail(c);
	pc->sec = r->ts_sec;
	pc->nsec = r->ts_nsec;
	if (!pc->sec && !pc->nsec) {   /* no time read: now (flb_ml.c) */
		pc->sec = x->sh->now_sec;
		pc->nsec = x->sh->now_nsec;
	}
	return true;
}

static bool parse_line(struct tail_shard *x, struct tail_mlc *m, const char *p, size_t len,
		       struct mlc_piece *pc)
{
	if (try_parser(x, m->lru, p, len, pc))
		return true;
	for (int i = 0; i < (int)x->cfg->nml; i++)
		if (i != m->lru && try_parser(x, i, p, len, pc)) {
			m->lru = i;
			return true;
		}
	return false;
}

/* ---- records ---- */

/* Keep the scratch record's fields but the content (psr_ml_keep). */
static void ctx_save(struct tail_mlc *m, struct psr_ml_kept *s, struct dp_chunk *c, int content)
{
	if (psr_ml_keep(s, c, content) && !m->warned) {
		dp_plg_warn(m->x->in, "%s: a joined record leaves out fields of its first piece beyond %d "
			    "fields / %d bytes", m->f->name, PSR_ML_KEPT_FIELDS, PSR_ML_KEPT_BYTES);
		m->warned = true;
	}
}

int in_tail_mlc_write(struct tail_shard *x, struct dp_chunk *c)
{
	const struct tail_mlc_out *o = x->mlc_out;
	const struct tail_cfg *cfg = x->cfg;
	if (o->kind == OUT_RAW) {
		dp_chunk_put_str(c, cfg->ml_key, cfg->ml_key_len, o->text, o->len);
		return DP_PARSE_UNPARSED;
	}
	if (o->kind == OUT_LINE) {
		struct dp_chunk *sc = &x->mlcs->sc;
		unsigned n = dp_tail_nfields(sc);
		for (unsigned i = 0; i < n; i++) {
			const struct dp_field *f = dp_tail_field(sc, i);
			dp_chunk_put_copy(c, dp_field_key(sc, f), f->key_len, sc, f);
		}
		return 0;
	}
	psr_ml_put_kept(o->ctx, c, cfg->ml_key, cfg->ml_key_len, o->text, o->len);
	return 0;
}

/* Emit a record of m's file at offset off: 0 or -EAGAIN (no memory). */
static int emit(struct tail_mlc *m, const struct tail_mlc_out *o, uint64_t off, bool timed,
		uint32_t sec, uint32_t nsec)
{
	struct tail_shard *x = m->x;
	x->cur = m->f;
	x->cur_off = off;
	x->ml_emit = true;
	x->ml_timed = timed;
	x->ml_sec = sec;
	x->ml_nsec = nsec;
	x->mlc_out = o;
	int rc = in_tail_emit(x, o->text ? o->text : "", o->len);
	x->mlc_out = NULL;
	x->ml_emit = false;
	x->cur = NULL;
	return rc;
}

/* The DB mark: at, unless a group still open began before it. */
static uint64_t mark_at(const struct tail_mlc *m, uint64_t at)
{
	for (unsigned i = 0; i < m->ng; i++)
		if (psr_ml_stream_is_open(&m->g[i]->st) && m->g[i]->gstart < at)
			at = m->g[i]->gstart;
	return at;
}

/* ---- groups ---- */

static void on_begin(void *arg)
{
	struct mlc_group *g = arg;
	struct tail_mlc *m = g->m;
	g->gstart = m->line_off;
	ctx_save(m, &g->ctx, &m->x->mlcs->sc, m->pc->content);
}

static void on_flush(void *arg, const struct psr_ml_group *pg)
{
	struct mlc_group *g = arg;
	struct tail_mlc *m = g->m;
	/* From a push: after the line pushed when the group holds it, else
	 * (a regex start line flushed the group before it) before it; from a
	 * tick or a close, after the last line taken. The group is no longer
	 * open here. */
	uint64_t at = mark_at(m, !m->pushing ? m->end_off : pg->has_line ? m->line_end : m->line_off);
	struct tail_mlc_out o = { OUT_GROUP, &g->ctx, pg->text, pg->len };
	if (!m->eagain && emit(m, &o, g->gstart, true, pg->sec, pg->nsec) == 0) {
		in_tail_mark(m->x, m->f, at);
		return;
	}
	if (m->has_pend || (!m->pend && !(m->pend = malloc(sizeof(*m->pend))))) {
		dp_plg_warn(m->x->in, "%s: a multiline group was lost (no memory)", m->f->name);
		return;   /* only at close: reading stops at the first pending group */
	}
	struct mlc_pend *p = m->pend;
	p->ctx = g->ctx;
	p->len = pg->len < PSR_ML_GROUP_MAX ? pg->len : PSR_ML_GROUP_MAX;
	memcpy(p->text, pg->text, p->len);
	p->sec = pg->sec;
	p->nsec = pg->nsec;
	p->off = g->gstart;
	p->mark = at;
	m->has_pend = true;
	m->eagain = true;
}

static int group_init(struct tail_mlc *m, struct mlc_group *g, const struct mlc_piece *pc)
{
	g->m = m;
	g->parser = pc->parser;
	g->has_key = pc->has_grp;
	g->klen = (uint8_t)(pc->glen < MLC_KEY_MAX ? pc->glen : MLC_KEY_MAX);
	if (g->has_key)
		memcpy(g->key, pc->grp, g->klen);
	return psr_ml_stream_init(&g->st, &m->x->cfg->ml[pc->parser], 1, 0, on_begin, on_flush, g);
}

/* The group of the piece: found, new, or (all MLC_GROUPS taken) the first
 * one not open, else the last one, flushed. NULL: no memory. */
static struct mlc_group *group_get(struct tail_mlc *m, const struct mlc_piece *pc)
{
	size_t kl = pc->glen < MLC_KEY_MAX ? pc->glen : MLC_KEY_MAX;
	struct mlc_group *idle = NULL;
	for (unsigned i = 0; i < m->ng; i++) {
		struct mlc_group *g = m->g[i];
		if (g->parser == pc->parser && g->has_key == pc->has_grp &&
		    (!g->has_key || (g->klen == kl && !memcmp(g->key, pc->grp, kl))))
			return g;
		if (!idle && !psr_ml_stream_is_open(&g->st))
			idle = g;
	}
	struct mlc_group *g;
	if (m->ng < MLC_GROUPS) {
		if (!(g = malloc(sizeof(*g))))
			return NULL;
		if (group_init(m, g, pc)) {
			free(g);
			return NULL;
		}
		m->g[m->ng++] = g;
		return g;
	}
	g = idle ? idle : m->g[MLC_GROUPS - 1];
	psr_ml_stream_flush(&g->st);
	if (m->eagain)
		return NULL;
	psr_ml_stream_fini(&g->st);
	return group_init(m, g, pc) ? NULL : g;
}

/* Flush every open group; false when one could not go out. */
static bool flush_all(struct tail_mlc *m)
{
	for (unsigned i = 0; i < m->ng && !m->eagain; i++)
		psr_ml_stream_flush(&m->g[i]->st);
	return !m->eagain;
}

/* ---- the calls of in_tail_ml.c ---- */

struct tail_mlc *in_tail_mlc_open(struct tail_shard *x, struct tail_file *f)
{
	if (!shard_get(x))
		return NULL;
	struct tail_mlc *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->x = x;
	m->f = f;
	return m;
}

void in_tail_mlc_close(struct tail_shard *x, struct tail_mlc *m, bool emit_open)
{
	if (emit_open && !in_tail_mlc_pending(x, m))
		flush_all(m);
	for (unsigned i = 0; i < m->ng; i++) {
		psr_ml_stream_fini(&m->g[i]->st);
		free(m->g[i]);
	}
	free(m->pend);
	free(m);
}

int in_tail_mlc_pending(struct tail_shard *x, struct tail_mlc *m)
{
	(void)x;
	if (!m->has_pend)
		return 0;
	struct mlc_pend *p = m->pend;
	struct tail_mlc_out o = { OUT_GROUP, &p->ctx, p->text, p->len };
	if (emit(m, &o, p->off, true, p->sec, p->nsec))
		return -EAGAIN;
	in_tail_mark(m->x, m->f, p->mark);
	m->has_pend = false;
	m->eagain = false;
	return 0;
}

/* A line no parser takes (it does not parse, has no string key_content,
 * or no rule matches it): as Fluent Bit's flb_ml_append_text, it ends
 * every open group of the file, which go out first, then goes out alone,
 * unparsed, as {key_content: line}, timed now. */
static int raw_line(struct tail_mlc *m, const char *p, size_t len, uint64_t off, uint64_t end)
{
	if (!flush_all(m))
		return -EAGAIN;   /* the rest go out when it is read again */
	struct tail_mlc_out o = { OUT_RAW, NULL, p, len };
	if (emit(m, &o, off, false, 0, 0))
		return -EAGAIN;
	m->end_off = end;
	in_tail_mark(m->x, m->f, end);
	return 0;
}

int in_tail_mlc_line(struct tail_shard *x, struct tail_mlc *m, const char *p, size_t len, uint64_t off,
		     uint64_t end)
{
	if (in_tail_mlc_pending(x, m))
		return -EAGAIN;
	struct mlc_piece pc;
	if (!parse_line(x, m, p, len, &pc))
		return raw_line(m, p, len, off, end);
	struct mlc_group *g = group_get(m, &pc);
	if (m->eagain)
		return -EAGAIN;   /* group_get's flush is pending: this line is read again */
	const struct psr_ml_parser *mp = x->cfg->ml[pc.parser];
	if (!g || (!psr_ml_parser_is_regex(mp) && !psr_ml_stream_is_open(&g->st) &&
		   psr_ml_parser_match(mp, pc.pat, pc.plen) == 1)) {
		/* A whole line (or no memory for a group: each piece alone). */
		struct tail_mlc_out o = { OUT_LINE, NULL, NULL, 0 };
		if (emit(m, &o, off, true, pc.sec, pc.nsec))
			return -EAGAIN;
		m->end_off = end;
		in_tail_mark(m->x, m->f, mark_at(m, end));
		return 0;
	}
	m->pc = &pc;
	m->line_off = off;
	m->line_end = end;
	m->pushing = true;
	int v = psr_ml_stream_push_kp(&g->st, pc.text, pc.tlen, pc.pat, pc.plen, pc.sec, pc.nsec,
				      x->sh->now_ns);
	m->pushing = false;
	m->pc = NULL;
	if (v == PSR_ML_PASS)   /* a regex parser: no rule matched (its group was flushed) */
		return raw_line(m, p, len, off, end);
	m->end_off = end;
	return m->eagain ? 1 : 0;   /* the piece is in its group either way */
}

int in_tail_mlc_tick(struct tail_shard *x, struct tail_mlc *m, uint64_t now_ns)
{
	if (in_tail_mlc_pending(x, m))
		return -EAGAIN;
	for (unsigned i = 0; i < m->ng && !m->eagain; i++)
		psr_ml_stream_tick(&m->g[i]->st, now_ns);
	return m->eagain ? -EAGAIN : 0;
}
