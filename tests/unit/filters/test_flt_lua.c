/*
 * test_flt_lua.c — the lua filter: the callback's return codes and the
 * msgpack <-> Lua conversion, after Fluent Bit's documentation
 * (https://docs.fluentbit.io/manual/data-pipeline/filters/lua: callback
 * prototype, return values -1/0/1/2, time_as_table, type_int_key,
 * type_array_key, enable_flb_null, several records returned as an array)
 * and plugins/filter_lua/lua.c where the page is silent (an integral
 * number becomes an integer).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>
#include <msgpack.h>
#include "flt_test_util.h"

extern const struct dp_filter_ops flt_lua_ops;

/* Set up a lua filter with inline code and call "cb", plus "key",
 * "value", ..., NULL. */
static void make(struct flt_t *t, const char *code, ...)
{
	flt_t_init(t, &flt_lua_ops);
	flt_kv(t, "code", code);
	flt_kv(t, "call", "cb");
	va_list ap;
	va_start(ap, code);
	for (const char *k; (k = va_arg(ap, const char *));)
		flt_kv(t, k, va_arg(ap, const char *));
	va_end(ap);
	if (flt_setup(t))
		fail_msg("setup: %s", t->err.msg);
}

/* Emitted records land in a chunk of their own. */
static struct dp_chunk emitted;
static int test_emit(struct dp_fx *fx, const char *tag, size_t tag_len, uint32_t sec,
		     uint32_t nsec, dp_build_fn build, void *arg)
{
	(void)fx, (void)tag, (void)tag_len;
	dp_chunk_rec_begin(&emitted, sec, nsec);
	if (build(&emitted, arg))
		return -EINVAL;
	return dp_chunk_rec_end(&emitted);
}

/* Docs: "return 1, timestamp, new_record" adds a field (the append-tag
 * example). A modified record replaces the original in place. */
static void test_code1_adds_key(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "function cb(tag, ts, r) r['tag'] = tag return 1, ts + 10, r end", NULL);
	flt_rec(&t, "msg", "hello", NULL);
	assert_int_equal(flt_run(&t), DP_FILTER_KEEP);
	assert_int_equal(t.c.nrecs, 1);
	assert_int_equal(t.c.recs[0].nfields, 2);
	const struct dp_field *tag = dp_rec_field_get(&t.c, &t.c.recs[0], "tag", 3);
	assert_non_null(tag);
	assert_int_equal(tag->type, DP_T_STR);
	assert_memory_equal(dp_field_val(&t.c, tag), "test", 4);
	/* code 1: the returned timestamp (10 s later) */
	assert_int_equal(t.c.recs[0].ts_sec, 1700000010u);
	flt_t_fini(&t);
}

/* Code 2: the record changes, the timestamp does not. Code 0: nothing
 * changes even when the script edited the table. Code -1: dropped. */
static void test_codes(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t,
	     "function cb(tag, ts, r)\n"
	     "  local code = tonumber(r.code)\n"
	     "  r.seen = 'yes'\n"
	     "  return code, ts + 100, r\n"
	     "end", NULL);
	flt_rec(&t, "code", "2", NULL);
	assert_int_equal(flt_run(&t), DP_FILTER_KEEP);
	assert_int_equal(t.c.recs[0].ts_sec, 1700000000u);
	assert_int_equal(t.c.recs[0].ts_nsec, 5u);
	assert_int_equal(t.c.recs[0].nfields, 2);
	flt_rec(&t, "code", "0", NULL);
	assert_int_equal(flt_run(&t), DP_FILTER_KEEP);
	flt_expect(&t, 1, "code", "0", NULL);
	flt_rec(&t, "code", "-1", NULL);
	assert_int_equal(flt_run(&t), DP_FILTER_DROP);
	assert_int_equal(t.c.nrecs, 2);
	/* an unknown code keeps the record unchanged */
	flt_rec(&t, "code", "7", NULL);
	assert_int_equal(flt_run(&t), DP_FILTER_KEEP);
	flt_expect(&t, 2, "code", "7", NULL);
	flt_t_fini(&t);
}

/* Numbers: integral -> integer, else float (Fluent Bit's lua.c);
 * type_int_key truncates; tables with keys 1..n are arrays, others maps;
 * type_array_key makes an empty table an array; booleans; nested maps
 * from the record come back as maps. */
static void test_conversion(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t,
	     "function cb(tag, ts, r)\n"
	     "  return 2, ts, { i = 3.0, f = 1.5, n = -7, ti = 2.9, arr = {1, 'two', true},\n"
	     "    m = { a = 1 }, e = {}, ea = {}, b = false, copy = r.nested }\n"
	     "end",
	     "type_int_key", "ti", "type_array_key", "ea", NULL);
	dp_chunk_rec_begin(&t.c, 1700000000u, 5u);
	dp_chunk_field_begin(&t.c, "nested", 6);
	uint32_t h = dp_mp_map_open(&t.c);
	dp_mp_str(&t.c, "k", 1);
	dp_mp_int(&t.c, 42);
	dp_mp_container_patch(&t.c, h, 1);
	dp_chunk_field_end(&t.c, DP_T_MAP);
	assert_int_equal(dp_chunk_rec_end(&t.c), 0);
	flt_run(&t);
	/* key order is Lua's table order: check each field by name */
	struct { const char *k; uint8_t type; } want[] = {
		{ "i", DP_T_UINT }, { "f", DP_T_FLOAT }, { "n", DP_T_INT }, { "ti", DP_T_UINT },
		{ "arr", DP_T_ARRAY }, { "m", DP_T_MAP }, { "e", DP_T_MAP }, { "ea", DP_T_ARRAY },
		{ "b", DP_T_BOOL }, { "copy", DP_T_MAP },
	};
	const struct dp_rec *r = &t.c.recs[0];
	assert_int_equal(r->nfields, 10);
	for (unsigned i = 0; i < 10; i++) {
		const struct dp_field *f = dp_rec_field_get(&t.c, r, want[i].k, strlen(want[i].k));
		assert_non_null(f);
		if (f->type != want[i].type)
			fail_msg("%s: type %d, want %d", want[i].k, f->type, want[i].type);
	}
	assert_int_equal(dp_field_int(&t.c, dp_rec_field_get(&t.c, r, "i", 1)), 3);
	assert_int_equal(dp_field_int(&t.c, dp_rec_field_get(&t.c, r, "ti", 2)), 2);
	assert_int_equal(dp_field_int(&t.c, dp_rec_field_get(&t.c, r, "n", 1)), -7);
	assert_true(dp_field_double(&t.c, dp_rec_field_get(&t.c, r, "f", 1)) == 1.5);
	/* decode the whole record with msgpack-c to see nested values */
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	assert_int_equal(msgpack_unpack_next(&u, (const char *)t.c.data + r->off, r->len, &off),
			 MSGPACK_UNPACK_SUCCESS);
	const msgpack_object *m = &u.data.via.array.ptr[1];
	char txt[256];
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object_kv *kv = &m->via.map.ptr[i];
		flt_obj_text(&kv->val, txt, sizeof(txt));
		if (!strncmp(kv->key.via.str.ptr, "arr", 3))
			assert_string_equal(txt, "[1,two,true]");
		if (!strncmp(kv->key.via.str.ptr, "copy", 4))
			assert_string_equal(txt, "{k=42}");
		if (kv->key.via.str.size == 1 && kv->key.via.str.ptr[0] == 'm')
			assert_string_equal(txt, "{a=1}");
	}
	msgpack_unpacked_destroy(&u);
	flt_t_fini(&t);
}

/* time_as_table: {sec=, nsec=} both ways. */
static void test_time_as_table(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t,
	     "function cb(tag, ts, r)\n"
	     "  r.s = ts.sec; r.ns = ts.nsec\n"
	     "  return 1, { sec = ts.sec + 1, nsec = 7 }, r\n"
	     "end",
	     "time_as_table", "on", NULL);
	flt_rec(&t, "a", "b", NULL);
	flt_run(&t);
	assert_int_equal(t.c.recs[0].ts_sec, 1700000001u);
	assert_int_equal(t.c.recs[0].ts_nsec, 7u);
	const struct dp_field *ns = dp_rec_field_get(&t.c, &t.c.recs[0], "ns", 2);
	assert_non_null(ns);
	assert_int_equal(dp_field_int(&t.c, ns), 5);
	flt_t_fini(&t);
}

/* enable_flb_null: nil values reach the script as flb_null and go out as
 * nil (without it the key would vanish, nil cannot be a table value). */
static void test_flb_null(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "function cb(tag, ts, r) r.was_null = (r.x == flb_null) return 2, ts, r end",
	     "enable_flb_null", "on", NULL);
	dp_chunk_rec_begin(&t.c, 1700000000u, 5u);
	dp_chunk_put_nil(&t.c, "x", 1);
	assert_int_equal(dp_chunk_rec_end(&t.c), 0);
	flt_run(&t);
	const struct dp_rec *r = &t.c.recs[0];
	const struct dp_field *x = dp_rec_field_get(&t.c, r, "x", 1);
	assert_non_null(x);
	assert_int_equal(x->type, DP_T_NIL);
	assert_true(dp_field_bool(&t.c, dp_rec_field_get(&t.c, r, "was_null", 8)));
	flt_t_fini(&t);
}

/* Several records returned: the first replaces the record, the others are
 * emitted with its tag and time. */
static void test_many_records(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "function cb(tag, ts, r) return 2, ts, { {n = 1}, {n = 2}, {n = 3} } end", NULL);
	struct dp_rec *recs = calloc(DP_CHUNK_RECS, sizeof(*recs));
	struct dp_field *fields = calloc(DP_CHUNK_FIELDS, sizeof(*fields));
	uint8_t *data = malloc(DP_CHUNK_DATA);
	dp_chunk_init(&emitted, recs, fields, data);
	t.fx.emit = test_emit;
	flt_rec(&t, "a", "b", NULL);
	assert_int_equal(flt_run(&t), DP_FILTER_KEEP);
	assert_int_equal(dp_field_int(&t.c, &t.c.fields[t.c.recs[0].field0]), 1);
	assert_int_equal(emitted.nrecs, 2);
	assert_int_equal(dp_field_int(&emitted, &emitted.fields[emitted.recs[0].field0]), 2);
	assert_int_equal(dp_field_int(&emitted, &emitted.fields[emitted.recs[1].field0]), 3);
	assert_int_equal(emitted.recs[1].ts_sec, 1700000000u);
	free(recs);
	free(fields);
	free(data);
	flt_t_fini(&t);
}

/* A script error keeps the record unchanged, and the next record still
 * goes through. */
static void test_runtime_error(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t,
	     "function cb(tag, ts, r)\n"
	     "  if r.bad then error('boom') end\n"
	     "  r.ok = 'yes'; return 2, ts, r\n"
	     "end", NULL);
	flt_rec(&t, "bad", "1", NULL);
	assert_int_equal(flt_run(&t), DP_FILTER_KEEP);
	flt_expect(&t, 0, "bad", "1", NULL);
	flt_rec(&t, "good", "1", NULL);
	flt_run(&t);
	assert_int_equal(t.c.recs[1].nfields, 2);
	flt_t_fini(&t);
}

/* Start-up errors name FILE:LINE and the key. */
static void test_config_errors(void **state)
{
	(void)state;
	struct flt_t t;
	flt_t_init(&t, &flt_lua_ops);
	flt_kv(&t, "script", "/nonexistent/x.lua");
	flt_kv(&t, "call", "cb");
	flt_setup_fails(&t, "test.conf:2:", "script: cannot read");
	flt_t_fini(&t);

	flt_t_init(&t, &flt_lua_ops);
	flt_kv(&t, "code", "function other() end");
	flt_kv(&t, "call", "cb");
	flt_setup_fails(&t, "test.conf:3:", "no function 'cb'");
	flt_t_fini(&t);

	flt_t_init(&t, &flt_lua_ops);
	flt_kv(&t, "code", "function cb( end");
	flt_kv(&t, "call", "cb");
	flt_setup_fails(&t, "test.conf:2:", "code:");
	flt_t_fini(&t);

	flt_t_init(&t, &flt_lua_ops);
	flt_kv(&t, "code", "function cb() end");
	flt_setup_fails(&t, "call", NULL);
	flt_t_fini(&t);

	flt_t_init(&t, &flt_lua_ops);
	flt_kv(&t, "call", "cb");
	flt_setup_fails(&t, "needs script or code", NULL);
	flt_t_fini(&t);

	/* a script file: found and run */
	char path[] = "/tmp/test_flt_lua_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *src = "function cb(tag, ts, r) return -1, ts, r end\n";
	assert_int_equal(write(fd, src, strlen(src)), (ssize_t)strlen(src));
	close(fd);
	flt_t_init(&t, &flt_lua_ops);
	flt_kv(&t, "script", path);
	flt_kv(&t, "call", "cb");
	assert_int_equal(flt_setup(&t), 0);
	flt_rec(&t, "a", "b", NULL);
	assert_int_equal(flt_run(&t), DP_FILTER_DROP);
	flt_t_fini(&t);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code1_adds_key),
		cmocka_unit_test(test_codes),
		cmocka_unit_test(test_conversion),
		cmocka_unit_test(test_time_as_table),
		cmocka_unit_test(test_flb_null),
		cmocka_unit_test(test_many_records),
		cmocka_unit_test(test_runtime_error),
		cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
