/*
 * test_sp_exec.c — running queries: WHERE on records (nested keys, missing
 * keys, types), non-aggregating results, tumbling and hopping windows with
 * 1, 2 and 4 shards checked against results computed here from the same
 * input, a CREATE STREAM feeding a second query, HAVING, LIMIT and the
 * group limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <cmocka.h>
#include "sp_test.h"

static struct dp_rec in_recs[DP_CHUNK_RECS];
static struct dp_field in_fields[DP_CHUNK_FIELDS];
static uint8_t in_data[DP_CHUNK_DATA];
static struct dp_chunk in;

#define SEC 1000000000ull
#define T0 (1700000000ull * SEC)

static struct dp_fx fx_for(uint64_t now, const char *tag)
{
	struct dp_fx fx = { .c = &in, .tag = tag, .tag_len = strlen(tag), .now_real_ns = now,
			    .emit = t_emit };
	return fx;
}

/* A record: ident, latency (int), level, and map {"a": {"b": ident}}. */
static void rec(const char *ident, int64_t lat, const char *level)
{
	if (in.nrecs == DP_CHUNK_RECS || in.data_len > DP_CHUNK_DATA - 512)
		dp_chunk_reset(&in);
	dp_chunk_rec_begin(&in, 1700000000u, 5);
	dp_chunk_put_str(&in, "ident", 5, ident, strlen(ident));
	dp_chunk_put_int(&in, "latency", 7, lat);
	if (level)
		dp_chunk_put_str(&in, "level", 5, level, strlen(level));
	dp_chunk_field_begin(&in, "map", 3);
	uint32_t h = dp_mp_map_open(&in);
	dp_mp_str(&in, "a", 1);
	uint32_t h2 = dp_mp_map_open(&in);
	dp_mp_str(&in, "b", 1);
	dp_mp_str(&in, ident, strlen(ident));
	dp_mp_container_patch(&in, h2, 1);
	dp_mp_container_patch(&in, h, 1);
	dp_chunk_field_end(&in, DP_T_MAP);
	assert_int_equal(dp_chunk_rec_end(&in), 0);
}

static int setup(void **state)
{
	(void)state;
	dp_chunk_init(&in, in_recs, in_fields, in_data);
	t_out_reset();
	return 0;
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

/* How many records pass WHERE of a plain SELECT. */
static unsigned where_count(const char *cond)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT ident FROM TAG:'app.*' WHERE %s", cond);
	struct sp_engine *e = engine1(sql, 1);
	struct sp_shard *s = sp_shard_create(e, 0);
	t_out_reset();
	struct dp_fx fx = fx_for(T0, "app.x");
	dp_chunk_reset(&in);
	rec("alpha", 10, "ERROR");
	sp_shard_record(s, &fx, -1);
	rec("beta", 20, "info");
	sp_shard_record(s, &fx, -1);
	rec("gamma", 30, NULL);
	sp_shard_record(s, &fx, -1);
	unsigned n = t_out.c.nrecs;
	sp_shard_destroy(s);
	sp_engine_destroy(e);
	return n;
}

static void test_where(void **state)
{
	(void)state;
	assert_int_equal(where_count("level = 'ERROR'"), 1);
	assert_int_equal(where_count("level != 'ERROR'"), 1);  /* missing is not != */
	assert_int_equal(where_count("level <> 'ERROR' OR level IS NULL"), 2);
	assert_int_equal(where_count("latency > 10"), 2);
	assert_int_equal(where_count("latency >= 10.0 AND latency < 30"), 2);
	assert_int_equal(where_count("25 < latency"), 1);
	assert_int_equal(where_count("NOT (latency = 20)"), 2);
	assert_int_equal(where_count("level IS NOT NULL"), 2);
	assert_int_equal(where_count("@record.contains(level)"), 2);
	assert_int_equal(where_count("@record.contains(nope)"), 0);
	assert_int_equal(where_count("map['a']['b'] = 'beta'"), 1);
	assert_int_equal(where_count("map['a']['x'] IS NULL"), 3);
	assert_int_equal(where_count("ident['a'] = 'x'"), 0);   /* not a map */
	assert_int_equal(where_count("latency = 'x'"), 0);      /* types differ */
	assert_int_equal(where_count("ident < 'b'"), 1);        /* bytewise */
	assert_int_equal(where_count("ident = map['a']['b']"), 3); /* key with key */
	assert_int_equal(where_count("nope = 1 OR true"), 3);
	/* gamma has no level: level = 'ERROR' is false, NOT of it true */
	assert_int_equal(where_count("(latency = 10 OR latency = 30) AND NOT level = 'ERROR'"), 1);
}

static void test_select_records(void **state)
{
	(void)state;
	const char *names[] = { "dbg", "mk", "both" };
	const char *execs[] = {
		("SELECT ident AS who, map['a']['b'], RECORD_TAG(), UNIX_TIMESTAMP() FROM TAG:'app.*' "
		 "WHERE latency > 15"),
		"CREATE STREAM copy WITH (tag='copy.out') AS SELECT * FROM TAG:'app.*' WHERE level = 'info'",
		/* '*' beside a key it also brings: the key once, where it is
		 * written; an alias naming another key of the record wins too */
		"CREATE STREAM both WITH (tag='both.out') AS SELECT latency, *, ident AS level FROM "
		"TAG:'app.*' WHERE level = 'info'",
	};
	struct dp_err err;
	struct sp_engine *e = t_engine(names, execs, 3, 1, &err);
	assert_non_null(e);
	struct sp_shard *s = sp_shard_create(e, 0);
	struct dp_fx fx = fx_for(T0 + 7 * SEC, "app.x");
	rec("alpha", 10, "ERROR");
	sp_shard_record(s, &fx, -1);
	rec("beta", 20, "info");
	sp_shard_record(s, &fx, -1);
	fx.tag = "other";
	fx.tag_len = 5;
	sp_shard_record(s, &fx, -1); /* tag does not match */
	assert_int_equal(t_out.c.nrecs, 3);
	msgpack_unpacked u;
	msgpack_object m = t_result(&u, 0);
	assert_string_equal(t_out.tags[0], "dbg");
	assert_int_equal(m.via.map.size, 4);
	assert_true(t_str_eq(t_get(&m, "who"), "beta"));
	assert_true(t_str_eq(t_get(&m, "map['a']['b']"), "beta"));
	assert_true(t_str_eq(t_get(&m, "RECORD_TAG()"), "app.x"));
	assert_true(t_num(t_get(&m, "UNIX_TIMESTAMP()")) == 1700000007.0);
	msgpack_unpacked_destroy(&u);
	m = t_result(&u, 1);
	assert_string_equal(t_out.tags[1], "copy.out");
	assert_int_equal(m.via.map.size, 4); /* ident latency level map */
	assert_true(t_num(t_get(&m, "latency")) == 20.0);
	assert_non_null(t_get(&m, "map"));
	msgpack_unpacked_destroy(&u);
	assert_int_equal(t_out.c.recs[1].ts_sec, 1700000000u);
	m = t_result(&u, 2);
	assert_string_equal(t_out.tags[2], "both.out");
	assert_int_equal(m.via.map.size, 4);
	static const char *const order[] = { "latency", "ident", "map", "level" };
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(m.via.map.ptr[i].key.via.str.size, strlen(order[i]));
		assert_memory_equal(m.via.map.ptr[i].key.via.str.ptr, order[i], strlen(order[i]));
	}
	assert_true(t_str_eq(t_get(&m, "level"), "beta"));
	msgpack_unpacked_destroy(&u);
	sp_shard_destroy(s);
	sp_engine_destroy(e);
}

/* ---- windows against an independent computation ---- */

#define NIDENT 7
#define NREC 3000
#define NWIN 8

struct expect {
	uint64_t n;
	double sum, min, max;
};

static struct expect want[NWIN][NIDENT];

static const char *idents[NIDENT] = { "a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g" };

/* Feed NREC records over 4 s to nshards shards (assign: 0 round robin,
 * 1 pseudo-random, 2 all on the last shard), ticking every 50 ms. Window
 * of size `size` s advancing by `adv` s; compare every result. */
static void run_windows(unsigned nshards, int assign, unsigned size, unsigned adv)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "SELECT ident, COUNT(*), AVG(latency), SUM(latency), MIN(latency), MAX(latency) "
		 "FROM TAG:'app.*' WINDOW HOPPING (%u SECOND, ADVANCE BY %u SECOND) GROUP BY ident",
		 size, adv);
	struct sp_engine *e = engine1(sql, nshards);
	struct sp_shard *sh[4];
	for (unsigned i = 0; i < nshards; i++)
		sh[i] = sp_shard_create(e, i);
	t_out_reset();
	memset(want, 0, sizeof(want));
	uint32_t rnd = 12345;
	uint64_t next_tick = T0 + 50000000ull;
	for (unsigned k = 0; k < NREC; k++) {
		uint64_t t = T0 + (uint64_t)k * (4 * SEC) / NREC;
		while (next_tick <= t) {
			for (int i = (int)nshards - 1; i >= 0; i--) {
				struct dp_fx fx = fx_for(next_tick, "app.x");
				sp_shard_tick(sh[i], &fx, false);
			}
			next_tick += 50000000ull;
		}
		rnd = rnd * 1103515245u + 12345u;
		unsigned id = (rnd >> 16) % NIDENT;
		int64_t lat = (int64_t)((rnd >> 8) % 1000) - 100;
		unsigned shard = assign == 0 ? k % nshards : assign == 1 ? (rnd >> 4) % nshards
							                 : nshards - 1;
		rec(idents[id], lat, "x");
		struct dp_fx fx = fx_for(t, "app.x");
		sp_shard_record(sh[shard], &fx, -1);
		/* expected: every window [w*adv, w*adv+size) holding t */
		uint64_t rel = (t - T0) / SEC;
		for (unsigned w = 0; w < NWIN; w++) {
			uint64_t ws = (uint64_t)w * adv;
			if (rel >= ws && rel < ws + size) {
				struct expect *x = &want[w][id];
				if (x->n == 0 || lat < x->min)
					x->min = (double)lat;
				if (x->n == 0 || lat > x->max)
					x->max = (double)lat;
				x->n++;
				x->sum += (double)lat;
			}
		}
	}
	/* windows that began before T0 hold records too: T0 is a multiple of
	 * every size used here, so the windows starting before T0 are the
	 * hopping ones; account for them as negative indexes by skipping */
	for (int i = (int)nshards - 1; i >= 0; i--) {
		struct dp_fx fx = fx_for(T0 + 10 * SEC, "app.x");
		sp_shard_tick(sh[i], &fx, true);
	}
	unsigned seen = 0, expected = 0;
	for (unsigned w = 0; w < NWIN; w++)
		for (unsigned id = 0; id < NIDENT; id++)
			expected += want[w][id].n != 0;
	for (unsigned r = 0; r < t_out.c.nrecs; r++) {
		msgpack_unpacked u;
		msgpack_object m = t_result(&u, r);
		uint64_t end = t_out.c.recs[r].ts_sec * SEC;
		const msgpack_object *ido = t_get(&m, "ident");
		assert_non_null(ido);
		unsigned id = NIDENT;
		for (unsigned i = 0; i < NIDENT; i++)
			if (t_str_eq(ido, idents[i]))
				id = i;
		assert_true(id < NIDENT);
		if (end < T0 + size * SEC) {
			/* a window that began before T0 (hopping): not tracked */
			msgpack_unpacked_destroy(&u);
			continue;
		}
		unsigned w = (unsigned)((end - size * SEC - T0) / SEC / adv);
		struct expect *x = &want[w][id];
		assert_true(t_num(t_get(&m, "COUNT(*)")) == (double)x->n);
		if (t_num(t_get(&m, "SUM(latency)")) != x->sum)
			fail_msg("sum %f want %f n %f/%llu", t_num(t_get(&m, "SUM(latency)")), x->sum, t_num(t_get(&m, "COUNT(*)")), (unsigned long long)x->n);
		assert_true(fabs(t_num(t_get(&m, "AVG(latency)")) - x->sum / (double)x->n) < 1e-9);
		assert_true(t_num(t_get(&m, "MIN(latency)")) == x->min);
		assert_true(t_num(t_get(&m, "MAX(latency)")) == x->max);
		assert_string_equal(t_out.tags[r], "q");
		seen++;
		msgpack_unpacked_destroy(&u);
	}
	assert_int_equal(seen, expected);
	struct sp_stats st;
	sp_engine_stats(e, 0, &st);
	assert_int_equal(st.records_in, NREC);
	assert_int_equal(st.late + st.groups_dropped, 0);
	for (unsigned i = 0; i < nshards; i++)
		sp_shard_destroy(sh[i]);
	sp_engine_destroy(e);
}

static void test_tumbling_shards(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= 4; n *= 2)
		for (int a = 0; a < 3; a++)
			run_windows(n, a, 1, 1);
}

static void test_hopping_shards(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= 4; n *= 2)
		for (int a = 0; a < 3; a++)
			run_windows(n, a, 2, 1);
}

/* CREATE STREAM results fed to a second query (origin = task 0). */
static void test_stream_chain(void **state)
{
	(void)state;
	const char *names[] = { "agg", "big" };
	const char *execs[] = {
		("CREATE STREAM per_ident WITH (tag='sql.per_ident') AS SELECT ident, COUNT(*) AS n "
		 "FROM TAG:'app.*' WINDOW TUMBLING (1 SECOND) GROUP BY ident HAVING n >= 2"),
		"SELECT ident, n FROM STREAM:per_ident WHERE n > 2",
	};
	struct dp_err err;
	struct sp_engine *e = t_engine(names, execs, 2, 1, &err);
	assert_non_null(e);
	struct sp_shard *s = sp_shard_create(e, 0);
	const char *seq[] = { "a", "a", "a", "b", "b", "c" };
	for (unsigned i = 0; i < 6; i++) {
		struct dp_fx fx = fx_for(T0 + 100000000ull * i, "app.x");
		rec(seq[i], 1, NULL);
		sp_shard_record(s, &fx, -1);
	}
	struct dp_fx fx = fx_for(T0 + SEC, "app.x");
	sp_shard_tick(s, &fx, false);
	assert_int_equal(t_out.c.nrecs, 2); /* a (3) and b (2); c dropped by HAVING */
	assert_string_equal(t_out.tags[0], "sql.per_ident");
	/* feed them back as the integrator does */
	unsigned n = t_out.c.nrecs;
	for (unsigned i = 0; i < n; i++) {
		struct dp_chunk view = t_out.c;
		view.nrecs = i + 1;
		struct dp_fx f2 = fx_for(T0 + SEC, "sql.per_ident");
		f2.c = &view;
		sp_shard_record(s, &f2, 0);
	}
	assert_int_equal(t_out.c.nrecs, 3);
	assert_string_equal(t_out.tags[2], "big");
	msgpack_unpacked u;
	msgpack_object m = t_result(&u, 2);
	assert_true(t_str_eq(t_get(&m, "ident"), "a"));
	assert_true(t_num(t_get(&m, "n")) == 3.0);
	msgpack_unpacked_destroy(&u);
	sp_shard_destroy(s);
	sp_engine_destroy(e);
}

static void test_limit_groups_forecast(void **state)
{
	(void)state;
	const char *names[] = { "lim", "few", "fc" };
	const char *execs[] = {
		("SELECT map['a']['b'] AS k, COUNT(*) FROM TAG:'*' WINDOW TUMBLING (1 SECOND) "
		 "GROUP BY map['a']['b'] LIMIT 2"),
		"SELECT ident, COUNT(*) FROM TAG:'*' WINDOW TUMBLING (1 SECOND) GROUP BY ident",
		"SELECT TIMESERIES_FORECAST(latency, 10) AS f FROM TAG:'*' WINDOW TUMBLING (1 SECOND)",
	};
	struct dp_conf *conf = dp_conf_create();
	for (unsigned i = 0; i < 3; i++) {
		struct dp_conf_section *sec = dp_conf_section_add(conf, "STREAM_TASK", "s.conf", 1);
		dp_conf_kv_add(conf, sec, "Name", names[i], "s.conf", 2);
		dp_conf_kv_add(conf, sec, "Exec", execs[i], "s.conf", 3);
		if (i == 1)
			dp_conf_kv_add(conf, sec, "Max_Groups", "2", "s.conf", 4);
	}
	const struct dp_conf_section *secs[3] = { &conf->sec[0], &conf->sec[1], &conf->sec[2] };
	struct dp_err err;
	struct sp_engine *e = sp_engine_create(secs, 3, 1, &err);
	dp_conf_destroy(conf);
	assert_non_null(e);
	struct sp_shard *s = sp_shard_create(e, 0);
	/* latency = 2 * (record time - T0) + 1, record time == now here */
	for (unsigned i = 0; i < 5; i++) {
		char id[2] = { (char)('a' + i), 0 };
		dp_chunk_rec_begin(&in, 1700000000u, 100000000u * i);
		dp_chunk_put_str(&in, "ident", 5, id, 1);
		dp_chunk_put_double(&in, "latency", 7, 2.0 * (0.1 * i) + 1);
		assert_int_equal(dp_chunk_rec_end(&in), 0);
		struct dp_fx fx = fx_for(T0 + 100000000ull * i, "x");
		sp_shard_record(s, &fx, -1);
	}
	struct dp_fx fx = fx_for(T0 + SEC, "x");
	sp_shard_tick(s, &fx, true);
	unsigned lim = 0, few = 0, fc = 0;
	for (unsigned r = 0; r < t_out.c.nrecs; r++) {
		msgpack_unpacked u;
		msgpack_object m = t_result(&u, r);
		if (!strcmp(t_out.tags[r], "lim")) {
			lim++;
			assert_true(t_get(&m, "k")->type == MSGPACK_OBJECT_NIL); /* no map: NULL group */
		} else if (!strcmp(t_out.tags[r], "few")) {
			few++;
		} else {
			fc++;
			/* y = 2x + 1 at x = 0.4 + 10 */
			if (fabs(t_num(t_get(&m, "f")) - 21.8) > 1e-6)
				fail_msg("f %f", t_num(t_get(&m, "f")));
		}
		msgpack_unpacked_destroy(&u);
	}
	assert_int_equal(lim, 1);  /* one NULL group, LIMIT not reached */
	assert_int_equal(few, 2);  /* Max_Groups 2 */
	assert_int_equal(fc, 1);
	struct sp_stats st;
	sp_engine_stats(e, 1, &st);
	assert_int_equal(st.groups_dropped, 3);
	sp_shard_destroy(s);
	sp_engine_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_where, setup),
		cmocka_unit_test_setup(test_select_records, setup),
		cmocka_unit_test_setup(test_tumbling_shards, setup),
		cmocka_unit_test_setup(test_hopping_shards, setup),
		cmocka_unit_test_setup(test_stream_chain, setup),
		cmocka_unit_test_setup(test_limit_groups_forecast, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
