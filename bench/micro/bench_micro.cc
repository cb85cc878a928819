/*
 * bench_micro.cc — Google Benchmark micro-benchmarks of sluice's hot paths:
 * the memchr line split (the speed limit), framing, the RFC 5424, RFC 3164
 * and JSON-lines parsers into a chunk, JSON encoding, and the SPSC ring.
 * The timed loops are in mb_shim.c (C; see mb_shim.h); this file builds
 * the inputs once, registers the benchmarks and reports bytes/s and
 * items/s. bench/micro/run.sh turns the JSON output into a table with each
 * benchmark's rate as a fraction of the memchr split of the same messages.
 *
 * Inputs come from bench/loadgen's generator (seed 42): MB_LINES distinct
 * messages, varied hosts, apps and numbers, ~20% ERROR, RFC 5424 structured
 * data on ~40%, about 200 bytes a line; the same messages LF-terminated and
 * octet counted. A pass is one benchmark iteration.
 *
 * No benchmark::DoNotOptimize: every timed call is into another translation
 * unit (no LTO) and the compiler cannot drop it; and libbenchmark 1.7's
 * "+m,r" lvalue form loses the stored value under GCC 12 with sanitizers
 * (google/benchmark#903 family), which made the checks below fail.
 *
 * Threads: the benchmark thread; the ring/2thread benchmarks add one
 * producer thread for their duration.
 */
#include <benchmark/benchmark.h>
#include <cstdio>
#include <string>
#include <vector>

extern "C" {
#include "mb_shim.h"
}

namespace {

/* ~850 KB of RFC 5424: stays in L2 with the chunk, as a burst of reads
 * fresh from the socket would. */
constexpr unsigned MB_LINES = 4096;

struct mb_corpus c5424, c5424oct, c3164, cjson;

void mb_rates(benchmark::State &st, const mb_corpus *c, uint64_t items_per_pass)
{
	st.SetBytesProcessed(int64_t(st.iterations() * c->len));
	st.SetItemsProcessed(int64_t(st.iterations() * items_per_pass));
}

void bm_memchr(benchmark::State &st, const mb_corpus *c)
{
	uint64_t lines = 0, bytes = 0;
	for (auto _ : st)
		lines = mb_split_memchr(c->buf, c->len, &bytes);
	if (lines != c->n)
		st.SkipWithError("memchr split found the wrong number of lines");
	st.counters["avg_line"] = double(c->len) / c->n;
	mb_rates(st, c, lines);
}

void bm_frame(benchmark::State &st, const mb_corpus *c, int mode)
{
	uint64_t frames = 0, bytes = 0;
	for (auto _ : st)
		frames = mb_frame_pass(mode, c->buf, c->len, &bytes);
	if (frames != c->n)
		st.SkipWithError("framer cut the wrong number of frames");
	mb_rates(st, c, frames);
}

void bm_parse(benchmark::State &st, const mb_corpus *c, int fmt)
{
	mb_parser *p = mb_parser_create(fmt);
	uint64_t recs = 0, bad = 0;
	if (!p) {
		st.SkipWithError("out of memory");
		return;
	}
	for (auto _ : st)
		recs = mb_parse_pass(p, c->buf, c->len, &bad);
	mb_parser_destroy(p);
	/* Every generated line is valid: a refusal is a parser bug, and
	 * would flatter the rate. */
	if (bad)
		st.SkipWithError("the parser refused generated lines");
	mb_rates(st, c, recs + bad);
}

void bm_encode(benchmark::State &st, const mb_corpus *c, int fmt)
{
	mb_parser *p = mb_parser_create(fmt);
	if (!p) {
		st.SkipWithError("out of memory");
		return;
	}
	uint32_t recs = mb_parser_fill(p, c->buf, c->len);
	std::vector<char> dst(4u << 20);
	size_t out = 0;
	for (auto _ : st)
		out = mb_encode_pass(p, dst.data(), dst.size());
	mb_parser_destroy(p);
	if (recs == 0 || out == 0)
		st.SkipWithError("nothing to encode, or a record failed");
	/* Bytes are JSON produced; items are records. */
	st.SetBytesProcessed(int64_t(st.iterations() * out));
	st.SetItemsProcessed(int64_t(st.iterations() * recs));
}

constexpr uint64_t MB_ROUNDS = 1024;

void bm_ring_roundtrip(benchmark::State &st, unsigned burst)
{
	mb_ring *r = mb_ring_create(1024);
	if (!r) {
		st.SkipWithError("out of memory");
		return;
	}
	for (auto _ : st)
		mb_ring_roundtrip(r, burst, MB_ROUNDS);
	mb_ring_destroy(r);
	st.SetItemsProcessed(int64_t(st.iterations() * MB_ROUNDS * burst));
}

constexpr uint64_t MB_DRAIN = 32 * 1024;

void bm_ring_2thread(benchmark::State &st, unsigned burst)
{
	mb_ring_pair *p = mb_ring_pair_start(1024, burst);
	if (!p) {
		st.SkipWithError("cannot start the producer thread");
		return;
	}
	for (auto _ : st)
		mb_ring_pair_drain(p, MB_DRAIN);
	mb_ring_pair_stop(p);
	st.SetItemsProcessed(int64_t(st.iterations() * MB_DRAIN));
}

} // namespace

int main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	if (mb_corpus_make(&c5424, MB_5424, 0, MB_LINES) ||
	    mb_corpus_make(&c5424oct, MB_5424, 1, MB_LINES) ||
	    mb_corpus_make(&c3164, MB_3164, 0, MB_LINES) ||
	    mb_corpus_make(&cjson, MB_JSON, 0, MB_LINES)) {
		std::fprintf(stderr, "bench_micro: out of memory building the corpora\n");
		return 1;
	}

	benchmark::RegisterBenchmark("memchr/5424", bm_memchr, &c5424);
	benchmark::RegisterBenchmark("memchr/3164", bm_memchr, &c3164);
	benchmark::RegisterBenchmark("memchr/json", bm_memchr, &cjson);
	benchmark::RegisterBenchmark("frame/5424/lf", bm_frame, &c5424, int(MB_FRAME_LF));
	benchmark::RegisterBenchmark("frame/5424/auto", bm_frame, &c5424, int(MB_FRAME_AUTO));
	benchmark::RegisterBenchmark("frame/5424oct/octet", bm_frame, &c5424oct, int(MB_FRAME_OCTET));
	benchmark::RegisterBenchmark("frame/5424oct/auto", bm_frame, &c5424oct, int(MB_FRAME_AUTO));
	benchmark::RegisterBenchmark("frame/json/json", bm_frame, &cjson, int(MB_FRAME_JSON));
	benchmark::RegisterBenchmark("parse/5424", bm_parse, &c5424, int(MB_5424));
	benchmark::RegisterBenchmark("parse/3164", bm_parse, &c3164, int(MB_3164));
	benchmark::RegisterBenchmark("parse/json", bm_parse, &cjson, int(MB_JSON));
	benchmark::RegisterBenchmark("encode/5424", bm_encode, &c5424, int(MB_5424));
	benchmark::RegisterBenchmark("encode/json", bm_encode, &cjson, int(MB_JSON));
	for (unsigned b : {1u, 32u}) {
		std::string n = std::to_string(b);
		benchmark::RegisterBenchmark(("ring/roundtrip/" + n).c_str(), bm_ring_roundtrip, b);
		benchmark::RegisterBenchmark(("ring/2thread/" + n).c_str(), bm_ring_2thread, b)
			->UseRealTime();
	}

	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	mb_corpus_free(&c5424);
	mb_corpus_free(&c5424oct);
	mb_corpus_free(&c3164);
	mb_corpus_free(&cjson);
	return 0;
}
