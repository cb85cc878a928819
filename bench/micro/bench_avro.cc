/*
 * bench_avro.cc — Google Benchmark of the kafka output's encoders: records
 * per second encoded as Avro (libavro-c generic value + memory writer,
 * out_kafka_avro.c) and as JSON (out_json.c) over one chunk of syslog-like
 * records (as many of ~300 bytes as fit: about 400). The timed loop is C, in mb_avro.c.
 * Run: build/bench/micro/bench_avro, or
 * `meson test -C build --benchmark --suite micro-bench`.
 * Threads: the benchmark thread.
 */
#include <benchmark/benchmark.h>

extern "C" {
#include "mb_avro.h"
}

namespace {

void bm_enc(benchmark::State &st, int json)
{
	mb_avro *m = mb_avro_create(1024);
	if (!m) {
		st.SkipWithError("mb_avro_create failed");
		return;
	}
	uint64_t bytes = 0;
	for (auto _ : st)
		bytes = mb_avro_pass(m, json);
	if (bytes == 0)
		st.SkipWithError("a record failed to encode");
	st.counters["bytes_per_record"] = double(bytes) / double(mb_avro_records(m));
	st.SetItemsProcessed(int64_t(st.iterations() * mb_avro_records(m)));
	st.SetBytesProcessed(int64_t(st.iterations() * bytes));
	mb_avro_destroy(m);
}

} // namespace

int main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	benchmark::RegisterBenchmark("kafka_encode/avro", bm_enc, 0);
	benchmark::RegisterBenchmark("kafka_encode/json", bm_enc, 1);
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
