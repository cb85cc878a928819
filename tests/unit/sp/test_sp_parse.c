/*
 * test_sp_parse.c — the SQL lexer, parser and planner: every statement
 * form, every syntax error path (message with line and column), and the
 * start-up errors of the engine (unknown stream or function, type
 * mismatches, bad [STREAM_TASK] sections).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "sp_lex.h"
#include "sp_parse.h"
#include "sp_test.h"

static void test_lexer(void **state)
{
	(void)state;
	const char *s = "SELECT a, 'it''s' <> -1.5e1 -- note\n >= 42 @x.y[ ] ; != <= < > = : *";
	struct sp_lex lx;
	struct sp_tok t;
	sp_lex_init(&lx, s, strlen(s));
	enum sp_tk want[] = { SP_TK_IDENT, SP_TK_IDENT, SP_TK_COMMA, SP_TK_STRING, SP_TK_NE,
			      SP_TK_FLOAT, SP_TK_GE, SP_TK_INT, SP_TK_AT, SP_TK_IDENT, SP_TK_DOT,
			      SP_TK_IDENT, SP_TK_LBRACK, SP_TK_RBRACK, SP_TK_SEMI, SP_TK_NE,
			      SP_TK_LE, SP_TK_LT, SP_TK_GT, SP_TK_EQ, SP_TK_COLON, SP_TK_STAR,
			      SP_TK_EOF };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		sp_lex_next(&lx, &t);
		assert_int_equal(t.kind, want[i]);
		if (i == 0)
			assert_true(sp_tok_is(&t, "select") && t.line == 1 && t.col == 1);
		if (i == 5)
			assert_true(t.d == -15.0);
		if (i == 6)
			assert_true(t.line == 2 && t.col == 2);
		if (i == 7)
			assert_int_equal(t.i, 42);
	}
	sp_lex_init(&lx, "'open", 5);
	sp_lex_next(&lx, &t);
	assert_int_equal(t.kind, SP_TK_ERROR);
	sp_lex_init(&lx, "99999999999999999999", 20);
	sp_lex_next(&lx, &t);
	assert_int_equal(t.kind, SP_TK_ERROR);
	sp_lex_init(&lx, "#", 1);
	sp_lex_next(&lx, &t);
	assert_int_equal(t.kind, SP_TK_ERROR);
}

static struct sp_stmt *parse_ok(const char *s)
{
	struct dp_err err = { 0 };
	struct sp_stmt *st = sp_parse(s, strlen(s), &err);
	if (!st)
		fail_msg("%s: %s", s, err.msg);
	return st;
}

static void test_select_forms(void **state)
{
	(void)state;
	struct sp_stmt *st = parse_ok("SELECT * FROM STREAM:apache;");
	assert_int_equal(st->kind, SP_ST_SELECT);
	assert_int_equal(st->sel.nitems, 1);
	assert_int_equal(st->sel.items[0].kind, SP_ITEM_STAR);
	assert_true(st->sel.from_stream);
	assert_string_equal(st->sel.from, "apache");
	assert_int_equal(st->sel.win, SP_WIN_NONE);
	sp_stmt_free(st);
	/* An instance name, as Fluent Bit's own tests write it
	 * (tests/internal/stream_processor.c: FROM STREAM:tail.0). */
	st = parse_ok("SELECT word FROM STREAM:tail.0 WINDOW TUMBLING (1 SECOND);");
	assert_string_equal(st->sel.from, "tail.0");
	assert_int_equal(st->sel.win, SP_WIN_TUMBLING);
	sp_stmt_free(st);
	st = parse_ok("SELECT * FROM STREAM:my.input.12 WHERE a = 1;");
	assert_string_equal(st->sel.from, "my.input.12");
	sp_stmt_free(st);
	st = parse_ok("SELECT * FROM STREAM:syslog.0;");
	assert_string_equal(st->sel.from, "syslog.0");
	sp_stmt_free(st);

	st = parse_ok("SELECT code AS http_status FROM TAG:'apache.*'");
	assert_int_equal(st->sel.items[0].kind, SP_ITEM_KEY);
	assert_string_equal(st->sel.items[0].key.name, "code");
	assert_string_equal(st->sel.items[0].alias, "http_status");
	assert_false(st->sel.from_stream);
	assert_string_equal(st->sel.from, "apache.*");
	sp_stmt_free(st);

	st = parse_ok("select ident, COUNT(*) AS n, count(host), SUM(a), AVG(latency_ms), MIN(b), "
		      "MAX(b), TIMESERIES_FORECAST(cpu, 30), NOW(), UNIX_TIMESTAMP(), RECORD_TAG(), "
		      "RECORD_TIME(), map['a']['b'] AS nested FROM TAG:'syslog.*' "
		      "WINDOW TUMBLING (5 SECOND) WHERE level = 'ERROR' GROUP BY ident, map['a']['b'] "
		      "HAVING COUNT(*) > 1 LIMIT 10");
	const struct sp_select *s = &st->sel;
	assert_int_equal(s->nitems, 13);
	enum sp_fn fns[] = { SP_FN_NONE, SP_FN_COUNT, SP_FN_COUNT, SP_FN_SUM, SP_FN_AVG, SP_FN_MIN,
			     SP_FN_MAX, SP_FN_FORECAST, SP_FN_NOW, SP_FN_UNIX_TIMESTAMP,
			     SP_FN_RECORD_TAG, SP_FN_RECORD_TIME };
	for (unsigned i = 1; i < 12; i++) {
		assert_int_equal(s->items[i].kind, SP_ITEM_CALL);
		assert_int_equal(s->items[i].call.fn, fns[i]);
	}
	assert_true(s->items[1].call.star);
	assert_string_equal(s->items[1].call.text, "COUNT(*)");
	assert_string_equal(s->items[2].call.text, "COUNT(host)");
	assert_string_equal(s->items[4].call.text, "AVG(latency_ms)");
	assert_true(s->items[7].call.arg2 == 30.0);
	assert_string_equal(s->items[8].call.text, "NOW()");
	assert_int_equal(s->items[12].key.nsub, 2);
	assert_string_equal(s->items[12].key.sub[1], "b");
	assert_string_equal(s->items[12].key.text, "map['a']['b']");
	assert_int_equal(s->win, SP_WIN_TUMBLING);
	assert_int_equal(s->win_size_s, 5);
	assert_int_equal(s->win_advance_s, 5);
	assert_int_equal(s->where->kind, SP_E_CMP);
	assert_int_equal(s->ngroup, 2);
	assert_int_equal(s->group[1].nsub, 2);
	assert_int_equal(s->having->kind, SP_E_CMP);
	assert_int_equal(s->having->l->kind, SP_E_CALL);
	assert_int_equal(s->limit, 10);
	sp_stmt_free(st);

	st = parse_ok("SELECT AVG(x) FROM TAG:'a' WINDOW HOPPING (2 MINUTES, ADVANCE BY 30 SECOND)");
	assert_int_equal(st->sel.win, SP_WIN_HOPPING);
	assert_int_equal(st->sel.win_size_s, 120);
	assert_int_equal(st->sel.win_advance_s, 30);
	sp_stmt_free(st);
	st = parse_ok("SELECT AVG(x) FROM TAG:'a' WINDOW TUMBLING (1 HOUR)");
	assert_int_equal(st->sel.win_size_s, 3600);
	sp_stmt_free(st);
}

static void test_where_tree(void **state)
{
	(void)state;
	struct sp_stmt *st = parse_ok(
		"SELECT * FROM TAG:'x' WHERE NOT (a = 1 OR b <> 'q') AND c IS NOT NULL AND d IS NULL "
		"AND @record.contains(e) AND f >= 2.5 AND g = true AND m['k'] < -3");
	/* AND is left-associative: the last AND's right side is m['k'] < -3 */
	const struct sp_expr *e = st->sel.where;
	assert_int_equal(e->kind, SP_E_AND);
	assert_int_equal(e->r->kind, SP_E_CMP);
	assert_int_equal(e->r->cmp, SP_LT);
	assert_int_equal(e->r->l->key.nsub, 1);
	assert_int_equal(e->r->r->i, -3);
	while (e->kind == SP_E_AND)
		e = e->l;
	assert_int_equal(e->kind, SP_E_NOT);
	assert_int_equal(e->l->kind, SP_E_OR);
	assert_int_equal(e->l->r->cmp, SP_NE);
	assert_string_equal(e->l->r->r->str, "q");
	sp_stmt_free(st);
	/* OR binds looser than AND */
	st = parse_ok("SELECT * FROM TAG:'x' WHERE a = 1 OR b = 2 AND c = 3");
	assert_int_equal(st->sel.where->kind, SP_E_OR);
	assert_int_equal(st->sel.where->r->kind, SP_E_AND);
	sp_stmt_free(st);
}

static void test_create_forms(void **state)
{
	(void)state;
	struct sp_stmt *st = parse_ok("CREATE STREAM hello AS SELECT * FROM TAG:'apache.*';");
	assert_int_equal(st->kind, SP_ST_CREATE_STREAM);
	assert_string_equal(st->name, "hello");
	assert_int_equal(st->nprops, 0);
	sp_stmt_free(st);
	st = parse_ok("CREATE STREAM results WITH (tag='sql.results', x=5) AS SELECT * FROM STREAM:a");
	assert_int_equal(st->nprops, 2);
	assert_string_equal(st->props[0].name, "tag");
	assert_string_equal(st->props[0].val, "sql.results");
	assert_string_equal(st->props[1].val, "5");
	sp_stmt_free(st);
	st = parse_ok("CREATE SNAPSHOT snap WITH (seconds=5) AS SELECT * FROM TAG:'x' LIMIT 100");
	assert_int_equal(st->kind, SP_ST_CREATE_SNAPSHOT);
	sp_stmt_free(st);
	st = parse_ok("FLUSH SNAPSHOT snap AS SELECT * FROM STREAM:snap");
	assert_int_equal(st->kind, SP_ST_FLUSH_SNAPSHOT);
	sp_stmt_free(st);
}

static const struct {
	const char *sql;
	const char *msg;
} syntax_errors[] = {
	{ "", "line 1, column 1: expected SELECT, CREATE or FLUSH, got end of statement" },
	{ "SELEC * FROM TAG:'a'", "line 1, column 1: expected SELECT, CREATE or FLUSH, got 'SELEC'" },
	{ "SELECT * FORM TAG:'a'", "line 1, column 10: expected FROM, got 'FORM'" },
	{ "SELECT FROM TAG:'a'", "line 1, column 8: expected a key, got 'FROM'" },
	{ "SELECT * FROM TAG:a", "line 1, column 19: expected a quoted tag pattern, got 'a'" },
	{ "SELECT * FROM STREAM:'a'", "line 1, column 22: expected a stream name, got ''a''" },
	{ "SELECT * FROM TAGS:'a'", "line 1, column 15: expected STREAM or TAG, got 'TAGS'" },
	{ "SELECT * FROM TAG 'a'", "line 1, column 19: expected ':', got ''a''" },
	{ "SELECT a\nFROM TAG:'a'\nWHERE", "line 3, column 6: expected a key or a value, got end of statement" },
	{ "SELECT a FROM TAG:'a' WHERE (a = 1", "line 1, column 35: expected ')', got end of statement" },
	{ "SELECT a FROM TAG:'a' WHERE a IS 1", "line 1, column 34: expected NULL, got '1'" },
	{ "SELECT a FROM TAG:'a' WHERE @rec.contains(a)", "line 1, column 30: expected record, got 'rec'" },
	{ "SELECT a FROM TAG:'a' WHERE @record.has(a)", "line 1, column 37: expected contains, got 'has'" },
	{ "SELECT a FROM TAG:'a' WINDOW SLIDING (1 SECOND)", "expected TUMBLING, HOPPING or SESSION, got 'SLIDING'" },
	{ "SELECT a FROM TAG:'a' WINDOW TUMBLING (0 SECOND)", "expected a positive integer, got '0'" },
	{ "SELECT a FROM TAG:'a' WINDOW TUMBLING (5 DAYS)", "expected SECOND, MINUTE or HOUR, got 'DAYS'" },
	{ "SELECT a FROM TAG:'a' WINDOW TUMBLING 5 SECOND", "expected '(', got '5'" },
	{ "SELECT a FROM TAG:'a' WINDOW HOPPING (5 SECOND, BY 1 SECOND)", "expected ADVANCE, got 'BY'" },
	{ "SELECT a FROM TAG:'a' WINDOW HOPPING (5 SECOND, ADVANCE BY 10 SECOND)", "ADVANCE BY longer than the window" },
	{ "SELECT a FROM TAG:'a' WINDOW HOPPING (100 SECOND, ADVANCE BY 1 SECOND)", "at most 64" },
	{ "SELECT a FROM TAG:'a' GROUP a", "expected BY, got 'a'" },
	{ "SELECT a FROM TAG:'a' LIMIT x", "expected a non-negative integer, got 'x'" },
	{ "SELECT a FROM TAG:'a' extra", "expected end of statement, got 'extra'" },
	{ "SELECT FOO(a) FROM TAG:'a'", "line 1, column 8: unknown function 'FOO'" },
	{ "SELECT SUM(*) FROM TAG:'a'", "expected a key, got '*'" },
	{ "SELECT TIMESERIES_FORECAST(a) FROM TAG:'a'", "expected ',', got ')'" },
	{ "SELECT TIMESERIES_FORECAST(a, 'x') FROM TAG:'a'", "expected a number of seconds, got ''x''" },
	{ "SELECT a AS FROM TAG:'a'", "expected an alias, got 'FROM'" },
	{ "SELECT a[b] FROM TAG:'a'", "expected a quoted key, got 'b'" },
	{ "SELECT a['b' FROM TAG:'a'", "expected ']', got 'FROM'" },
	{ "SELECT a FROM TAG:'a", "expected a quoted tag pattern, got unterminated string ''a'" },
	{ "SELECT a FROM TAG:'a' WHERE a = #", "expected a key or a value, got unexpected character '#'" },
	{ "CREATE TABLE x AS SELECT a FROM TAG:'a'", "expected STREAM or SNAPSHOT, got 'TABLE'" },
	{ "CREATE STREAM AS SELECT a FROM TAG:'a'", "expected a name, got 'AS'" },
	{ "CREATE STREAM s SELECT a FROM TAG:'a'", "expected AS, got 'SELECT'" },
	{ "CREATE STREAM s WITH tag='x' AS SELECT a FROM TAG:'a'", "expected '(', got 'tag'" },
	{ "CREATE STREAM s WITH (tag 'x') AS SELECT a FROM TAG:'a'", "expected '=', got ''x''" },
	{ "CREATE STREAM s WITH (tag=) AS SELECT a FROM TAG:'a'", "expected a property value, got ')'" },
	{ "CREATE STREAM s WITH (tag='x' AS SELECT a FROM TAG:'a'", "expected ')', got 'AS'" },
	{ "FLUSH s AS SELECT a FROM TAG:'a'", "expected SNAPSHOT, got 's'" },
	{ "SELECT a, FROM TAG:'a'", "expected a key, got 'FROM'" },
};

static void test_syntax_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(syntax_errors) / sizeof(syntax_errors[0]); i++) {
		struct dp_err err = { 0 };
		struct sp_stmt *st = sp_parse(syntax_errors[i].sql, strlen(syntax_errors[i].sql), &err);
		if (st)
			fail_msg("accepted: %s", syntax_errors[i].sql);
		if (!strstr(err.msg, syntax_errors[i].msg))
			fail_msg("%s\n  got:  %s\n  want: %s", syntax_errors[i].sql, err.msg,
				 syntax_errors[i].msg);
	}
	/* nesting is bounded, not a stack overflow */
	char deep[600];
	size_t n = 0;
	n += (size_t)snprintf(deep, sizeof(deep), "SELECT a FROM TAG:'a' WHERE ");
	for (int i = 0; i < 100; i++)
		deep[n++] = '(';
	deep[n] = 0;
	struct dp_err err = { 0 };
	assert_null(sp_parse(deep, n, &err));
	assert_non_null(strstr(err.msg, "nested too deeply"));
}

static void engine_err(const char *exec, const char *want)
{
	const char *names[] = { "t0", "t1" };
	const char *execs[] = { "CREATE STREAM s0 AS SELECT * FROM TAG:'a'", exec };
	struct dp_err err;
	struct sp_engine *e = t_engine(names, execs, 2, 1, &err);
	if (e) {
		sp_engine_destroy(e);
		fail_msg("accepted: %s", exec);
	}
	if (!strstr(err.msg, want))
		fail_msg("%s\n  got:  %s\n  want: %s", exec, err.msg, want);
}

static void test_startup_errors(void **state)
{
	(void)state;
	engine_err("SELECT * FORM TAG:'a'",
		   "streams.conf:7: [STREAM_TASK] statement t1: line 1, column 10: expected FROM, got 'FORM'");
	engine_err("SELECT * FROM STREAM:nope", "statement t1: line 1, column 15: unknown stream 'nope'");
	engine_err("SELECT * FROM TAG:'a' WHERE COUNT(*) > 1", "COUNT(*) is not allowed in WHERE");
	engine_err("SELECT a, COUNT(*) FROM TAG:'a' GROUP BY b", "'a' must appear in GROUP BY");
	/* A result is a map: a key selected twice, or '*' twice, is refused. */
	engine_err("SELECT a, b AS a FROM TAG:'a'", "line 1, column 11: result key 'a' selected twice");
	engine_err("SELECT a, COUNT(*) AS a FROM TAG:'a' GROUP BY a", "result key 'a' selected twice");
	engine_err("SELECT *, x, * FROM TAG:'a'", "column 14: '*' selected twice");
	engine_err("SELECT *, COUNT(*) FROM TAG:'a'", "'*' cannot be selected beside aggregate");
	engine_err("SELECT a FROM TAG:'a' WHERE a < true", "type mismatch: a boolean cannot be ordered");
	engine_err("SELECT a FROM TAG:'a' WHERE a >= NULL", "type mismatch: NULL cannot be ordered");
	engine_err("SELECT a FROM TAG:'a' WHERE 'x' = 1", "type mismatch: a string compared with a number");
	engine_err("SELECT a FROM TAG:'a' WHERE 5", "condition must be true or false, not a number");
	engine_err("SELECT a FROM TAG:'a' WHERE a = 1 AND 'x'", "not a string");
	engine_err("SELECT a FROM TAG:'a' GROUP BY a", "GROUP BY needs an aggregate function");
	engine_err("SELECT a FROM TAG:'a' LIMIT 3", "LIMIT applies to aggregating queries only");
	engine_err("SELECT COUNT(*) FROM TAG:'a' HAVING SUM(x) > 1", "HAVING: 'SUM(x)' is not in the select list");
	engine_err("SELECT COUNT(*), RECORD_TAG() FROM TAG:'a'", "RECORD_TAG() belongs to one record");
	engine_err("CREATE STREAM s0 AS SELECT * FROM TAG:'b'", "stream 's0' created twice");
	engine_err("CREATE STREAM s1 WITH (tagg='x') AS SELECT * FROM TAG:'b'", "unknown property 'tagg'");
	engine_err("CREATE SNAPSHOT sn AS SELECT * FROM TAG:'b' LIMIT 5", "snapshot 'sn' needs a tag");
	engine_err("CREATE STREAM s1 AS SELECT * FROM STREAM:s1", "a stream cannot read itself");

	/* section errors */
	struct dp_conf *conf = dp_conf_create();
	struct dp_conf_section *s = dp_conf_section_add(conf, "STREAM_TASK", "x.conf", 4);
	dp_conf_kv_add(conf, s, "Name", "a", "x.conf", 5);
	const struct dp_conf_section *secs[1] = { &conf->sec[0] };
	struct dp_err err = { 0 };
	assert_null(sp_engine_create(secs, 1, 1, &err));
	assert_string_equal(err.msg, "x.conf:4: [STREAM_TASK] a: missing key 'Exec'");
	dp_conf_kv_add(conf, &conf->sec[0], "Exec", "SELECT * FROM TAG:'a'", "x.conf", 6);
	dp_conf_kv_add(conf, &conf->sec[0], "Max_Groupz", "5", "x.conf", 7);
	assert_null(sp_engine_create(secs, 1, 1, &err));
	assert_string_equal(err.msg, "x.conf:7: [STREAM_TASK] unknown key 'Max_Groupz'");
	dp_conf_destroy(conf);

	/* and what is accepted */
	const char *names[] = { "t0", "t1" };
	const char *execs[] = { "SELECT ident, COUNT(*) AS n FROM TAG:'a' WINDOW TUMBLING (1 SECOND) "
				"WHERE 1 < 2 AND x <> 'y' GROUP BY ident HAVING n > 1 AND COUNT(*) < 9 LIMIT 2",
				"SELECT a FROM TAG:'b' WHERE 5 < a AND a = b" };
	struct sp_engine *e = t_engine(names, execs, 2, 2, &err);
	if (!e)
		fail_msg("%s", err.msg);
	sp_engine_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lexer),
		cmocka_unit_test(test_select_forms),
		cmocka_unit_test(test_where_tree),
		cmocka_unit_test(test_create_forms),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_startup_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
