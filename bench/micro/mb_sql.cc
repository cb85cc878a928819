/*
 * mb_sql.cc — Google Benchmark of the stream processor on one shard: the
 * cost per record of a GROUP BY over 10, 10k and 1M groups (COUNT(*) and
 * AVG of a numeric string, issue 5), of COUNT(DISTINCT) and PERCENTILE,
 * and of a whole window (records, close, merge, one result per group).
 * The timed loops are in mb_sql.c.
 *
 * Run: build/bench/micro/bench_sql [--benchmark_min_time=0.5]
 *
 * Threads: the benchmark thread only.
 */
#include <benchmark/benchmark.h>

extern "C" {
#include "mb_sql.h"
}

namespace {

void bm_record(benchmark::State &st, int mode)
{
	struct mb_sql *m = mb_sql_create(uint32_t(st.range(0)), mode);
	if (!m) {
		st.SkipWithError("mb_sql_create failed");
		return;
	}
	uint64_t n = 0;
	for (auto _ : st)
		n += mb_sql_pass(m);
	st.SetItemsProcessed(int64_t(n));
	st.counters["state_MB"] = double(mb_sql_state_bytes(m)) / 1e6;
	mb_sql_destroy(m);
}

void bm_window(benchmark::State &st, int mode)
{
	struct mb_sql *m = mb_sql_create(uint32_t(st.range(0)), mode);
	if (!m) {
		st.SkipWithError("mb_sql_create failed");
		return;
	}
	mb_sql_window(m); /* closes the warm-up window outside the clock */
	uint64_t n = 0, r0 = mb_sql_results(m);
	for (auto _ : st)
		n += mb_sql_window(m);
	st.SetItemsProcessed(int64_t(n));
	st.counters["results_per_record"] = double(mb_sql_results(m) - r0) / double(n ? n : 1);
	mb_sql_destroy(m);
}

}  // namespace

BENCHMARK_CAPTURE(bm_record, none, MB_SQL_NONE)->Arg(10);
BENCHMARK_CAPTURE(bm_record, count, MB_SQL_COUNT)->Arg(10)->Arg(10000)->Arg(1000000);
BENCHMARK_CAPTURE(bm_record, count_avg, MB_SQL_COUNT_AVG)->Arg(10)->Arg(10000)->Arg(1000000);
BENCHMARK_CAPTURE(bm_record, count_distinct, MB_SQL_DISTINCT)->Arg(10)->Arg(10000);
BENCHMARK_CAPTURE(bm_record, percentile, MB_SQL_PERCENTILE)->Arg(10)->Arg(10000);
BENCHMARK_CAPTURE(bm_window, count_avg, MB_SQL_COUNT_AVG)->Arg(10)->Arg(10000)->Arg(1000000)
	->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
