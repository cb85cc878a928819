/*
 * sp_parse.c — recursive-descent parser for the stream processor's SQL
 * (grammar in sp_parse.h). Hand-written rather than generated: the grammar
 * is small, and a hand-written parser says exactly what it expected where,
 * which is what a user fixing a [STREAM_TASK] needs.
 *
 * The first error ends the parse: it longjmps back to sp_parse, which frees
 * the statement's arena, so no rule has to unwind by hand.
 *
 * Threads: control thread only.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp_lex.h"
#include "sp_parse_int.h"

/* ---- arena: every node of one statement ---- */

struct sp_arena_blk {
	struct sp_arena_blk *next;
	size_t used, cap;
	max_align_t data[];
};

void *sp_p_alloc(struct parser *p, size_t n)
{
	struct sp_arena *a = &p->st->arena;
	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	struct sp_arena_blk *b = a->head;
	if (!b || b->used + n > b->cap) {
		size_t cap = n > 4096 ? n : 4096;
		b = malloc(sizeof(*b) + cap);
		if (!b) {
			dp_err_set(p->err, -ENOMEM, "out of memory");
			longjmp(p->jb, 1);
		}
		b->cap = cap;
		b->used = 0;
		b->next = a->head;
		a->head = b;
	}
	void *r = (char *)b->data + b->used;
	b->used += n;
	memset(r, 0, n);
	return r;
}

char *sp_p_strndup(struct parser *p, const char *s, size_t n)
{
	char *r = sp_p_alloc(p, n + 1);
	memcpy(r, s, n);
	r[n] = 0;
	return r;
}

void sp_stmt_free(struct sp_stmt *st)
{
	if (!st)
		return;
	struct sp_arena_blk *b = st->arena.head;
	while (b) {
		struct sp_arena_blk *n = b->next;
		free(b);
		b = n;
	}
	free(st);
}

/* ---- tokens ---- */

void sp_p_next(struct parser *p)
{
	sp_lex_next(&p->lx, &p->tok);
}

__attribute__((noreturn)) void sp_p_fail_at(struct parser *p, const struct sp_tok *t,
					      const char *fmt, ...)
{
	char what[112];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	dp_err_set(p->err, -EINVAL, "line %u, column %u: %s", t->line, t->col, what);
	longjmp(p->jb, 1);
}

/* "expected X, got Y": Y quotes the token's text, cut short. */
__attribute__((noreturn)) void sp_p_expected(struct parser *p, const char *what)
{
	const struct sp_tok *t = &p->tok;
	if (t->kind == SP_TK_EOF)
		sp_p_fail_at(p, t, "expected %s, got end of statement", what);
	if (t->kind == SP_TK_ERROR)
		sp_p_fail_at(p, t, "expected %s, got %s '%.*s'", what, t->msg, (int)DP_MIN(t->len, 24u),
			t->p);
	sp_p_fail_at(p, t, "expected %s, got '%.*s'", what, (int)DP_MIN(t->len, 24u), t->p);
}

bool sp_p_accept_kw(struct parser *p, const char *kw)
{
	if (sp_tok_is(&p->tok, kw)) {
		sp_p_next(p);
		return true;
	}
	return false;
}

void sp_p_expect_kw(struct parser *p, const char *kw)
{
	if (!sp_p_accept_kw(p, kw))
		sp_p_expected(p, kw);
}

bool sp_p_accept(struct parser *p, enum sp_tk k)
{
	if (p->tok.kind == k) {
		sp_p_next(p);
		return true;
	}
	return false;
}

void sp_p_expect(struct parser *p, enum sp_tk k)
{
	if (!sp_p_accept(p, k))
		sp_p_expected(p, sp_tk_name(k));
}

/* Words that end or structure a clause can never be a key. */
bool sp_p_is_reserved(const struct sp_tok *t)
{
	static const char *const kw[] = {
		"SELECT", "FROM", "WHERE", "GROUP", "BY", "AS", "AND", "OR", "NOT", "IS",
		"NULL", "TRUE", "FALSE", "WINDOW", "HAVING", "LIMIT", "CREATE", "FLUSH",
	};
	for (size_t i = 0; i < DP_ARRAY_SIZE(kw); i++)
		if (sp_tok_is(t, kw[i]))
			return true;
	return false;
}

char *sp_p_ident(struct parser *p, const char *what)
{
	if (p->tok.kind != SP_TK_IDENT || sp_p_is_reserved(&p->tok))
		sp_p_expected(p, what);
	char *s = sp_p_strndup(p, p->tok.p, p->tok.len);
	sp_p_next(p);
	return s;
}

/* After STREAM: an input's name or Alias. Fluent Bit's names have dots
 * and digits ("tail.0", Fluent Bit's tests/internal/stream_processor.c
 * queries FROM STREAM:tail.0), which the lexer splits into an identifier
 * and a number or more identifiers: tokens that touch are one name. */
static char *stream_name(struct parser *p)
{
	if (p->tok.kind != SP_TK_IDENT || sp_p_is_reserved(&p->tok))
		sp_p_expected(p, "a stream name");
	const char *start = p->tok.p, *end = p->tok.p + p->tok.len;
	sp_p_next(p);
	while ((p->tok.kind == SP_TK_DOT || p->tok.kind == SP_TK_INT || p->tok.kind == SP_TK_FLOAT ||
		p->tok.kind == SP_TK_IDENT) && p->tok.p == end) {
		end = p->tok.p + p->tok.len;
		sp_p_next(p);
	}
	return sp_p_strndup(p, start, (size_t)(end - start));
}

/* The value of a string token: quotes removed, '' made one quote. */
char *sp_p_string_val(struct parser *p, uint32_t *len)
{
	const struct sp_tok *t = &p->tok;
	char *s = sp_p_alloc(p, t->len);
	uint32_t n = 0;
	for (uint32_t i = 1; i + 1 < t->len; i++) {
		s[n++] = t->p[i];
		if (t->p[i] == '\'')
			i++;
	}
	s[n] = 0;
	if (len)
		*len = n;
	sp_p_next(p);
	return s;
}

char *sp_p_string_lit(struct parser *p, const char *what)
{
	if (p->tok.kind != SP_TK_STRING)
		sp_p_expected(p, what);
	return sp_p_string_val(p, NULL);
}

/* ---- SELECT ---- */

static uint64_t duration0(struct parser *p, bool zero_ok)
{
	if (p->tok.kind != SP_TK_INT || p->tok.i < 0 || (p->tok.i == 0 && !zero_ok))
		sp_p_expected(p, zero_ok ? "a non-negative integer" : "a positive integer");
	uint64_t n = (uint64_t)p->tok.i;
	sp_p_next(p);
	uint64_t mul;
	if (sp_p_accept_kw(p, "SECOND") || sp_p_accept_kw(p, "SECONDS"))
		mul = 1;
	else if (sp_p_accept_kw(p, "MINUTE") || sp_p_accept_kw(p, "MINUTES"))
		mul = 60;
	else if (sp_p_accept_kw(p, "HOUR") || sp_p_accept_kw(p, "HOURS"))
		mul = 3600;
	else
		sp_p_expected(p, "SECOND, MINUTE or HOUR");
	if (n > 366u * 24 * 3600 / mul)
		sp_p_fail_at(p, &p->tok, "window longer than a year");
	return n * mul;
}

static uint64_t duration(struct parser *p)
{
	return duration0(p, false);
}

/* [ON (RECORD_TIME() | key) [LATENESS '(' n unit ')']] after a window:
 * event time instead of processing time (sluice only). */
static void window_on(struct parser *p, struct sp_select *s)
{
	if (!sp_p_accept_kw(p, "ON")) {
		if (sp_tok_is(&p->tok, "LATENESS"))
			sp_p_fail_at(p, &p->tok, "LATENESS needs an event time: WINDOW ... ON RECORD_TIME() LATENESS (...)");
		return;
	}
	s->win_on = true;
	if (sp_p_peek_call(p)) {
		if (!sp_tok_is(&p->tok, "RECORD_TIME"))
			sp_p_expected(p, "RECORD_TIME() or a key holding epoch seconds");
		sp_p_next(p);
		sp_p_expect(p, SP_TK_LPAREN);
		sp_p_expect(p, SP_TK_RPAREN);
		s->win_on_rtime = true;
	} else {
		sp_p_key(p, &s->win_on_key);
	}
	if (sp_p_accept_kw(p, "LATENESS")) {
		sp_p_expect(p, SP_TK_LPAREN);
		s->win_lateness_s = duration0(p, true);
		sp_p_expect(p, SP_TK_RPAREN);
	}
}

static void item(struct parser *p, struct sp_item *it)
{
	it->line = p->tok.line;
	it->col = p->tok.col;
	if (sp_p_accept(p, SP_TK_STAR)) {
		it->kind = SP_ITEM_STAR;
		return;
	}
	if (sp_p_peek_call(p)) {
		it->kind = SP_ITEM_CALL;
		sp_p_call(p, &it->call);
	} else {
		it->kind = SP_ITEM_KEY;
		sp_p_key(p, &it->key);
	}
	if (sp_p_accept_kw(p, "AS"))
		it->alias = sp_p_ident(p, "an alias");
}

static void select_stmt(struct parser *p, struct sp_select *s)
{
	sp_p_expect_kw(p, "SELECT");
	struct sp_item items[64];
	unsigned n = 0;
	do {
		if (n == DP_ARRAY_SIZE(items))
			sp_p_fail_at(p, &p->tok, "more than %zu results", DP_ARRAY_SIZE(items));
		memset(&items[n], 0, sizeof(items[n]));
		item(p, &items[n++]);
	} while (sp_p_accept(p, SP_TK_COMMA));
	s->items = sp_p_alloc(p, n * sizeof(items[0]));
	memcpy(s->items, items, n * sizeof(items[0]));
	s->nitems = n;

	sp_p_expect_kw(p, "FROM");
	s->from_line = p->tok.line;
	s->from_col = p->tok.col;
	if (sp_p_accept_kw(p, "STREAM")) {
		s->from_stream = true;
		sp_p_expect(p, SP_TK_COLON);
		s->from = stream_name(p);
	} else if (sp_p_accept_kw(p, "TAG")) {
		sp_p_expect(p, SP_TK_COLON);
		s->from = sp_p_string_lit(p, "a quoted tag pattern");
	} else {
		sp_p_expected(p, "STREAM or TAG");
	}

	if (sp_p_accept_kw(p, "WINDOW")) {
		s->win_line = p->tok.line;
		s->win_col = p->tok.col;
		if (sp_p_accept_kw(p, "TUMBLING")) {
			s->win = SP_WIN_TUMBLING;
			sp_p_expect(p, SP_TK_LPAREN);
			s->win_size_s = s->win_advance_s = duration(p);
			sp_p_expect(p, SP_TK_RPAREN);
		} else if (sp_p_accept_kw(p, "HOPPING")) {
			s->win = SP_WIN_HOPPING;
			sp_p_expect(p, SP_TK_LPAREN);
			s->win_size_s = duration(p);
			sp_p_expect(p, SP_TK_COMMA);
			sp_p_expect_kw(p, "ADVANCE");
			sp_p_expect_kw(p, "BY");
			struct sp_tok at = p->tok;
			s->win_advance_s = duration(p);
			if (s->win_advance_s > s->win_size_s)
				sp_p_fail_at(p, &at, "ADVANCE BY longer than the window");
			if (s->win_size_s / s->win_advance_s > 64)
				sp_p_fail_at(p, &at, "a window may overlap at most 64 others");
			sp_p_expect(p, SP_TK_RPAREN);
		} else if (sp_p_accept_kw(p, "SESSION")) {
			s->win = SP_WIN_SESSION;
			sp_p_expect(p, SP_TK_LPAREN);
			s->win_size_s = s->win_advance_s = duration(p);
			sp_p_expect(p, SP_TK_RPAREN);
		} else {
			sp_p_expected(p, "TUMBLING, HOPPING or SESSION");
		}
		window_on(p, s);
	}
	if (sp_p_accept_kw(p, "WHERE"))
		s->where = sp_p_cond(p);
	if (sp_p_accept_kw(p, "GROUP")) {
		sp_p_expect_kw(p, "BY");
		struct sp_key keys[32];
		unsigned k = 0;
		do {
			if (k == DP_ARRAY_SIZE(keys))
				sp_p_fail_at(p, &p->tok, "more than %zu GROUP BY keys", DP_ARRAY_SIZE(keys));
			memset(&keys[k], 0, sizeof(keys[k]));
			sp_p_key(p, &keys[k++]);
		} while (sp_p_accept(p, SP_TK_COMMA));
		s->group = sp_p_alloc(p, k * sizeof(keys[0]));
		memcpy(s->group, keys, k * sizeof(keys[0]));
		s->ngroup = k;
	}
	if (sp_p_accept_kw(p, "HAVING"))
		s->having = sp_p_cond(p);
	s->limit = -1;
	if (sp_p_accept_kw(p, "LIMIT")) {
		if (p->tok.kind != SP_TK_INT || p->tok.i < 0)
			sp_p_expected(p, "a non-negative integer");
		s->limit = p->tok.i;
		sp_p_next(p);
	}
}

static void props(struct parser *p, struct sp_stmt *st)
{
	struct sp_prop pr[16];
	unsigned n = 0;
	sp_p_expect(p, SP_TK_LPAREN);
	do {
		if (n == DP_ARRAY_SIZE(pr))
			sp_p_fail_at(p, &p->tok, "more than %zu properties", DP_ARRAY_SIZE(pr));
		pr[n].name = sp_p_ident(p, "a property name");
		sp_p_expect(p, SP_TK_EQ);
		if (p->tok.kind == SP_TK_STRING) {
			pr[n].val = sp_p_string_val(p, NULL);
		} else if (p->tok.kind == SP_TK_INT || p->tok.kind == SP_TK_FLOAT ||
			   p->tok.kind == SP_TK_IDENT) {
			pr[n].val = sp_p_strndup(p, p->tok.p, p->tok.len);
			sp_p_next(p);
		} else {
			sp_p_expected(p, "a property value");
		}
		n++;
	} while (sp_p_accept(p, SP_TK_COMMA));
	sp_p_expect(p, SP_TK_RPAREN);
	st->props = sp_p_alloc(p, n * sizeof(pr[0]));
	memcpy(st->props, pr, n * sizeof(pr[0]));
	st->nprops = n;
}

static void statement(struct parser *p, struct sp_stmt *st)
{
	if (sp_p_accept_kw(p, "CREATE")) {
		if (sp_p_accept_kw(p, "STREAM"))
			st->kind = SP_ST_CREATE_STREAM;
		else if (sp_p_accept_kw(p, "SNAPSHOT"))
			st->kind = SP_ST_CREATE_SNAPSHOT;
		else
			sp_p_expected(p, "STREAM or SNAPSHOT");
		st->name = sp_p_ident(p, "a name");
		if (sp_p_accept_kw(p, "WITH"))
			props(p, st);
		sp_p_expect_kw(p, "AS");
	} else if (sp_p_accept_kw(p, "FLUSH")) {
		sp_p_expect_kw(p, "SNAPSHOT");
		st->kind = SP_ST_FLUSH_SNAPSHOT;
		st->name = sp_p_ident(p, "a snapshot name");
		sp_p_expect_kw(p, "AS");
	} else if (sp_tok_is(&p->tok, "SELECT")) {
		st->kind = SP_ST_SELECT;
	} else {
		sp_p_expected(p, "SELECT, CREATE or FLUSH");
	}
	select_stmt(p, &st->sel);
	sp_p_accept(p, SP_TK_SEMI);
	if (p->tok.kind != SP_TK_EOF)
		sp_p_expected(p, "end of statement");
}

/* setjmp in a function of its own: nothing it holds changes after the
 * jump point, so no local can be clobbered by longjmp. */
static int run(struct parser *p)
{
	if (setjmp(p->jb))
		return -1;
	sp_p_next(p);
	statement(p, p->st);
	return 0;
}

struct sp_stmt *sp_parse(const char *text, size_t len, struct dp_err *err)
{
	struct parser *p = calloc(1, sizeof(*p));
	struct sp_stmt *st = calloc(1, sizeof(*st));
	if (!p || !st) {
		free(p);
		free(st);
		dp_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	p->st = st;
	p->err = err;
	sp_lex_init(&p->lx, text, len);
	int rc = run(p);
	free(p);
	if (rc) {
		sp_stmt_free(st);
		return NULL;
	}
	return st;
}
