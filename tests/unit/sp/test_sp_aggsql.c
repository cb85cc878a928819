/*
 * test_sp_aggsql.c — COUNT(DISTINCT), PERCENTILE and numeric strings in
 * SQL: parsing (names, errors), and windows fed over 1, 2 and 4 shards
 * whose results are checked against values computed here from the same
 * records: distinct counts exact below 384 and within 3 standard errors
 * above, identical whatever the number of shards; percentiles within 1%
 * of the exact ones (percentile_disc), identical whatever the sharding;
 * SUM/AVG/MIN/MAX over syslog-style string fields, non-numeric strings
 * left out.
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

static struct dp_rec in_recs[DP_CHUNK_RECS];
static struct dp_field in_fields[DP_CHUNK_FIELDS];
static uint8_t in_data[DP_CHUNK_DATA];
static struct dp_chunk in;

#define SEC 1000000000ull
#define T0 (1700000000ull * SEC)

static int setup(void **state)
{
	(void)state;
	dp_chunk_init(&in, in_recs, in_fields, in_data);
	t_out_reset();
	return 0;
}

static struct dp_fx fx_for(uint64_t now)
{
	struct dp_fx fx = { .c = &in, .tag = "syslog.x", .tag_len = 8, .now_real_ns = now,
			    .emit = t_emit };
	return fx;
}

/* A syslog-like record: every field a string. */
static void rec(const char *ident, const char *user, const char *lat)
{
	if (in.nrecs == DP_CHUNK_RECS || in.data_len > DP_CHUNK_DATA - 512)
		dp_chunk_reset(&in);
	dp_chunk_rec_begin(&in, 1700000000u, 5);
	dp_chunk_put_str(&in, "ident", 5, ident, strlen(ident));
	if (user)
		dp_chunk_put_str(&in, "user", 4, user, strlen(user));
	if (lat)
		dp_chunk_put_str(&in, "lat", 3, lat, strlen(lat));
	assert_int_equal(dp_chunk_rec_end(&in), 0);
}

static struct sp_engine *engine1(const char *exec, unsigned nshards)
{
	const char *names[] = { "q" };
	struct dp_err err;
	struct sp_engine *e = t_engine(names, &exec, 1, nshards, &err);
	if (!e)
		fail_msg("%s", err.msg);
	return e;
}

static void test_parse(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	const char *ok = "SELECT COUNT(DISTINCT user), count(distinct m['a']), PERCENTILE(lat, 0.95), "
			 "PERCENTILE(lat, 1), COUNT(distinct) FROM TAG:'*'";
	struct sp_stmt *st = sp_parse(ok, strlen(ok), &err);
	if (!st)
		fail_msg("%s", err.msg);
	assert_int_equal(st->sel.items[0].call.fn, SP_FN_COUNT_DISTINCT);
	assert_string_equal(st->sel.items[0].call.text, "COUNT(DISTINCT user)");
	assert_string_equal(st->sel.items[1].call.text, "COUNT(DISTINCT m['a'])");
	assert_int_equal(st->sel.items[2].call.fn, SP_FN_PERCENTILE);
	assert_string_equal(st->sel.items[2].call.text, "PERCENTILE(lat, 0.95)");
	assert_true(st->sel.items[2].call.arg2 == 0.95);
	assert_string_equal(st->sel.items[3].call.text, "PERCENTILE(lat, 1)");
	/* a key named distinct is still a key */
	assert_int_equal(st->sel.items[4].call.fn, SP_FN_COUNT);
	assert_string_equal(st->sel.items[4].call.key.name, "distinct");
	sp_stmt_free(st);
	static const struct {
		const char *sql, *msg;
	} bad[] = {
		{ "SELECT PERCENTILE(lat, 95) FROM TAG:'*'",
		  "line 1, column 24: PERCENTILE takes a fraction from 0 to 1 (0.95 for the 95th percentile), got 95" },
		{ "SELECT PERCENTILE(lat, -0.5) FROM TAG:'*'", "PERCENTILE takes a fraction" },
		{ "SELECT PERCENTILE(lat) FROM TAG:'*'", "expected ',', got ')'" },
		{ "SELECT PERCENTILE(lat, 'x') FROM TAG:'*'", "expected a fraction from 0 to 1" },
		{ "SELECT PERCENTILE(*, 0.5) FROM TAG:'*'", "expected a key" },
		{ "SELECT COUNT(DISTINCT *) FROM TAG:'*'", "expected ')'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		st = sp_parse(bad[i].sql, strlen(bad[i].sql), &err);
		if (st)
			fail_msg("accepted: %s", bad[i].sql);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("%s\n  got:  %s\n  want: %s", bad[i].sql, err.msg, bad[i].msg);
	}
	/* planner: aggregates, so keys must be grouped; HAVING finds them */
	const char *names[] = { "t" };
	const char *e1 = "SELECT ident, PERCENTILE(lat, 0.5) FROM TAG:'*'";
	assert_null(t_engine(names, &e1, 1, 1, &err));
	assert_non_null(strstr(err.msg, "'ident' must appear in GROUP BY"));
	const char *e2 = "SELECT PERCENTILE(lat, 0.5) FROM TAG:'*' WHERE PERCENTILE(lat, 0.5) > 1";
	assert_null(t_engine(names, &e2, 1, 1, &err));
	assert_non_null(strstr(err.msg, "not allowed in WHERE"));
	const char *e3 = "SELECT ident, PERCENTILE(lat, 0.50), COUNT(DISTINCT user) FROM TAG:'*' "
			 "GROUP BY ident HAVING PERCENTILE(lat, 0.5) > 1 AND COUNT(DISTINCT user) > 2";
	struct sp_engine *e = t_engine(names, &e3, 1, 1, &err);
	if (!e)
		fail_msg("%s", err.msg);
	sp_engine_destroy(e);
}

/* ---- windows over shards ---- */

#define NG 3
static const char *const groups[NG] = { "small", "mid", "big" };
static const unsigned users_in[NG] = { 7, 384, 20000 };  /* distinct users per group */
#define NREC 60000

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double exact_q(const double *sorted, size_t n, double q)
{
	double rr = ceil(q * (double)n);
	size_t rank = rr < 1 ? 1 : rr > (double)n ? n : (size_t)rr;
	return sorted[rank - 1];
}

struct got {
	int64_t distinct;
	double p50, p99, sum, avg, min, max;
	int64_t n, nlat;
};

/* Every record in one 1 s window, spread over nshards (pseudo-random). */
static void run(unsigned nshards, struct got out[NG], double *lat[NG], size_t nlat[NG])
{
	struct sp_engine *e = engine1(
		"SELECT ident, COUNT(*) AS n, COUNT(lat) AS nlat, COUNT(DISTINCT user) AS users, "
		"PERCENTILE(lat, 0.5) AS p50, PERCENTILE(lat, 0.99), SUM(lat), AVG(lat), MIN(lat), "
		"MAX(lat) FROM TAG:'syslog.*' WINDOW TUMBLING (1 SECOND) GROUP BY ident", nshards);
	struct sp_shard *sh[4];
	for (unsigned i = 0; i < nshards; i++)
		sh[i] = sp_shard_create(e, i);
	t_out_reset();
	uint32_t rnd = 4242;
	for (unsigned g = 0; g < NG; g++)
		nlat[g] = 0;
	for (unsigned k = 0; k < NREC; k++) {
		rnd = rnd * 1103515245u + 12345u;
		unsigned g = k % NG;
		char user[32], lbuf[32];
		/* each group's users all appear: the first users_in[g] records
		 * of the group name them in turn, then at random */
		unsigned u = k / NG < users_in[g] ? k / NG : (rnd >> 8) % users_in[g];
		snprintf(user, sizeof(user), "user-%u", u);
		const char *l = lbuf;
		unsigned kind = (rnd >> 4) % 20;
		double v = 0;
		if (kind == 0) {
			l = "n/a";                       /* not a number: left out */
		} else if (kind == 1) {
			l = NULL;                        /* missing */
		} else if (kind < 10) {
			v = (double)((rnd >> 10) % 5000 + 1);
			snprintf(lbuf, sizeof(lbuf), "%.0f", v);     /* "123" */
		} else {
			v = (double)((rnd >> 10) % 50000) / 10.0 + 0.05;
			snprintf(lbuf, sizeof(lbuf), "%.2f", v);     /* "12.35" */
			v = strtod(lbuf, NULL);
		}
		if (l == lbuf)
			lat[g][nlat[g]++] = v;
		rec(groups[g], user, l);
		struct dp_fx fx = fx_for(T0 + 1000 + (uint64_t)k * 10000);  /* all in [T0, T0+1s) */
		sp_shard_record(sh[(rnd >> 20) % nshards], &fx, -1);
	}
	for (int i = (int)nshards - 1; i >= 0; i--) {
		struct dp_fx fx = fx_for(T0 + 2 * SEC);
		sp_shard_tick(sh[i], &fx, true);
	}
	assert_int_equal(t_out.c.nrecs, NG);
	memset(out, 0, NG * sizeof(*out));
	for (unsigned r = 0; r < t_out.c.nrecs; r++) {
		msgpack_unpacked u;
		msgpack_object m = t_result(&u, r);
		unsigned g = NG;
		for (unsigned i = 0; i < NG; i++)
			if (t_str_eq(t_get(&m, "ident"), groups[i]))
				g = i;
		assert_true(g < NG);
		const msgpack_object *users = t_get(&m, "users");
		assert_non_null(users);
		assert_int_equal(users->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
		out[g].distinct = (int64_t)users->via.u64;
		out[g].n = (int64_t)t_num(t_get(&m, "n"));
		out[g].nlat = (int64_t)t_num(t_get(&m, "nlat"));
		out[g].p50 = t_num(t_get(&m, "p50"));
		out[g].p99 = t_num(t_get(&m, "PERCENTILE(lat, 0.99)"));
		out[g].sum = t_num(t_get(&m, "SUM(lat)"));
		out[g].avg = t_num(t_get(&m, "AVG(lat)"));
		out[g].min = t_num(t_get(&m, "MIN(lat)"));
		out[g].max = t_num(t_get(&m, "MAX(lat)"));
		/* mixed "123" and "1.5": float results */
		assert_int_equal(t_get(&m, "SUM(lat)")->type, MSGPACK_OBJECT_FLOAT64);
		msgpack_unpacked_destroy(&u);
	}
	struct sp_stats st;
	sp_engine_stats(e, 0, &st);
	assert_int_equal(st.records_in, NREC);
	assert_int_equal(st.groups_dropped + st.late, 0);
	for (unsigned i = 0; i < nshards; i++)
		sp_shard_destroy(sh[i]);
	sp_engine_destroy(e);
}

static void test_shards(void **state)
{
	(void)state;
	static double lat_store[NG][NREC];
	double *lat[NG];
	size_t nlat[NG];
	struct got ref[NG], got[NG];
	for (unsigned g = 0; g < NG; g++)
		lat[g] = lat_store[g];
	run(1, ref, lat, nlat);
	const double se = 1.04 / sqrt(4096.0);
	for (unsigned g = 0; g < NG; g++) {
		qsort(lat[g], nlat[g], sizeof(double), cmp_d);
		double want50 = exact_q(lat[g], nlat[g], 0.5), want99 = exact_q(lat[g], nlat[g], 0.99);
		double sum = 0;
		for (size_t i = 0; i < nlat[g]; i++)
			sum += lat[g][i];
		assert_int_equal(ref[g].n, NREC / NG);
		/* COUNT(lat) counts "n/a" too: it holds a value */
		assert_true(ref[g].nlat > (int64_t)nlat[g]);
		if (users_in[g] <= 384) {
			assert_int_equal(ref[g].distinct, users_in[g]);
		} else if (fabs((double)ref[g].distinct - users_in[g]) > 3 * se * users_in[g]) {
			fail_msg("distinct %lld, want %u +- 3 x %.4f", (long long)ref[g].distinct,
				 users_in[g], se);
		}
		if (fabs(ref[g].p50 - want50) > 0.01 * want50 || fabs(ref[g].p99 - want99) > 0.01 * want99)
			fail_msg("%s: p50 %f (exact %f), p99 %f (exact %f)", groups[g], ref[g].p50, want50,
				 ref[g].p99, want99);
		assert_true(fabs(ref[g].sum - sum) < 1e-6 * sum);
		assert_true(fabs(ref[g].avg - sum / (double)nlat[g]) < 1e-6 * ref[g].avg);
		assert_true(ref[g].min == lat[g][0]);
		assert_true(ref[g].max == lat[g][nlat[g] - 1]);
	}
	for (unsigned n = 2; n <= 4; n *= 2) {
		run(n, got, lat, nlat);
		for (unsigned g = 0; g < NG; g++) {
			/* the sketches merge into the same sketch: same answers */
			assert_int_equal(got[g].distinct, ref[g].distinct);
			assert_true(got[g].p50 == ref[g].p50);
			assert_true(got[g].p99 == ref[g].p99);
			assert_true(got[g].n == ref[g].n && got[g].nlat == ref[g].nlat);
			assert_true(fabs(got[g].sum - ref[g].sum) < 1e-6 * ref[g].sum);
			assert_true(got[g].min == ref[g].min && got[g].max == ref[g].max);
		}
	}
}

/* Integer strings stay integers; a group with no number gives null. */
static void test_numeric_strings(void **state)
{
	(void)state;
	struct sp_engine *e = engine1("SELECT ident, SUM(lat), MIN(lat), MAX(lat), AVG(lat), "
				      "PERCENTILE(lat, 0.5), COUNT(DISTINCT lat) FROM TAG:'*' "
				      "WINDOW TUMBLING (1 SECOND) GROUP BY ident", 1);
	struct sp_shard *s = sp_shard_create(e, 0);
	t_out_reset();
	const char *a[] = { "12", "30", " 8 ", "x", "12" };
	for (unsigned i = 0; i < 5; i++) {
		rec("a", NULL, a[i]);
		struct dp_fx fx = fx_for(T0 + i);
		sp_shard_record(s, &fx, -1);
	}
	rec("b", NULL, "none");
	struct dp_fx fx = fx_for(T0 + 10);
	sp_shard_record(s, &fx, -1);
	fx = fx_for(T0 + 2 * SEC);
	sp_shard_tick(s, &fx, true);
	assert_int_equal(t_out.c.nrecs, 2);
	for (unsigned r = 0; r < 2; r++) {
		msgpack_unpacked u;
		msgpack_object m = t_result(&u, r);
		if (t_str_eq(t_get(&m, "ident"), "a")) {
			assert_int_equal(t_get(&m, "SUM(lat)")->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
			assert_true(t_num(t_get(&m, "SUM(lat)")) == 62);
			assert_int_equal(t_get(&m, "MIN(lat)")->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
			assert_true(t_num(t_get(&m, "MIN(lat)")) == 8);
			assert_true(t_num(t_get(&m, "MAX(lat)")) == 30);
			assert_true(t_num(t_get(&m, "AVG(lat)")) == 15.5);
			/* sorted 8 12 12 30: rank ceil(0.5 x 4) = 2 -> 12, within 1% */
			assert_true(fabs(t_num(t_get(&m, "PERCENTILE(lat, 0.5)")) - 12) <= 0.12);
			/* distinct strings as written: "12", "30", " 8 ", "x" */
			assert_true(t_num(t_get(&m, "COUNT(DISTINCT lat)")) == 4);
		} else {
			assert_true(t_str_eq(t_get(&m, "ident"), "b"));
			assert_int_equal(t_get(&m, "AVG(lat)")->type, MSGPACK_OBJECT_NIL);
			assert_int_equal(t_get(&m, "MIN(lat)")->type, MSGPACK_OBJECT_NIL);
			assert_int_equal(t_get(&m, "PERCENTILE(lat, 0.5)")->type, MSGPACK_OBJECT_NIL);
			assert_true(t_num(t_get(&m, "SUM(lat)")) == 0);
			assert_true(t_num(t_get(&m, "COUNT(DISTINCT lat)")) == 1);
		}
		msgpack_unpacked_destroy(&u);
	}
	sp_shard_destroy(s);
	sp_engine_destroy(e);
}

/* Session windows hold sketches too: two sessions per ident (a 5 s pause
 * between them, gap 2 s), the same answers on 1, 2 and 4 shards, and the
 * distinct counts exact (few users). */
static void run_sessions(unsigned nshards, double res[2][2][3])
{
	struct sp_engine *e = engine1("SELECT ident, COUNT(*) AS n, COUNT(DISTINCT user) AS users, "
				      "PERCENTILE(lat, 0.5) AS p50 FROM TAG:'*' "
				      "WINDOW SESSION (2 SECOND) GROUP BY ident", nshards);
	struct sp_shard *sh[4];
	for (unsigned i = 0; i < nshards; i++)
		sh[i] = sp_shard_create(e, i);
	t_out_reset();
	uint32_t rnd = 77;
	/* session 0: T0 .. T0+3 s; session 1: T0+8 s .. T0+9 s; 100 ms apart */
	for (unsigned k = 0; k < 60; k++) {
		uint64_t at = k < 40 ? T0 + (uint64_t)k * SEC / 10 : T0 + 8 * SEC + (uint64_t)(k - 40) * SEC / 20;
		for (unsigned g = 0; g < 2; g++) {
			rnd = rnd * 1103515245u + 12345u;
			char user[32], lat[32];
			snprintf(user, sizeof(user), "u%u", (k < 40 ? 0 : 100) + k % (g ? 5 : 11));
			snprintf(lat, sizeof(lat), "%u", 10 + k);
			rec(g ? "b" : "a", user, lat);
			struct dp_fx fx = fx_for(at);
			sp_shard_record(sh[(rnd >> 16) % nshards], &fx, -1);
		}
	}
	for (int i = (int)nshards - 1; i >= 0; i--) {
		struct dp_fx fx = fx_for(T0 + 20 * SEC);
		sp_shard_tick(sh[i], &fx, true);
	}
	assert_int_equal(t_out.c.nrecs, 4);
	unsigned seen[2] = { 0, 0 };
	for (unsigned r = 0; r < t_out.c.nrecs; r++) {
		msgpack_unpacked u;
		msgpack_object m = t_result(&u, r);
		unsigned g = t_str_eq(t_get(&m, "ident"), "b");
		double n = t_num(t_get(&m, "n"));
		unsigned si = n == 40 ? 0 : 1;   /* session 0 has 40 records, 1 has 20 */
		assert_true(n == 40 || n == 20);
		res[g][si][0] = n;
		res[g][si][1] = t_num(t_get(&m, "users"));
		res[g][si][2] = t_num(t_get(&m, "p50"));
		seen[g] |= 1u << si;
		msgpack_unpacked_destroy(&u);
	}
	assert_int_equal(seen[0], 3);
	assert_int_equal(seen[1], 3);
	for (unsigned i = 0; i < nshards; i++)
		sp_shard_destroy(sh[i]);
	sp_engine_destroy(e);
}

static void test_sessions_with_sketches(void **state)
{
	(void)state;
	double ref[2][2][3], got[2][2][3];
	run_sessions(1, ref);
	/* distinct users: a cycles 11, b 5, per session (k % n over its k) */
	assert_true(ref[0][0][1] == 11 && ref[1][0][1] == 5);
	assert_true(ref[0][1][1] == 11 && ref[1][1][1] == 5);
	/* lat 10+k: session 0 holds 10..49 (median rank 20 -> 29), 1 holds
	 * 50..69 (rank 10 -> 59); within 1% */
	assert_true(fabs(ref[0][0][2] - 29) <= 0.29 && fabs(ref[0][1][2] - 59) <= 0.59);
	for (unsigned n = 2; n <= 4; n *= 2) {
		run_sessions(n, got);
		assert_memory_equal(got, ref, sizeof(ref));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_parse, setup),
		cmocka_unit_test_setup(test_shards, setup),
		cmocka_unit_test_setup(test_numeric_strings, setup),
		cmocka_unit_test_setup(test_sessions_with_sketches, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
