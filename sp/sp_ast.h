/*
 * sp_ast.h — the syntax tree of one stream-processor statement, as the
 * parser (sp_parse.h) builds it and the planner (sp_plan.h) reads it.
 *
 * Every node lives in the statement's arena: one free releases the tree.
 * Positions (line, col) are kept on the nodes the planner may complain
 * about, so its errors point at the text too.
 *
 * Threads: control thread only.
 */
#ifndef SP_AST_H
#define SP_AST_H

#include <stdbool.h>
#include <stdint.h>

struct sp_arena_blk;
struct sp_arena {
	struct sp_arena_blk *head;
};

/* A record key: name, or name['a']['b'] for a value nested in maps. */
struct sp_key {
	char *name;
	char **sub;
	unsigned nsub;
	char *text;        /* as written, e.g. "map['a']['b']" */
};

enum sp_fn {
	SP_FN_NONE = 0,
	SP_FN_COUNT, SP_FN_SUM, SP_FN_AVG, SP_FN_MIN, SP_FN_MAX, SP_FN_FORECAST,
	SP_FN_COUNT_DISTINCT, SP_FN_PERCENTILE,
	SP_FN_NOW, SP_FN_UNIX_TIMESTAMP, SP_FN_RECORD_TAG, SP_FN_RECORD_TIME,
};

static inline bool sp_fn_is_agg(enum sp_fn f)
{
	return f >= SP_FN_COUNT && f <= SP_FN_PERCENTILE;
}

/* A function call: COUNT(*) has star; TIMESERIES_FORECAST (seconds) and
 * PERCENTILE (the fraction p) have arg2. */
struct sp_call {
	enum sp_fn fn;
	bool star;
	bool has_key;
	struct sp_key key;
	double arg2;
	char *text;        /* "COUNT(*)", "AVG(latency_ms)": the default name */
	uint32_t line, col;
};

enum sp_ek {
	SP_E_KEY, SP_E_CALL, SP_E_STR, SP_E_INT, SP_E_FLOAT, SP_E_BOOL, SP_E_NULL,
	SP_E_CMP, SP_E_AND, SP_E_OR, SP_E_NOT, SP_E_ISNULL, SP_E_NOTNULL, SP_E_CONTAINS,
};

enum sp_cmp { SP_EQ, SP_NE, SP_LT, SP_LE, SP_GT, SP_GE };

struct sp_expr {
	enum sp_ek kind;
	enum sp_cmp cmp;
	struct sp_expr *l, *r;    /* CMP, AND, OR; l alone: NOT, ISNULL, NOTNULL */
	struct sp_key key;        /* KEY, CONTAINS */
	struct sp_call call;      /* CALL (HAVING) */
	char *str;
	uint32_t slen;
	int64_t i;
	double d;
	bool b;
	uint32_t line, col;
};

enum sp_item_kind { SP_ITEM_STAR, SP_ITEM_KEY, SP_ITEM_CALL };

struct sp_item {
	enum sp_item_kind kind;
	struct sp_key key;
	struct sp_call call;
	char *alias;              /* NULL: the key's text or the call's text */
	uint32_t line, col;
};

enum sp_win_kind { SP_WIN_NONE, SP_WIN_TUMBLING, SP_WIN_HOPPING, SP_WIN_SESSION };

struct sp_select {
	struct sp_item *items;
	unsigned nitems;
	bool from_stream;         /* STREAM:name, else TAG:'pattern' */
	char *from;               /* stream name or tag pattern */
	uint32_t from_line, from_col;
	enum sp_win_kind win;
	uint64_t win_size_s, win_advance_s;  /* SESSION: the gap in win_size_s */
	bool win_on;              /* ON ...: event time */
	bool win_on_rtime;        /* ON RECORD_TIME(), else ON win_on_key */
	struct sp_key win_on_key;
	uint64_t win_lateness_s;  /* LATENESS (n unit), 0 without */
	uint32_t win_line, win_col;
	struct sp_expr *where;
	struct sp_key *group;
	unsigned ngroup;
	struct sp_expr *having;
	int64_t limit;            /* -1: none */
};

enum sp_stmt_kind { SP_ST_SELECT, SP_ST_CREATE_STREAM, SP_ST_CREATE_SNAPSHOT, SP_ST_FLUSH_SNAPSHOT };

struct sp_prop {
	char *name;
	char *val;
};

struct sp_stmt {
	enum sp_stmt_kind kind;
	char *name;               /* stream or snapshot name */
	struct sp_prop *props;    /* WITH (k=v, ...) */
	unsigned nprops;
	struct sp_select sel;
	struct sp_arena arena;
};

#endif
