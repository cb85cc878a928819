/*
 * psr_ml_stream.c — a multiline stream: the lines of one source (one input
 * and tag on one shard), in order, run through the state machines of up to
 * PSR_ML_MAX_PARSERS parsers and joined into groups (rules in psr_ml.h).
 * No allocation after psr_ml_stream_init; the group's text lives in the
 * stream's own PSR_ML_GROUP_MAX buffer.
 *
 * Threads: the shard that owns the stream.
 */
#include <errno.h>
#include <string.h>
#include "psr_ml_int.h"

int psr_ml_stream_init(struct psr_ml_stream *st, const struct psr_ml_parser *const *p, unsigned np,
		       uint64_t timeout_ns, psr_ml_begin_fn begin, psr_ml_flush_fn flush, void *arg)
{
	if (np == 0 || np > PSR_ML_MAX_PARSERS)
		return -EINVAL;
	memset(st, 0, offsetof(struct psr_ml_stream, buf));
	for (unsigned i = 0; i < np; i++)
		st->p[i] = p[i];
	st->np = np;
	st->cur = -1;
	st->lru = 0;
	for (unsigned i = 0; i < PSR_ML_MAX_PARSERS; i++)
		st->state[i] = -1;
	st->timeout_ns = timeout_ns;
	st->begin = begin;
	st->flush = flush;
	st->arg = arg;
	return psr_ml_scratch_create(st->p, np, &st->sc);
}

void psr_ml_stream_only(struct psr_ml_stream *st, const struct psr_ml_parser *p)
{
	st->p[0] = p;
	st->np = 1;
	st->cur = -1;
	st->lru = 0;
	for (unsigned i = 0; i < PSR_ML_MAX_PARSERS; i++)
		st->state[i] = -1;
}

void psr_ml_stream_fini(struct psr_ml_stream *st)
{
	psr_ml_scratch_destroy(st->sc);
	st->sc = NULL;
}

/* Fluent Bit's breakline_prepare (flb_ml.c): raw text for a parser
 * without key_content. */
static bool breakline(const struct psr_ml_stream *st, int i)
{
	return st->text && !st->p[i]->key_content;
}

void psr_ml_stream_set_text(struct psr_ml_stream *st, bool text)
{
	st->text = text;
}

bool psr_ml_stream_pass_nl(const struct psr_ml_stream *st)
{
	return breakline(st, 0);
}

void psr_ml_stream_flush(struct psr_ml_stream *st)
{
	if (st->cur < 0)
		return;
	/* buf has one byte beyond PSR_ML_GROUP_MAX for this "\n". */
	if (breakline(st, st->cur) && st->len && st->buf[st->len - 1] != '\n')
		st->buf[st->len++] = '\n';
	struct psr_ml_group g = {
		.text = st->buf, .len = st->len, .sec = st->sec, .nsec = st->nsec,
		.lines = st->lines, .truncated = st->truncated, .has_line = st->line_in,
	};
	st->line_in = false;
	st->cur = -1;
	st->len = 0;
	st->lines = 0;
	st->truncated = false;
	st->groups++;
	st->truncations += g.truncated;
	st->flush(st->arg, &g);
}

void psr_ml_stream_tick(struct psr_ml_stream *st, uint64_t now_ns)
{
	if (st->cur < 0)
		return;
	uint64_t t = st->timeout_ns ? st->timeout_ns : st->p[st->cur]->flush_ns;
	if (now_ns - st->last_ns >= t)
		psr_ml_stream_flush(st);
}

/* Append bytes; false when the group is full (what fit was kept). */
static bool put(struct psr_ml_stream *st, const char *s, size_t n)
{
	size_t room = PSR_ML_GROUP_MAX - st->len;
	if (n > room) {
		memcpy(st->buf + st->len, s, room);
		st->len = PSR_ML_GROUP_MAX;
		st->truncated = true;
		return false;
	}
	memcpy(st->buf + st->len, s, n);
	st->len += (uint32_t)n;
	return true;
}

/* Append a continuation line as Fluent Bit does: a "\n" first unless the
 * group ends with one, and an empty line adds "\n". */
static bool put_line(struct psr_ml_stream *st, const char *s, size_t n)
{
	bool ok = true;
	if (st->len && st->buf[st->len - 1] != '\n')
		ok = put(st, "\n", 1);
	if (ok)
		ok = n ? put(st, s, n) : put(st, "\n", 1);
	st->lines++;
	st->line_in = true;
	return ok;
}

/* Begin a group of parser i with this line (flushing another one). */
static void open_group(struct psr_ml_stream *st, int i, uint32_t sec, uint32_t nsec)
{
	if (st->cur >= 0)
		psr_ml_stream_flush(st);
	st->cur = i;
	st->sec = sec;
	st->nsec = nsec;
	st->begin(st->arg);
}

/* The text tested (key_pattern's value, else the line itself). */
struct ml_in {
	const char *line, *pat;
	size_t len, plen;
};

static int step_regex(struct psr_ml_stream *st, int i, const struct ml_in *in, uint32_t sec,
		      uint32_t nsec)
{
	const char *line = in->line;
	size_t len = in->len;
	const struct psr_ml_parser *p = st->p[i];
	int r, v;
	bool ok;

	/* The state is the parser's, not the open group's: Fluent Bit keeps
	 * rule_to_state after a flush, so a continuation line arriving after
	 * its group was flushed begins a group (the caller has flushed any
	 * other parser's group before trying this one). Continuation rules
	 * come first in next[s], then the start rules: one scan. */
	int s = st->state[i];
	const struct ml_list *l = s >= 0 && p->cont[s].n ? &p->next[s] : &p->starts;
	if ((r = psr_ml_list_match(p, l, in->pat, in->plen, st->sc)) < 0)
		return PSR_ML_PASS;
	if (!p->rules[r].start && st->cur == i) {
		v = PSR_ML_CONT;
	} else {
		open_group(st, i, sec, nsec);
		v = PSR_ML_START;
	}
	ok = put_line(st, line, len);
	st->state[i] = (int16_t)p->rules[r].to;
	/* A full group goes out now, cut, and the rest of its message passes
	 * through (Fluent Bit resets rule_to_state there too); a state that
	 * start rules leave ends the message with this line. */
	if (!ok) {
		st->state[i] = -1;
		psr_ml_stream_flush(st);
	} else if (p->ends & (1ull << st->state[i])) {
		psr_ml_stream_flush(st);
	}
	return v;
}

bool psr_ml_parser_is_regex(const struct psr_ml_parser *p)
{
	return p->type == ML_REGEX;
}

int psr_ml_parser_match(const struct psr_ml_parser *p, const char *t, size_t tl)
{
	bool m;
	if (p->type == ML_ENDSWITH) {
		if (tl < p->match_len)
			return -1;
		m = !memcmp(t + tl - p->match_len, p->match_str, p->match_len);
	} else {
		m = tl == p->match_len && !memcmp(t, p->match_str, tl);
	}
	return m ^ p->negate;
}

static int step_match(struct psr_ml_stream *st, int i, const struct ml_in *in, uint32_t sec,
		      uint32_t nsec)
{
	const char *line = in->line;
	size_t len = in->len;
	int m = psr_ml_parser_match(st->p[i], in->pat, in->plen);
	if (m < 0)
		return PSR_ML_PASS;
	int v = PSR_ML_CONT;
	if (st->cur != i) {
		open_group(st, i, sec, nsec);
		v = PSR_ML_START;
	}
	/* Pieces of one line (Docker's 16 KiB split): no separator; raw
	 * text lines: "\n" between them (breakline_prepare in flb_ml.c's
	 * package_content). */
	bool ok = true;
	if (breakline(st, i) && st->len && st->buf[st->len - 1] != '\n')
		ok = put(st, "\n", 1);
	if (ok)
		ok = put(st, line, len);
	st->lines++;
	st->line_in = true;
	if (!ok || m)
		psr_ml_stream_flush(st);
	return v;
}

static int step(struct psr_ml_stream *st, int i, const struct ml_in *in, uint32_t sec,
		uint32_t nsec)
{
	if (st->p[i]->type == ML_REGEX)
		return step_regex(st, i, in, sec, nsec);
	return step_match(st, i, in, sec, nsec);
}

int psr_ml_stream_push(struct psr_ml_stream *st, const char *line, size_t len, uint32_t sec,
		       uint32_t nsec, uint64_t now_ns)
{
	return psr_ml_stream_push_kp(st, line, len, NULL, 0, sec, nsec, now_ns);
}

int psr_ml_stream_push_kp(struct psr_ml_stream *st, const char *line, size_t len, const char *pat,
			  size_t plen, uint32_t sec, uint32_t nsec, uint64_t now_ns)
{
	struct ml_in in = { line, pat ? pat : line, len, pat ? plen : len };
	st->line_in = false;
	/* The parser used last goes first (Fluent Bit's lru_parser); when it
	 * does not take the line, its open group ends. */
	int first = st->cur >= 0 ? st->cur : st->lru;
	int v = step(st, first, &in, sec, nsec);
	if (v == PSR_ML_PASS) {
		psr_ml_stream_flush(st);
		for (unsigned i = 0; i < st->np && v == PSR_ML_PASS; i++)
			if ((int)i != first && (v = step(st, (int)i, &in, sec, nsec)) != PSR_ML_PASS)
				st->lru = (int)i;
	}
	if (v != PSR_ML_PASS)
		st->last_ns = now_ns;
	st->line_in = false;   /* a later flush (tick, close) is not a push's */
	return v;
}
