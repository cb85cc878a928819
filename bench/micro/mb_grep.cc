/*
 * mb_grep.cc — Google Benchmark of grep on one field: records per second on
 * one core with 1, 8 and 64 patterns, Hyperscan (one database, one scan
 * for all patterns) against PCRE2 alone (JIT, one match per pattern) in
 * the same run, and the grep filter itself (Logical_Op OR, Hyperscan).
 * The timed loops are in mb_grep.c. Inputs: 4096 RFC 3164 lines from
 * bench/loadgen's generator (seed 42), ~20% of them ERROR events.
 *
 * Run: build/bench/micro/bench_grep [--benchmark_min_time=0.5]
 *
 * Threads: the benchmark thread only.
 */
#include <benchmark/benchmark.h>

extern "C" {
#include "mb_grep.h"
}

namespace {

constexpr unsigned MB_LINES = 4096;

void bm_grep(benchmark::State &st, int mode)
{
	unsigned npat = unsigned(st.range(0));
	struct mb_grep *g = mb_grep_create(MB_LINES, npat, mode);
	if (!g) {
		st.SkipWithError("mb_grep_create failed");
		return;
	}
	uint64_t hit = 0;
	for (auto _ : st)
		hit = mb_grep_pass(g);
	st.SetItemsProcessed(int64_t(st.iterations() * mb_grep_records(g)));
	st.SetBytesProcessed(int64_t(st.iterations() * mb_grep_bytes(g)));
	st.counters["matched"] = double(hit) / double(mb_grep_records(g));
	st.counters["fallbacks"] = mb_grep_fallbacks(g);
	mb_grep_destroy(g);
}

}  // namespace

BENCHMARK_CAPTURE(bm_grep, hyperscan, MB_GREP_HS)->Arg(1)->Arg(8)->Arg(64);
BENCHMARK_CAPTURE(bm_grep, pcre2_only, MB_GREP_PCRE)->Arg(1)->Arg(8)->Arg(64);
BENCHMARK_CAPTURE(bm_grep, filter_hyperscan, MB_GREP_FILTER)->Arg(1)->Arg(8)->Arg(64);

BENCHMARK_MAIN();
