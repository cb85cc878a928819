/*
 * bench_ml.cc — Google Benchmark of the multiline parsers (psr_ml.h): lines
 * per second through one stream running the built-in java parser, over
 * 4096 lines that are all stack traces (trace/only) or mostly plain lines
 * with a 7-line trace among every 50 (trace/mixed: the common case, where
 * most lines fail the start rule). The timed loop is C, in mb_ml.c.
 * Run: build/bench/micro/bench_ml, or
 * `meson test -C build --benchmark --suite micro-bench`.
 * Threads: the benchmark thread.
 */
#include <benchmark/benchmark.h>

extern "C" {
#include "mb_ml.h"
}

namespace {

void bm_ml(benchmark::State &st, unsigned plain_per_trace)
{
	mb_ml *m = mb_ml_create("java", 4096, plain_per_trace);
	if (!m) {
		st.SkipWithError("mb_ml_create failed");
		return;
	}
	uint64_t groups = 0;
	for (auto _ : st)
		groups = mb_ml_pass(m);
	if (groups == 0)
		st.SkipWithError("no stack trace was joined");
	st.counters["groups_per_pass"] = double(groups);
	st.SetItemsProcessed(int64_t(st.iterations() * mb_ml_lines(m)));
	st.SetBytesProcessed(int64_t(st.iterations() * mb_ml_bytes(m)));
	mb_ml_destroy(m);
}

} // namespace

int main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	benchmark::RegisterBenchmark("ml/java/trace_only", bm_ml, 0u);
	benchmark::RegisterBenchmark("ml/java/mixed", bm_ml, 43u);
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
