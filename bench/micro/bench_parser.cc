/*
 * bench_parser.cc — Google Benchmark of the [PARSER] regex parser (Fluent
 * Bit's apache2 entry, PCRE2 JIT) over varied Apache combined lines, with
 * and without its Time_Format, and of Time_Format parsing alone with and
 * without the per-state cache. Bytes/s is per core (one thread). The
 * loops are C (mb_parser.c). Target (issue): >= 205 MiB/s per core, 10x
 * Fluent Bit's 20.5 MiB/s.
 * Threads: the benchmark thread.
 */
#include <benchmark/benchmark.h>

extern "C" {
#include "mb_parser.h"
}

namespace {

constexpr unsigned LINES = 4096;
mb_lines lines;

void bm_regex(benchmark::State &st, int with_time)
{
	mb_rx *r = mb_rx_create(with_time);
	uint64_t recs = 0, bad = 0;
	for (auto _ : st)
		recs = mb_rx_pass(r, lines.buf, lines.len, &bad);
	mb_rx_destroy(r);
	if (bad || recs != lines.n)
		st.SkipWithError("a generated line did not parse");
	st.SetBytesProcessed(int64_t(st.iterations() * lines.len));
	st.SetItemsProcessed(int64_t(st.iterations() * lines.n));
	st.counters["avg_line"] = double(lines.len) / lines.n;
}

void bm_strptime(benchmark::State &st, int cached)
{
	uint64_t n = 0, bad = 0;
	for (auto _ : st)
		n = mb_strptime_pass(lines.buf, lines.len, cached, &bad);
	if (bad || n != lines.n)
		st.SkipWithError("a generated time did not parse");
	st.SetItemsProcessed(int64_t(st.iterations() * n));
}

}  // namespace

int main(int argc, char **argv)
{
	/* about 16 lines share each second, a busy web server's rate */
	if (mb_apache_lines(&lines, LINES, 16))
		return 1;
	benchmark::RegisterBenchmark("regex/apache2", bm_regex, 1);
	benchmark::RegisterBenchmark("regex/apache2_notime", bm_regex, 0);
	benchmark::RegisterBenchmark("strptime/cached", bm_strptime, 1);
	benchmark::RegisterBenchmark("strptime/uncached", bm_strptime, 0);
	benchmark::Initialize(&argc, argv);
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	mb_lines_free(&lines);
	return 0;
}
