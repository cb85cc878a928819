/*
 * test_sp_win.c — event-time windows (ON RECORD_TIME() / ON key,
 * LATENESS) and session windows: the parser's forms and errors, the
 * planner's start-up errors, and runs with out-of-order and late records
 * on 1, 2 and 4 shards whose results (and late counts) are checked
 * against a model computed here from the same input: the watermark at
 * every tick, the windows of every record, the sessions as runs of a
 * group's sorted times split where two neighbours are more than the gap
 * apart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <cmocka.h>
#include "sp_parse.h"
#include "sp_test.h"

#define SEC 1000000000ull
#define MS 1000000ull
#define E0_MS 1600000000000ull     /* event times start here (ms) */
#define TN (1700000000ull * SEC)   /* processing time starts here */

static struct dp_rec in_recs[DP_CHUNK_RECS];
static struct dp_field in_fields[DP_CHUNK_FIELDS];
static uint8_t in_data[DP_CHUNK_DATA];
static struct dp_chunk in;

static int setup(void **state)
{
	(void)state;
	dp_chunk_init(&in, in_recs, in_fields, in_data);
	t_out_reset();
	return 0;
}

/* ---- parser and planner ---- */

static struct sp_stmt *parse_ok(const char *s)
{
	struct dp_err err = { 0 };
	struct sp_stmt *st = sp_parse(s, strlen(s), &err);
	if (!st)
		fail_msg("%s: %s", s, err.msg);
	return st;
}

static void test_parse_forms(void **state)
{
	(void)state;
	struct sp_stmt *st = parse_ok("SELECT COUNT(*) FROM TAG:'a' WINDOW TUMBLING (10 SECOND) ON RECORD_TIME()");
	assert_int_equal(st->sel.win, SP_WIN_TUMBLING);
	assert_true(st->sel.win_on && st->sel.win_on_rtime);
	assert_int_equal(st->sel.win_lateness_s, 0);
	sp_stmt_free(st);

	st = parse_ok("select count(*) from tag:'a' window hopping (1 minute, advance by 10 seconds) "
		      "on ts lateness (5 second) group by x");
	assert_int_equal(st->sel.win, SP_WIN_HOPPING);
	assert_int_equal(st->sel.win_size_s, 60);
	assert_int_equal(st->sel.win_advance_s, 10);
	assert_true(st->sel.win_on && !st->sel.win_on_rtime);
	assert_string_equal(st->sel.win_on_key.name, "ts");
	assert_int_equal(st->sel.win_lateness_s, 5);
	assert_int_equal(st->sel.ngroup, 1);
	sp_stmt_free(st);

	st = parse_ok("SELECT ident, COUNT(*) FROM TAG:'a' WINDOW SESSION (30 SECOND) GROUP BY ident");
	assert_int_equal(st->sel.win, SP_WIN_SESSION);
	assert_int_equal(st->sel.win_size_s, 30);
	assert_false(st->sel.win_on);
	sp_stmt_free(st);

	st = parse_ok("SELECT COUNT(*) FROM TAG:'a' WINDOW SESSION (2 MINUTES) ON m['t']['s'] "
		      "LATENESS (0 SECOND) WHERE a > 1;");
	assert_int_equal(st->sel.win_size_s, 120);
	assert_int_equal(st->sel.win_on_key.nsub, 2);
	assert_string_equal(st->sel.win_on_key.text, "m['t']['s']");
	assert_int_equal(st->sel.win_lateness_s, 0);
	assert_non_null(st->sel.where);
	sp_stmt_free(st);
}

static const struct {
	const char *sql, *msg;
} errors[] = {
	{ "SELECT a FROM TAG:'a' WINDOW TUMBLING (1 SECOND) LATENESS (5 SECOND)",
	  "line 1, column 50: LATENESS needs an event time" },
	{ "SELECT a FROM TAG:'a' WINDOW TUMBLING (1 SECOND) ON NOW()",
	  "line 1, column 53: expected RECORD_TIME() or a key holding epoch seconds, got 'NOW'" },
	{ "SELECT a FROM TAG:'a' WINDOW TUMBLING (1 SECOND) ON RECORD_TIME(", "expected ')', got end of statement" },
	{ "SELECT a FROM TAG:'a' WINDOW TUMBLING (1 SECOND) ON", "expected a key, got end of statement" },
	{ "SELECT a FROM TAG:'a' WINDOW TUMBLING (1 SECOND) ON WHERE a = 1", "expected a key, got 'WHERE'" },
	{ "SELECT a FROM TAG:'a' WINDOW TUMBLING (1 SECOND) ON t LATENESS 5 SECOND", "expected '(', got '5'" },
	{ "SELECT a FROM TAG:'a' WINDOW TUMBLING (1 SECOND) ON t LATENESS (-1 SECOND)",
	  "expected a non-negative integer, got '-1'" },
	{ "SELECT a FROM TAG:'a' WINDOW TUMBLING (1 SECOND) ON t LATENESS (1 DAY)",
	  "expected SECOND, MINUTE or HOUR, got 'DAY'" },
	{ "SELECT a FROM TAG:'a' WINDOW SESSION (0 SECOND)", "expected a positive integer, got '0'" },
	{ "SELECT a FROM TAG:'a' WINDOW SESSION 5", "expected '(', got '5'" },
	{ "SELECT a FROM TAG:'a' WINDOW SESSION (5 SECOND, ADVANCE BY 1 SECOND)", "expected ')', got ','" },
};

static void test_parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		struct dp_err err = { 0 };
		struct sp_stmt *st = sp_parse(errors[i].sql, strlen(errors[i].sql), &err);
		if (st)
			fail_msg("accepted: %s", errors[i].sql);
		if (!strstr(err.msg, errors[i].msg))
			fail_msg("%s\n  got:  %s\n  want: %s", errors[i].sql, err.msg, errors[i].msg);
	}
}

static void engine_err(const char *exec, const char *want)
{
	const char *names[] = { "t0" };
	struct dp_err err;
	struct sp_engine *e = t_engine(names, &exec, 1, 1, &err);
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
	engine_err("SELECT TIMESERIES_FORECAST(a, 5) FROM TAG:'a' WINDOW SESSION (5 SECOND)",
		   "statement t0: line 1, column 54: TIMESERIES_FORECAST cannot be used with SESSION windows");
	engine_err("SELECT COUNT(*) FROM TAG:'a' WINDOW SESSION (5 SECOND) LIMIT 3",
		   "LIMIT cannot be used with SESSION windows");
	engine_err("SELECT COUNT(*) FROM TAG:'a' WINDOW TUMBLING (1 SECOND) ON RECORD_TIME() LATENESS (1 HOUR)",
		   "LATENESS too long for the window: 3602 windows would be open at once (at most 1024)");
	/* accepted: the largest lateness for 1 s windows, and a plain ON */
	const char *names[] = { "a", "b", "c" };
	const char *ok[] = {
		"SELECT COUNT(*) FROM TAG:'a' WINDOW TUMBLING (1 SECOND) ON RECORD_TIME() LATENESS (1022 SECOND)",
		"SELECT x, SUM(y) FROM TAG:'a' WINDOW HOPPING (10 SECOND, ADVANCE BY 2 SECOND) ON m['t'] GROUP BY x",
		"SELECT x, COUNT(*) FROM TAG:'a' WINDOW SESSION (1 HOUR) ON ts LATENESS (1 MINUTE) GROUP BY x",
	};
	struct dp_err err;
	struct sp_engine *e = t_engine(names, ok, 3, 4, &err);
	if (!e)
		fail_msg("%s", err.msg);
	sp_engine_destroy(e);
}

/* ---- runs ---- */

#define NID 5
#define NREC 3000
#define NW 160
static const char *ids[NID] = { "a", "bb", "ccc", "dddd", "e" };

struct agg {
	uint64_t n;
	int64_t sum, min, max;
	uint64_t first, last;   /* sessions: ns */
};

static void agg_add(struct agg *a, int64_t v, uint64_t t)
{
	if (!a->n || v < a->min)
		a->min = v;
	if (!a->n || v > a->max)
		a->max = v;
	if (!a->n || t < a->first)
		a->first = t;
	if (!a->n || t > a->last)
		a->last = t;
	a->n++;
	a->sum += v;
}

/* A record: ident, latency, ts (event time as double seconds) and the
 * record's own time = the event time (for ON RECORD_TIME()); no_ts:
 * ts missing (odd) or a string (even). */
static void rec(unsigned id, int64_t lat, uint64_t ev_ms, int no_ts)
{
	if (in.nrecs == DP_CHUNK_RECS || in.data_len > DP_CHUNK_DATA - 512)
		dp_chunk_reset(&in);
	dp_chunk_rec_begin(&in, (uint32_t)(ev_ms / 1000), (uint32_t)(ev_ms % 1000 * MS));
	dp_chunk_put_str(&in, "ident", 5, ids[id], strlen(ids[id]));
	dp_chunk_put_int(&in, "latency", 7, lat);
	if (!no_ts)
		dp_chunk_put_double(&in, "ts", 2, (double)ev_ms / 1000.0);
	else if (no_ts % 2 == 0)
		dp_chunk_put_str(&in, "ts", 2, "soon", 4);
	assert_int_equal(dp_chunk_rec_end(&in), 0);
}

static struct dp_fx fx_at(uint64_t now)
{
	struct dp_fx fx = { .c = &in, .tag = "app.x", .tag_len = 5, .now_real_ns = now,
			    .emit = t_emit };
	return fx;
}

static void tick_all(struct sp_shard **sh, unsigned n, uint64_t now, bool final)
{
	for (int i = (int)n - 1; i >= 0; i--) {
		struct dp_fx fx = fx_at(now);
		sp_shard_tick(sh[i], &fx, final);
	}
}

static unsigned pick_shard(unsigned k, unsigned nshards, int assign, uint32_t rnd)
{
	return assign == 0 ? k % nshards : assign == 1 ? (rnd >> 4) % nshards : nshards - 1;
}

/* Compare result r with an expected aggregate. */
static void check_res(unsigned r, const struct agg *x)
{
	msgpack_unpacked u;
	msgpack_object m = t_result(&u, r);
	if (t_num(t_get(&m, "COUNT(*)")) != (double)x->n || t_num(t_get(&m, "SUM(latency)")) != (double)x->sum ||
	    t_num(t_get(&m, "MIN(latency)")) != (double)x->min ||
	    t_num(t_get(&m, "MAX(latency)")) != (double)x->max)
		fail_msg("result %u: n %.0f sum %.0f min %.0f max %.0f, want %llu %lld %lld %lld", r,
			 t_num(t_get(&m, "COUNT(*)")), t_num(t_get(&m, "SUM(latency)")),
			 t_num(t_get(&m, "MIN(latency)")), t_num(t_get(&m, "MAX(latency)")),
			 (unsigned long long)x->n, (long long)x->sum, (long long)x->min, (long long)x->max);
	msgpack_unpacked_destroy(&u);
}

static unsigned res_ident(unsigned r)
{
	msgpack_unpacked u;
	msgpack_object m = t_result(&u, r);
	unsigned id = NID;
	for (unsigned i = 0; i < NID; i++)
		if (t_str_eq(t_get(&m, "ident"), ids[i]))
			id = i;
	msgpack_unpacked_destroy(&u);
	assert_true(id < NID);
	return id;
}

static struct agg want_w[NW][NID];

/* Event-time windows of size/adv seconds, lateness L s, ON ts (on_key)
 * or RECORD_TIME(). Event times run 10 ms apart per record with jitter
 * of -1.5..+0.3 s; 1 record in 25 comes 5 to 9 s behind the highest
 * time seen (late, at least for some of its windows); 1 in 40 on_key
 * records lacks a usable ts. Every shard ticks every 50 records (50 ms
 * of processing time). */
static void run_evt(unsigned nshards, int assign, unsigned size, unsigned adv, unsigned L,
		    bool on_key)
{
	char sql[320];
	snprintf(sql, sizeof(sql),
		 "SELECT ident, COUNT(*), SUM(latency), MIN(latency), MAX(latency) FROM TAG:'app.*' "
		 "WINDOW HOPPING (%u SECOND, ADVANCE BY %u SECOND) ON %s LATENESS (%u SECOND) "
		 "GROUP BY ident", size, adv, on_key ? "ts" : "RECORD_TIME()", L);
	const char *names[] = { "q" };
	const char *execs[] = { sql };
	struct dp_err err;
	struct sp_engine *e = t_engine(names, execs, 1, nshards, &err);
	if (!e)
		fail_msg("%s", err.msg);
	struct sp_shard *sh[4];
	for (unsigned i = 0; i < nshards; i++)
		sh[i] = sp_shard_create(e, i);
	t_out_reset();
	memset(want_w, 0, sizeof(want_w));
	/* the model */
	const uint64_t base = E0_MS - 40000; /* window index 0 starts here */
	uint64_t wm = 0, gmax = 0, late = 0, no_time = 0;
	uint32_t rnd = 777u + nshards * 3u + (uint32_t)assign;
	uint64_t now = TN;
	for (unsigned k = 0; k < NREC; k++) {
		if (k && k % 50 == 0) {
			tick_all(sh, nshards, now, false);
			if (gmax && gmax > (uint64_t)L * 1000 && gmax - (uint64_t)L * 1000 > wm)
				wm = gmax - (uint64_t)L * 1000;
		}
		now += MS;
		rnd = rnd * 1103515245u + 12345u;
		unsigned id = (rnd >> 16) % NID;
		int64_t lat = (int64_t)((rnd >> 6) % 1000) - 200;
		uint64_t ev = E0_MS + (uint64_t)k * 10 + (rnd >> 3) % 1801 - 1500;
		if (k % 25 == 24 && gmax)
			ev = gmax - 5000 - (rnd >> 9) % 4000;
		int no_ts = on_key && k % 40 == 39 ? (int)(k % 80 == 79) + 1 : 0;
		rec(id, lat, ev, no_ts);
		struct dp_fx fx = fx_at(now);
		sp_shard_record(sh[pick_shard(k, nshards, assign, rnd)], &fx, -1);
		if (no_ts) {
			no_time++;
			continue;
		}
		bool is_late = false;
		uint64_t a = (uint64_t)adv * 1000, sz = (uint64_t)size * 1000;
		for (uint64_t st = ev / a * a; st + sz > ev; st -= a) {
			if (st + sz <= wm) {
				is_late = true;
				continue;
			}
			assert_true(st >= base && (st - base) / a < NW);
			agg_add(&want_w[(st - base) / a][id], lat, ev);
		}
		late += is_late;
		if (ev > gmax)
			gmax = ev;
	}
	/* Input stops: the watermark follows the wall clock after SP_IDLE_S;
	 * every window must come out without the final tick, even those
	 * of shards that had no record (assign 2). */
	for (unsigned i = 0; i < 200; i++) {
		now += 50 * MS;
		tick_all(sh, nshards, now, false);
	}
	unsigned expected = 0;
	for (unsigned w = 0; w < NW; w++)
		for (unsigned id = 0; id < NID; id++)
			expected += want_w[w][id].n != 0;
	assert_int_equal(t_out.c.nrecs, expected);
	tick_all(sh, nshards, now, true);
	assert_int_equal(t_out.c.nrecs, expected);
	for (unsigned r = 0; r < t_out.c.nrecs; r++) {
		uint64_t end_ms = (uint64_t)t_out.c.recs[r].ts_sec * 1000 + t_out.c.recs[r].ts_nsec / MS;
		uint64_t st = end_ms - (uint64_t)size * 1000;
		assert_true(st >= base && (st - base) % (adv * 1000) == 0);
		check_res(r, &want_w[(st - base) / (adv * 1000)][res_ident(r)]);
	}
	struct sp_stats s;
	sp_engine_stats(e, 0, &s);
	assert_int_equal(s.records_in, NREC);
	assert_true(late > 50);
	assert_int_equal(s.late, late);
	assert_int_equal(s.no_time, no_time);
	assert_int_equal(s.groups_dropped, 0);
	for (unsigned i = 0; i < nshards; i++)
		sp_shard_destroy(sh[i]);
	sp_engine_destroy(e);
}

static void test_evt_tumbling(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= 4; n *= 2)
		for (int a = 0; a < 3; a++) {
			run_evt(n, a, 1, 1, 2, true);
			run_evt(n, a, 2, 2, 0, false);
		}
}

static void test_evt_hopping(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= 4; n *= 2)
		for (int a = 0; a < 3; a++)
			run_evt(n, a, 3, 1, 2, n == 2);
}

/* ---- sessions ---- */

#define NSES 400
static struct agg want_s[NID][NSES];
static unsigned nwant_s[NID];
static bool got_s[NID][NSES];

/* Fold a record (time t ns, sorted per group by the caller's model) into
 * the group's sessions. Records of a group may come out of order, so the
 * model keeps every accepted (t, v) and builds sessions at the end. */
struct tv {
	uint64_t t;
	int64_t v;
};
static struct tv acc[NID][NREC];
static unsigned nacc[NID];

static int tv_cmp(const void *a, const void *b)
{
	const struct tv *x = a, *y = b;
	return x->t < y->t ? -1 : x->t > y->t;
}

static void build_sessions(uint64_t gap)
{
	memset(want_s, 0, sizeof(want_s));
	for (unsigned id = 0; id < NID; id++) {
		qsort(acc[id], nacc[id], sizeof(acc[id][0]), tv_cmp);
		nwant_s[id] = 0;
		for (unsigned i = 0; i < nacc[id]; i++) {
			if (i == 0 || acc[id][i].t - acc[id][i - 1].t > gap)
				nwant_s[id]++;
			assert_true(nwant_s[id] <= NSES);
			agg_add(&want_s[id][nwant_s[id] - 1], acc[id][i].v, acc[id][i].t);
		}
	}
}

/* Every result is one expected session (its time = last + gap), each
 * expected session comes out once. */
static void check_sessions(uint64_t gap)
{
	unsigned expected = 0;
	memset(got_s, 0, sizeof(got_s));
	for (unsigned id = 0; id < NID; id++)
		expected += nwant_s[id];
	assert_true(expected >= 3 * NID); /* quiet spells did split sessions */
	for (unsigned r = 0; r < t_out.c.nrecs; r++) {
		unsigned id = res_ident(r);
		uint64_t t = (uint64_t)t_out.c.recs[r].ts_sec * SEC + t_out.c.recs[r].ts_nsec;
		unsigned j = NSES;
		for (unsigned s = 0; s < nwant_s[id]; s++)
			if (want_s[id][s].last + gap == t)
				j = s;
		if (j == NSES)
			fail_msg("result %u (%s, time %llu): no such session", r, ids[id], (unsigned long long)t);
		assert_false(got_s[id][j]);
		got_s[id][j] = true;
		check_res(r, &want_s[id][j]);
	}
	assert_int_equal(t_out.c.nrecs, expected);
}

/* Group `id` is quiet (sends nothing) while (t_s / (5 + id)) % 3 == 0:
 * quiet spells of 5+ s, longer than the 4 s gap, end its sessions. */
static bool quiet(unsigned id, uint64_t t_ms)
{
	return (t_ms / 1000 / (5 + id)) % 3 == 0;
}

static void run_sessions(unsigned nshards, int assign, bool evt)
{
	const uint64_t gap = 4 * SEC;
	const char *sql = evt ? "SELECT ident, COUNT(*), SUM(latency), MIN(latency), MAX(latency) FROM TAG:'app.*' "
				"WINDOW SESSION (4 SECOND) ON RECORD_TIME() LATENESS (1 SECOND) GROUP BY ident"
			      : "SELECT ident, COUNT(*), SUM(latency), MIN(latency), MAX(latency) FROM TAG:'app.*' "
				"WINDOW SESSION (4 SECOND) GROUP BY ident";
	const char *names[] = { "s" };
	struct dp_err err;
	struct sp_engine *e = t_engine(names, &sql, 1, nshards, &err);
	if (!e)
		fail_msg("%s", err.msg);
	struct sp_shard *sh[4];
	for (unsigned i = 0; i < nshards; i++)
		sh[i] = sp_shard_create(e, i);
	t_out_reset();
	memset(nacc, 0, sizeof(nacc));
	uint32_t rnd = 99u + nshards + (uint32_t)assign * 7u;
	uint64_t now = TN, wm = 0, gmax = 0, late = 0, sent = 0;
	/* 20 ms of time per record: 60 s */
	for (unsigned k = 0; k < NREC; k++) {
		if (k && k % 10 == 0) {
			tick_all(sh, nshards, now, false);
			if (gmax > SEC && gmax - SEC > wm)
				wm = gmax - SEC;    /* LATENESS 1 s */
		}
		now += 20 * MS;
		rnd = rnd * 1103515245u + 12345u;
		unsigned id = (rnd >> 16) % NID;
		int64_t lat = (int64_t)((rnd >> 6) % 1000) - 200;
		/* event time: ms, out of order by up to 0.8 s; 1 in 30 late */
		uint64_t ev = E0_MS + (uint64_t)k * 20 + (rnd >> 3) % 801 - 800;
		if (evt && k % 30 == 29 && gmax)
			ev = gmax / MS - 2500 - (rnd >> 9) % 3000;
		uint64_t t = evt ? ev * MS : now;
		if (quiet(id, t / MS))
			continue;
		rec(id, lat, ev, 0);
		struct dp_fx fx = fx_at(now);
		sp_shard_record(sh[pick_shard(k, nshards, assign, rnd)], &fx, -1);
		sent++;
		/* buckets of 1 s (4 s / 4): a record whose bucket the
		 * watermark closed is late */
		if (evt && t / SEC * SEC + SEC <= wm) {
			late++;
			continue;
		}
		acc[id][nacc[id]++] = (struct tv){ t, lat };
		if (evt && t > gmax)
			gmax = t;
	}
	build_sessions(gap);
	for (unsigned i = 0; i < 300; i++) {
		now += 50 * MS;
		tick_all(sh, nshards, now, false);
	}
	check_sessions(gap);
	tick_all(sh, nshards, now, true);
	check_sessions(gap);
	struct sp_stats s;
	sp_engine_stats(e, 0, &s);
	assert_int_equal(s.records_in, sent);
	assert_int_equal(s.late, late);
	if (evt)
		assert_true(late > 20);
	assert_int_equal(s.groups_dropped, 0);
	for (unsigned i = 0; i < nshards; i++)
		sp_shard_destroy(sh[i]);
	sp_engine_destroy(e);
}

static void test_sessions_processing_time(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= 4; n *= 2)
		for (int a = 0; a < 3; a++)
			run_sessions(n, a, false);
}

static void test_sessions_event_time(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= 4; n *= 2)
		for (int a = 0; a < 3; a++)
			run_sessions(n, a, true);
}

/* A worked example: gap 10 s, one group; times 0, 4, 30 (shard 0) and
 * 8, 17 (shard 1): sessions {0,4,8,17} and {30}; 17 only reaches 4..8
 * through shard 1's 8, so neither shard alone could tell. */
static void test_session_bridge(void **state)
{
	(void)state;
	const char *sql = "SELECT COUNT(*) AS n, SUM(latency) AS s FROM TAG:'*' "
			  "WINDOW SESSION (10 SECOND) ON ts";
	const char *names[] = { "s" };
	struct dp_err err;
	struct sp_engine *e = t_engine(names, &sql, 1, 2, &err);
	assert_non_null(e);
	struct sp_shard *sh[2] = { sp_shard_create(e, 0), sp_shard_create(e, 1) };
	static const unsigned at[] = { 0, 4, 30, 8, 17 }, on[] = { 0, 0, 0, 1, 1 };
	for (unsigned i = 0; i < 5; i++) {
		rec(0, (int64_t)at[i], E0_MS + at[i] * 1000ull, 0);
		struct dp_fx fx = fx_at(TN);
		sp_shard_record(sh[on[i]], &fx, -1);
	}
	tick_all(sh, 2, TN + 50 * MS, true);
	assert_int_equal(t_out.c.nrecs, 2);
	unsigned first = t_out.c.recs[0].ts_sec < t_out.c.recs[1].ts_sec ? 0 : 1;
	msgpack_unpacked u;
	msgpack_object m = t_result(&u, first);
	assert_true(t_num(t_get(&m, "n")) == 4 && t_num(t_get(&m, "s")) == 29);
	assert_int_equal(t_out.c.recs[first].ts_sec, E0_MS / 1000 + 27); /* last 17 + gap 10 */
	msgpack_unpacked_destroy(&u);
	m = t_result(&u, !first);
	assert_true(t_num(t_get(&m, "n")) == 1 && t_num(t_get(&m, "s")) == 30);
	msgpack_unpacked_destroy(&u);
	sp_shard_destroy(sh[0]);
	sp_shard_destroy(sh[1]);
	sp_engine_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_startup_errors),
		cmocka_unit_test_setup(test_evt_tumbling, setup),
		cmocka_unit_test_setup(test_evt_hopping, setup),
		cmocka_unit_test_setup(test_sessions_processing_time, setup),
		cmocka_unit_test_setup(test_sessions_event_time, setup),
		cmocka_unit_test_setup(test_session_bridge, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
