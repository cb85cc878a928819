/*
 * test_sp_snap.c — CREATE SNAPSHOT / FLUSH SNAPSHOT (sp/sp_snap.c): the
 * statement forms and their start-up errors; a snapshot keeps the last
 * LIMIT records, or those within `seconds` of the newest (Fluent Bit's
 * rule); a flush emits them oldest first, whole and with their own times,
 * under the snapshot's tag, and empties it; the order of the tasks decides
 * whether the trigger is in the snapshot; max_bytes bounds the memory;
 * with two shards a flush on one empties the other (flush epoch); a random
 * run against a model, wrapping the store's rings many times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "sp_parse.h"
#include "sp_snap.h"
#include "sp_test.h"

static struct dp_rec in_recs[DP_CHUNK_RECS];
static struct dp_field in_fields[DP_CHUNK_FIELDS];
static uint8_t in_data[DP_CHUNK_DATA];
static struct dp_chunk in;

#define SEC 1000000000ull
#define T0 (1700000000ull * SEC)

static struct dp_fx fx_for(const char *tag)
{
	struct dp_fx fx = { .c = &in, .tag = tag, .tag_len = strlen(tag), .now_real_ns = T0,
			    .emit = t_emit, .origin = -1 };
	return fx;
}

static struct dp_fx fx_tick(void)
{
	struct dp_fx fx = { .now_real_ns = T0, .emit = t_emit, .origin = -1 };
	return fx;
}

/* A record of every type: ident, n, pad (pad_len bytes), f, ok, none,
 * m {"a": n}, b (bin, 3 bytes). */
static void rec_full(const char *ident, int64_t n, uint32_t ts, unsigned pad_len)
{
	if (in.nrecs == DP_CHUNK_RECS || in.data_len > DP_CHUNK_DATA - 2048)
		dp_chunk_reset(&in);
	char pad[1024];
	memset(pad, 'x', sizeof(pad));
	dp_chunk_rec_begin(&in, ts, 7);
	dp_chunk_put_str(&in, "ident", 5, ident, strlen(ident));
	dp_chunk_put_int(&in, "n", 1, n);
	dp_chunk_put_str(&in, "pad", 3, pad, pad_len);
	dp_chunk_put_double(&in, "f", 1, 0.5 * (double)n);
	dp_chunk_put_bool(&in, "ok", 2, n % 2 == 0);
	dp_chunk_put_nil(&in, "none", 4);
	dp_chunk_field_begin(&in, "m", 1);
	uint32_t h = dp_mp_map_open(&in);
	dp_mp_str(&in, "a", 1);
	dp_mp_int(&in, n);
	dp_mp_container_patch(&in, h, 1);
	dp_chunk_field_end(&in, DP_T_MAP);
	dp_chunk_field_begin(&in, "b", 1);
	const uint8_t bin[] = { 0xc4, 3, 1, 2, (uint8_t)n };
	dp_chunk_write(&in, bin, sizeof(bin));
	dp_chunk_field_end(&in, DP_T_BIN);
	assert_int_equal(dp_chunk_rec_end(&in), 0);
}

static void rec(const char *ident, int64_t n, uint32_t ts)
{
	rec_full(ident, n, ts, 4);
}

static int setup(void **state)
{
	(void)state;
	dp_chunk_init(&in, in_recs, in_fields, in_data);
	t_out_reset();
	return 0;
}

static struct sp_engine *engine(const char *const *execs, unsigned n, unsigned nshards)
{
	const char *names[] = { "t0", "t1", "t2", "t3" };
	struct dp_err err;
	struct sp_engine *e = t_engine(names, execs, n, nshards, &err);
	if (!e)
		fail_msg("%s", err.msg);
	return e;
}

/* The n of result i, or -1. */
static int64_t out_n(unsigned i)
{
	msgpack_unpacked u;
	msgpack_object m = t_result(&u, i);
	int64_t v = m.type == MSGPACK_OBJECT_MAP ? (int64_t)t_num(t_get(&m, "n")) : -1;
	msgpack_unpacked_destroy(&u);
	return v;
}

/* The results' n, as "3,4,5". */
static const char *outs(void)
{
	static char buf[4096];
	size_t o = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < t_out.c.nrecs && o < sizeof(buf) - 24; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%lld", i ? "," : "",
				      (long long)out_n(i));
	return buf;
}

/* ---- statement forms and start-up errors ---- */

static void test_parse_forms(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	const char *sql = "CREATE SNAPSHOT snap WITH (tag='snap.out', seconds='5') AS SELECT * FROM TAG:'app.*' LIMIT 10;";
	struct sp_stmt *st = sp_parse(sql, strlen(sql), &err);
	assert_non_null(st);
	assert_int_equal(st->kind, SP_ST_CREATE_SNAPSHOT);
	assert_string_equal(st->name, "snap");
	assert_int_equal(st->nprops, 2);
	assert_string_equal(st->props[1].name, "seconds");
	assert_string_equal(st->props[1].val, "5");
	assert_int_equal(st->sel.limit, 10);
	sp_stmt_free(st);
	sql = "FLUSH SNAPSHOT snap AS SELECT * FROM STREAM:errors WHERE level = 'ERROR';";
	st = sp_parse(sql, strlen(sql), &err);
	assert_non_null(st);
	assert_int_equal(st->kind, SP_ST_FLUSH_SNAPSHOT);
	assert_string_equal(st->name, "snap");
	assert_true(st->sel.from_stream);
	assert_non_null(st->sel.where);
	sp_stmt_free(st);
	/* Fluent Bit's grammar has no WITH on FLUSH */
	sql = "FLUSH SNAPSHOT snap WITH (tag='x') AS SELECT * FROM TAG:'a'";
	assert_null(sp_parse(sql, strlen(sql), &err));
	assert_non_null(strstr(err.msg, "line 1, column 21: expected AS, got 'WITH'"));
	sql = "FLUSH SNAPSHOT AS SELECT * FROM TAG:'a'";
	assert_null(sp_parse(sql, strlen(sql), &err));
	assert_non_null(strstr(err.msg, "expected a snapshot name, got 'AS'"));
}

static void snap_err(const char *create, const char *flush, const char *want)
{
	const char *execs[] = { create, flush };
	const char *names[] = { "t0", "t1" };
	struct dp_err err;
	struct sp_engine *e = t_engine(names, execs, flush ? 2 : 1, 1, &err);
	if (e) {
		sp_engine_destroy(e);
		fail_msg("accepted: %s / %s", create, flush ? flush : "");
	}
	if (!strstr(err.msg, want))
		fail_msg("%s / %s\n  got:  %s\n  want: %s", create, flush ? flush : "", err.msg, want);
}

static void test_startup_errors(void **state)
{
	(void)state;
	const char *ok = "CREATE SNAPSHOT s WITH (tag='s.out') AS SELECT * FROM TAG:'a' LIMIT 5";
	snap_err("CREATE SNAPSHOT s AS SELECT * FROM TAG:'a' LIMIT 5", NULL,
		 "streams.conf:3: [STREAM_TASK] statement t0: snapshot 's' needs a tag: WITH (tag='...')");
	snap_err("CREATE SNAPSHOT s WITH (tag='x') AS SELECT * FROM TAG:'a'", NULL,
		 "snapshot 's' has no size: give LIMIT n or WITH (seconds=n)");
	snap_err("CREATE SNAPSHOT s WITH (tag='x') AS SELECT * FROM TAG:'a' LIMIT 0", NULL, "has no size");
	snap_err("CREATE SNAPSHOT s WITH (tag='x', second=5) AS SELECT * FROM TAG:'a'", NULL,
		 "unknown property 'second' (a snapshot takes tag, seconds, max_bytes)");
	snap_err("CREATE SNAPSHOT s WITH (tag='x', seconds='5s') AS SELECT * FROM TAG:'a'", NULL,
		 "seconds: expected a whole number of seconds from 1 to a year, got '5s'");
	snap_err("CREATE SNAPSHOT s WITH (tag='x', seconds=0) AS SELECT * FROM TAG:'a'", NULL, "got '0'");
	snap_err("CREATE SNAPSHOT s WITH (tag='x', max_bytes='1k') AS SELECT * FROM TAG:'a' LIMIT 1", NULL,
		 "max_bytes: expected a size from 4096 to 1073741824 bytes (k, M suffixes), got '1k'");
	snap_err("CREATE SNAPSHOT s WITH (tag='x') AS SELECT * FROM TAG:'a' LIMIT 2000000", NULL,
		 "a snapshot's LIMIT is at most 1048576");
	snap_err("CREATE SNAPSHOT s WITH (tag='x') AS SELECT a FROM TAG:'a' LIMIT 5", NULL,
		 "line 1, column 44: CREATE SNAPSHOT selects * only, as in Fluent Bit");
	snap_err("CREATE SNAPSHOT s WITH (tag='x') AS SELECT *, a FROM TAG:'a' LIMIT 5", NULL,
		 "column 47: CREATE SNAPSHOT selects * only");
	snap_err("CREATE SNAPSHOT s WITH (tag='x') AS SELECT COUNT(*) FROM TAG:'a' LIMIT 5", NULL,
		 "selects * only");
	snap_err("CREATE SNAPSHOT s WITH (tag='x') AS SELECT * FROM TAG:'a' WINDOW TUMBLING (1 SECOND) LIMIT 5",
		 NULL, "CREATE SNAPSHOT takes no WINDOW");
	snap_err("CREATE SNAPSHOT s WITH (tag='x') AS SELECT * FROM STREAM:s LIMIT 5", NULL,
		 "a stream cannot read itself");
	snap_err(ok, "FLUSH SNAPSHOT nope AS SELECT * FROM TAG:'b'", "statement t1: line 1, column 1: unknown snapshot 'nope'");
	snap_err(ok, "FLUSH SNAPSHOT s AS SELECT * FROM TAG:'b' LIMIT 1", "FLUSH SNAPSHOT takes no LIMIT");
	snap_err(ok, "FLUSH SNAPSHOT s AS SELECT a FROM TAG:'b'", "FLUSH SNAPSHOT selects * only");
	snap_err(ok, "FLUSH SNAPSHOT s AS SELECT * FROM TAG:'b' GROUP BY a", "FLUSH SNAPSHOT takes no GROUP BY");
	snap_err(ok, "FLUSH SNAPSHOT s AS SELECT * FROM TAG:'b' WHERE COUNT(*) > 1", "not allowed in WHERE");
	snap_err(ok, "CREATE STREAM s AS SELECT * FROM TAG:'b'", "'s' names another stream or snapshot too");
	snap_err(ok, "CREATE SNAPSHOT s WITH (tag='y') AS SELECT * FROM TAG:'b' LIMIT 1",
		 "'s' names another stream or snapshot too");
	snap_err(ok, "FLUSH SNAPSHOT t0 AS SELECT * FROM TAG:'b'", "unknown snapshot 't0'");

	/* accepted: Fluent Bit's forms, a WHERE on the snapshot (sluice),
	 * the flushed records read as STREAM:s and as STREAM:__flush_s */
	const char *execs[] = {
		"CREATE SNAPSHOT s WITH (tag='s.out', seconds='60', max_bytes='64k') AS SELECT * FROM TAG:'a' WHERE x = 1;",
		"FLUSH SNAPSHOT s AS SELECT * FROM TAG:'a' WHERE level = 'ERROR';",
		"SELECT * FROM STREAM:s",
		"CREATE STREAM c AS SELECT * FROM STREAM:__flush_s",
	};
	struct sp_engine *e = engine(execs, 4, 2);
	sp_engine_destroy(e);
}

/* ---- keeping and flushing ---- */

static const char *flush_pair[] = {
	"CREATE SNAPSHOT snap WITH (tag='snap.out') AS SELECT * FROM TAG:'app.*' LIMIT 3",
	"FLUSH SNAPSHOT snap AS SELECT * FROM TAG:'ctl' WHERE cmd = 'flush'",
};

static void trigger(struct sp_shard *s, const char *cmd)
{
	if (in.nrecs == DP_CHUNK_RECS || in.data_len > DP_CHUNK_DATA - 2048)
		dp_chunk_reset(&in);
	dp_chunk_rec_begin(&in, 1700000100u, 0);
	dp_chunk_put_str(&in, "cmd", 3, cmd, strlen(cmd));
	assert_int_equal(dp_chunk_rec_end(&in), 0);
	struct dp_fx fx = fx_for("ctl");
	sp_shard_record(s, &fx, -1);
}

static void feed(struct sp_shard *s, int64_t n, uint32_t ts)
{
	rec("app", n, ts);
	struct dp_fx fx = fx_for("app.web");
	sp_shard_record(s, &fx, -1);
}

static void test_keeps_last_n(void **state)
{
	(void)state;
	struct sp_engine *e = engine(flush_pair, 2, 1);
	struct sp_shard *s = sp_shard_create(e, 0);
	for (int i = 1; i <= 5; i++)
		feed(s, i, 1700000000u + (uint32_t)i);
	assert_int_equal(t_out.c.nrecs, 0);        /* a snapshot emits nothing itself */
	trigger(s, "nothing");                     /* WHERE of the flush: false */
	assert_int_equal(t_out.c.nrecs, 0);
	trigger(s, "flush");
	assert_string_equal(outs(), "3,4,5");
	for (unsigned i = 0; i < 3; i++) {
		assert_string_equal(t_out.tags[i], "snap.out");
		assert_int_equal(t_out.c.recs[i].ts_sec, 1700000003u + i);  /* their own times */
		assert_int_equal(t_out.c.recs[i].ts_nsec, 7);
	}
	/* whole records, every type, as they came */
	msgpack_unpacked u;
	msgpack_object m = t_result(&u, 0);
	assert_int_equal(m.via.map.size, 8);
	assert_true(t_str_eq(t_get(&m, "ident"), "app"));
	assert_true(t_str_eq(t_get(&m, "pad"), "xxxx"));
	assert_true(t_num(t_get(&m, "f")) == 1.5);
	assert_int_equal(t_get(&m, "ok")->type, MSGPACK_OBJECT_BOOLEAN);
	assert_int_equal(t_get(&m, "none")->type, MSGPACK_OBJECT_NIL);
	const msgpack_object *mm = t_get(&m, "m");
	assert_int_equal(mm->type, MSGPACK_OBJECT_MAP);
	assert_true(t_num(t_get(mm, "a")) == 3);
	const msgpack_object *b = t_get(&m, "b");
	assert_int_equal(b->type, MSGPACK_OBJECT_BIN);
	assert_int_equal(b->via.bin.size, 3);
	assert_int_equal((uint8_t)b->via.bin.ptr[2], 3);
	msgpack_unpacked_destroy(&u);
	/* the emitted fields are indexed like any record's */
	const struct dp_field *f = dp_rec_fields(&t_out.c, &t_out.c.recs[0]);
	assert_int_equal(t_out.c.recs[0].nfields, 8);
	assert_int_equal(f[0].type, DP_T_STR);
	assert_int_equal(f[0].val_len, 3);
	assert_int_equal(f[7].type, DP_T_BIN);
	assert_int_equal(f[7].val_len, 3);

	/* emptied: a second flush emits nothing; then it fills again */
	t_out_reset();
	trigger(s, "flush");
	assert_int_equal(t_out.c.nrecs, 0);
	feed(s, 6, 1700000006u);
	trigger(s, "flush");
	assert_string_equal(outs(), "6");
	sp_shard_destroy(s);
	sp_engine_destroy(e);
}

/* Fluent Bit's `seconds`: after storing a record, the oldest go while they
 * are more than `seconds` older than it; the first one within stops it. */
static void test_seconds(void **state)
{
	(void)state;
	const char *execs[] = {
		"CREATE SNAPSHOT snap WITH (tag='snap.out', seconds=5) AS SELECT * FROM TAG:'app.*'",
		flush_pair[1],
	};
	struct sp_engine *e = engine(execs, 2, 1);
	struct sp_shard *s = sp_shard_create(e, 0);
	const uint32_t ts[] = { 100, 103, 106, 108, 111 };
	for (int i = 0; i < 5; i++)
		feed(s, i, 1700000000u + ts[i]);
	trigger(s, "flush");
	assert_string_equal(outs(), "2,3,4");    /* 111-100 and 111-103 > 5; 111-106 is not */
	/* out of order: a late old record does not push newer ones out, and
	 * removal stops at the first oldest record within bounds */
	t_out_reset();
	feed(s, 10, 1700000200u);
	feed(s, 11, 1700000190u);
	feed(s, 12, 1700000203u);
	trigger(s, "flush");
	assert_string_equal(outs(), "10,11,12");
	/* LIMIT and seconds together: whichever is tighter */
	sp_shard_destroy(s);
	sp_engine_destroy(e);
	execs[0] = "CREATE SNAPSHOT snap WITH (tag='snap.out', seconds=5) AS SELECT * FROM TAG:'app.*' LIMIT 2";
	e = engine(execs, 2, 1);
	s = sp_shard_create(e, 0);
	t_out_reset();
	for (int i = 0; i < 5; i++)
		feed(s, i, 1700000000u + ts[i]);
	trigger(s, "flush");
	assert_string_equal(outs(), "3,4");
	sp_shard_destroy(s);
	sp_engine_destroy(e);
}

/* Tasks run in order: a snapshot listed before its FLUSH holds the
 * trigger record when it is flushed; listed after, it keeps it for the
 * next flush. A WHERE on the snapshot (sluice) filters what it keeps. */
static void test_trigger_order(void **state)
{
	(void)state;
	const char *before[] = {
		"CREATE SNAPSHOT snap WITH (tag='snap.out') AS SELECT * FROM TAG:'app.*' WHERE n > 0 LIMIT 10",
		"FLUSH SNAPSHOT snap AS SELECT * FROM TAG:'app.*' WHERE n >= 100",
	};
	struct sp_engine *e = engine(before, 2, 1);
	struct sp_shard *s = sp_shard_create(e, 0);
	feed(s, 0, 1700000000u);       /* not kept: WHERE n > 0 */
	feed(s, 1, 1700000001u);
	feed(s, 100, 1700000002u);
	assert_string_equal(outs(), "1,100");
	sp_shard_destroy(s);
	sp_engine_destroy(e);

	const char *after[] = { before[1], before[0] };
	e = engine(after, 2, 1);
	s = sp_shard_create(e, 0);
	t_out_reset();
	feed(s, 1, 1700000001u);
	feed(s, 100, 1700000002u);
	assert_string_equal(outs(), "1");
	feed(s, 101, 1700000003u);
	assert_string_equal(outs(), "1,100");
	sp_shard_destroy(s);
	sp_engine_destroy(e);
}

/* max_bytes bounds the memory: the most recent records that fit stay,
 * older ones are pushed out and counted, as is a record too big to keep. */
static void test_max_bytes(void **state)
{
	(void)state;
	const char *execs[] = {
		"CREATE SNAPSHOT snap WITH (tag='snap.out', max_bytes=4096) AS SELECT * FROM TAG:'app.*' LIMIT 1000",
		flush_pair[1],
	};
	struct sp_engine *e = engine(execs, 2, 1);
	struct sp_shard *s = sp_shard_create(e, 0);
	for (int i = 0; i < 100; i++) {
		rec_full("app", i, 1700000000u, 200);
		struct dp_fx fx = fx_for("app.web");
		sp_shard_record(s, &fx, -1);
	}
	trigger(s, "flush");
	unsigned n = t_out.c.nrecs;
	/* a record takes about 290 bytes stored: 4096 holds 14 */
	assert_in_range(n, 10, 14);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(out_n(i), 100 - (int)n + (int)i);
	assert_int_equal(sp_snap_dropped(s, 0), 100 - n);
	/* too big for the whole budget: dropped, the others stay */
	t_out_reset();
	feed(s, 7, 1700000000u);
	dp_chunk_reset(&in);
	dp_chunk_rec_begin(&in, 1700000000u, 0);
	char big[5000];
	memset(big, 'y', sizeof(big));
	dp_chunk_put_str(&in, "big", 3, big, sizeof(big));
	assert_int_equal(dp_chunk_rec_end(&in), 0);
	struct dp_fx fx = fx_for("app.web");
	sp_shard_record(s, &fx, -1);
	trigger(s, "flush");
	assert_string_equal(outs(), "7");
	assert_int_equal(sp_snap_dropped(s, 0), 100 - n + 1);
	sp_shard_destroy(s);
	sp_engine_destroy(e);
}

/* Two shards: each keeps its own part; a flush triggered on shard 1 empties
 * shard 1 at once and shard 0 at its next tick, or before it stores its
 * next record for the snapshot (that record is after the flush). */
static void test_two_shards(void **state)
{
	(void)state;
	struct sp_engine *e = engine(flush_pair, 2, 2);
	struct sp_shard *s0 = sp_shard_create(e, 0), *s1 = sp_shard_create(e, 1);
	feed(s0, 1, 1700000001u);
	feed(s1, 2, 1700000002u);
	feed(s0, 3, 1700000003u);
	feed(s1, 4, 1700000004u);
	trigger(s1, "flush");
	assert_string_equal(outs(), "2,4");
	struct dp_fx ft = fx_tick();
	sp_shard_tick(s1, &ft, false);
	assert_string_equal(outs(), "2,4");         /* shard 1 had flushed already */
	sp_shard_tick(s0, &ft, false);
	assert_string_equal(outs(), "2,4,1,3");
	sp_shard_tick(s0, &ft, false);
	assert_string_equal(outs(), "2,4,1,3");     /* once */

	/* the next flush, noticed by shard 0 on its next record */
	t_out_reset();
	feed(s0, 5, 1700000005u);
	feed(s1, 6, 1700000006u);
	trigger(s1, "flush");
	assert_string_equal(outs(), "6");
	feed(s0, 7, 1700000007u);
	assert_string_equal(outs(), "6,5");
	trigger(s0, "flush");
	assert_string_equal(outs(), "6,5,7");
	sp_shard_tick(s1, &ft, false);              /* shard 1 is empty */
	assert_string_equal(outs(), "6,5,7");

	/* at shutdown a snapshot is discarded, as in Fluent Bit */
	t_out_reset();
	feed(s0, 8, 1700000008u);
	sp_shard_tick(s1, &ft, true);
	sp_shard_tick(s0, &ft, true);
	assert_int_equal(t_out.c.nrecs, 0);
	sp_shard_destroy(s1);
	sp_shard_destroy(s0);
	sp_engine_destroy(e);
}

/* Random sizes and flush points, many times round the rings, against a
 * model: the last LIMIT records since the previous flush. */
static void test_model(void **state)
{
	(void)state;
	const char *execs[] = {
		"CREATE SNAPSHOT snap WITH (tag='snap.out', max_bytes=8192) AS SELECT * FROM TAG:'app.*' LIMIT 7",
		flush_pair[1],
	};
	struct sp_engine *e = engine(execs, 2, 1);
	struct sp_shard *s = sp_shard_create(e, 0);
	srand(11);
	int64_t model[7];
	unsigned mn = 0;
	for (int i = 0; i < 20000; i++) {
		if (rand() % 13 == 0) {
			t_out_reset();
			trigger(s, "flush");
			assert_int_equal(t_out.c.nrecs, mn);
			for (unsigned k = 0; k < mn; k++)
				assert_int_equal(out_n(k), model[k]);
			mn = 0;
			continue;
		}
		/* records of 100 to 750 bytes: 7 of them and the unused tail
		 * fit 8192, so only LIMIT decides */
		rec_full("app", i, 1700000000u, (unsigned)(10 + rand() % 650));
		struct dp_fx fx = fx_for("app.web");
		sp_shard_record(s, &fx, -1);
		if (mn == 7) {
			memmove(model, model + 1, 6 * sizeof(model[0]));
			mn--;
		}
		model[mn++] = i;
	}
	assert_int_equal(sp_snap_dropped(s, 0), 0);
	sp_shard_destroy(s);
	sp_engine_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_parse_forms, setup),
		cmocka_unit_test_setup(test_startup_errors, setup),
		cmocka_unit_test_setup(test_keeps_last_n, setup),
		cmocka_unit_test_setup(test_seconds, setup),
		cmocka_unit_test_setup(test_trigger_order, setup),
		cmocka_unit_test_setup(test_max_bytes, setup),
		cmocka_unit_test_setup(test_two_shards, setup),
		cmocka_unit_test_setup(test_model, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
