/*
 * test_sp_sketch.c — the sketches on their own (sp_sketch.h): HyperLogLog
 * exact below SP_HLL_EXACT, within 3 standard errors (3 x 1.04/sqrt(m))
 * on known cardinalities up to 10^6, merge equal to the sketch of the
 * union whatever the split; DDSketch within 1% of the exact percentiles
 * (percentile_disc, computed here by sorting) on uniform, log-normal and
 * signed data, merge equal to the sketch of all values; the collapse of
 * the lowest buckets; numeric strings (sp_agg_num).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>
#include "sp_agg.h"
#include "sp_sketch.h"

static uint64_t h_of(uint64_t i)
{
	/* as sp_agg hashes an integer value */
	return sp_mix64(i ^ 0x9e3779b97f4a7c15ull);
}

static void test_hll_exact_small(void **state)
{
	(void)state;
	struct sp_skmem m;
	sp_skmem_init(&m);
	struct sp_hll_w w = { 0 };
	assert_int_equal(sp_hll_count(&w), 0);
	for (uint64_t i = 1; i <= SP_HLL_EXACT; i++) {
		assert_true(sp_hll_add(&m, &w, h_of(i)));
		assert_true(sp_hll_add(&m, &w, h_of(i)));  /* duplicates do not count */
		assert_int_equal(sp_hll_count(&w), i);
	}
	assert_false(sp_hll_is_dense(&w));
	assert_true(sp_hll_add(&m, &w, h_of(SP_HLL_EXACT + 1)));
	assert_true(sp_hll_is_dense(&w));
	uint64_t n = sp_hll_count(&w);
	assert_true(n > 370 && n < 400);
	sp_skmem_fini(&m);
}

static void test_hll_error(void **state)
{
	(void)state;
	const double se = 1.04 / sqrt((double)SP_HLL_M);
	const uint64_t card[] = { 500, 1000, 5000, 20000, 100000, 1000000 };
	struct sp_skmem m;
	sp_skmem_init(&m);
	double worst = 0;
	for (size_t c = 0; c < sizeof(card) / sizeof(card[0]); c++) {
		for (uint64_t seed = 0; seed < 3; seed++) {
			sp_skmem_reset(&m);
			struct sp_hll_w w = { 0 };
			for (uint64_t i = 0; i < card[c]; i++)
				assert_true(sp_hll_add(&m, &w, h_of(seed << 40 | i)));
			double err = fabs((double)sp_hll_count(&w) - (double)card[c]) / (double)card[c];
			if (err > worst)
				worst = err;
			if (err > 3 * se)
				fail_msg("cardinality %llu: estimate %llu, error %.4f > 3 x %.4f",
					 (unsigned long long)card[c], (unsigned long long)sp_hll_count(&w),
					 err, se);
		}
	}
	print_message("HLL worst relative error %.4f (standard error %.4f)\n", worst, se);
	sp_skmem_fini(&m);
}

/* Merging parts equals adding everything into one sketch: same count
 * and, once dense, the same registers (compared through the count of
 * further merges being stable). */
static void test_hll_merge_union(void **state)
{
	(void)state;
	const uint64_t sizes[] = { 100, 300, 1000, 50000 };
	for (size_t si = 0; si < 4; si++) {
		for (unsigned parts = 1; parts <= 4; parts *= 2) {
			struct sp_skmem all_m, pm[4], dm;
			sp_skmem_init(&all_m);
			sp_skmem_init(&dm);
			struct sp_hll_w all = { 0 }, p[4] = { { 0 } }, d = { 0 };
			for (unsigned k = 0; k < parts; k++)
				sp_skmem_init(&pm[k]);
			uint32_t rnd = 7;
			for (uint64_t i = 0; i < sizes[si]; i++) {
				/* values overlap between parts: each is added 1-3 times */
				unsigned reps = 1 + i % 3;
				for (unsigned r = 0; r < reps; r++) {
					rnd = rnd * 1103515245u + 12345u;
					unsigned k = (rnd >> 16) % parts;
					assert_true(sp_hll_add(&pm[k], &p[k], h_of(i)));
				}
				assert_true(sp_hll_add(&all_m, &all, h_of(i)));
			}
			for (unsigned k = 0; k < parts; k++)
				assert_true(sp_hll_merge(&dm, &d, &p[k]));
			assert_int_equal(sp_hll_count(&d), sp_hll_count(&all));
			assert_int_equal(sp_hll_is_dense(&d), sp_hll_is_dense(&all));
			if (sizes[si] <= SP_HLL_EXACT)
				assert_int_equal(sp_hll_count(&d), sizes[si]);
			/* the merged registers are the union's: merging the
			 * whole into it changes nothing */
			uint64_t before = sp_hll_count(&d);
			assert_true(sp_hll_merge(&dm, &d, &all));
			assert_int_equal(sp_hll_count(&d), before);
			for (unsigned k = 0; k < parts; k++)
				sp_skmem_fini(&pm[k]);
			sp_skmem_fini(&all_m);
			sp_skmem_fini(&dm);
		}
	}
}

/* ---- quantiles ---- */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* percentile_disc: the value of rank max(1, ceil(q n)) */
static double exact_q(double *sorted, size_t n, double q)
{
	double rr = ceil(q * (double)n);
	size_t rank = rr < 1 ? 1 : rr > (double)n ? n : (size_t)rr;
	return sorted[rank - 1];
}

static const double qs[] = { 0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1 };

static void check_quantiles(const struct sp_qs *s, double *v, size_t n, const char *what)
{
	qsort(v, n, sizeof(*v), cmp_d);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		double got, want = exact_q(v, n, qs[i]);
		assert_true(sp_qs_quantile(s, qs[i], &got));
		double bound = SP_QS_ALPHA * fabs(want) * (1 + 1e-9);
		if (fabs(got - want) > bound)
			fail_msg("%s q=%g: got %.9g want %.9g (error %.3g > %.3g)", what, qs[i], got,
				 want, fabs(got - want), bound);
	}
}

static double rnd_u(uint64_t *st)
{
	*st = *st * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(*st >> 11) / 9007199254740992.0;
}

static void test_qs_error(void **state)
{
	(void)state;
	enum { N = 100000 };
	double *v = malloc(N * sizeof(*v));
	assert_non_null(v);
	for (int dist = 0; dist < 4; dist++) {
		struct sp_skmem m;
		sp_skmem_init(&m);
		struct sp_qs s = { 0 };
		uint64_t st = 99 + (uint64_t)dist;
		size_t n = dist == 3 ? 37 : N;
		for (size_t i = 0; i < n; i++) {
			double u = rnd_u(&st), x;
			switch (dist) {
			case 0: x = 1 + floor(u * 1000); break;              /* integer ms 1..1000 */
			case 1: x = exp(3 + 1.5 * sqrt(-2 * log(rnd_u(&st) + 1e-300)) *
					cos(2 * M_PI * u)); break;        /* log-normal */
			case 2: x = (u - 0.3) * 2000; if (i % 50 == 0) x = 0; break; /* signed, zeros */
			default: x = 1 + (double)i; break;                     /* few values */
			}
			v[i] = x;
			assert_true(sp_qs_add(&m, &s, x));
		}
		assert_int_equal(s.n, n);
		static const char *names[] = { "uniform ints", "log-normal", "signed", "37 values" };
		check_quantiles(&s, v, n, names[dist]);
		/* min and max are exact */
		double lo, hi;
		assert_true(sp_qs_quantile(&s, 0, &lo));
		assert_true(sp_qs_quantile(&s, 1, &hi));
		assert_true(lo == v[0] && hi == v[n - 1]);
		sp_skmem_fini(&m);
	}
	free(v);
	struct sp_qs empty = { 0 };
	double x;
	assert_false(sp_qs_quantile(&empty, 0.5, &x));
}

static void test_qs_merge(void **state)
{
	(void)state;
	enum { N = 20000 };
	static double v[N];
	for (unsigned parts = 1; parts <= 4; parts *= 2) {
		struct sp_skmem am, pm[4], dm;
		struct sp_qs all = { 0 }, p[4], d = { 0 };
		memset(p, 0, sizeof(p));
		sp_skmem_init(&am);
		sp_skmem_init(&dm);
		for (unsigned k = 0; k < 4; k++)
			sp_skmem_init(&pm[k]);
		uint64_t st = 5;
		for (size_t i = 0; i < N; i++) {
			/* parts see different ranges, so merging must grow stores */
			unsigned k = (unsigned)(i % parts);
			double x = (rnd_u(&st) * 100 + 0.5) * pow(10, k) * (i % 7 == 0 ? -1 : 1);
			v[i] = x;
			assert_true(sp_qs_add(&pm[k], &p[k], x));
			assert_true(sp_qs_add(&am, &all, x));
		}
		for (unsigned k = 0; k < parts; k++)
			assert_true(sp_qs_merge(&dm, &d, &p[k]));
		assert_int_equal(d.n, all.n);
		for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
			double a, b;
			assert_true(sp_qs_quantile(&d, qs[i], &a));
			assert_true(sp_qs_quantile(&all, qs[i], &b));
			assert_true(a == b);  /* identical sketch, identical answer */
		}
		check_quantiles(&d, v, N, "merged");
		for (unsigned k = 0; k < 4; k++)
			sp_skmem_fini(&pm[k]);
		sp_skmem_fini(&am);
		sp_skmem_fini(&dm);
	}
}

/* Values spanning more than gamma^1024: the lowest buckets fold into
 * one; the high percentiles keep their bound, memory stays bounded. */
static void test_qs_collapse(void **state)
{
	(void)state;
	struct sp_skmem m;
	sp_skmem_init(&m);
	struct sp_qs s = { 0 };
	enum { N = 4000 };
	static double v[N];
	for (size_t i = 0; i < N; i++) {
		/* 1e-6 .. 1e12, in an order that grows the store both ways */
		v[i] = pow(10, -6 + 18.0 * (double)((i * 7919) % N) / N);
		assert_true(sp_qs_add(&m, &s, v[i]));
	}
	qsort(v, N, sizeof(v[0]), cmp_d);
	/* the top 1024 buckets reach down to 1e12 / 7.8e8: from q = 0.6 */
	for (double q = 0.6; q <= 1.0; q += 0.05) {
		double got, want = exact_q(v, N, q);
		assert_true(sp_qs_quantile(&s, q, &got));
		assert_true(fabs(got - want) <= SP_QS_ALPHA * want * (1 + 1e-9));
	}
	double lo;
	assert_true(sp_qs_quantile(&s, 0, &lo));
	assert_true(lo == v[0]);                  /* min is exact */
	/* at most 1024 buckets: one class-10 block and the smaller ones freed */
	assert_true(m.slab_bytes <= 2 * SP_SK_SLAB);
	sp_skmem_fini(&m);
}

static void test_numeric_strings(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int t;          /* 0 no number, 1 int, 2 float */
		double d;
	} cases[] = {
		{ "12", 1, 12 }, { "-7", 1, -7 }, { "+3", 1, 3 }, { " 42 ", 1, 42 },
		{ "3.5", 2, 3.5 }, { "-0.25", 2, -0.25 }, { ".5", 2, 0.5 }, { "5.", 2, 5 },
		{ "1e3", 2, 1000 }, { "2.5E-1", 2, 0.25 },
		{ "123456789012345678901", 2, 123456789012345678901.0 },
		{ "", 0, 0 }, { "abc", 0, 0 }, { "12ms", 0, 0 }, { "1.2.3", 0, 0 },
		{ "0x10", 0, 0 }, { "nan", 0, 0 }, { "inf", 0, 0 }, { "-", 0, 0 },
		{ "1e", 0, 0 }, { "1e999", 0, 0 }, { ".", 0, 0 }, { "1 2", 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sp_val v = { .t = SP_V_STR, .s = cases[i].s, .len = (uint32_t)strlen(cases[i].s) };
		struct sp_val out;
		const struct sp_val *n = sp_agg_num(&v, &out, true);
		/* sp.convert_from_str_to_num false: no string is a number */
		if (sp_agg_num(&v, &out, false))
			fail_msg("'%s' read as a number with the conversion off", cases[i].s);
		if (!cases[i].t) {
			if (n)
				fail_msg("'%s' should be no number", cases[i].s);
			continue;
		}
		if (!n)
			fail_msg("'%s' should be a number", cases[i].s);
		assert_int_equal(n->t, cases[i].t == 1 ? SP_V_INT : SP_V_FLOAT);
		assert_true(n->d == cases[i].d);
		if (cases[i].t == 1)
			assert_true(n->i == (int64_t)cases[i].d);
	}
	struct sp_val b = { .t = SP_V_BOOL, .b = true }, i = { .t = SP_V_INT, .i = 4, .d = 4 }, o;
	assert_null(sp_agg_num(&b, &o, true));
	assert_ptr_equal(sp_agg_num(&i, &o, true), &i);
	assert_ptr_equal(sp_agg_num(&i, &o, false), &i);   /* numbers stay numbers */
	assert_null(sp_agg_num(NULL, &o, true));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hll_exact_small),
		cmocka_unit_test(test_hll_error),
		cmocka_unit_test(test_hll_merge_union),
		cmocka_unit_test(test_qs_error),
		cmocka_unit_test(test_qs_merge),
		cmocka_unit_test(test_qs_collapse),
		cmocka_unit_test(test_numeric_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
