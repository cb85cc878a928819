/*
 * test_flt_sampling.c — the sampling filter (filters/flt_sampling.c):
 * every Nth record, an exact Percentage, and the keyed mode whose
 * decision depends on the key's value only. The keyed expectations are
 * computed here from the documented hash (FNV-1a 64 then fmix64), so a
 * change of hash breaks this test on purpose: it would change which
 * request ids a deployment keeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <msgpack.h>
#include "flt_test_util.h"

extern const struct dp_filter_ops flt_sampling_ops;

static void make(struct flt_t *t, ...)
{
	flt_t_init(t, &flt_sampling_ops);
	va_list ap;
	va_start(ap, t);
	for (const char *k; (k = va_arg(ap, const char *));)
		flt_kv(t, k, va_arg(ap, const char *));
	va_end(ap);
	if (flt_setup(t))
		fail_msg("setup: %s", t->err.msg);
}

static uint64_t doc_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static bool run_one(struct flt_t *t, const char *k, const char *v)
{
	if (k)
		flt_rec(t, "msg", "m", k, v, NULL);
	else
		flt_rec(t, "msg", "m", NULL);
	bool kept = flt_run(t) == DP_FILTER_KEEP;
	if (t->c.nrecs > DP_CHUNK_RECS - 10)
		dp_chunk_reset(&t->c);
	return kept;
}

static void test_every_nth(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Rate", "3", NULL);
	char got[10] = "";
	for (int i = 0; i < 9; i++)
		got[i] = run_one(&t, NULL, NULL) ? 'k' : '.';
	assert_string_equal(got, "k..k..k..");
	/* The kept records are intact and contiguous. */
	assert_int_equal(t.c.nrecs, 3);
	for (uint32_t i = 0; i < 3; i++)
		flt_expect(&t, i, "msg", "m", NULL);
	flt_t_fini(&t);

	make(&t, NULL);   /* default Rate 10 */
	unsigned kept = 0;
	for (int i = 0; i < 1000; i++)
		kept += run_one(&t, NULL, NULL);
	assert_int_equal(kept, 100);
	flt_t_fini(&t);
}

static void test_percentage(void **state)
{
	(void)state;
	static const struct {
		const char *pct;
		unsigned per_1000;
	} cases[] = { { "25", 250 }, { "0", 0 }, { "100", 1000 }, { "12.5", 125 }, { "0.1", 1 } };
	for (size_t i = 0; i < DP_ARRAY_SIZE(cases); i++) {
		struct flt_t t;
		make(&t, "Percentage", cases[i].pct, NULL);
		unsigned kept = 0;
		for (int j = 0; j < 1000; j++)
			kept += run_one(&t, NULL, NULL);
		assert_int_equal(kept, cases[i].per_1000);
		flt_t_fini(&t);
	}
}

/* Keyed: a value is always kept or always dropped, as the hash says. */
static void test_keyed(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Key", "request_id", "Rate", "4", NULL);
	unsigned kept = 0;
	char id[32];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 1000; i++) {
			snprintf(id, sizeof(id), "req-%d", i);
			bool k = run_one(&t, "request_id", id);
			if (k != (doc_hash(id) % 4 == 0))
				fail_msg("%s: kept %d", id, k);
			kept += k;
		}
	}
	/* About a quarter of the ids. */
	assert_true(kept > 3 * 180 && kept < 3 * 320);
	/* A record without the key is counted: the 1st, 5th, ... kept. */
	assert_true(run_one(&t, NULL, NULL));
	assert_false(run_one(&t, NULL, NULL));
	flt_t_fini(&t);

	make(&t, "Key", "trace", "Percentage", "30", NULL);
	kept = 0;
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "%08x", i * 2654435761u);
		bool k = run_one(&t, "trace", id);
		assert_int_equal(k, (doc_hash(id) >> 11) < (uint64_t)(0.30 * 9007199254740992.0));
		kept += k;
	}
	assert_true(kept > 230 && kept < 370);
	flt_t_fini(&t);
}

static void test_config_errors(void **state)
{
	(void)state;
	static const struct {
		const char *k1, *v1, *k2, *v2, *want;
	} cases[] = {
		{ "Rate", "0", NULL, NULL, "Rate" },
		{ "Rate", "ten", NULL, NULL, "Rate" },
		{ "Percentage", "101", NULL, NULL, "Percentage: expected a number in 0..100" },
		{ "Percentage", "-1", NULL, NULL, "Percentage: expected a number in 0..100" },
		{ "Percentage", "half", NULL, NULL, "Percentage: expected a number in 0..100" },
		{ "Key", "", NULL, NULL, "Key: empty key" },
		{ "Percentage", "5", "Rate", "3", "exclusive" },
		{ "Rate", "3", "Percentage", "5", "exclusive" },
		{ "Sample", "3", NULL, NULL, "unknown key 'Sample'" },
	};
	for (size_t i = 0; i < DP_ARRAY_SIZE(cases); i++) {
		struct flt_t t;
		flt_t_init(&t, &flt_sampling_ops);
		flt_kv(&t, cases[i].k1, cases[i].v1);
		if (cases[i].k2)
			flt_kv(&t, cases[i].k2, cases[i].v2);
		flt_setup_fails(&t, "test.conf:", cases[i].want);
		flt_t_fini(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_nth),
		cmocka_unit_test(test_percentage),
		cmocka_unit_test(test_keyed),
		cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
