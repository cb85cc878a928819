/*
 * sp_parse.h — the recursive-descent parser of Fluent Bit's stream
 * processor language (and sluice's additions: HAVING, LIMIT, hopping
 * windows in any unit, session windows, event time with ON/LATENESS).
 * The grammar, as accepted:
 *
 *   stmt    := select | CREATE STREAM name [WITH '(' props ')'] AS select
 *            | CREATE SNAPSHOT name [WITH '(' props ')'] AS select
 *            | FLUSH SNAPSHOT name AS select                  [';']
 *   props   := ident '=' (string | number | ident) {',' ...}
 *   select  := SELECT items FROM (STREAM ':' ident | TAG ':' string)
 *              [WINDOW (TUMBLING '(' int unit ')'
 *                      | HOPPING '(' int unit ',' ADVANCE BY int unit ')'
 *                      | SESSION '(' int unit ')')
 *                      [ON (RECORD_TIME '(' ')' | key)
 *                       [LATENESS '(' int unit ')']]]
 *              [WHERE cond] [GROUP BY key {',' key}] [HAVING cond]
 *              [LIMIT int]
 *   unit    := SECOND | MINUTE | HOUR (plural accepted)
 *   items   := item {',' item};  item := '*' | (key | call) [AS ident]
 *   call    := COUNT '(' ('*' | [DISTINCT] key) ')' | (SUM|AVG|MIN|MAX) '(' key ')'
 *            | PERCENTILE '(' key ',' number ')'
 *            | TIMESERIES_FORECAST '(' key ',' number ')'
 *            | (NOW|UNIX_TIMESTAMP|RECORD_TAG|RECORD_TIME) '(' ')'
 *   key     := ident {'[' string ']'}
 *   cond    := and {OR and};  and := not {AND not};  not := NOT not | pred
 *   pred    := '(' cond ')' | '@' record '.' contains '(' key ')'
 *            | operand [cmpop operand | IS [NOT] NULL]
 *   operand := key | call | string | number | TRUE | FALSE | NULL
 *
 * Errors: "line L, column C: expected X, got Y" (the caller prefixes the
 * statement's name).
 *
 * Threads: control thread (and the fuzzer).
 */
#ifndef SP_PARSE_H
#define SP_PARSE_H

#include <stddef.h>
#include "dp_common.h"
#include "sp_ast.h"

/* Parse one statement; NULL with err->msg on a syntax error (or -ENOMEM). */
struct sp_stmt *sp_parse(const char *text, size_t len, struct dp_err *err);
void sp_stmt_free(struct sp_stmt *st);

#endif
