/*
 * test_flt_nest.c — the nest filter against Fluent Bit's documented
 * examples (https://docs.fluentbit.io/manual/data-pipeline/filters/nest)
 * and, where the page is silent (key order, prefixes on lift, values that
 * are not maps), plugins/filter_nest/nest.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <msgpack.h>
#include "flt_test_util.h"

extern const struct dp_filter_ops flt_nest_ops;

/* Set up a nest filter from "key", "value", ..., NULL. */
static void make(struct flt_t *t, ...)
{
	flt_t_init(t, &flt_nest_ops);
	va_list ap;
	va_start(ap, t);
	for (const char *k; (k = va_arg(ap, const char *));)
		flt_kv(t, k, va_arg(ap, const char *));
	va_end(ap);
	assert_int_equal(flt_setup(t), 0);
}

/* A record: string pairs, then one map field `mkey` of string pairs
 * (mkey NULL: none), then more string pairs: "a","1",NULL, "M", "k","v",
 * NULL, "z","2",NULL. */
static void rec_with_map(struct flt_t *t, const char **before, const char *mkey,
			 const char **inner, const char **after)
{
	struct dp_chunk *c = &t->c;
	dp_chunk_rec_begin(c, 1700000000u, 5u);
	for (unsigned i = 0; before && before[i]; i += 2)
		dp_chunk_put_str(c, before[i], strlen(before[i]), before[i + 1], strlen(before[i + 1]));
	if (mkey) {
		dp_chunk_field_begin(c, mkey, strlen(mkey));
		uint32_t h = dp_mp_map_open(c);
		unsigned n = 0;
		for (; inner && inner[2 * n]; n++) {
			dp_mp_str(c, inner[2 * n], strlen(inner[2 * n]));
			dp_mp_str(c, inner[2 * n + 1], strlen(inner[2 * n + 1]));
		}
		dp_mp_container_patch(c, h, n);
		dp_chunk_field_end(c, DP_T_MAP);
	}
	for (unsigned i = 0; after && after[i]; i += 2)
		dp_chunk_put_str(c, after[i], strlen(after[i]), after[i + 1], strlen(after[i + 1]));
	assert_int_equal(dp_chunk_rec_end(c), 0);
}

/* Docs, "Example usage for nest": Key* under NestKey, OtherKey first. */
static void test_doc_nest(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Operation", "nest", "Wildcard", "Key*", "Nest_under", "NestKey", NULL);
	flt_rec(&t, "Key1", "Value1", "Key2", "Value2", "OtherKey", "Value3", NULL);
	assert_int_equal(flt_run(&t), DP_FILTER_KEEP);
	flt_expect(&t, 0, "OtherKey", "Value3", "NestKey", "{Key1=Value1,Key2=Value2}", NULL);
	/* the index says the new field is a map, its value the msgpack map */
	const struct dp_field *f = &t.c.fields[t.c.recs[0].field0 + 1];
	assert_int_equal(f->type, DP_T_MAP);
	assert_int_equal(t.c.data[f->val_off], 0xdf);  /* nested: 32-bit header */
	flt_t_fini(&t);
}

/* Docs, "Example usage for lift". The page lists Key1, Key2 before
 * OtherKey; Fluent Bit's nest.c (apply_lifting_rules) writes the other
 * top-level fields first, then the lifted ones: that is the order kept. */
static void test_doc_lift(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Operation", "lift", "Nested_under", "NestKey", NULL);
	const char *before[] = { "OtherKey", "Value3", NULL };
	const char *inner[] = { "Key1", "Value1", "Key2", "Value2", NULL };
	rec_with_map(&t, before, "NestKey", inner, NULL);
	flt_run(&t);
	flt_expect(&t, 0, "OtherKey", "Value3", "Key1", "Value1", "Key2", "Value2", NULL);
	flt_t_fini(&t);
}

/* Docs, "Nest and lift with prefix" style: Mem.* nested under Memstats
 * with Remove_prefix Mem., then lifted with Add_prefix NESTED. */
static void test_doc_prefix_round_trip(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Operation", "nest", "Wildcard", "Mem.*", "Nest_under", "Memstats",
	     "Remove_prefix", "Mem.", NULL);
	flt_rec(&t, "Mem.total", "1016024", "Mem.used", "716672", "Swap.total", "2064380", NULL);
	flt_run(&t);
	flt_expect(&t, 0, "Swap.total", "2064380", "Memstats", "{total=1016024,used=716672}", NULL);
	flt_t_fini(&t);

	make(&t, "Operation", "lift", "Nested_under", "Memstats", "Add_prefix", "NESTED", NULL);
	const char *before[] = { "Swap.total", "2064380", NULL };
	const char *inner[] = { "total", "1016024", "used", "716672", NULL };
	rec_with_map(&t, before, "Memstats", inner, NULL);
	flt_run(&t);
	flt_expect(&t, 0, "Swap.total", "2064380", "NESTEDtotal", "1016024", "NESTEDused",
		   "716672", NULL);
	flt_t_fini(&t);
}

/* Wildcards: repeatable, exact without '*', case-sensitive; nothing
 * matched leaves the record as it was; Add_prefix on nest. */
static void test_wildcards(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Operation", "nest", "Wildcard", "a", "Wildcard", "b*", "Nest_under", "n",
	     "Add_prefix", "p_", NULL);
	flt_rec(&t, "ab", "1", "a", "2", "B1", "3", "b1", "4", NULL);
	flt_run(&t);
	flt_expect(&t, 0, "ab", "1", "B1", "3", "n", "{p_a=2,p_b1=4}", NULL);
	flt_rec(&t, "x", "1", NULL);
	flt_run(&t);
	flt_expect(&t, 1, "x", "1", NULL);
	flt_t_fini(&t);
}

/* Better than Fluent Bit: nest under a key that already exists. A map is
 * merged (a nested field of the same key wins), anything else replaced;
 * never two fields of one key. */
static void test_nest_existing_key(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Operation", "nest", "Wildcard", "k*", "Nest_under", "m", NULL);
	const char *before[] = { "k1", "new", NULL };
	const char *inner[] = { "k1", "old", "x", "1", NULL };
	const char *after[] = { "k2", "v2", "o", "3", NULL };
	rec_with_map(&t, before, "m", inner, after);
	flt_run(&t);
	flt_expect(&t, 0, "o", "3", "m", "{x=1,k1=new,k2=v2}", NULL);
	flt_rec(&t, "m", "scalar", "k", "1", NULL);
	flt_run(&t);
	flt_expect(&t, 1, "m", "{k=1}", NULL);
	flt_t_fini(&t);
}

/* Remove_prefix can make two nested keys equal: the later one wins, and
 * a record of thousands of fields is deduplicated in one pass. */
static void test_prefix_collisions(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Operation", "nest", "Wildcard", "*", "Nest_under", "n", "Remove_prefix", "p.",
	     NULL);
	flt_rec(&t, "a", "1", "p.a", "2", "b", "3", NULL);
	flt_run(&t);
	flt_expect(&t, 0, "n", "{a=2,b=3}", NULL);
	dp_chunk_reset(&t.c);
	dp_chunk_rec_begin(&t.c, 1700000000u, 5u);
	char k[64];
	for (unsigned i = 0; i < 3000; i++) {
		int kl = snprintf(k, sizeof(k), "%sk%u", i % 2 ? "p." : "", i / 2);
		dp_chunk_put_str(&t.c, k, (size_t)kl, "v", 1);
	}
	assert_int_equal(dp_chunk_rec_end(&t.c), 0);
	flt_run(&t);
	const struct dp_rec *r = &t.c.recs[0];
	assert_int_equal(r->nfields, 1);
	const struct dp_field *f = &t.c.fields[r->field0];
	assert_int_equal(f->type, DP_T_MAP);
	assert_int_equal(dp_mp_rd32(t.c.data + f->val_off + 1), 1500);
	flt_t_fini(&t);
}

/* Lift: a Nested_under that is not a map stays; a lifted key that exists
 * at the top level replaces it (Fluent Bit writes both). */
static void test_lift_edges(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Operation", "lift", "Nested_under", "m", "Remove_prefix", "p.", NULL);
	flt_rec(&t, "m", "scalar", "a", "1", NULL);
	flt_run(&t);
	flt_expect(&t, 0, "m", "scalar", "a", "1", NULL);
	const char *before[] = { "a", "top", "b", "2", NULL };
	const char *inner[] = { "p.a", "lifted", "c", "3", NULL };
	rec_with_map(&t, before, "m", inner, NULL);
	flt_run(&t);
	flt_expect(&t, 1, "b", "2", "a", "lifted", "c", "3", NULL);
	/* an empty map lifts to nothing */
	rec_with_map(&t, before, "m", NULL, NULL);
	flt_run(&t);
	flt_expect(&t, 2, "a", "top", "b", "2", NULL);
	flt_t_fini(&t);
}

/* Start-up errors name FILE:LINE and the key. */
static void test_config_errors(void **state)
{
	(void)state;
	struct flt_t t;
	flt_t_init(&t, &flt_nest_ops);
	flt_kv(&t, "Operation", "nest");
	flt_kv(&t, "Wildcard", "a*");
	flt_setup_fails(&t, "test.conf:2:", "needs Nest_under");
	flt_t_fini(&t);

	flt_t_init(&t, &flt_nest_ops);
	flt_kv(&t, "Operation", "lift");
	flt_kv(&t, "Nest_under", "x");
	flt_setup_fails(&t, "test.conf:3:", "needs Nested_under");
	flt_t_fini(&t);

	flt_t_init(&t, &flt_nest_ops);
	flt_kv(&t, "Operation", "nest");
	flt_kv(&t, "Nest_under", "x");
	flt_setup_fails(&t, "test.conf:2:", "needs Wildcard");
	flt_t_fini(&t);

	flt_t_init(&t, &flt_nest_ops);
	flt_kv(&t, "Operation", "flatten");
	flt_setup_fails(&t, "test.conf:2:", "Operation: 'flatten'");
	flt_t_fini(&t);

	flt_t_init(&t, &flt_nest_ops);
	flt_kv(&t, "Operation", "lift");
	flt_kv(&t, "Nested_under", "x");
	flt_kv(&t, "Add_prefix", "a");
	flt_kv(&t, "Remove_prefix", "b");
	flt_setup_fails(&t, "test.conf:5:", "exclusive");
	flt_t_fini(&t);

	flt_t_init(&t, &flt_nest_ops);
	flt_kv(&t, "Nested_under", "x");
	flt_setup_fails(&t, "Operation", NULL);
	flt_t_fini(&t);

	flt_t_init(&t, &flt_nest_ops);
	flt_kv(&t, "Operation", "lift");
	flt_kv(&t, "Nested_under", "x");
	flt_kv(&t, "Wildcards", "x");
	flt_setup_fails(&t, "test.conf:4:", "unknown key 'Wildcards'");
	flt_t_fini(&t);
}

/* A result that cannot fit leaves the record whole. */
static void test_chunk_full(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Operation", "nest", "Wildcard", "*", "Nest_under", "n", NULL);
	static char big[60000];
	memset(big, 'x', sizeof(big) - 1);
	flt_rec(&t, "a", big, NULL);
	flt_rec(&t, "b", big, NULL);
	flt_run(&t);  /* needs another ~60 KB of scratch room: does not fit */
	assert_int_equal(t.c.nrecs, 2);
	assert_int_equal(t.c.recs[1].nfields, 1);
	assert_int_equal(t.c.fields[t.c.recs[1].field0].type, DP_T_STR);
	flt_t_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_nest),
		cmocka_unit_test(test_doc_lift),
		cmocka_unit_test(test_doc_prefix_round_trip),
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_nest_existing_key),
		cmocka_unit_test(test_prefix_collisions),
		cmocka_unit_test(test_lift_edges),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_chunk_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
