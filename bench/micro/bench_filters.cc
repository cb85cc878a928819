/*
 * bench_filters.cc — Google Benchmark micro-benchmarks of the record
 * filters (modify, record_modifier, throttle, sampling, lua, nest): the cost per
 * record of building an 8-field record at the tail of a chunk and running
 * one filter on it. The `none` benchmark is the build alone; a filter's
 * own cost is its time minus that. The loop is in mb_filters.c (C).
 *
 * Threads: the benchmark thread.
 */
#include <benchmark/benchmark.h>

extern "C" {
#include "mb_filters.h"
}

namespace {

constexpr unsigned N = 4096;

void bm_filter(benchmark::State &st, const char *plugin, std::vector<const char *> kv)
{
	kv.push_back(nullptr);
	mbf *m = mbf_create(plugin, kv.data());
	if (!m) {
		st.SkipWithError("configuration error");
		return;
	}
	uint64_t kept = 0;
	for (auto _ : st)
		kept += mbf_pass(m, N);
	st.SetItemsProcessed(int64_t(st.iterations() * N));
	st.counters["kept"] = double(kept) / double(st.iterations() * N);
	mbf_destroy(m);
}

} // namespace

BENCHMARK_CAPTURE(bm_filter, none, nullptr, {});
BENCHMARK_CAPTURE(bm_filter, modify_set_rename_remove, "modify",
		  {"Set", "env prod", "Rename", "host hostname", "Remove", "pid"});
BENCHMARK_CAPTURE(bm_filter, modify_cond_regex, "modify",
		  {"Condition", "Key_value_matches message \"^GET .* 200 \"", "Add", "ok yes"});
BENCHMARK_CAPTURE(bm_filter, modify_copy_move, "modify",
		  {"Copy", "request_id rid", "Move_to_start", "message"});
BENCHMARK_CAPTURE(bm_filter, record_modifier_record_remove, "record_modifier",
		  {"Record", "dc eu-west-1", "Record", "team payments", "Remove_key", "pid"});
BENCHMARK_CAPTURE(bm_filter, record_modifier_allowlist, "record_modifier",
		  {"Allowlist_key", "message", "Allowlist_key", "host", "Allowlist_key", "level"});
BENCHMARK_CAPTURE(bm_filter, record_modifier_uuid, "record_modifier", {"Uuid_key", "uuid"});
BENCHMARK_CAPTURE(bm_filter, throttle_keep, "throttle", {"Rate", "1000000000"});
BENCHMARK_CAPTURE(bm_filter, throttle_drop, "throttle", {"Rate", "1"});
BENCHMARK_CAPTURE(bm_filter, sampling_every_10th, "sampling", {"Rate", "10"});
BENCHMARK_CAPTURE(bm_filter, sampling_keyed, "sampling", {"Rate", "10", "Key", "request_id"});

// lua: a one-line callback that adds a key (the whole record goes to a
// Lua table and back); code 0 measures the call and the conversion in.
BENCHMARK_CAPTURE(bm_filter, lua_add_key, "lua",
		  {"call", "cb", "code", "function cb(t, ts, r) r.env = 'prod' return 2, ts, r end"});
BENCHMARK_CAPTURE(bm_filter, lua_keep, "lua",
		  {"call", "cb", "code", "function cb(t, ts, r) return 0, ts, r end"});
BENCHMARK_CAPTURE(bm_filter, nest_three, "nest",
		  {"Operation", "nest", "Wildcard", "p*", "Wildcard", "host", "Nest_under", "src"});

BENCHMARK_MAIN();
