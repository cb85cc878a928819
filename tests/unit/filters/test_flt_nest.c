/*
 * test_flt_nest.c — the nest filter (filters/flt_nest.c) against Fluent
 * Bit's documented examples (docs.fluentbit.io/manual/data-pipeline/
 * filters/nest: "Example usage for nest", "for lift", and the mem input
 * examples with Remove_prefix / Add_prefix) and the semantics of its
 * plugins/filter_nest/nest.c; records in and out as JSON (psr_json,
 * out_json), checked to be valid msgpack whose index agrees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <msgpack.h>
#include "flt_test_util.h"
#include "out_json.h"
#include "psr_json.h"

extern const struct dp_filter_ops flt_nest_ops;

static void make(struct flt_t *t, ...)
{
	flt_t_init(t, &flt_nest_ops);
	va_list ap;
	va_start(ap, t);
	for (const char *k; (k = va_arg(ap, const char *));)
		flt_kv(t, k, va_arg(ap, const char *));
	va_end(ap);
	if (flt_setup(t))
		fail_msg("setup: %s", t->err.msg);
}

/* Run the filter over one record given as JSON; the result as JSON. */
static const char *run(struct flt_t *t, const char *json)
{
	static char out[4096];
	dp_chunk_rec_begin(&t->c, 1700000000u, 0);
	assert_int_equal(psr_json_parse(&t->c, json, strlen(json)), 0);
	assert_int_equal(dp_chunk_rec_end(&t->c), 0);
	assert_int_equal(flt_run(t), DP_FILTER_KEEP);
	const struct dp_rec *r = &t->c.recs[t->c.nrecs - 1];
	assert_int_equal(dp_mp_object_size(t->c.data + r->off, r->len), r->len);
	assert_int_equal(r->off + r->len, t->c.data_len);
	/* the index: one entry per pair, keys as in the map */
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	assert_int_equal(msgpack_unpack_next(&u, (const char *)t->c.data + r->off, r->len, &off),
			 MSGPACK_UNPACK_SUCCESS);
	msgpack_object m = u.data.via.array.ptr[1];
	assert_int_equal(m.via.map.size, r->nfields);
	const struct dp_field *f = dp_rec_fields(&t->c, r);
	for (uint32_t i = 0; i < m.via.map.size; i++) {
		assert_int_equal(m.via.map.ptr[i].key.via.str.size, f[i].key_len);
		assert_memory_equal(m.via.map.ptr[i].key.via.str.ptr, dp_field_key(&t->c, &f[i]),
				    f[i].key_len);
	}
	msgpack_unpacked_destroy(&u);
	struct out_json_opts plain = { 0 };
	size_t n = out_json_rec(&t->c, r, &plain, out, sizeof(out) - 1);
	assert_int_not_equal(n, 0);
	out[n] = '\0';
	return out;
}

/* Docs, "Example usage for nest" and "for lift". */
static void test_doc_nest_lift(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Operation", "nest", "Wildcard", "Key*", "Nest_under", "NestKey", NULL);
	assert_string_equal(run(&t, "{\"Key1\":\"Value1\",\"Key2\":\"Value2\",\"OtherKey\":\"Value3\"}"),
			    "{\"OtherKey\":\"Value3\",\"NestKey\":{\"Key1\":\"Value1\",\"Key2\":\"Value2\"}}");
	/* no key matches: unchanged */
	assert_string_equal(run(&t, "{\"a\":1}"), "{\"a\":1}");
	flt_t_fini(&t);

	make(&t, "Operation", "lift", "Nested_under", "NestKey", NULL);
	assert_string_equal(run(&t, "{\"OtherKey\":\"Value3\",\"NestKey\":{\"Key1\":\"Value1\","
				    "\"Key2\":\"Value2\"}}"),
			    "{\"OtherKey\":\"Value3\",\"Key1\":\"Value1\",\"Key2\":\"Value2\"}");
	/* not a map: left alone */
	assert_string_equal(run(&t, "{\"NestKey\":\"x\",\"b\":2}"), "{\"NestKey\":\"x\",\"b\":2}");
	flt_t_fini(&t);
}

/* Docs, mem examples: Wildcard Mem.* with Remove_prefix Mem.; nest then
 * lift with Add_prefix. Values of any type move as they are. */
static void test_doc_prefixes(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Operation", "nest", "Wildcard", "Mem.*", "Nest_under", "Memstats", "Remove_prefix",
	     "Mem.", NULL);
	assert_string_equal(run(&t, "{\"Mem.total\":1016024,\"Mem.used\":716672,\"Swap.total\":2064380,"
				    "\"Mem.x\":[1,{\"y\":null}]}"),
			    "{\"Swap.total\":2064380,\"Memstats\":{\"total\":1016024,\"used\":716672,"
			    "\"x\":[1,{\"y\":null}]}}");
	flt_t_fini(&t);

	make(&t, "Operation", "nest", "Wildcard", "Mem.*", "Wildcard", "Swap.*", "Nest_under", "Stats",
	     "Add_prefix", "NESTED", NULL);
	assert_string_equal(run(&t, "{\"Mem.total\":1,\"Swap.total\":2,\"z\":true}"),
			    "{\"z\":true,\"Stats\":{\"NESTEDMem.total\":1,\"NESTEDSwap.total\":2}}");
	flt_t_fini(&t);

	make(&t, "Operation", "lift", "Nested_under", "Stats", "Remove_prefix", "NESTED", NULL);
	assert_string_equal(run(&t, "{\"z\":true,\"Stats\":{\"NESTEDMem.total\":1,\"Other\":\"s\"}}"),
			    "{\"z\":true,\"Mem.total\":1,\"Other\":\"s\"}");
	flt_t_fini(&t);

	make(&t, "Operation", "lift", "Nested_under", "kubernetes", "Add_prefix", "kubernetes_", NULL);
	assert_string_equal(run(&t, "{\"log\":\"x\",\"kubernetes\":{\"pod_name\":\"p\",\"labels\":{\"app\":\"a\"}}}"),
			    "{\"log\":\"x\",\"kubernetes_pod_name\":\"p\",\"kubernetes_labels\":{\"app\":\"a\"}}");
	flt_t_fini(&t);
}

/* Where Fluent Bit writes a key twice, sluice does not (flt_nest.c). */
static void test_no_duplicate_keys(void **state)
{
	(void)state;
	struct flt_t t;
	/* Nest_under already a map: its pairs first, a nested pair replaces
	 * one of the same key */
	make(&t, "Operation", "nest", "Wildcard", "k*", "Nest_under", "n", NULL);
	assert_string_equal(run(&t, "{\"n\":{\"k1\":\"old\",\"x\":1},\"k1\":\"new\",\"k2\":2}"),
			    "{\"n\":{\"x\":1,\"k1\":\"new\",\"k2\":2}}");
	/* Nest_under holding something else: unchanged */
	assert_string_equal(run(&t, "{\"n\":5,\"k1\":1}"), "{\"n\":5,\"k1\":1}");
	flt_t_fini(&t);
	/* lifted key already at the top: the lifted value wins */
	make(&t, "Operation", "lift", "Nested_under", "m", NULL);
	assert_string_equal(run(&t, "{\"a\":1,\"b\":2,\"m\":{\"a\":\"lifted\"}}"),
			    "{\"b\":2,\"a\":\"lifted\"}");
	flt_t_fini(&t);
}

static void test_config_errors(void **state)
{
	(void)state;
	struct flt_t t;
	flt_t_init(&t, &flt_nest_ops);
	flt_kv(&t, "Operation", "nest");
	flt_kv(&t, "Wildcard", "a*");
	flt_setup_fails(&t, "test.conf:1: [FILTER] nest", "needs 'Wildcard' and 'Nest_under'");
	flt_t_fini(&t);
	flt_t_init(&t, &flt_nest_ops);
	flt_kv(&t, "Operation", "lift");
	flt_setup_fails(&t, "[FILTER] nest", "needs 'Nested_under'");
	flt_t_fini(&t);
	flt_t_init(&t, &flt_nest_ops);
	flt_kv(&t, "Operation", "lift");
	flt_kv(&t, "Nested_under", "x");
	flt_kv(&t, "Add_prefix", "a");
	flt_kv(&t, "Remove_prefix", "b");
	flt_setup_fails(&t, "[FILTER] nest", "Add_prefix and Remove_prefix are exclusive");
	flt_t_fini(&t);
	flt_t_init(&t, &flt_nest_ops);
	flt_kv(&t, "Operation", "flatten");
	flt_setup_fails(&t, "test.conf:2", "Operation");
	flt_t_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_nest_lift),
		cmocka_unit_test(test_doc_prefixes),
		cmocka_unit_test(test_no_duplicate_keys),
		cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
