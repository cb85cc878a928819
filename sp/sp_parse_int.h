/*
 * sp_parse_int.h — the parser's state and the helpers shared by its two
 * files: sp_parse.c (tokens, the arena, statements, SELECT) and
 * sp_parse_expr.c (keys, function calls, conditions).
 *
 * Threads: control thread (and the fuzzer).
 */
#ifndef SP_PARSE_INT_H
#define SP_PARSE_INT_H

#include <setjmp.h>
#include "sp_lex.h"
#include "sp_parse.h"

struct parser {
	struct sp_lex lx;
	struct sp_tok tok;     /* current token */
	struct sp_stmt *st;
	struct dp_err *err;
	jmp_buf jb;
	unsigned depth;        /* nesting of conditions, bounded */
};

#define MAX_DEPTH 64

/* sp_parse.c: the arena and tokens. The fail/expected ones longjmp. */
void *sp_p_alloc(struct parser *p, size_t n);
char *sp_p_strndup(struct parser *p, const char *s, size_t n);
void sp_p_next(struct parser *p);
__attribute__((noreturn, format(printf, 3, 4))) void sp_p_fail_at(struct parser *p, const struct sp_tok *t,
								  const char *fmt, ...);
__attribute__((noreturn)) void sp_p_expected(struct parser *p, const char *what);
bool sp_p_accept_kw(struct parser *p, const char *kw);
void sp_p_expect_kw(struct parser *p, const char *kw);
bool sp_p_accept(struct parser *p, enum sp_tk k);
void sp_p_expect(struct parser *p, enum sp_tk k);
bool sp_p_is_reserved(const struct sp_tok *t);
char *sp_p_ident(struct parser *p, const char *what);
char *sp_p_string_val(struct parser *p, uint32_t *len);
char *sp_p_string_lit(struct parser *p, const char *what);

/* sp_parse_expr.c */
void sp_p_key(struct parser *p, struct sp_key *k);
void sp_p_call(struct parser *p, struct sp_call *c);
bool sp_p_peek_call(struct parser *p);
struct sp_expr *sp_p_cond(struct parser *p);

#endif
