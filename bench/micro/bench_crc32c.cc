/*
 * bench_crc32c.cc — Google Benchmark of CRC32C (dp_crc32c.c), the checksum
 * the filesystem store computes over every frame it writes or reads: the
 * SSE4.2 instruction in one dependent chain, in three interleaved chains
 * (what dp_crc32c uses), and the slicing-by-8 table, over one 128 KiB
 * chunk (a full chunk's payload) and over 4 KiB and 256 bytes. Bytes/s is
 * per core (one thread). Target (issue 13): > 10 GB/s for 128 KiB with the
 * three chains.
 * Threads: the benchmark thread.
 */
#include <benchmark/benchmark.h>
#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" {
#include "dp_crc32c.h"
}

namespace {

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

std::vector<uint8_t> data;

void bm_crc(benchmark::State &st, crc_fn fn, bool hw)
{
	size_t n = size_t(st.range(0));
	if (hw && !dp_crc32c_has_hw()) {
		st.SkipWithError("no SSE4.2 on this CPU");
		return;
	}
	uint32_t c = 0;
	for (auto _ : st) {
		c = fn(c, data.data(), n);
		benchmark::DoNotOptimize(c);
	}
	st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(n));
}

}  // namespace

BENCHMARK_CAPTURE(bm_crc, hw3, dp_crc32c_hw3, true)->Arg(131072)->Arg(4096)->Arg(256);
BENCHMARK_CAPTURE(bm_crc, hw1, dp_crc32c_hw1, true)->Arg(131072)->Arg(4096)->Arg(256);
BENCHMARK_CAPTURE(bm_crc, table, dp_crc32c_sw, false)->Arg(131072)->Arg(4096)->Arg(256);

int main(int argc, char **argv)
{
	data.resize(131072);
	uint64_t x = 0x9E3779B97F4A7C15ull;
	for (auto &b : data) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		b = uint8_t(x);
	}
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
