/*
 * sp_lex.h — the lexer of the stream processor's SQL: turns a statement's
 * text into tokens that carry their line and column, so every parse error
 * can point at the place it was found.
 *
 * Keywords are not tokens of their own: they are identifiers, compared
 * case-insensitively by the parser (sp_tok_is), which lets a record key be
 * called "count" or "time" where no keyword is expected.
 *
 * Threads: control thread (start-up) and the fuzzer; no state but the
 * struct sp_lex the caller holds.
 */
#ifndef SP_LEX_H
#define SP_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sp_tk {
	SP_TK_EOF = 0,
	SP_TK_IDENT,
	SP_TK_STRING,  /* 'text', '' inside stands for one quote */
	SP_TK_INT,
	SP_TK_FLOAT,
	SP_TK_LPAREN, SP_TK_RPAREN, SP_TK_COMMA, SP_TK_SEMI, SP_TK_STAR,
	SP_TK_EQ, SP_TK_NE, SP_TK_LT, SP_TK_LE, SP_TK_GT, SP_TK_GE,
	SP_TK_LBRACK, SP_TK_RBRACK, SP_TK_COLON, SP_TK_AT, SP_TK_DOT,
	SP_TK_ERROR,   /* p/len: what was found; msg: why it is not a token */
};

struct sp_tok {
	enum sp_tk kind;
	const char *p;     /* the token's text in the statement */
	uint32_t len;
	uint32_t line, col; /* 1-based */
	int64_t i;         /* SP_TK_INT */
	double d;          /* SP_TK_FLOAT */
	const char *msg;   /* SP_TK_ERROR */
};

struct sp_lex {
	const char *cur, *end;
	uint32_t line, col;
};

void sp_lex_init(struct sp_lex *lx, const char *s, size_t len);
/* The next token (SP_TK_EOF at the end, repeatedly). */
void sp_lex_next(struct sp_lex *lx, struct sp_tok *t);
/* Is t the identifier kw (ASCII, case-insensitive)? */
bool sp_tok_is(const struct sp_tok *t, const char *kw);
/* "identifier", "','", ... for "expected X, got Y" messages. */
const char *sp_tk_name(enum sp_tk k);

#endif
