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
#include "sp_parse.h"

/* ---- arena: every node of one statement ---- */

struct sp_arena_blk {
	struct sp_arena_blk *next;
	size_t used, cap;
	max_align_t data[];
};

struct parser {
	struct sp_lex lx;
	struct sp_tok tok;     /* current token */
	struct sp_stmt *st;
	struct dp_err *err;
	jmp_buf jb;
	unsigned depth;        /* nesting of conditions, bounded */
};

#define MAX_DEPTH 64

static void *palloc(struct parser *p, size_t n)
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

static char *pstrndup(struct parser *p, const char *s, size_t n)
{
	char *r = palloc(p, n + 1);
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

static void next(struct parser *p)
{
	sp_lex_next(&p->lx, &p->tok);
}

static __attribute__((noreturn)) void fail_at(struct parser *p, const struct sp_tok *t,
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
static __attribute__((noreturn)) void expected(struct parser *p, const char *what)
{
	const struct sp_tok *t = &p->tok;
	if (t->kind == SP_TK_EOF)
		fail_at(p, t, "expected %s, got end of statement", what);
	if (t->kind == SP_TK_ERROR)
		fail_at(p, t, "expected %s, got %s '%.*s'", what, t->msg, (int)DP_MIN(t->len, 24u),
			t->p);
	fail_at(p, t, "expected %s, got '%.*s'", what, (int)DP_MIN(t->len, 24u), t->p);
}

static bool accept_kw(struct parser *p, const char *kw)
{
	if (sp_tok_is(&p->tok, kw)) {
		next(p);
		return true;
	}
	return false;
}

static void expect_kw(struct parser *p, const char *kw)
{
	if (!accept_kw(p, kw))
		expected(p, kw);
}

static bool accept(struct parser *p, enum sp_tk k)
{
	if (p->tok.kind == k) {
		next(p);
		return true;
	}
	return false;
}

static void expect(struct parser *p, enum sp_tk k)
{
	if (!accept(p, k))
		expected(p, sp_tk_name(k));
}

/* Words that end or structure a clause can never be a key. */
static bool is_reserved(const struct sp_tok *t)
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

static char *ident(struct parser *p, const char *what)
{
	if (p->tok.kind != SP_TK_IDENT || is_reserved(&p->tok))
		expected(p, what);
	char *s = pstrndup(p, p->tok.p, p->tok.len);
	next(p);
	return s;
}

/* The value of a string token: quotes removed, '' made one quote. */
static char *string_val(struct parser *p, uint32_t *len)
{
	const struct sp_tok *t = &p->tok;
	char *s = palloc(p, t->len);
	uint32_t n = 0;
	for (uint32_t i = 1; i + 1 < t->len; i++) {
		s[n++] = t->p[i];
		if (t->p[i] == '\'')
			i++;
	}
	s[n] = 0;
	if (len)
		*len = n;
	next(p);
	return s;
}

static char *string_lit(struct parser *p, const char *what)
{
	if (p->tok.kind != SP_TK_STRING)
		expected(p, what);
	return string_val(p, NULL);
}

/* ---- keys and calls ---- */

static void key_rest(struct parser *p, struct sp_key *k, const char *start)
{
	char *subs[16];
	unsigned n = 0;
	const char *end = p->tok.p;
	while (p->tok.kind == SP_TK_LBRACK) {
		next(p);
		if (n == DP_ARRAY_SIZE(subs))
			fail_at(p, &p->tok, "keys nest at most %zu levels", DP_ARRAY_SIZE(subs));
		subs[n++] = string_lit(p, "a quoted key");
		end = p->tok.p + p->tok.len;
		expect(p, SP_TK_RBRACK);
	}
	k->nsub = n;
	if (n) {
		k->sub = palloc(p, n * sizeof(char *));
		memcpy(k->sub, subs, n * sizeof(char *));
		k->text = pstrndup(p, start, (size_t)(end - start));
	} else {
		k->text = k->name;
	}
}

static void key(struct parser *p, struct sp_key *k)
{
	const char *start = p->tok.p;
	k->name = ident(p, "a key");
	key_rest(p, k, start);
}

static const struct {
	const char *name;
	enum sp_fn fn;
} fns[] = {
	{ "COUNT", SP_FN_COUNT }, { "SUM", SP_FN_SUM }, { "AVG", SP_FN_AVG },
	{ "MIN", SP_FN_MIN }, { "MAX", SP_FN_MAX }, { "TIMESERIES_FORECAST", SP_FN_FORECAST },
	{ "NOW", SP_FN_NOW }, { "UNIX_TIMESTAMP", SP_FN_UNIX_TIMESTAMP },
	{ "RECORD_TAG", SP_FN_RECORD_TAG }, { "RECORD_TIME", SP_FN_RECORD_TIME },
	{ "PERCENTILE", SP_FN_PERCENTILE },
};

/* At an identifier followed by '(' (the caller peeked): a call. */
static void call(struct parser *p, struct sp_call *c)
{
	struct sp_tok name = p->tok;
	c->line = name.line;
	c->col = name.col;
	c->fn = SP_FN_NONE;
	const char *canon = NULL;
	for (size_t i = 0; i < DP_ARRAY_SIZE(fns); i++)
		if (sp_tok_is(&name, fns[i].name)) {
			c->fn = fns[i].fn;
			canon = fns[i].name;
		}
	if (c->fn == SP_FN_NONE)
		fail_at(p, &name, "unknown function '%.*s'", (int)DP_MIN(name.len, 40u), name.p);
	next(p);
	expect(p, SP_TK_LPAREN);
	if (sp_fn_is_agg(c->fn)) {
		if (c->fn == SP_FN_COUNT && accept(p, SP_TK_STAR)) {
			c->star = true;
		} else {
			/* COUNT(DISTINCT key): a function of its own (a sketch);
			 * COUNT(distinct) still counts a key named so. */
			if (c->fn == SP_FN_COUNT && sp_tok_is(&p->tok, "DISTINCT")) {
				struct sp_lex save = p->lx;
				struct sp_tok t;
				sp_lex_next(&save, &t);
				if (t.kind == SP_TK_IDENT) {
					next(p);
					c->fn = SP_FN_COUNT_DISTINCT;
				}
			}
			key(p, &c->key);
			c->has_key = true;
		}
		if (c->fn == SP_FN_FORECAST || c->fn == SP_FN_PERCENTILE) {
			bool pct = c->fn == SP_FN_PERCENTILE;
			expect(p, SP_TK_COMMA);
			struct sp_tok at = p->tok;
			if (p->tok.kind == SP_TK_INT)
				c->arg2 = (double)p->tok.i;
			else if (p->tok.kind == SP_TK_FLOAT)
				c->arg2 = p->tok.d;
			else
				expected(p, pct ? "a fraction from 0 to 1" : "a number of seconds");
			/* p is a fraction, as in Spark, Hive and Flink's PERCENTILE;
			 * PERCENTILE(x, 95) is refused rather than guessed at. */
			if (pct && !(c->arg2 >= 0 && c->arg2 <= 1))
				fail_at(p, &at, "PERCENTILE takes a fraction from 0 to 1 "
					"(0.95 for the 95th percentile), got %.*s",
					(int)DP_MIN(at.len, 24u), at.p);
			next(p);
		}
	}
	expect(p, SP_TK_RPAREN);
	/* The default output name, as Fluent Bit makes it: FN(key);
	 * COUNT(DISTINCT key), and PERCENTILE(key, p) with p as %g so that
	 * two percentiles of one key have two names. */
	const char *arg = c->star ? "*" : c->has_key ? c->key.text : "";
	size_t n = strlen(canon) + strlen(arg) + 48;
	c->text = palloc(p, n);
	if (c->fn == SP_FN_COUNT_DISTINCT)
		snprintf(c->text, n, "%s(DISTINCT %s)", canon, arg);
	else if (c->fn == SP_FN_PERCENTILE)
		snprintf(c->text, n, "%s(%s, %g)", canon, arg, c->arg2);
	else
		snprintf(c->text, n, "%s(%s)", canon, arg);
}

static bool peek_call(struct parser *p)
{
	/* An identifier directly followed by '(' is a call. */
	if (p->tok.kind != SP_TK_IDENT)
		return false;
	struct sp_lex save = p->lx;
	struct sp_tok t;
	sp_lex_next(&save, &t);
	return t.kind == SP_TK_LPAREN;
}

/* ---- conditions ---- */

static struct sp_expr *cond(struct parser *p);

static struct sp_expr *node(struct parser *p, enum sp_ek k)
{
	struct sp_expr *e = palloc(p, sizeof(*e));
	e->kind = k;
	e->line = p->tok.line;
	e->col = p->tok.col;
	return e;
}

static struct sp_expr *operand(struct parser *p)
{
	struct sp_expr *e;
	struct sp_tok *t = &p->tok;
	switch (t->kind) {
	case SP_TK_STRING:
		e = node(p, SP_E_STR);
		e->str = string_val(p, &e->slen);
		return e;
	case SP_TK_INT:
		e = node(p, SP_E_INT);
		e->i = t->i;
		next(p);
		return e;
	case SP_TK_FLOAT:
		e = node(p, SP_E_FLOAT);
		e->d = t->d;
		next(p);
		return e;
	case SP_TK_IDENT:
		if (sp_tok_is(t, "TRUE") || sp_tok_is(t, "FALSE")) {
			e = node(p, SP_E_BOOL);
			e->b = sp_tok_is(t, "TRUE");
			next(p);
			return e;
		}
		if (sp_tok_is(t, "NULL")) {
			e = node(p, SP_E_NULL);
			next(p);
			return e;
		}
		if (peek_call(p)) {
			e = node(p, SP_E_CALL);
			call(p, &e->call);
			return e;
		}
		e = node(p, SP_E_KEY);
		key(p, &e->key);
		return e;
	default:
		expected(p, "a key or a value");
	}
}

static bool cmp_op(enum sp_tk k, enum sp_cmp *op)
{
	switch (k) {
	case SP_TK_EQ: *op = SP_EQ; return true;
	case SP_TK_NE: *op = SP_NE; return true;
	case SP_TK_LT: *op = SP_LT; return true;
	case SP_TK_LE: *op = SP_LE; return true;
	case SP_TK_GT: *op = SP_GT; return true;
	case SP_TK_GE: *op = SP_GE; return true;
	default: return false;
	}
}

static struct sp_expr *pred(struct parser *p)
{
	if (p->tok.kind == SP_TK_LPAREN) {
		next(p);
		struct sp_expr *e = cond(p);
		expect(p, SP_TK_RPAREN);
		return e;
	}
	if (p->tok.kind == SP_TK_AT) {
		struct sp_expr *e = node(p, SP_E_CONTAINS);
		next(p);
		expect_kw(p, "record");
		expect(p, SP_TK_DOT);
		expect_kw(p, "contains");
		expect(p, SP_TK_LPAREN);
		key(p, &e->key);
		expect(p, SP_TK_RPAREN);
		return e;
	}
	struct sp_expr *l = operand(p);
	enum sp_cmp op;
	if (cmp_op(p->tok.kind, &op)) {
		struct sp_expr *e = node(p, SP_E_CMP);
		e->line = l->line;
		e->col = l->col;
		e->cmp = op;
		next(p);
		e->l = l;
		e->r = operand(p);
		return e;
	}
	if (accept_kw(p, "IS")) {
		struct sp_expr *e = node(p, accept_kw(p, "NOT") ? SP_E_NOTNULL : SP_E_ISNULL);
		expect_kw(p, "NULL");
		e->line = l->line;
		e->col = l->col;
		e->l = l;
		return e;
	}
	return l; /* a bare operand: the planner accepts only booleans */
}

static struct sp_expr *not_expr(struct parser *p)
{
	if (sp_tok_is(&p->tok, "NOT")) {
		struct sp_expr *e = node(p, SP_E_NOT);
		next(p);
		if (++p->depth > MAX_DEPTH)
			fail_at(p, &p->tok, "condition nested too deeply");
		e->l = not_expr(p);
		p->depth--;
		return e;
	}
	return pred(p);
}

static struct sp_expr *and_expr(struct parser *p)
{
	struct sp_expr *l = not_expr(p);
	while (sp_tok_is(&p->tok, "AND")) {
		struct sp_expr *e = node(p, SP_E_AND);
		next(p);
		e->l = l;
		e->r = not_expr(p);
		l = e;
	}
	return l;
}

static struct sp_expr *cond(struct parser *p)
{
	if (++p->depth > MAX_DEPTH)
		fail_at(p, &p->tok, "condition nested too deeply");
	struct sp_expr *l = and_expr(p);
	while (sp_tok_is(&p->tok, "OR")) {
		struct sp_expr *e = node(p, SP_E_OR);
		next(p);
		e->l = l;
		e->r = and_expr(p);
		l = e;
	}
	p->depth--;
	return l;
}

/* ---- SELECT ---- */

static uint64_t duration0(struct parser *p, bool zero_ok)
{
	if (p->tok.kind != SP_TK_INT || p->tok.i < 0 || (p->tok.i == 0 && !zero_ok))
		expected(p, zero_ok ? "a non-negative integer" : "a positive integer");
	uint64_t n = (uint64_t)p->tok.i;
	next(p);
	uint64_t mul;
	if (accept_kw(p, "SECOND") || accept_kw(p, "SECONDS"))
		mul = 1;
	else if (accept_kw(p, "MINUTE") || accept_kw(p, "MINUTES"))
		mul = 60;
	else if (accept_kw(p, "HOUR") || accept_kw(p, "HOURS"))
		mul = 3600;
	else
		expected(p, "SECOND, MINUTE or HOUR");
	if (n > 366u * 24 * 3600 / mul)
		fail_at(p, &p->tok, "window longer than a year");
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
	if (!accept_kw(p, "ON")) {
		if (sp_tok_is(&p->tok, "LATENESS"))
			fail_at(p, &p->tok, "LATENESS needs an event time: WINDOW ... ON RECORD_TIME() LATENESS (...)");
		return;
	}
	s->win_on = true;
	if (peek_call(p)) {
		if (!sp_tok_is(&p->tok, "RECORD_TIME"))
			expected(p, "RECORD_TIME() or a key holding epoch seconds");
		next(p);
		expect(p, SP_TK_LPAREN);
		expect(p, SP_TK_RPAREN);
		s->win_on_rtime = true;
	} else {
		key(p, &s->win_on_key);
	}
	if (accept_kw(p, "LATENESS")) {
		expect(p, SP_TK_LPAREN);
		s->win_lateness_s = duration0(p, true);
		expect(p, SP_TK_RPAREN);
	}
}

static void item(struct parser *p, struct sp_item *it)
{
	it->line = p->tok.line;
	it->col = p->tok.col;
	if (accept(p, SP_TK_STAR)) {
		it->kind = SP_ITEM_STAR;
		return;
	}
	if (peek_call(p)) {
		it->kind = SP_ITEM_CALL;
		call(p, &it->call);
	} else {
		it->kind = SP_ITEM_KEY;
		key(p, &it->key);
	}
	if (accept_kw(p, "AS"))
		it->alias = ident(p, "an alias");
}

static void select_stmt(struct parser *p, struct sp_select *s)
{
	expect_kw(p, "SELECT");
	struct sp_item items[64];
	unsigned n = 0;
	do {
		if (n == DP_ARRAY_SIZE(items))
			fail_at(p, &p->tok, "more than %zu results", DP_ARRAY_SIZE(items));
		memset(&items[n], 0, sizeof(items[n]));
		item(p, &items[n++]);
	} while (accept(p, SP_TK_COMMA));
	s->items = palloc(p, n * sizeof(items[0]));
	memcpy(s->items, items, n * sizeof(items[0]));
	s->nitems = n;

	expect_kw(p, "FROM");
	s->from_line = p->tok.line;
	s->from_col = p->tok.col;
	if (accept_kw(p, "STREAM")) {
		s->from_stream = true;
		expect(p, SP_TK_COLON);
		s->from = ident(p, "a stream name");
	} else if (accept_kw(p, "TAG")) {
		expect(p, SP_TK_COLON);
		s->from = string_lit(p, "a quoted tag pattern");
	} else {
		expected(p, "STREAM or TAG");
	}

	if (accept_kw(p, "WINDOW")) {
		s->win_line = p->tok.line;
		s->win_col = p->tok.col;
		if (accept_kw(p, "TUMBLING")) {
			s->win = SP_WIN_TUMBLING;
			expect(p, SP_TK_LPAREN);
			s->win_size_s = s->win_advance_s = duration(p);
			expect(p, SP_TK_RPAREN);
		} else if (accept_kw(p, "HOPPING")) {
			s->win = SP_WIN_HOPPING;
			expect(p, SP_TK_LPAREN);
			s->win_size_s = duration(p);
			expect(p, SP_TK_COMMA);
			expect_kw(p, "ADVANCE");
			expect_kw(p, "BY");
			struct sp_tok at = p->tok;
			s->win_advance_s = duration(p);
			if (s->win_advance_s > s->win_size_s)
				fail_at(p, &at, "ADVANCE BY longer than the window");
			if (s->win_size_s / s->win_advance_s > 64)
				fail_at(p, &at, "a window may overlap at most 64 others");
			expect(p, SP_TK_RPAREN);
		} else if (accept_kw(p, "SESSION")) {
			s->win = SP_WIN_SESSION;
			expect(p, SP_TK_LPAREN);
			s->win_size_s = s->win_advance_s = duration(p);
			expect(p, SP_TK_RPAREN);
		} else {
			expected(p, "TUMBLING, HOPPING or SESSION");
		}
		window_on(p, s);
	}
	if (accept_kw(p, "WHERE"))
		s->where = cond(p);
	if (accept_kw(p, "GROUP")) {
		expect_kw(p, "BY");
		struct sp_key keys[32];
		unsigned k = 0;
		do {
			if (k == DP_ARRAY_SIZE(keys))
				fail_at(p, &p->tok, "more than %zu GROUP BY keys", DP_ARRAY_SIZE(keys));
			memset(&keys[k], 0, sizeof(keys[k]));
			key(p, &keys[k++]);
		} while (accept(p, SP_TK_COMMA));
		s->group = palloc(p, k * sizeof(keys[0]));
		memcpy(s->group, keys, k * sizeof(keys[0]));
		s->ngroup = k;
	}
	if (accept_kw(p, "HAVING"))
		s->having = cond(p);
	s->limit = -1;
	if (accept_kw(p, "LIMIT")) {
		if (p->tok.kind != SP_TK_INT || p->tok.i < 0)
			expected(p, "a non-negative integer");
		s->limit = p->tok.i;
		next(p);
	}
}

static void props(struct parser *p, struct sp_stmt *st)
{
	struct sp_prop pr[16];
	unsigned n = 0;
	expect(p, SP_TK_LPAREN);
	do {
		if (n == DP_ARRAY_SIZE(pr))
			fail_at(p, &p->tok, "more than %zu properties", DP_ARRAY_SIZE(pr));
		pr[n].name = ident(p, "a property name");
		expect(p, SP_TK_EQ);
		if (p->tok.kind == SP_TK_STRING) {
			pr[n].val = string_val(p, NULL);
		} else if (p->tok.kind == SP_TK_INT || p->tok.kind == SP_TK_FLOAT ||
			   p->tok.kind == SP_TK_IDENT) {
			pr[n].val = pstrndup(p, p->tok.p, p->tok.len);
			next(p);
		} else {
			expected(p, "a property value");
		}
		n++;
	} while (accept(p, SP_TK_COMMA));
	expect(p, SP_TK_RPAREN);
	st->props = palloc(p, n * sizeof(pr[0]));
	memcpy(st->props, pr, n * sizeof(pr[0]));
	st->nprops = n;
}

static void statement(struct parser *p, struct sp_stmt *st)
{
	if (accept_kw(p, "CREATE")) {
		if (accept_kw(p, "STREAM"))
			st->kind = SP_ST_CREATE_STREAM;
		else if (accept_kw(p, "SNAPSHOT"))
			st->kind = SP_ST_CREATE_SNAPSHOT;
		else
			expected(p, "STREAM or SNAPSHOT");
		st->name = ident(p, "a name");
		if (accept_kw(p, "WITH"))
			props(p, st);
		expect_kw(p, "AS");
	} else if (accept_kw(p, "FLUSH")) {
		expect_kw(p, "SNAPSHOT");
		st->kind = SP_ST_FLUSH_SNAPSHOT;
		st->name = ident(p, "a snapshot name");
		expect_kw(p, "AS");
	} else if (sp_tok_is(&p->tok, "SELECT")) {
		st->kind = SP_ST_SELECT;
	} else {
		expected(p, "SELECT, CREATE or FLUSH");
	}
	select_stmt(p, &st->sel);
	accept(p, SP_TK_SEMI);
	if (p->tok.kind != SP_TK_EOF)
		expected(p, "end of statement");
}

/* setjmp in a function of its own: nothing it holds changes after the
 * jump point, so no local can be clobbered by longjmp. */
static int run(struct parser *p)
{
	if (setjmp(p->jb))
		return -1;
	next(p);
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
