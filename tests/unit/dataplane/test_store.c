/*
 * test_store.c — the store's per-output cursors (dp_store.c): a cursor
 * passes only over settled prefixes, it survives a restart through its
 * file, several workers' files merge as the output's kind says (fanout:
 * the smallest, else the largest), and a damaged file reads as 0 (send
 * again, never skip).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "conf_tmp.h"
#include "dp_pipeline.h"
#include "dp_store.h"

static struct dp_output outs[2];
static struct dp_pipeline pl;

/* A pipeline of two outputs over tdir/store with nshards shards; the store
 * is opened as at start-up (a shard-0 directory makes it exist). */
static struct dp_store *open_store(unsigned nshards, bool fanout, unsigned workers)
{
	memset(&pl, 0, sizeof(pl));
	memset(outs, 0, sizeof(outs));
	static char path[128];
	snprintf(path, sizeof(path), "%s/store", tdir);
	mkdir(path, 0750);
	char d[160];
	snprintf(d, sizeof(d), "%s/shard-0", path);
	mkdir(d, 0750);
	pl.svc.storage_path = path;
	pl.svc.storage_backlog_mem_limit = 5000000;
	pl.nshards = nshards;
	pl.nout = 2;
	for (unsigned o = 0; o < 2; o++) {
		outs[o].id = o;
		snprintf(outs[o].name, sizeof(outs[o].name), "file.%u", o);
		outs[o].workers = workers;
		outs[o].fanout = fanout;
		pl.out[o] = &outs[o];
	}
	struct dp_err err = { 0 };
	assert_int_equal(dp_store_open(&pl, &err), 0);
	assert_non_null(pl.store);
	return pl.store;
}

static void test_async_prefix_only(void **state)
{
	(void)state;
	struct dp_store *st = open_store(2, false, 1);
	struct dp_store_cur c;
	struct dp_err err = { 0 };
	assert_int_equal(dp_store_cur_open(&c, st, &outs[0], 0, &err), 0);
	for (uint64_t s = 1; s <= 4; s++)
		dp_store_cur_hold(&c, 0, s);
	dp_store_cur_hold(&c, 1, 7);
	dp_store_cur_settle(&c, 0, 2);          /* 1 still held: no move */
	assert_int_equal(c.seq[0], 0);
	dp_store_cur_settle(&c, 0, 1);          /* 1 and 2 settled */
	assert_int_equal(c.seq[0], 2);
	dp_store_cur_settle(&c, 1, 7);          /* behind 3 in send order */
	assert_int_equal(c.seq[1], 0);
	dp_store_cur_settle(&c, 0, 4);
	dp_store_cur_settle(&c, 0, 3);
	assert_int_equal(c.seq[0], 4);
	assert_int_equal(c.seq[1], 7);
	assert_int_equal(c.nheld, 0);
	dp_store_cur_settle(&c, 0, 99);         /* never held: ignored */
	assert_int_equal(c.seq[0], 4);
	dp_store_cur_close(&c);
	dp_store_close(&pl);

	/* After a restart the output starts where it was. */
	st = open_store(2, false, 1);
	assert_int_equal(st->cursor[0 * st->ndirs + 0], 4);
	assert_int_equal(st->cursor[0 * st->ndirs + 1], 7);
	assert_int_equal(st->cursor[1 * st->ndirs + 0], 0);   /* the other output */
	dp_store_close(&pl);
}

static void two_workers(bool fanout, uint64_t a, uint64_t b)
{
	struct dp_store *st = open_store(1, fanout, 2);
	struct dp_store_cur c[2];
	struct dp_err err = { 0 };
	for (unsigned n = 0; n < 2; n++) {
		assert_int_equal(dp_store_cur_open(&c[n], st, &outs[1], n, &err), 0);
		dp_store_cur_done(&c[n], 0, n ? b : a);
		dp_store_cur_close(&c[n]);
	}
	dp_store_close(&pl);
}

static void test_merge_by_kind(void **state)
{
	(void)state;
	two_workers(true, 10, 6);
	struct dp_store *st = open_store(1, true, 2);
	assert_int_equal(st->cursor[1 * st->ndirs], 6);      /* fanout: all of them confirmed */
	dp_store_close(&pl);
	st = open_store(1, false, 2);
	assert_int_equal(st->cursor[1 * st->ndirs], 10);     /* one worker had the directory */
	dp_store_close(&pl);
}

static void test_damaged_reads_zero(void **state)
{
	(void)state;
	two_workers(false, 10, 12);
	char p[160];
	snprintf(p, sizeof(p), "%s/store/cursors/file.1.1", tdir);
	int fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b = 0x55;
	assert_int_equal(pwrite(fd, &b, 1, 17), 1);          /* inside the seqs */
	close(fd);
	struct dp_store *st = open_store(1, false, 2);
	assert_int_equal(st->cursor[1 * st->ndirs], 10);     /* worker 1's file is ignored */
	dp_store_close(&pl);
	/* The output's own cursor file is a directory: a clear error. */
	snprintf(p, sizeof(p), "%s/store/cursors/file.0.0", tdir);
	unlink(p);
	mkdir(p, 0750);
	st = open_store(1, false, 1);
	struct dp_store_cur c;
	struct dp_err err = { 0 };
	assert_int_not_equal(dp_store_cur_open(&c, st, &outs[0], 0, &err), 0);
	assert_non_null(strstr(err.msg, "file.0.0"));
	dp_store_cur_close(&c);
	dp_store_close(&pl);
}

static void test_more_dirs_than_shards(void **state)
{
	(void)state;
	char d[160];
	snprintf(d, sizeof(d), "%s/store", tdir);
	mkdir(d, 0750);
	snprintf(d, sizeof(d), "%s/store/shard-5", tdir);
	mkdir(d, 0750);
	struct dp_store *st = open_store(2, false, 1);
	assert_int_equal(st->ndirs, 6);   /* shard-5 of an earlier run with more shards */
	dp_store_close(&pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_async_prefix_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_by_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_reads_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_more_dirs_than_shards, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
