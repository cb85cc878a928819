/*
 * sp_parse_expr.c — the expression half of the stream processor's parser:
 * keys (map['a']['b']), function calls and their arguments, and WHERE /
 * HAVING conditions (precedence OR < AND < NOT < comparison; nesting
 * bounded by MAX_DEPTH). Grammar in sp_parse.h; errors longjmp as in
 * sp_parse.c.
 *
 * Threads: control thread (and the fuzzer).
 */
#include <stdlib.h>
#include <string.h>
#include "sp_parse_int.h"

/* ---- keys and calls ---- */

static void key_rest(struct parser *p, struct sp_key *k, const char *start)
{
	char *subs[16];
	unsigned n = 0;
	const char *end = p->tok.p;
	while (p->tok.kind == SP_TK_LBRACK) {
		sp_p_next(p);
		if (n == DP_ARRAY_SIZE(subs))
			sp_p_fail_at(p, &p->tok, "keys nest at most %zu levels", DP_ARRAY_SIZE(subs));
		subs[n++] = sp_p_string_lit(p, "a quoted key");
		end = p->tok.p + p->tok.len;
		sp_p_expect(p, SP_TK_RBRACK);
	}
	k->nsub = n;
	if (n) {
		k->sub = sp_p_alloc(p, n * sizeof(char *));
		memcpy(k->sub, subs, n * sizeof(char *));
		k->text = sp_p_strndup(p, start, (size_t)(end - start));
	} else {
		k->text = k->name;
	}
}

void sp_p_key(struct parser *p, struct sp_key *k)
{
	const char *start = p->tok.p;
	k->name = sp_p_ident(p, "a key");
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
void sp_p_call(struct parser *p, struct sp_call *c)
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
		sp_p_fail_at(p, &name, "unknown function '%.*s'", (int)DP_MIN(name.len, 40u), name.p);
	sp_p_next(p);
	sp_p_expect(p, SP_TK_LPAREN);
	if (sp_fn_is_agg(c->fn)) {
		if (c->fn == SP_FN_COUNT && sp_p_accept(p, SP_TK_STAR)) {
			c->star = true;
		} else {
			/* COUNT(DISTINCT key): a function of its own (a sketch);
			 * COUNT(distinct) still counts a key named so. */
			if (c->fn == SP_FN_COUNT && sp_tok_is(&p->tok, "DISTINCT")) {
				struct sp_lex save = p->lx;
				struct sp_tok t;
				sp_lex_next(&save, &t);
				if (t.kind == SP_TK_IDENT) {
					sp_p_next(p);
					c->fn = SP_FN_COUNT_DISTINCT;
				}
			}
			sp_p_key(p, &c->key);
			c->has_key = true;
		}
		if (c->fn == SP_FN_FORECAST || c->fn == SP_FN_PERCENTILE) {
			bool pct = c->fn == SP_FN_PERCENTILE;
			sp_p_expect(p, SP_TK_COMMA);
			struct sp_tok at = p->tok;
			if (p->tok.kind == SP_TK_INT)
				c->arg2 = (double)p->tok.i;
			else if (p->tok.kind == SP_TK_FLOAT)
				c->arg2 = p->tok.d;
			else
				sp_p_expected(p, pct ? "a fraction from 0 to 1" : "a number of seconds");
			/* p is a fraction, as in Spark, Hive and Flink's PERCENTILE;
			 * PERCENTILE(x, 95) is refused rather than guessed at. */
			if (pct && !(c->arg2 >= 0 && c->arg2 <= 1))
				sp_p_fail_at(p, &at, "PERCENTILE takes a fraction from 0 to 1 "
					"(0.95 for the 95th percentile), got %.*s",
					(int)DP_MIN(at.len, 24u), at.p);
			sp_p_next(p);
		}
	}
	sp_p_expect(p, SP_TK_RPAREN);
	/* The default output name, as Fluent Bit makes it: FN(key);
	 * COUNT(DISTINCT key), and PERCENTILE(key, p) with p as %g so that
	 * two percentiles of one key have two names. */
	const char *arg = c->star ? "*" : c->has_key ? c->key.text : "";
	size_t n = strlen(canon) + strlen(arg) + 48;
	c->text = sp_p_alloc(p, n);
	if (c->fn == SP_FN_COUNT_DISTINCT)
		snprintf(c->text, n, "%s(DISTINCT %s)", canon, arg);
	else if (c->fn == SP_FN_PERCENTILE)
		snprintf(c->text, n, "%s(%s, %g)", canon, arg, c->arg2);
	else
		snprintf(c->text, n, "%s(%s)", canon, arg);
}

bool sp_p_peek_call(struct parser *p)
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

static struct sp_expr *node(struct parser *p, enum sp_ek k)
{
	struct sp_expr *e = sp_p_alloc(p, sizeof(*e));
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
		e->str = sp_p_string_val(p, &e->slen);
		return e;
	case SP_TK_INT:
		e = node(p, SP_E_INT);
		e->i = t->i;
		sp_p_next(p);
		return e;
	case SP_TK_FLOAT:
		e = node(p, SP_E_FLOAT);
		e->d = t->d;
		sp_p_next(p);
		return e;
	case SP_TK_IDENT:
		if (sp_tok_is(t, "TRUE") || sp_tok_is(t, "FALSE")) {
			e = node(p, SP_E_BOOL);
			e->b = sp_tok_is(t, "TRUE");
			sp_p_next(p);
			return e;
		}
		if (sp_tok_is(t, "NULL")) {
			e = node(p, SP_E_NULL);
			sp_p_next(p);
			return e;
		}
		if (sp_p_peek_call(p)) {
			e = node(p, SP_E_CALL);
			sp_p_call(p, &e->call);
			return e;
		}
		e = node(p, SP_E_KEY);
		sp_p_key(p, &e->key);
		return e;
	default:
		sp_p_expected(p, "a key or a value");
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
		sp_p_next(p);
		struct sp_expr *e = sp_p_cond(p);
		sp_p_expect(p, SP_TK_RPAREN);
		return e;
	}
	if (p->tok.kind == SP_TK_AT) {
		struct sp_expr *e = node(p, SP_E_CONTAINS);
		sp_p_next(p);
		sp_p_expect_kw(p, "record");
		sp_p_expect(p, SP_TK_DOT);
		sp_p_expect_kw(p, "contains");
		sp_p_expect(p, SP_TK_LPAREN);
		sp_p_key(p, &e->key);
		sp_p_expect(p, SP_TK_RPAREN);
		return e;
	}
	struct sp_expr *l = operand(p);
	enum sp_cmp op;
	if (cmp_op(p->tok.kind, &op)) {
		struct sp_expr *e = node(p, SP_E_CMP);
		e->line = l->line;
		e->col = l->col;
		e->cmp = op;
		sp_p_next(p);
		e->l = l;
		e->r = operand(p);
		return e;
	}
	if (sp_p_accept_kw(p, "IS")) {
		struct sp_expr *e = node(p, sp_p_accept_kw(p, "NOT") ? SP_E_NOTNULL : SP_E_ISNULL);
		sp_p_expect_kw(p, "NULL");
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
		sp_p_next(p);
		if (++p->depth > MAX_DEPTH)
			sp_p_fail_at(p, &p->tok, "condition nested too deeply");
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
		sp_p_next(p);
		e->l = l;
		e->r = not_expr(p);
		l = e;
	}
	return l;
}

struct sp_expr *sp_p_cond(struct parser *p)
{
	if (++p->depth > MAX_DEPTH)
		sp_p_fail_at(p, &p->tok, "condition nested too deeply");
	struct sp_expr *l = and_expr(p);
	while (sp_tok_is(&p->tok, "OR")) {
		struct sp_expr *e = node(p, SP_E_OR);
		sp_p_next(p);
		e->l = l;
		e->r = and_expr(p);
		l = e;
	}
	p->depth--;
	return l;
}
