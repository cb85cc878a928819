/*
 * sp_lex.c — the SQL lexer (sp_lex.h). Control thread only.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "sp_lex.h"

void sp_lex_init(struct sp_lex *lx, const char *s, size_t len)
{
	lx->cur = s;
	lx->end = s + len;
	lx->line = 1;
	lx->col = 1;
}

static void adv(struct sp_lex *lx, size_t n)
{
	while (n--) {
		if (*lx->cur == '\n') {
			lx->line++;
			lx->col = 1;
		} else {
			lx->col++;
		}
		lx->cur++;
	}
}

static bool is_ident0(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Identifiers may hold '-' and digits after the first byte? No: '-' would
 * make "a-1" ambiguous; Fluent Bit's lexer takes [A-Za-z_][A-Za-z0-9_]*. */
static bool is_ident(char c)
{
	return is_ident0(c) || is_digit(c);
}

static void lex_number(struct sp_lex *lx, struct sp_tok *t)
{
	const char *s = lx->cur, *e = lx->end, *q = s;
	bool flt = false;
	if (*q == '-')
		q++;
	while (q < e && is_digit(*q))
		q++;
	if (q + 1 < e && *q == '.' && is_digit(q[1])) {
		flt = true;
		q++;
		while (q < e && is_digit(*q))
			q++;
	}
	if (q < e && (*q == 'e' || *q == 'E')) {
		const char *x = q + 1;
		if (x < e && (*x == '+' || *x == '-'))
			x++;
		if (x < e && is_digit(*x)) {
			flt = true;
			q = x;
			while (q < e && is_digit(*q))
				q++;
		}
	}
	/* strtoll/strtod need a NUL-terminated copy: numbers are short. */
	char buf[64];
	size_t n = (size_t)(q - s);
	t->len = (uint32_t)n;
	if (n >= sizeof(buf) || (q < e && is_ident0(*q))) {
		t->kind = SP_TK_ERROR;
		t->msg = "invalid number";
		adv(lx, n);
		return;
	}
	memcpy(buf, s, n);
	buf[n] = 0;
	errno = 0;
	if (flt) {
		t->kind = SP_TK_FLOAT;
		t->d = strtod(buf, NULL);
		if (!isfinite(t->d)) {
			t->kind = SP_TK_ERROR;
			t->msg = "number out of range";
		}
	} else {
		t->kind = SP_TK_INT;
		t->i = strtoll(buf, NULL, 10);
		if (errno == ERANGE) {
			t->kind = SP_TK_ERROR;
			t->msg = "integer out of range";
		}
	}
	adv(lx, n);
}

void sp_lex_next(struct sp_lex *lx, struct sp_tok *t)
{
	const char *e = lx->end;
	/* blanks and -- comments */
	for (;;) {
		while (lx->cur < e && (*lx->cur == ' ' || *lx->cur == '\t' || *lx->cur == '\n' ||
				       *lx->cur == '\r'))
			adv(lx, 1);
		if (lx->cur + 1 < e && lx->cur[0] == '-' && lx->cur[1] == '-') {
			while (lx->cur < e && *lx->cur != '\n')
				adv(lx, 1);
			continue;
		}
		break;
	}
	t->p = lx->cur;
	t->line = lx->line;
	t->col = lx->col;
	t->len = 1;
	t->msg = NULL;
	if (lx->cur >= e) {
		t->kind = SP_TK_EOF;
		t->len = 0;
		return;
	}
	char c = *lx->cur, n = lx->cur + 1 < e ? lx->cur[1] : 0;
	if (is_ident0(c)) {
		const char *q = lx->cur;
		while (q < e && is_ident(*q))
			q++;
		t->kind = SP_TK_IDENT;
		t->len = (uint32_t)(q - lx->cur);
		adv(lx, t->len);
		return;
	}
	if (is_digit(c) || (c == '-' && is_digit(n))) {
		lex_number(lx, t);
		return;
	}
	if (c == '\'') {
		const char *q = lx->cur + 1;
		for (;;) {
			if (q >= e) {
				t->kind = SP_TK_ERROR;
				t->msg = "unterminated string";
				t->len = (uint32_t)(q - lx->cur);
				adv(lx, t->len);
				return;
			}
			if (*q == '\'') {
				if (q + 1 < e && q[1] == '\'') {
					q += 2;
					continue;
				}
				break;
			}
			q++;
		}
		t->kind = SP_TK_STRING;
		t->len = (uint32_t)(q + 1 - lx->cur);
		adv(lx, t->len);
		return;
	}
	t->kind = SP_TK_ERROR;
	switch (c) {
	case '(': t->kind = SP_TK_LPAREN; break;
	case ')': t->kind = SP_TK_RPAREN; break;
	case ',': t->kind = SP_TK_COMMA; break;
	case ';': t->kind = SP_TK_SEMI; break;
	case '*': t->kind = SP_TK_STAR; break;
	case '[': t->kind = SP_TK_LBRACK; break;
	case ']': t->kind = SP_TK_RBRACK; break;
	case ':': t->kind = SP_TK_COLON; break;
	case '@': t->kind = SP_TK_AT; break;
	case '.': t->kind = SP_TK_DOT; break;
	case '=': t->kind = SP_TK_EQ; break;
	case '!':
		if (n == '=') {
			t->kind = SP_TK_NE;
			t->len = 2;
		}
		break;
	case '<':
		if (n == '=') {
			t->kind = SP_TK_LE;
			t->len = 2;
		} else if (n == '>') {
			t->kind = SP_TK_NE;
			t->len = 2;
		} else {
			t->kind = SP_TK_LT;
		}
		break;
	case '>':
		if (n == '=') {
			t->kind = SP_TK_GE;
			t->len = 2;
		} else {
			t->kind = SP_TK_GT;
		}
		break;
	}
	if (t->kind == SP_TK_ERROR)
		t->msg = "unexpected character";
	adv(lx, t->len);
}

bool sp_tok_is(const struct sp_tok *t, const char *kw)
{
	size_t n = strlen(kw);
	return t->kind == SP_TK_IDENT && t->len == n && strncasecmp(t->p, kw, n) == 0;
}

const char *sp_tk_name(enum sp_tk k)
{
	static const char *const names[] = {
		[SP_TK_EOF] = "end of statement", [SP_TK_IDENT] = "identifier",
		[SP_TK_STRING] = "string", [SP_TK_INT] = "integer", [SP_TK_FLOAT] = "number",
		[SP_TK_LPAREN] = "'('", [SP_TK_RPAREN] = "')'", [SP_TK_COMMA] = "','",
		[SP_TK_SEMI] = "';'", [SP_TK_STAR] = "'*'", [SP_TK_EQ] = "'='",
		[SP_TK_NE] = "'!='", [SP_TK_LT] = "'<'", [SP_TK_LE] = "'<='", [SP_TK_GT] = "'>'",
		[SP_TK_GE] = "'>='", [SP_TK_LBRACK] = "'['", [SP_TK_RBRACK] = "']'",
		[SP_TK_COLON] = "':'", [SP_TK_AT] = "'@'", [SP_TK_DOT] = "'.'",
		[SP_TK_ERROR] = "invalid token",
	};
	return (unsigned)k < (sizeof(names) / sizeof(names[0])) ? names[k] : "?";
}
